/*
 * test_batch.c -- unit tests for lib/batch: which queued writes go into
 * the next group commit (server/ingest.c). Checked against the rules of
 * batch.h under random queues as well as by hand.
 */
#include "batch.h"
#include "unit.h"

#include <stddef.h>
#include <stdint.h>

struct w {
    batch_link link;
    int id;  /* order of submission */
    int key; /* identity */
};

static struct w *w_of(const batch_link *l)
{
    return (struct w *)((char *)l - offsetof(struct w, link));
}

static void key_of(const batch_link *l, char *buf, size_t n)
{
    snprintf(buf, n, "k%d", w_of(l)->key);
}

static void fill(batch_queue *q, struct w *ws, const int *keys, int n)
{
    *q = (batch_queue){0};
    for (int i = 0; i < n; i++) {
        ws[i] = (struct w){.id = i, .key = keys[i]};
        batch_push(q, &ws[i].link);
    }
}

/* The ids left in q, in order, as a string "0 2 5". */
static void left(const batch_queue *q, char *buf, size_t n)
{
    buf[0] = '\0';
    size_t len = 0, count = 0;
    for (const batch_link *l = q->head; l; l = l->next, count++)
        len += (size_t)snprintf(buf + len, n - len, "%s%d", len ? " " : "", w_of(l)->id);
    CHECK_INT(count, q->n);
}

static void test_one_per_identity(void)
{
    strmap *seen = strmap_new();
    struct w ws[8];
    batch_link *out[8];
    batch_queue q;
    char buf[128];
    const int keys[] = {1, 2, 1, 3, 2, 4};
    fill(&q, ws, keys, 6);
    size_t n = batch_take(&q, out, 8, seen, key_of);
    CHECK_INT(n, 4); /* 1 2 3 4; the second 1 and 2 wait */
    CHECK_INT(w_of(out[0])->id, 0);
    CHECK_INT(w_of(out[1])->id, 1);
    CHECK_INT(w_of(out[2])->id, 3);
    CHECK_INT(w_of(out[3])->id, 5);
    left(&q, buf, sizeof buf);
    CHECK_STR(buf, "2 4");
    CHECK(q.tail == &ws[4].link);
    n = batch_take(&q, out, 8, seen, key_of); /* the next batch: the identity set starts empty */
    CHECK_INT(n, 2);
    CHECK_INT(q.n, 0);
    CHECK(q.head == NULL && q.tail == NULL);
    CHECK_INT(batch_take(&q, out, 8, seen, key_of), 0);
    strmap_free(seen);
}

static void test_max_and_tail(void)
{
    strmap *seen = strmap_new();
    struct w ws[8];
    batch_link *out[8];
    batch_queue q;
    char buf[128];
    const int keys[] = {1, 1, 2, 3, 4};
    fill(&q, ws, keys, 5);
    CHECK_INT(batch_take(&q, out, 3, seen, key_of), 3); /* 0 2 3 */
    left(&q, buf, sizeof buf);
    CHECK_STR(buf, "1 4");
    CHECK(q.tail == &ws[4].link);
    ws[5] = (struct w){.id = 5, .key = 9};
    batch_push(&q, &ws[5].link); /* the tail still links on */
    left(&q, buf, sizeof buf);
    CHECK_STR(buf, "1 4 5");
    strmap_free(seen);
}

static void test_solo(void)
{
    strmap *seen = strmap_new();
    struct w ws[8];
    batch_link *out[8];
    batch_queue q;
    char buf[128];
    const int keys[] = {1, 2, 3, 4};
    fill(&q, ws, keys, 4);
    /* A rejected batch of 0 and 1 comes back to the head, each alone. */
    CHECK_INT(batch_take(&q, out, 2, seen, key_of), 2);
    batch_push_front_solo(&q, out[1]);
    batch_push_front_solo(&q, out[0]);
    left(&q, buf, sizeof buf);
    CHECK_STR(buf, "0 1 2 3");
    CHECK_INT(batch_take(&q, out, 8, seen, key_of), 1);
    CHECK_INT(w_of(out[0])->id, 0);
    CHECK_INT(out[0]->solo, 0); /* it has had its turn alone */
    CHECK_INT(batch_take(&q, out, 8, seen, key_of), 1);
    CHECK_INT(w_of(out[0])->id, 1);
    CHECK_INT(batch_take(&q, out, 8, seen, key_of), 2); /* then batches again */
    /* A solo write behind others waits for the next batch. */
    const int keys2[] = {1, 2, 3};
    fill(&q, ws, keys2, 3);
    ws[1].link.solo = 1;
    CHECK_INT(batch_take(&q, out, 8, seen, key_of), 1);
    CHECK_INT(batch_take(&q, out, 8, seen, key_of), 1);
    CHECK_INT(w_of(out[0])->id, 1);
    CHECK_INT(batch_take(&q, out, 8, seen, key_of), 1);
    /* Into an empty queue, the split's head is its tail too. */
    q = (batch_queue){0};
    batch_push_front_solo(&q, &ws[0].link);
    CHECK(q.head == q.tail && q.n == 1);
    CHECK(batch_pop(&q) == &ws[0].link);
    CHECK(batch_pop(&q) == NULL);
    CHECK(q.tail == NULL);
    strmap_free(seen);
}

/* Random queues: every write is taken exactly once, in order per identity,
   a batch never holds an identity twice nor more than max. */
static void test_random(void)
{
    strmap *seen = strmap_new();
    enum { N = 300 };
    static struct w ws[N];
    batch_link *out[N];
    uint64_t x = 88172645463325252ULL;
    for (int round = 0; round < 50; round++) {
        int nkeys = 1 + round % 17, max = 1 + round % 9;
        batch_queue q = {0};
        for (int i = 0; i < N; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ws[i] = (struct w){.id = i, .key = (int)(x % (uint64_t)nkeys)};
            batch_push(&q, &ws[i].link);
        }
        int last_of_key[17], total = 0, bad = 0;
        for (int k = 0; k < 17; k++)
            last_of_key[k] = -1;
        size_t n;
        while ((n = batch_take(&q, out, (size_t)max, seen, key_of)) > 0) {
            int in_batch[17] = {0};
            bad += n > (size_t)max;
            for (size_t i = 0; i < n; i++) {
                struct w *w = w_of(out[i]);
                bad += in_batch[w->key]++ > 0;
                bad += w->id <= last_of_key[w->key]; /* an identity's writes keep their order */
                last_of_key[w->key] = w->id;
                total++;
            }
        }
        CHECK_INT(bad, 0);
        CHECK_INT(total, N);
        CHECK_INT(q.n, 0);
    }
    strmap_free(seen);
}

UNIT_MAIN(UNIT(test_one_per_identity), UNIT(test_max_and_tail), UNIT(test_solo),
          UNIT(test_random))
