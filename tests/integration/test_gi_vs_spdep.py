#!/usr/bin/env python3
"""lib/hotspot's Gi* against R's spdep, cell by cell.

Random study areas -- full rectangles, rectangles with holes, irregular blobs,
one-cell-wide diagonal chains, clusters so far apart that hs_gistar() uses its
hash index, areas at the far ends of the int32 range -- of 20 to ~3,000 cells
with Poisson counts (mostly zeros, a few hot patches) are written as CSV, run
through tests/tools/gi_cli (GI_CLI_BIN) and through

    nb <- include.self(dnearneigh(cbind(ix, iy), 0, 1.5))   # queen, self in
    lw <- nb2listw(nb, style = "B", zero.policy = TRUE)
    localG(x, lw, zero.policy = TRUE, return_internals = TRUE)

(distance <= 1.5 between integer lattice points is exactly the 3x3 block).
Every z and p must agree to 1e-9; the classes, unadjusted and with
Benjamini-Hochberg (gi_cli --fdr against R's p.adjust(p, "BH")), must be
equal.  A first test checks on hand-sized cases that spdep's localG with
include.self computes DESIGN.md's formula, written out here in Python.

Needs no database.  R and spdep are required (tools/deps installs
r-base-core and r-cran-spdep): without them the test fails, it does not skip.
COMPSTAT_TEST_SEED=n reproduces a run.
"""
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, expect, expect_eq, run  # noqa: E402

SEED = int(os.environ.get("COMPSTAT_TEST_SEED", random.randrange(1 << 30)))
GI_CLI = os.environ.get("GI_CLI_BIN", os.path.join(SRC, "build", "gi_cli"))
TOL = 1e-9
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

R_SCRIPT = r"""
suppressPackageStartupMessages(library(spdep))
for (f in commandArgs(trailingOnly = TRUE)) {
    d <- read.csv(f, colClasses = c("numeric", "numeric", "numeric"))
    nb <- dnearneigh(cbind(d$ix, d$iy), 0, 1.5)
    nb <- include.self(nb)
    lw <- nb2listw(nb, style = "B", zero.policy = TRUE)
    g <- localG(d$x, lw, zero.policy = TRUE, return_internals = TRUE)
    z <- as.numeric(g)
    pv <- as.numeric(attr(g, "internals")[, 5])
    padj <- p.adjust(pv, method = "BH")
    w <- sapply(lw$weights, sum)
    writeLines(sprintf("%.17g,%.17g,%.17g,%d", z, pv, padj, as.integer(w)),
               paste0(f, ".R"))
}
"""


# ---- the tools ---------------------------------------------------------------

def rscript():
    r = shutil.which("Rscript")
    expect(r is not None, "Rscript not found: run tools/deps (r-base-core r-cran-spdep)")
    return r


def run_r(files, workdir):
    """Run the spdep script on CSV files; returns {file: [(z, p, p_bh, W)]}."""
    script = os.path.join(workdir, "localg.R")
    with open(script, "w") as f:
        f.write(R_SCRIPT)
    out = subprocess.run([rscript(), "--vanilla", script, *files], capture_output=True,
                         text=True, timeout=300)
    expect(out.returncode == 0, "Rscript failed (is r-cran-spdep installed? tools/deps):\n"
           + out.stderr[-3000:])
    res = {}
    for f in files:
        rows = []
        with open(f + ".R") as fh:
            for line in fh:
                z, p, padj, w = line.strip().split(",")
                rows.append((float(z), float(p), float(padj), int(w)))
        res[f] = rows
    return res


def run_gi(path, fdr=False):
    """gi_cli on a CSV file; returns [(ix, iy, x, z, p, class)] in input order."""
    expect(os.path.exists(GI_CLI), "gi_cli not built (%s); set GI_CLI_BIN" % GI_CLI)
    with open(path) as f:
        out = subprocess.run([GI_CLI] + (["--fdr"] if fdr else []), stdin=f,
                             capture_output=True, text=True, timeout=120)
    expect(out.returncode == 0, "gi_cli failed on %s: %s" % (path, out.stderr))
    expect("runtime error" not in out.stderr and "Sanitizer" not in out.stderr,
           "sanitizer report from gi_cli:\n" + out.stderr)
    rows = []
    for line in out.stdout.splitlines():
        ix, iy, x, z, p, cls = line.split(",")
        rows.append((int(ix), int(iy), float(x), float(z), float(p), cls))
    return rows


