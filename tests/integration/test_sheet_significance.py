#!/usr/bin/env python3
"""The COMPSTAT sheet's significance test, against R's binom.test.

Two Poisson counts over two periods: given their sum, the current count is
binomial with p = current days / all days when the rate did not change, so
the conditional binomial test is exact. lib/compstat's p-value (through the
test-only stats_cli) must equal R's binom.test on thousands of random and
edge-case pairs; the daemon's sheet must mark as significant exactly the
changes R finds significant at 5 % (1 against 0 is not), carry p, say
whether the prior period holds any data, and honour offense=/category= with
counts equal to SQL."""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Daemon, expect, expect_eq, fresh_db, psql, rscript, run,  # noqa: E402
                     scalar, token)

STATS_CLI = os.environ.get("STATS_CLI_BIN", os.path.join(os.path.dirname(__file__), "..", "..",
                                                         "build", "stats_cli"))


def r_pvalues(rows):
    """R's binom.test two-sided p-value for each (current, prior, dc, dp)."""
    return rscript("d <- read.table(file('stdin'));"
                   "for (i in seq_len(nrow(d))) { n <- d[i,1] + d[i,2];"
                   " p <- if (n == 0) 1 else binom.test(d[i,1], n, d[i,3] / (d[i,3] + d[i,4]))$p.value;"
                   " cat(sprintf('%.17g\\n', p)) }", rows)


def ours(rows):
    src = "\n".join("%d %d %r %r" % r for r in rows) + "\n"
    out = subprocess.run([STATS_CLI], input=src, capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) or abs(a - b) < 1e-300


def test_p_values_equal_r():
    if not os.path.exists(STATS_CLI):
        print("stats_cli not built: skipped")
        sys.exit(77)
    rng = random.Random(15)
    rows = [(1, 0, 7.0, 7.0), (0, 1, 7.0, 7.0), (5, 0, 7.0, 7.0), (0, 0, 7.0, 7.0),
            (3, 3, 7.0, 7.0), (60, 59, 60.0, 59.0), (59, 60, 59.0, 60.0), (1000, 0, 28.0, 28.0),
            (100000, 99000, 335.0, 335.0), (12, 4, 28.0, 28.0)]
    for _ in range(1500):
        scale = rng.choice([3, 10, 50, 300, 5000, 60000])
        lam = rng.uniform(0, scale)
        x, y = rng.randint(0, int(lam * 1.5) + 1), rng.randint(0, int(lam * 1.5) + 1)
        days = rng.choice([(7.0, 7.0), (28.0, 28.0), (60.0, 59.0), (59.0, 60.0), (335.0, 335.0)])
        rows.append((x, y) + days)
    got, want = ours(rows), r_pvalues(rows)
    expect_eq(len(got), len(rows), "one p per pair")
    bad = [(r, g, w) for r, g, w in zip(rows, got, want) if not close(g, w)]
    expect(not bad, "%d of %d p-values differ from R's binom.test" % (len(bad), len(rows)), bad[:10])
    expect_eq(got[0] >= 0.05, True, "1 against 0 is not significant")


def setup():
    ci = fresh_db("sheet_sig")
    admin = token(ci, "admin", "SG")
    d = Daemon(ci)
    d.wait_ready()
    expect_eq(d.request("PUT", "/v1/agencies/SG", {"name": "Sig", "time_zone": "America/Costa_Rica"},
                        admin)[0], 200)
    for code, cat in (("ROB", "robbery"), ("BUR", "burglary"), ("MUR", "murder"),
                      ("THF", "grand_larceny")):
        st, _, _ = d.request("PUT", "/v1/offenses/" + code, {"name": code, "category": cat}, admin)
        expect(st in (200, 201))
    return {"ci": ci, "d": d, "admin": admin}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def post(ctx, n, offense, day, tag):
    incs = [{"source": "sg", "external_id": "%s-%s-%d" % (tag, offense, i), "offense": offense,
             "location": {"lat": 9.93, "lon": -84.08},
             "occurred_at": "%sT%02d:%02d:00-06:00" % (day, 8 + i % 12, i % 60)} for i in range(n)]
    if incs:
        st, _, resp = ctx["d"].request("POST", "/v1/incidents", incs, ctx["admin"])
        expect_eq((st, resp["accepted"]), (200, n), "post %s" % tag)


def sheet(ctx, q=""):
    st, _, s = ctx["d"].request("GET", "/v1/compstat?week_ending=2026-11-29" + q, None, ctx["admin"])
    expect_eq(st, 200, "sheet " + q)
    return s


