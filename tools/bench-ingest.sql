-- tools/bench-ingest.sql -- pgbench script for the baseline of `tools/bench ingest`:
-- one durable single-row INSERT per transaction into the same incidents table
-- (same indexes, constraints and generated column) that compstatd writes,
-- with the same kind of values as tools/bench-ingest.lua sends. Variables
-- given by tools/bench with -D: run (run number), agency, p1, p2 (the two
-- bench precincts, split at lon -90.05), omin, omax (offense id range).
-- external_id is unique: the run, the client and the transaction id. The
-- casts give the prepared statement (-M prepared) its parameter types.
\set lat random(2993000, 2998000)
\set lon random(-9010000, -9000000)
\set occ random(1795737600, 1795737600 + 30 * 86400)
\set rec :occ + random(0, 900)
\set dis :rec + random(10, 600)
\set off random(:omin, :omax)
\set pri random(1, 5)
\set num random(100, 4999)
\set unit random(1, 8)
INSERT INTO incidents (source, external_id, agency_id, precinct_id, offense_id, priority,
                       status, geom, address, occurred_at, received_at, dispatched_at, units)
VALUES ('pgbench', 'b' || :run::int || '-' || :client_id::int || '-' || txid_current(),
        :agency::int, CASE WHEN :lon::int < -9005000 THEN :p1::int ELSE :p2::int END,
        :off::int, :pri::smallint, 'dispatched',
        ST_SetSRID(ST_MakePoint(:lon::float8 / 1e5, :lat::float8 / 1e5), 4326),
        :num::int || ' Canal St', to_timestamp(:occ::float8), to_timestamp(:rec::float8),
        to_timestamp(:dis::float8), ARRAY[:unit::int || 'A01']);
