/*
 * test_strmap.c -- unit tests for lib/strmap: the string-keyed hash map.
 */
#include "strmap.h"
#include "unit.h"

#include <stdint.h>

/* Distinct, stable value pointers: addresses inside this array. */
static char vals[64];

static void test_put_get_replace(void)
{
    strmap *m = strmap_new();
    CHECK(m != NULL);
    CHECK_INT(strmap_count(m), 0);
    CHECK(strmap_get(m, "a") == NULL);
    CHECK(strmap_get(m, "") == NULL);

    CHECK_INT(strmap_put(m, "a", &vals[1]), 0);
    CHECK_INT(strmap_put(m, "b", &vals[2]), 0);
    CHECK_INT(strmap_put(m, "", &vals[3]), 0); /* the empty key is a key */
    CHECK_INT(strmap_count(m), 3);
    CHECK(strmap_get(m, "a") == &vals[1]);
    CHECK(strmap_get(m, "b") == &vals[2]);
    CHECK(strmap_get(m, "") == &vals[3]);
    CHECK(strmap_get(m, "c") == NULL);
    CHECK(strmap_get(m, "A") == NULL);
    CHECK(strmap_get(m, "a ") == NULL);
    CHECK(strmap_get(m, "ab") == NULL);

    /* Replace: same count, new value. */
    CHECK_INT(strmap_put(m, "a", &vals[4]), 0);
    CHECK_INT(strmap_count(m), 3);
    CHECK(strmap_get(m, "a") == &vals[4]);
    CHECK(strmap_get(m, "b") == &vals[2]);

    /* A NULL value is stored (and reads back as NULL). */
    CHECK_INT(strmap_put(m, "n", NULL), 0);
    CHECK_INT(strmap_count(m), 4);
    CHECK(strmap_get(m, "n") == NULL);
    CHECK_INT(strmap_put(m, "n", &vals[5]), 0);
    CHECK_INT(strmap_count(m), 4);
    CHECK(strmap_get(m, "n") == &vals[5]);

    /* Keys that share prefixes, UTF-8 keys, a long key. */
    char longkey[1000];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    CHECK_INT(strmap_put(m, "1\x1f" "ROB", &vals[6]), 0);
    CHECK_INT(strmap_put(m, "2\x1f" "ROB", &vals[7]), 0);
    CHECK_INT(strmap_put(m, "Zona 1 \xC3\xB1", &vals[8]), 0);
    CHECK_INT(strmap_put(m, longkey, &vals[9]), 0);
    CHECK(strmap_get(m, "1\x1f" "ROB") == &vals[6]);
    CHECK(strmap_get(m, "2\x1f" "ROB") == &vals[7]);
    CHECK(strmap_get(m, "Zona 1 \xC3\xB1") == &vals[8]);
    CHECK(strmap_get(m, longkey) == &vals[9]);
    CHECK_INT(strmap_count(m), 8);

    strmap_free(m);
    strmap_free(NULL); /* allowed */
}

static void test_keys_are_copied(void)
{
    strmap *m = strmap_new();
    char buf[32];
    snprintf(buf, sizeof buf, "%s", "P-17");
    CHECK_INT(strmap_put(m, buf, &vals[1]), 0);
    /* Mutate and then reuse the caller's buffer. */
    buf[2] = '9';
    CHECK(strmap_get(m, "P-17") == &vals[1]);
    CHECK(strmap_get(m, "P-97") == NULL);
    CHECK(strmap_get(m, buf) == NULL);
    memset(buf, 0, sizeof buf);
    CHECK(strmap_get(m, "P-17") == &vals[1]);

    /* A heap key freed after put. */
    char *h = strdup("heap-key");
    CHECK_INT(strmap_put(m, h, &vals[2]), 0);
    free(h);
    CHECK(strmap_get(m, "heap-key") == &vals[2]);
    CHECK_INT(strmap_count(m), 2);

    /* The copies survive growth (rehash moves slots, not key strings). */
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "g%d", i);
        CHECK_INT(strmap_put(m, buf, &vals[3]), 0);
    }
    CHECK(strmap_get(m, "P-17") == &vals[1]);
    CHECK(strmap_get(m, "heap-key") == &vals[2]);
    strmap_free(m);
}

/* Many thousands of keys: every one is found with its own value after all
   the growth steps, and absent ones are not. */
