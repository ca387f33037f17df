/*
 * audit.c -- see audit.h.
 */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sbuf.h"

#define AUDIT_MAX 100000
#define AUDIT_BATCH 1000

struct rec {
    int token_id;
    char *request_id, *action, *target, *detail; /* one allocation, at request_id */
};

static struct rec *recs;   /* waiting, oldest first */
static size_t nrecs, cap;
static size_t inflight;    /* the first `inflight` records are being written */
static unsigned long long dropped;
static db_conn *conn;
static struct event *timer;

static void rec_free(struct rec *r)
{
    free(r->request_id);
}

size_t audit_pending(void)
{
    return nrecs;
}

unsigned long long audit_dropped(void)
{
    return dropped;
}

static void on_written(void *arg, PGresult *res, const char *error)
{
    size_t n = inflight;
    inflight = 0;
    if (error) {
        if (res == NULL)
            return; /* database away: keep them, try again later */
        log_error("audit", "cannot write %zu audit records: %s", n, error);
        dropped += n; /* rejected by the database: retrying would not help */
    }
    for (size_t i = 0; i < n; i++)
        rec_free(&recs[i]);
    memmove(recs, recs + n, (nrecs - n) * sizeof *recs);
    nrecs -= n;
}

static void flush(void)
{
    if (inflight || nrecs == 0 || conn == NULL || !db_is_up(conn))
        return;
    size_t n = nrecs < AUDIT_BATCH ? nrecs : AUDIT_BATCH;
    sbuf a[5];
    for (int k = 0; k < 5; k++) {
        sbuf_init(&a[k]);
        sbuf_array_begin(&a[k]);
    }
    for (size_t i = 0; i < n; i++) {
        char num[16];
        if (recs[i].token_id > 0) {
            snprintf(num, sizeof num, "%d", recs[i].token_id);
            sbuf_array_raw(&a[0], num);
        } else {
            sbuf_array_null(&a[0]);
        }
        sbuf_array_str(&a[1], recs[i].request_id);
        sbuf_array_str(&a[2], recs[i].action);
        sbuf_array_str(&a[3], recs[i].target);
        sbuf_array_str(&a[4], recs[i].detail);
    }
    const char *params[5];
    int ok = 1;
    for (int k = 0; k < 5; k++) {
        sbuf_array_end(&a[k]);
        ok &= !sbuf_failed(&a[k]);
        params[k] = sbuf_str(&a[k]);
    }
    if (ok && db_query(conn,
                       "INSERT INTO audit_log (token_id, request_id, action, target, detail)"
                       " SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[],"
                       " $5::jsonb[])",
                       5, params, on_written, NULL) == 0)
        inflight = n;
    for (int k = 0; k < 5; k++)
        sbuf_free(&a[k]);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    flush();
}

void audit_init(struct event_base *base, db_conn *db)
{
    conn = db;
    timer = event_new(base, -1, EV_PERSIST, on_timer, NULL);
    struct timeval tv = {0, 200000};
    if (timer)
        event_add(timer, &tv);
}

void audit_free(void)
{
    if (timer)
        event_free(timer);
    timer = NULL;
    if (nrecs)
        log_warn("audit", "%zu audit records not written at exit", nrecs);
    for (size_t i = 0; i < nrecs; i++)
        rec_free(&recs[i]);
    free(recs);
    recs = NULL;
    nrecs = cap = inflight = 0;
}

void audit_record(int token_id, const char *request_id, const char *action, const char *target,
                  const char *detail)
{
    if (nrecs >= AUDIT_MAX) {
        if (dropped++ % 10000 == 0)
            log_error("audit", "audit backlog full (%d records): dropping", AUDIT_MAX);
        return;
    }
    if (nrecs == cap) {
        size_t ncap = cap ? cap * 2 : 256;
        struct rec *n = realloc(recs, ncap * sizeof *n);
        if (n == NULL) {
            dropped++;
            return;
        }
        recs = n;
        cap = ncap;
    }
    struct rec *r = &recs[nrecs];
    r->token_id = token_id;
    /* The four strings in one allocation: this runs on every read. */
    const char *v[4] = {request_id ? request_id : "", action, target ? target : "",
                        detail ? detail : "{}"};
    size_t n[4], total = 0;
    for (int k = 0; k < 4; k++)
        total += (n[k] = strlen(v[k])) + 1;
    char *blob = malloc(total);
    if (blob == NULL) {
        dropped++;
        return;
    }
    char **dst[4] = {&r->request_id, &r->action, &r->target, &r->detail};
    for (int k = 0, off = 0; k < 4; off += (int)n[k] + 1, k++) {
        memcpy(blob + off, v[k], n[k] + 1);
        *dst[k] = blob + off;
    }
    nrecs++;
    if (nrecs - inflight >= AUDIT_BATCH)
        flush();
}
