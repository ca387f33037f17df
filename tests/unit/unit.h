/*
 * unit.h -- the smallest test harness that does the job.
 *
 * Each tests/unit/test_<module>.c defines test functions and a table:
 *
 *     static void test_x(void) { CHECK(1 + 1 == 2); CHECK_STR(a, "b"); }
 *     UNIT_MAIN(UNIT(test_x), UNIT(test_y))
 *
 * The runner executes every test (or only those named on the command line),
 * prints one line per failed check and a closing "N passed, N failed" line,
 * and exits non-zero when any check failed.
 */
#ifndef COMPSTAT_UNIT_H
#define COMPSTAT_UNIT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_failures_;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            unit_failures_++;                                                  \
        }                                                                      \
    } while (0)

#define CHECK_INT(a, b)                                                        \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__,    \
                    __LINE__, #a, a_, b_);                                     \
            unit_failures_++;                                                  \
        }                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                 \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",          \
                    __FILE__, __LINE__, #a, a_ ? a_ : "(null)",                \
                    b_ ? b_ : "(null)");                                       \
            unit_failures_++;                                                  \
        }                                                                      \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                                  \
    do {                                                                       \
        double a_ = (a), b_ = (b);                                             \
        if (!(fabs(a_ - b_) <= (eps))) {                                       \
            fprintf(stderr, "%s:%d: %s == %.12g, expected %.12g\n", __FILE__,  \
                    __LINE__, #a, a_, b_);                                     \
            unit_failures_++;                                                  \
        }                                                                      \
    } while (0)

struct unit_case {
    const char *name;
    void (*fn)(void);
};

#define UNIT(fn) { #fn, fn }

#define UNIT_MAIN(...)                                                         \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        static const struct unit_case cases[] = { __VA_ARGS__ };               \
        size_t n = sizeof cases / sizeof cases[0];                             \
        int passed = 0, failed = 0;                                            \
        for (size_t i = 0; i < n; i++) {                                       \
            if (argc > 1) {                                                    \
                int want = 0;                                                  \
                for (int a = 1; a < argc; a++)                                 \
                    if (strcmp(argv[a], cases[i].name) == 0)                   \
                        want = 1;                                              \
                if (!want)                                                     \
                    continue;                                                  \
            }                                                                  \
            int before = unit_failures_;                                       \
            cases[i].fn();                                                     \
            if (unit_failures_ == before) {                                    \
                passed++;                                                      \
            } else {                                                           \
                failed++;                                                      \
                fprintf(stderr, "FAIL %s\n", cases[i].name);                   \
            }                                                                  \
        }                                                                      \
        printf("%d passed, %d failed\n", passed, failed);                      \
        return failed ? 1 : 0;                                                 \
    }

#endif
