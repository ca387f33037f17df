-- 0011_populations: a precinct's population, year by year.
--
-- Rates per 100,000 (the cube's rates=true, the COMPSTAT sheet's rate) divide
-- a count by the population of the year its period ends in. A table rather
-- than a column of precincts: a precinct gathers a row per census or
-- estimate over the years, each year checked on its own (1900-2199, a
-- non-negative count), and the population of a set of precincts is a plain
-- join and sum in SQL. precincts.population stays: the figure used when a
-- precinct has no year at all.

CREATE TABLE precinct_populations (
    precinct_id integer NOT NULL REFERENCES precincts (id) ON DELETE CASCADE,
    year        integer NOT NULL CHECK (year BETWEEN 1900 AND 2199),
    population  bigint NOT NULL CHECK (population >= 0),
    PRIMARY KEY (precinct_id, year)
);