static void test_growth(void)
{
    enum { N = 50000 };
    strmap *m = strmap_new();
    char key[32];
    for (uintptr_t i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        if (strmap_put(m, key, (void *)(i + 1)) != 0) {
            CHECK(0);
            break;
        }
        /* An absent key is answered at every fill level (a full table
           would make the probe loop forever). */
        if (strmap_get(m, "absent") != NULL) {
            CHECK(0);
            break;
        }
    }
    CHECK_INT(strmap_count(m), N);
    int bad = 0;
    for (uintptr_t i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        if (strmap_get(m, key) != (void *)(i + 1))
            bad++;
    }
    CHECK_INT(bad, 0);
    for (uintptr_t i = N; i < N + 1000; i++) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        if (strmap_get(m, key) != NULL)
            bad++;
    }
    CHECK(strmap_get(m, "key-") == NULL);
    CHECK_INT(bad, 0);

    /* Replacing every other key keeps the count. */
    for (uintptr_t i = 0; i < N; i += 2) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        CHECK_INT(strmap_put(m, key, (void *)(i + 7)), 0);
    }
    CHECK_INT(strmap_count(m), N);
    for (uintptr_t i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        if (strmap_get(m, key) != (void *)(i % 2 ? i + 1 : i + 7))
            bad++;
    }
    CHECK_INT(bad, 0);
    strmap_free(m);
}

static void test_clear(void)
{
    strmap *m = strmap_new();
    char key[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "c%d", i);
        CHECK_INT(strmap_put(m, key, &vals[1]), 0);
    }
    CHECK_INT(strmap_count(m), 3000);
    strmap_clear(m);
    CHECK_INT(strmap_count(m), 0);
    CHECK(strmap_get(m, "c0") == NULL);
    CHECK(strmap_get(m, "c2999") == NULL);

    /* Usable again after clear, and clearing twice is fine. */
    CHECK_INT(strmap_put(m, "c0", &vals[2]), 0);
    CHECK_INT(strmap_count(m), 1);
    CHECK(strmap_get(m, "c0") == &vals[2]);
    CHECK(strmap_get(m, "c1") == NULL);
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "d%d", i);
        CHECK_INT(strmap_put(m, key, &vals[3]), 0);
    }
    CHECK_INT(strmap_count(m), 3001);
    strmap_clear(m);
    strmap_clear(m);
    CHECK_INT(strmap_count(m), 0);
    strmap_free(m);

    /* Clearing an empty map. */
    m = strmap_new();
    strmap_clear(m);
    CHECK_INT(strmap_count(m), 0);
    strmap_free(m);
}

struct visit {
    int n;
    int seen[2000];
    int bad;
};

static void visit_fn(const char *key, void *value, void *arg)
{
    struct visit *v = arg;
    int i = -1;
    v->n++;
    if (sscanf(key, "f%d", &i) != 1 || i < 0 || i >= 2000 || value != (void *)&vals[i % 64]) {
        v->bad++;
        return;
    }
    v->seen[i]++;
}

static void count_fn(const char *key, void *value, void *arg)
{
    (void)key;
    (void)value;
    (*(int *)arg)++;
}

static void test_foreach(void)
{
    strmap *m = strmap_new();
    int n = 0;
    strmap_foreach(m, count_fn, &n);
    CHECK_INT(n, 0);

    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "f%d", i);
        CHECK_INT(strmap_put(m, key, &vals[(i + 1) % 64]), 0);
    }
    /* Replace every value: foreach must see the new ones only. */
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "f%d", i);
        CHECK_INT(strmap_put(m, key, &vals[i % 64]), 0);
    }
    static struct visit v;
    memset(&v, 0, sizeof v);
    strmap_foreach(m, visit_fn, &v);
    CHECK_INT(v.n, 2000);
    CHECK_INT(v.bad, 0);
    int once = 0;
    for (int i = 0; i < 2000; i++)
        once += v.seen[i] == 1;
    CHECK_INT(once, 2000);

    strmap_clear(m);
    n = 0;
    strmap_foreach(m, count_fn, &n);
    CHECK_INT(n, 0);
    strmap_free(m);
}

UNIT_MAIN(UNIT(test_put_get_replace), UNIT(test_keys_are_copied), UNIT(test_growth),
          UNIT(test_clear), UNIT(test_foreach))
