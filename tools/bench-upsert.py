#!/usr/bin/env python3
"""tools/bench-upsert.py -- the variants script of `tools/bench upsert`.

    bench-upsert.py UPSERT_SQL_FILE ROWS RUNS > variants.sql

Writes a psql script that prepares the daemon's group-commit statement
(printed by `compstat-bench --print-upsert`), then RUNS times, for each schema
variant in turn, inside a transaction that is rolled back: drops what the
variant prices, and EXPLAIN ANALYZEs one execution of a batch of ROWS new
incidents (fresh external ids every time, so no run probes another's dead
index entries) -- or, for the "updates" variants, inserts them first
(untimed) and times a batch that changes every one of them (what the
cube_dirty trigger records). psql variables: none needed; \\echo lines name
each run.
"""
import sys

up_file, rows, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
up = open(up_file).read().strip()

# One array per parameter, in the statement's order.
exprs = ["g", "'bench-upsert'::text", "'r' || :'run' || '-' || g", ":a", ":p0 + g % 141",
         ":o0 + g % 50", "1 + g % 5", "'dispatched'::text", "-87.9 + (g % 12) * 0.025 + 0.01",
         "41.7 + (g % 11) * 0.018 + 0.01", "'1 Main St'::text", "1790000000::bigint + g",
         "1790000000::bigint + g", "1790000100::bigint + g", "NULL::bigint", "NULL::bigint",
         "NULL::bigint", "'[\"1A01\"]'::text", "1", "NULL::int", "'bench'::text", "false"]
sel = ",\n  ".join("array_agg(%s)::text AS a%d" % (e, i + 1) for i, e in enumerate(exprs))
# The same incidents changed: another priority (every row is updated).
sel_changed = sel.replace("array_agg(1 + g % 5)", "array_agg(6 + g % 3)")
assert sel_changed != sel
args = ", ".join(":'a%d'" % (i + 1) for i in range(len(exprs)))

NO_DIRTY = "ALTER TABLE incidents DISABLE TRIGGER incidents_dirty;"
variants = [
    ("as-migrated", ""),
    ("no-dirty-trigger", NO_DIRTY),
    ("no-gist", "DROP INDEX incidents_geom_gist;"),
    ("no-fk", "ALTER TABLE incidents DROP CONSTRAINT incidents_agency_id_fkey,"
              " DROP CONSTRAINT incidents_precinct_id_fkey, DROP CONSTRAINT incidents_offense_id_fkey;"),
    ("no-secondary-btree", "DROP INDEX incidents_agency_counted_idx, incidents_precinct_counted_idx,"
                           " incidents_received_idx;"),
    ("pk-and-identity-only", "DROP INDEX incidents_geom_gist, incidents_agency_counted_idx,"
                             " incidents_precinct_counted_idx, incidents_received_idx;"
                             " ALTER TABLE incidents DROP CONSTRAINT incidents_agency_id_fkey,"
                             " DROP CONSTRAINT incidents_precinct_id_fkey,"
                             " DROP CONSTRAINT incidents_offense_id_fkey;"),
    ("updates", ""),
    ("updates-no-dirty-trigger", NO_DIRTY),
]

print("SET compstat.writer = 'on';")  # as the daemon's session: no outside-change counting
print("SET compstat.dirty = 'on';")  # ... and, with snapshots, cube_dirty records
print("SET plan_cache_mode = force_generic_plan;")  # as the daemon's prepared statement runs
print("PREPARE up AS %s;" % up)
print("SELECT a.id AS a, (SELECT min(id) FROM precincts WHERE agency_id = a.id) AS p0,"
      " (SELECT min(id) FROM offenses WHERE agency_id = a.id) AS o0"
      " FROM agencies a WHERE code = 'BENCH' \\gset")
n = 0
for r in range(runs):
    for name, ddl in variants:
        n += 1
        print("\\set run %d" % n)
        print("SELECT %s\nFROM generate_series(1, %d) g \\gset" % (sel, rows))
        print("\\echo VARIANT %s RUN %d" % (name, r + 1))
        print("BEGIN;")
        if ddl:
            print(ddl)
        if name.startswith("updates"):
            print("\\o /dev/null\nEXECUTE up(%s);\n\\o" % args)
            print("SELECT %s\nFROM generate_series(1, %d) g \\gset" % (sel_changed, rows))
        print("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE up(%s);" % args)
        print("ROLLBACK;")