def write_csv(path, cells):
    with open(path, "w") as f:
        f.write("ix,iy,x\n")
        for ix, iy, x in cells:
            f.write("%d,%d,%s\n" % (ix, iy, repr(float(x)) if x != int(x) else int(x)))


# ---- DESIGN.md's formula, written out ----------------------------------------

def design_gi(cells):
    """Gi* exactly as DESIGN.md states it; None where the denominator is 0."""
    n = len(cells)
    xs = [c[2] for c in cells]
    mean = sum(xs) / n
    s = math.sqrt(sum(x * x for x in xs) / n - mean * mean)
    where = {(c[0], c[1]): c[2] for c in cells}
    out = []
    for ix, iy, _ in cells:
        nb = [where[(ix + dx, iy + dy)] for dx in (-1, 0, 1) for dy in (-1, 0, 1)
              if (ix + dx, iy + dy) in where]
        w = len(nb)
        den = s * math.sqrt((n * w - w * w) / (n - 1))
        out.append((sum(nb) - mean * w) / den if den > 0 else None)
    return out


def classify(z, p):
    if z > 0 or z < 0:
        for cut, name in ((0.01, "99"), (0.05, "95"), (0.10, "90")):
            if p < cut:
                return ("hot_" if z > 0 else "cold_") + name
    return "none"


def classify_bh(z, padj):
    if z > 0 or z < 0:
        for cut, name in ((0.01, "99"), (0.05, "95"), (0.10, "90")):
            if padj <= cut:
                return ("hot_" if z > 0 else "cold_") + name
    return "none"


# ---- random study areas --------------------------------------------------------

def poisson(r, lam):
    l, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= r.random()
        if p <= l:
            return k
        k += 1


def counts(r, coords):
    """Poisson counts: a low background (many zeros) plus a few hot patches."""
    base = r.choice([0.05, 0.2, 0.5, 1.5])
    coords = list(coords)
    patches = [(r.choice(coords), r.uniform(1.5, 6), r.uniform(2, 12))
               for _ in range(r.randint(0, 3))]
    out = []
    for ix, iy in coords:
        lam = base
        for (px, py), rad, peak in patches:
            d2 = (ix - px) ** 2 + (iy - py) ** 2
            lam += peak * math.exp(-d2 / (2 * rad * rad))
        out.append((ix, iy, poisson(r, lam)))
    return out


def rect(r, w, h, ox=0, oy=0):
    return [(ox + x, oy + y) for y in range(h) for x in range(w)]


def rect_with_holes(r, w, h):
    holes = [(r.randrange(w), r.randrange(h), r.uniform(1, max(2, min(w, h) / 5)))
             for _ in range(r.randint(1, 6))]
    return [(x, y) for x, y in rect(r, w, h)
            if all((x - hx) ** 2 + (y - hy) ** 2 > hr * hr for hx, hy, hr in holes)]


def blob(r, target):
    """Random growth from a seed: an irregular, possibly ragged, connected shape."""
    seen = {(0, 0)}
    frontier = [(0, 0)]
    while len(seen) < target:
        x, y = frontier[r.randrange(len(frontier))]
        dx, dy = r.choice([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1)])
        c = (x + dx, y + dy)
        if c not in seen:
            seen.add(c)
            frontier.append(c)
    return sorted(seen)


