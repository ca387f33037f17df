-- 0013_unplaced: incidents whose place is not known.
--
-- Some sources know neither where an incident happened nor in which
-- precinct: Costa Rica's OIJ publishes no coordinates at all and writes the
-- canton of some rows as DESCONOCIDO. Such an incident is posted with
-- "precinct": null said explicitly and no location; it is kept unassigned
-- and unlocated (counted under "unassigned" and in the agency-wide counts,
-- in no precinct and in no hotspot). Leaving both fields out stays an error.
--
-- The database keeps the same rule for every writer, not only compstatd: a
-- row without a point and without a precinct must say so (unplaced = true),
-- and a row that says so has neither, so a bulk load or a hand-written
-- UPDATE cannot drop an incident's place by mistake. compstatd's upsert sets
-- the column from the values it writes, after checking them.
--
-- Adding a column with a constant default rewrites nothing; the new check
-- reads the table once (the existing rows have a place, and unplaced false).

ALTER TABLE incidents ADD COLUMN unplaced boolean NOT NULL DEFAULT false;
ALTER TABLE incidents DROP CONSTRAINT incidents_place_required;
ALTER TABLE incidents ADD CONSTRAINT incidents_place_required
    CHECK (unplaced = (geom IS NULL AND precinct_id IS NULL));
