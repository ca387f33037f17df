-- tools/bench-setup.sql -- the synthetic agency of the benchmarks (tools/bench-cube,
-- tools/bench qps): agency BENCH in America/Chicago (created by
-- `compstat-admin token create`), 141 square precincts of about 2 x 2 km in a
-- 12 x 12 grid, 50 offenses in the 8 COMPSTAT categories.
UPDATE agencies SET name = 'Benchmark PD', time_zone = 'America/Chicago' WHERE code = 'BENCH';
INSERT INTO precincts (code, agency_id, name, boundary)
SELECT 'B-' || lpad(g::text, 3, '0'), a.id, 'Precinct ' || g,
       ST_Multi(ST_MakeEnvelope(-87.9 + (g % 12) * 0.025, 41.7 + (g / 12) * 0.018,
                                -87.9 + (g % 12 + 1) * 0.025, 41.7 + (g / 12 + 1) * 0.018, 4326))
FROM generate_series(0, 140) g, agencies a WHERE a.code = 'BENCH';
INSERT INTO offenses (agency_id, code, name, category)
SELECT a.id, 'O' || g, 'Offense ' || g,
       (ARRAY['murder','rape','robbery','felony_assault','burglary','grand_larceny',
              'grand_larceny_auto','other'])[1 + g % 8]
FROM generate_series(1, 50) g, agencies a WHERE a.code = 'BENCH';
