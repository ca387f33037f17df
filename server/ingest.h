/*
 * ingest.h -- durable incident writes with group commit.
 *
 * Validated incidents are queued here. Whenever the writer connection has
 * no batch in flight, everything queued (up to commit_batch_max, at most
 * one write per identity) goes to PostgreSQL as one multi-row upsert: one
 * statement, one transaction, one WAL flush for every request waiting.
 * Incidents that arrive meanwhile form the next batch. Each item's done
 * callback runs after its batch committed (or failed), never before: a 2xx
 * built from it means committed.
 *
 * A batch the database rejects (a constraint no check here foresaw) is
 * split and retried one incident at a time, so one bad incident fails
 * alone. Each committed change is written to audit_log by the same
 * statement (who, which request, create or update, the incident). When the link fails, the batch in flight is answered 503 (its
 * commit status is unknown; the upsert is idempotent, so retrying is safe).
 */
#ifndef COMPSTAT_INGEST_H
#define COMPSTAT_INGEST_H

#include <stddef.h>

#include <event2/event.h>

#include "db.h"
#include "incident.h"
#include "store.h"

typedef struct ingest_item ingest_item;

struct ingest_item {
    /* Input, owned by the item. */
    inc_incident inc;
    int agency_id, precinct_id, offense_id; /* resolved; precinct_id 0: none */
    int version; /* 1: create or replace; n > 1: replace only version n - 1 */
    int token_id;         /* who, for the audit log (0: unknown) */
    char request_id[40];  /* which request, for the audit log */

    /* Result, valid in done(). */
    int status;        /* 201 created, 200 updated or unchanged, 409, 422, 503, 500 */
    int conflict;      /* 409 because the version moved on (PATCH retries) */
    inc_error err;     /* when status >= 400 */
    stored row;        /* the stored incident when status < 300 */

    void (*done)(ingest_item *it);
    void *owner;
    size_t index;

    /* Queue links, private. */
    ingest_item *next;
    int solo;
};

struct ingest;

struct ingest *ingest_new(struct event_base *base, db_conn *writer, size_t batch_max);
void ingest_free(struct ingest *g);

/*
 * Queue it. Returns 0 (done will be called once), or -1 when the database
 * is down (done is not called; answer 503).
 */
int ingest_submit(struct ingest *g, ingest_item *it);

/* Send what waited while the cube was loading. */
void ingest_resume(struct ingest *g);

/* Items queued or in flight. */
size_t ingest_depth(const struct ingest *g);

/* Free the item's input and result. */
void ingest_item_clear(ingest_item *it);

#endif
