#!/usr/bin/env python3
"""schema/compstat.sql equals the result of all migrations, and migrate is
safe to repeat and refuses an edited migration."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN, SRC, cluster_conninfo, expect, expect_eq, fresh_db, migrate,  # noqa
                     psql, run, scalar, with_db)

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"


def dump_schema(ci):
    out = subprocess.run([PG_DUMP, "--schema-only", "--no-owner", "--no-privileges", "-d", ci],
                         capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines()
            if line and not line.startswith("--") and not line.startswith("SET ")
            and not line.startswith("SELECT pg_catalog.set_config")
            and not line.startswith("\\restrict") and not line.startswith("\\unrestrict")]


def test_schema_file_equals_migrations():
    migrated = fresh_db("schema_migrated")
    base = cluster_conninfo()
    name = "t_schema_file_%d" % os.getpid()
    psql(base, 'DROP DATABASE IF EXISTS "%s"' % name)
    psql(base, 'CREATE DATABASE "%s"' % name)
    from_file = with_db(base, name)
    out = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                          "-d", from_file, "-f", os.path.join(SRC, "schema", "compstat.sql")],
                         capture_output=True, text=True)
    expect_eq(out.returncode, 0, "schema file loads: " + out.stderr)
    a, b = dump_schema(migrated), dump_schema(from_file)
    if a != b:
        import difflib
        diff = "\n".join(difflib.unified_diff(a, b, "migrations", "schema/compstat.sql",
                                              lineterm=""))
        raise AssertionError("schema differs:\n" + diff[:5000])


def test_migrate_is_repeatable_and_guards_edits():
    ci = fresh_db("schema_repeat")
    n = scalar(ci, "SELECT count(*) FROM schema_migrations")
    out = migrate(ci)
    expect("0 applied" in out.stderr, "second run applies nothing", out.stderr)
    expect_eq(scalar(ci, "SELECT count(*) FROM schema_migrations"), n)
    with tempfile.TemporaryDirectory() as tmp:
        for f in os.listdir(os.path.join(SRC, "migrations")):
            shutil.copy(os.path.join(SRC, "migrations", f), tmp)
        first = sorted(f for f in os.listdir(tmp) if f.endswith(".sql"))[0]
        with open(os.path.join(tmp, first), "a") as fh:
            fh.write("\n-- edited after it landed\n")
        out = subprocess.run([ADMIN, "migrate", "--database", ci, "--dir", tmp],
                             capture_output=True, text=True)
        expect(out.returncode != 0, "edited migration refused")
        expect("changed after it was applied" in out.stderr, out.stderr)


if __name__ == "__main__":
    run([test_schema_file_equals_migrations, test_migrate_is_repeatable_and_guards_edits])
