/*
 * batch.h -- the queue of writes waiting for a group commit, and which of
 * them go into the next one.
 *
 * The group commit (server/ingest.c) sends everything queued as one
 * statement, with two limits: at most `max` writes, and at most one write
 * per identity (one statement cannot change a row twice, and a later
 * write of an incident must see the earlier one's result). A write whose
 * identity is already in the batch stays queued, in its place, for the
 * next one. A solo write -- one of a batch the database rejected, retried
 * alone so that a bad write fails alone -- goes in a batch by itself.
 *
 * The queue is intrusive: a write embeds a batch_link. Nothing here
 * allocates but the identity set, a strmap the caller owns.
 */
#ifndef COMPSTAT_BATCH_H
#define COMPSTAT_BATCH_H

#include <stddef.h>

#include "strmap.h"

typedef struct batch_link {
    struct batch_link *next;
    int solo; /* goes in a batch of its own */
} batch_link;

typedef struct batch_queue {
    batch_link *head, *tail;
    size_t n;
} batch_queue;

/* Append l (its solo flag as set). */
void batch_push(batch_queue *q, batch_link *l);

/* Put l back at the head (a rejected batch, in reverse order, to run one
   by one: each is marked solo). */
void batch_push_front_solo(batch_queue *q, batch_link *l);

/* Take the head; NULL when empty. */
batch_link *batch_pop(batch_queue *q);

/*
 * Move the next batch out of q into out[0..return): in queue order, at
 * most max, at most one per identity (key_of writes l's identity into
 * buf, n bytes), a solo write alone -- it is taken only as the batch's
 * first, and its solo flag is cleared. seen holds the identities taken
 * (cleared first; the caller clears or reuses it after the batch). What
 * is not taken stays in q in its order.
 */
size_t batch_take(batch_queue *q, batch_link **out, size_t max, strmap *seen,
                  void (*key_of)(const batch_link *l, char *buf, size_t n));

#endif
