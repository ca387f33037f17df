/*
 * gi_cli.c -- test-only driver for lib/hotspot (not installed).
 *
 * Reads a study area from stdin, one cell per line as "ix,iy,x" (blank
 * lines, lines starting with '#' and a header line starting with "ix" are
 * ignored), runs hs_gistar() (and hs_fdr() with --fdr), and prints one line
 * per cell in input order:
 *     ix,iy,x,z,p,class
 * with z and p in %.17g so that a reader gets the exact doubles.
 * tests/integration/test_gi_vs_spdep.py compares the z column with R's
 * spdep::localG.  Exit status: 0 ok, 1 bad input or a failed call, 2 usage.
 */
#include "hotspot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_i32(const char *s, char **end, int32_t *out)
{
    errno = 0;
    long long v = strtoll(s, end, 10);
    if (errno != 0 || *end == s || v < INT32_MIN || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    int fdr = 0;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--fdr") == 0) {
            fdr = 1;
        } else {
            fprintf(stderr, "usage: %s [--fdr] < cells.csv\n", argv[0]);
            return 2;
        }
    }

    size_t n = 0, cap = 1024;
    hs_cell *cells = malloc(cap * sizeof *cells);
    char line[512];
    unsigned long lineno = 0;
    if (cells == NULL) {
        fprintf(stderr, "gi_cli: out of memory\n");
        return 1;
    }
    while (fgets(line, sizeof line, stdin) != NULL) {
        lineno++;
        char *p = line, *end;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0' ||
            (lineno == 1 && strncmp(p, "ix", 2) == 0))
            continue;
        hs_cell c = { 0, 0, 0, 0, 0, HS_NONE, 0, 0 };
        if (parse_i32(p, &end, &c.ix) != 0 || *end != ',' ||
            parse_i32(end + 1, &end, &c.iy) != 0 || *end != ',')
            goto bad;
        p = end + 1;
        errno = 0;
        c.x = strtod(p, &end);
        if (errno != 0 || end == p || (*end != '\n' && *end != '\r' && *end != '\0'))
            goto bad;
        if (n == cap) {
            hs_cell *m = realloc(cells, 2 * cap * sizeof *cells);
            if (m == NULL) {
                fprintf(stderr, "gi_cli: out of memory\n");
                free(cells);
                return 1;
            }
            cells = m;
            cap *= 2;
        }
        cells[n++] = c;
        continue;
    bad:
        fprintf(stderr, "gi_cli: line %lu: expected ix,iy,x\n", lineno);
        free(cells);
        return 1;
    }

    int rc = hs_gistar(cells, n);
    if (rc == HS_OK && fdr)
        rc = hs_fdr(cells, n);
    if (rc != HS_OK) {
        fprintf(stderr, "gi_cli: %s failed: %s\n", fdr ? "hs_gistar/hs_fdr" : "hs_gistar",
                rc == HS_EDUP ? "duplicate cell" : rc == HS_ENOMEM ? "out of memory"
                                                                  : "invalid input");
        free(cells);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        printf("%d,%d,%.17g,%.17g,%.17g,%s\n", (int)cells[i].ix, (int)cells[i].iy,
               cells[i].x, cells[i].z, cells[i].p, hs_class_name(cells[i].cls));
    free(cells);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "gi_cli: write error\n");
        return 1;
    }
    return 0;
}