def diagonal_chains(r, n):
    """One-cell-wide diagonal lines: neighbours by corners only (queen, not rook)."""
    out = []
    for k in range(4):
        start = (k * 7, -k * 3)
        for i in range(n // 4):
            out.append((start[0] + i, start[1] + (i if k % 2 == 0 else -i)))
    return sorted(set(out))


def far_clusters(r, n):
    """Blobs millions of cells apart: the bounding box dwarfs n (hash index)."""
    out = []
    for k in range(3):
        ox, oy = r.randint(-10 ** 9, 10 ** 9), r.randint(-10 ** 9, 10 ** 9)
        out += [(ox + x, oy + y) for x, y in blob(r, n // 3)]
    return sorted(set(out))


def areas(r):
    """(name, cells) for the comparison; sizes 20 to ~3,000."""
    a = [("rect_5x4", rect(r, 5, 4)),
         ("rect_37x29", rect(r, 37, 29, -18, 7)),
         ("rect_60x50", rect(r, 60, 50, 1000, -2000)),
         ("strip_1x40", rect(r, 1, 40)),
         ("holes_45x40", rect_with_holes(r, 45, 40)),
         ("holes_70x40", rect_with_holes(r, 70, 40)),
         ("blob_25", blob(r, 25)),
         ("blob_600", blob(r, 600)),
         ("blob_2900", blob(r, 2900)),
         ("diagonals_200", diagonal_chains(r, 200)),
         ("far_clusters_900", far_clusters(r, 900)),
         ("int32_corners", [(INT32_MAX - x, INT32_MIN + y) for x, y in rect(r, 30, 20)]
          + [(INT32_MIN + x, INT32_MAX - y) for x, y in rect(r, 20, 10)])]
    for i in range(4):
        kind = r.choice(["rect", "holes", "blob"])
        if kind == "rect":
            cells = rect(r, r.randint(5, 55), r.randint(4, 55), r.randint(-99, 99),
                         r.randint(-99, 99))
        elif kind == "holes":
            cells = rect_with_holes(r, r.randint(10, 60), r.randint(10, 50))
        else:
            cells = blob(r, r.randint(20, 3000))
        a.append(("random%d_%s_%d" % (i, kind, len(cells)), cells))
    out = []
    for name, coords in a:
        cells = counts(r, coords)
        r.shuffle(cells)
        if len({c[2] for c in cells}) < 2:  # all equal: spdep gives NaN; covered in unit tests
            cells[0] = (cells[0][0], cells[0][1], cells[0][2] + 1)
        out.append((name, cells))
    return out


# ---- tests -----------------------------------------------------------------

class Ctx:
    pass


def setup():
    print("seed %d (COMPSTAT_TEST_SEED=%d reproduces this run)" % (SEED, SEED), flush=True)
    c = Ctx()
    c.dir = tempfile.mkdtemp(prefix="gi_vs_spdep_")
    return c


def teardown(c):
    shutil.rmtree(c.dir, ignore_errors=True)


def test_tools_present(c):
    rscript()
    out = subprocess.run([rscript(), "--vanilla", "-e",
                          "suppressPackageStartupMessages(library(spdep)); "
                          "cat(as.character(packageVersion('spdep')))"],
                         capture_output=True, text=True, timeout=120)
    expect(out.returncode == 0, "R package spdep missing: run tools/deps\n" + out.stderr[-2000:])
    print("     spdep %s, gi_cli %s" % (out.stdout.strip(), GI_CLI))
    expect(os.path.exists(GI_CLI), "gi_cli not built (%s); set GI_CLI_BIN" % GI_CLI)


def test_spdep_is_the_design_formula(c):
    """On hand-sized areas, localG with include.self is DESIGN.md's Gi*."""
    cases = {
        # 3x3 block, 9 at the centre: corners sqrt5/2, edges 1/sqrt2, centre W = n.
        "block3": [(x, y, 9 if (x, y) == (1, 1) else 0) for y in range(3) for x in range(3)],
        "strip5": [(x, 0, 5 if x == 2 else 0) for x in range(5)],
        "lshape": [(0, 0, 3), (1, 0, 1), (2, 0, 0), (0, 1, 1), (0, 2, 0)],
        "mixed": [(x, y, (x * 7 + y * 3) % 5) for y in range(4) for x in range(6)
                  if (x, y) not in ((2, 1), (3, 2))],
    }
    files = []
    for name, cells in cases.items():
        f = os.path.join(c.dir, "design_%s.csv" % name)
        write_csv(f, cells)
        files.append(f)
    rres = run_r(files, c.dir)
    for (name, cells), f in zip(cases.items(), files):
        want = design_gi(cells)
        got = rres[f]
        for cell, w, (rz, _, _, _) in zip(cells, want, got):
            if w is None:
                expect(math.isnan(rz), "%s %s: spdep should give NaN at W == n" % (name, cell))
            else:
                expect(abs(rz - w) <= 1e-12, "%s %s: spdep %r, formula %r" % (name, cell, rz, w))
        gi = run_gi(f)
        for cell, w, g in zip(cells, want, gi):
            expect_eq((g[0], g[1]), (cell[0], cell[1]), "gi_cli keeps the input order")
            if w is None:
                expect(g[3] == 0 and g[4] == 1 and g[5] == "none", "%s %s: degenerate" % (name, cell))
            else:
                expect(abs(g[3] - w) <= 1e-12, "%s %s: gi_cli %r, formula %r" % (name, cell, g[3], w))
    z = rres[files[0]][0][0]
    expect(abs(z - math.sqrt(5) / 2) <= 1e-15, "block3 corner: %r" % z)


def test_random_areas_match_spdep(c):
    r = random.Random(SEED)
    todo = areas(r)
    files = []
    for name, cells in todo:
        f = os.path.join(c.dir, "%s.csv" % name)
        write_csv(f, cells)
        files.append(f)
    rres = run_r(files, c.dir)
    worst_z = worst_p = 0.0
    total = hot = 0
    bad = []
    for (name, cells), f in zip(todo, files):
        gi = run_gi(f)
        bh = run_gi(f, fdr=True)
        rr = rres[f]
        expect_eq(len(gi), len(cells), name + ": gi_cli rows")
        expect_eq(len(rr), len(cells), name + ": R rows")
        wz = wp = 0.0
        for cell, g, b, (rz, rp, padj, w) in zip(cells, gi, bh, rr):
            expect_eq((g[0], g[1], g[2]), cell, name + ": gi_cli row order")
            expect(not math.isnan(rz), "%s %s: spdep NaN (W %d)" % (name, cell, w))
            dz, dp = abs(g[3] - rz), abs(g[4] - rp)
            wz, wp = max(wz, dz), max(wp, dp)
            if dz > TOL or dp > TOL:
                bad.append("%s %s: z %r vs spdep %r, p %r vs %r" % (name, cell, g[3], rz, g[4], rp))
            if g[5] != classify(rz, rp):
                bad.append("%s %s: class %s, spdep's z/p give %s" % (name, cell, g[5],
                                                                     classify(rz, rp)))
            if b[5] != classify_bh(rz, padj):
                bad.append("%s %s: BH class %s, p.adjust gives %s (p %r, adj %r)"
                           % (name, cell, b[5], classify_bh(rz, padj), rp, padj))
            hot += g[5] != "none"
        total += len(cells)
        worst_z, worst_p = max(worst_z, wz), max(worst_p, wp)
        print("     %-22s %5d cells  max|dz| %.3g  max|dp| %.3g" % (name, len(cells), wz, wp))
    print("     %d areas, %d cells (%d classed hot/cold): max |z - spdep| %.3g, "
          "max |p - spdep| %.3g" % (len(todo), total, hot, worst_z, worst_p), flush=True)
    expect(not bad, "%d mismatches:\n%s" % (len(bad), "\n".join(bad[:30])))
    expect(hot > 0, "no cell was classed at all: the areas test too little")


def test_duplicates_rejected(c):
    f = os.path.join(c.dir, "dup.csv")
    write_csv(f, [(0, 0, 1), (1, 0, 2), (0, 0, 3)])
    with open(f) as fh:
        out = subprocess.run([GI_CLI], stdin=fh, capture_output=True, text=True, timeout=60)
    expect_eq(out.returncode, 1, "gi_cli on a duplicate cell")
    expect("duplicate" in out.stderr, out.stderr)


if __name__ == "__main__":
    run([test_tools_present, test_spdep_is_the_design_formula, test_random_areas_match_spdep,
         test_duplicates_rejected], setup, teardown)