def test_sheet_marks_what_r_finds_significant(ctx):
    s = sheet(ctx)
    expect_eq(s["periods"]["week"]["prior_data"], False, "nothing a year before: said so")
    # This week (Mon 23 - Sun 29 Nov 2026) against the same dates of 2025.
    post(ctx, 1, "MUR", "2026-11-25", "w")        # 1 against 0: z = 2.0, not significant
    post(ctx, 20, "ROB", "2026-11-24", "w")       # 20 against 5: significant
    post(ctx, 5, "ROB", "2025-11-25", "p")
    post(ctx, 9, "BUR", "2026-11-26", "w")        # 9 against 6: not significant
    post(ctx, 6, "BUR", "2025-11-26", "p")
    post(ctx, 0, "THF", "2026-11-26", "w")
    post(ctx, 7, "THF", "2025-11-27", "p")        # 0 against 7: significant
    s = sheet(ctx)
    expect_eq(s["test"]["alpha"], 0.05)
    expect("binomial" in s["test"]["name"], "the legend's test", s["test"])
    expect_eq(s["periods"]["week"]["prior_data"], True, "the prior week holds data now")
    rows, cells = [], []
    for row in s["rows"]:
        for per in ("week", "d28", "ytd"):
            c = row[per]
            rng = s["periods"][per]
            days = []
            for part in ("current", "prior"):
                a, b = rng[part]
                da = int(scalar(ctx["ci"], "SELECT :'p2'::date - :'p1'::date + 1", a, b))
                days.append(float(da))
            rows.append((c["current"], c["prior"], days[0], days[1]))
            cells.append((row["category"], per, c))
    want = r_pvalues(rows)
    for (cat, per, c), w in zip(cells, want):
        expect_eq(c["significant"], w < 0.05, "%s %s: %r vs R's p %r" % (cat, per, c, w))
        expect(abs(c["p"] - w) <= 5e-5 or (w < 1e-4 and abs(c["p"] - w) <= 1e-3 * w),
               "%s %s p %r vs R %r" % (cat, per, c["p"], w))
    by = {(cat, per): c for cat, per, c in cells}
    expect_eq((by[("murder", "week")]["z"], by[("murder", "week")]["significant"]), (2.0, False),
              "1 against 0 keeps z = 2 and is not significant")
    expect_eq(by[("robbery", "week")]["significant"], True, "20 against 5")
    expect_eq(by[("grand_larceny", "week")]["significant"], True, "0 against 7")
    expect_eq(by[("burglary", "week")]["significant"], False, "9 against 6")


def test_sheet_filters_by_offense_and_category(ctx):
    for q, where in (("&offense=ROB", "o.code = 'ROB'"),
                     ("&offense=ROB,BUR", "o.code IN ('ROB', 'BUR')"),
                     ("&category=burglary", "o.category = 'burglary'")):
        s = sheet(ctx, q)
        cats = [r["category"] for r in s["rows"]]
        want_cats = [r[0] for r in psql(ctx["ci"], "SELECT DISTINCT category FROM offenses o "
                                                   "WHERE " + where + " ORDER BY 1")]
        expect_eq(sorted(cats[:-1]), want_cats, "rows of " + q)
        expect_eq(cats[-1], "total")
        for per in ("week", "d28", "ytd"):
            a, b = s["periods"][per]["current"]
            want = scalar(ctx["ci"], """
                SELECT count(*) FROM incidents i JOIN offenses o ON o.id = i.offense_id
                WHERE """ + where + """ AND i.status NOT IN ('unfounded', 'cancelled')
                  AND i.counted_at >= (:'p1'::date)::timestamp AT TIME ZONE 'America/Costa_Rica'
                  AND i.counted_at < (:'p2'::date + 1)::timestamp AT TIME ZONE 'America/Costa_Rica'
                """, a, b)
            expect_eq(s["rows"][-1][per]["current"], int(want), "total %s %s" % (q, per))
    st, _, e = ctx["d"].request("GET", "/v1/compstat?offense=NOPE", None, ctx["admin"])
    expect_eq((st, e["error"]["field"]), (422, "offense"), "an unknown offense")


if __name__ == "__main__":
    tests = [test_sheet_marks_what_r_finds_significant, test_sheet_filters_by_offense_and_category]
    if len(sys.argv) > 1 and sys.argv[1] == "test_p_values_equal_r":
        run([test_p_values_equal_r])
    else:
        # The pure comparison first (no daemon), then the sheet.
        only = sys.argv[1:]
        if not only:
            test_p_values_equal_r()
            print("ok   test_p_values_equal_r", flush=True)
        run(tests, setup, teardown)
