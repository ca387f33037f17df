/*
 * test_lrumap.c -- unit tests for lib/lrumap: the bounded map that forgets
 * the least recently used entry. Checked against a model (arrays in order
 * of use) under random operations.
 */
#include "lrumap.h"
#include "unit.h"

#include <stdint.h>

static char vals[4096];

static void test_basics(void)
{
    lrumap *m = lrumap_new(0, 42);
    CHECK(m != NULL);
    CHECK_INT(lrumap_count(m), 0);
    CHECK(lrumap_get(m, "a") == NULL);
    void *old = &vals[0];
    CHECK_INT(lrumap_put(m, "a", &vals[1], &old), 0);
    CHECK(old == NULL);
    CHECK_INT(lrumap_put(m, "", &vals[2], &old), 0); /* the empty key is a key */
    CHECK(lrumap_get(m, "a") == &vals[1]);
    CHECK(lrumap_peek(m, "") == &vals[2]);
    CHECK(lrumap_get(m, "b") == NULL);
    CHECK_INT(lrumap_put(m, "a", &vals[3], &old), 0); /* replace hands back the old value */
    CHECK(old == &vals[1]);
    CHECK_INT(lrumap_count(m), 2);
    CHECK(lrumap_remove(m, "a") == &vals[3]);
    CHECK(lrumap_remove(m, "a") == NULL);
    CHECK_INT(lrumap_count(m), 1);
    CHECK(lrumap_pop_oldest(m) == &vals[2]);
    CHECK(lrumap_pop_oldest(m) == NULL);
    CHECK_INT(lrumap_count(m), 0);
    /* Unbounded: grows past its first buckets. */
    char key[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CHECK_INT(lrumap_put(m, key, &vals[i], NULL), 0);
    }
    CHECK_INT(lrumap_count(m), 3000);
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CHECK(lrumap_peek(m, key) == &vals[i]);
    }
    lrumap_free(m, NULL);
}

static void test_bound_evicts_least_recently_used(void)
{
    lrumap *m = lrumap_new(3, 7);
    void *old;
    lrumap_put(m, "a", &vals[1], &old);
    lrumap_put(m, "b", &vals[2], &old);
    lrumap_put(m, "c", &vals[3], &old);
    CHECK(lrumap_get(m, "a") == &vals[1]); /* a is now the newest: b the oldest */
    CHECK_INT(lrumap_put(m, "d", &vals[4], &old), 0);
    CHECK(old == &vals[2]);
    CHECK(lrumap_peek(m, "b") == NULL);
    CHECK_INT(lrumap_count(m), 3);
    CHECK(lrumap_peek(m, "c") == &vals[3]); /* peek does not refresh c */
    CHECK_INT(lrumap_put(m, "e", &vals[5], &old), 0);
    CHECK(old == &vals[3]);
    CHECK_INT(lrumap_put(m, "a", &vals[6], &old), 0); /* replacing never evicts */
    CHECK(old == &vals[1]);
    CHECK_INT(lrumap_count(m), 3);
    CHECK_INT(lrumap_max(m), 3);
    lrumap_free(m, NULL);
}

static int freed;
static void count_free(void *v)
{
    (void)v;
    freed++;
}

/* Random puts, gets, peeks and removes against a model kept in order of use. */
static void test_against_model(void)
{
    enum { KEYS = 200, MAX = 50, OPS = 200000 };
    int order[KEYS]; /* model: keys in order of use, newest first */
    int present[KEYS] = {0};
    int n = 0;
    lrumap *m = lrumap_new(MAX, 99);
    uint64_t x = 88172645463325252ULL;
    char key[16];
    for (int op = 0; op < OPS; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int k = (int)(x % KEYS), what = (int)((x >> 20) % 4);
        snprintf(key, sizeof key, "%d", k);
        int pos = -1;
        for (int i = 0; i < n; i++)
            if (order[i] == k)
                pos = i;
        if (what == 0 || what == 1) { /* put (twice as often) */
            void *old;
            CHECK_INT(lrumap_put(m, key, &vals[k], &old), 0);
            if (pos >= 0) {
                CHECK(old == &vals[k]);
                memmove(order + 1, order, (size_t)pos * sizeof *order);
            } else {
                if (n == MAX) {
                    int gone = order[n - 1];
                    CHECK(old == &vals[gone]);
                    present[gone] = 0;
                    n--;
                } else {
                    CHECK(old == NULL);
                }
                memmove(order + 1, order, (size_t)n * sizeof *order);
                n++;
                present[k] = 1;
            }
            order[0] = k;
        } else if (what == 2) { /* get */
            void *v = lrumap_get(m, key);
            CHECK(v == (present[k] ? &vals[k] : NULL));
            if (pos >= 0) {
                memmove(order + 1, order, (size_t)pos * sizeof *order);
                order[0] = k;
            }
        } else { /* remove */
            void *v = lrumap_remove(m, key);
            CHECK(v == (present[k] ? &vals[k] : NULL));
            if (pos >= 0) {
                memmove(order + pos, order + pos + 1, (size_t)(n - pos - 1) * sizeof *order);
                n--;
                present[k] = 0;
            }
        }
        CHECK_INT(lrumap_count(m), n);
        for (int i = 0; i < KEYS; i += 37) {
            snprintf(key, sizeof key, "%d", i);
            CHECK(lrumap_peek(m, key) == (present[i] ? &vals[i] : NULL));
        }
    }
    /* The oldest comes out first. */
    if (n > 0)
        CHECK(lrumap_pop_oldest(m) == &vals[order[n - 1]]);
    freed = 0;
    size_t left = lrumap_count(m);
    lrumap_free(m, count_free);
    CHECK_INT(freed, left);
}

UNIT_MAIN(UNIT(test_basics), UNIT(test_bound_evicts_least_recently_used),
          UNIT(test_against_model))
