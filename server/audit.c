/*
 * audit.c -- see audit.h.
 */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define AUDIT_BATCH 1000

#define AUDIT_INSERT_SQL                                                                  \
    "INSERT INTO audit_log (token_id, request_id, action, target, detail)"               \
    " SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::jsonb[])"

struct audit_rec {
    struct audit_rec *next;
    audit_done_fn done; /* committed-first records; NULL once cancelled */
    void *arg;
    int sync;           /* committed first (else best effort) */
    int token_id;       /* 0: none (NULL) */
    size_t chunk;       /* on the retry list: the largest batch it may go in */
    const char *request_id, *action, *target, *detail; /* inside text[] */
    char text[];
};

struct list {
    struct audit_rec *head, *tail;
    size_t n;
};

static struct list syncq;  /* committed first, waiting */
static struct list bestq;  /* best effort, waiting */
static struct list retryq; /* from a rejected batch, retried in smaller batches */
static struct audit_rec *flight[AUDIT_BATCH];
static size_t nflight;
static size_t nsync, nbest; /* held in memory, anywhere */
static size_t max_best;
static unsigned long long dropped, rejected, written, failures;
static db_conn *conn;
static struct event *timer, *kick;

static void push_back(struct list *l, struct audit_rec *r)
{
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

static void push_front(struct list *l, struct audit_rec *r)
{
    r->next = l->head;
    l->head = r;
    if (l->tail == NULL)
        l->tail = r;
    l->n++;
}

static struct audit_rec *pop(struct list *l)
{
    struct audit_rec *r = l->head;
    if (r) {
        l->head = r->next;
        if (l->head == NULL)
            l->tail = NULL;
        l->n--;
        r->next = NULL;
    }
    return r;
}

size_t audit_pending(void)
{
    return nsync + nbest;
}

unsigned long long audit_dropped(void)
{
    return dropped;
}

const db_conn *audit_conn(void)
{
    return conn;
}

int audit_drained(void)
{
    return audit_pending() == 0 || conn == NULL || !db_is_up(conn);
}

/* The record is done with: tell its waiter (if any) and free it. */
static void complete(struct audit_rec *r, int result)
{
    if (r->sync)
        nsync--;
    else
        nbest--;
    if (result == AUDIT_OK)
        written++;
    audit_done_fn done = r->done;
    void *arg = r->arg;
    free(r);
    if (done)
        done(arg, result);
}

/* The database is down: committed-first records cannot wait for it. */
static void fail_sync(void)
{
    struct list keep = {0};
    struct audit_rec *r;
    while ((r = pop(&syncq)) != NULL)
        complete(r, AUDIT_UNAVAILABLE);
    while ((r = pop(&retryq)) != NULL) {
        if (r->sync)
            complete(r, AUDIT_UNAVAILABLE);
        else
            push_back(&keep, r);
    }
    retryq = keep;
}

static void on_written(void *arg, PGresult *res, const char *error);

static void flush(void)
{
    if (nflight || conn == NULL)
        return;
    if (!db_is_up(conn)) {
        fail_sync();
        return;
    }
    if (retryq.head) {
        size_t chunk = retryq.head->chunk;
        while (retryq.head && retryq.head->chunk == chunk && nflight < chunk)
            flight[nflight++] = pop(&retryq);
    } else {
        /* The records that hold an answer first, then the others. */
        while (syncq.head && nflight < AUDIT_BATCH)
            flight[nflight++] = pop(&syncq);
        while (bestq.head && nflight < AUDIT_BATCH)
            flight[nflight++] = pop(&bestq);
    }
    if (nflight == 0)
        return;
    sbuf a[5];
    for (int k = 0; k < 5; k++) {
        sbuf_init(&a[k]);
        sbuf_array_begin(&a[k]);
    }
    for (size_t i = 0; i < nflight; i++) {
        const struct audit_rec *r = flight[i];
        char num[16];
        if (r->token_id > 0) {
            snprintf(num, sizeof num, "%d", r->token_id);
            sbuf_array_raw(&a[0], num);
        } else {
            sbuf_array_null(&a[0]);
        }
        sbuf_array_str(&a[1], r->request_id);
        sbuf_array_str(&a[2], r->action);
        sbuf_array_str(&a[3], r->target);
        sbuf_array_str(&a[4], r->detail);
    }
    const char *params[5];
    int ok = 1;
    for (int k = 0; k < 5; k++) {
        sbuf_array_end(&a[k]);
        ok &= !sbuf_failed(&a[k]);
        params[k] = sbuf_str(&a[k]);
    }
    int sent = ok && db_query_prepared(conn, "audit_insert", 5, params, on_written, NULL) == 0;
    for (int k = 0; k < 5; k++)
        sbuf_free(&a[k]);
    if (!sent) {
        /* Out of memory, or the link went down just now: as a failed link. */
        on_written(NULL, NULL, ok ? "the audit connection is down" : "out of memory");
    }
}

/* SQLSTATE classes that mean "this data is bad", not "the database is unwell". */
static int bad_data(const PGresult *res)
{
    const char *st = db_sqlstate(res);
    return strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0;
}

static void on_written(void *arg, PGresult *res, const char *error)
{
    struct audit_rec *batch[AUDIT_BATCH];
    size_t n = nflight;
    memcpy(batch, flight, n * sizeof *batch);
    nflight = 0;

    if (error == NULL) {
        for (size_t i = 0; i < n; i++)
            complete(batch[i], AUDIT_OK);
    } else if (res && bad_data(res)) {
        if (n == 1) {
            rejected++;
            log_error("audit", "audit record of request %s (%s %s) rejected by the database, "
                      "lost: %s", batch[0]->request_id, batch[0]->action, batch[0]->target,
                      error);
            complete(batch[0], AUDIT_REJECTED);
        } else {
            size_t half = (n + 1) / 2;
            log_warn("audit", "batch of %zu audit records rejected (%s): retrying it in batches "
                     "of %zu", n, db_sqlstate(res), half);
            for (size_t i = n; i-- > 0;) {
                batch[i]->chunk = half;
                push_front(&retryq, batch[i]);
            }
        }
    } else {
        /* The link failed (the records' fate is unknown) or the database is
           unwell: answers held for a record cannot wait; the others are
           written later (perhaps twice, if the lost answer was a commit). */
        if (failures++ % 1000 == 0)
            log_warn("audit", "cannot write %zu audit records: %s (%llu times so far)", n,
                     error, failures);
        for (size_t i = n; i-- > 0;) {
            if (batch[i]->sync) {
                complete(batch[i], AUDIT_UNAVAILABLE);
            } else {
                batch[i]->chunk = 0;
                push_front(&bestq, batch[i]);
            }
        }
        return; /* the timer retries the rest */
    }
    /* Group commit: whatever arrived meanwhile goes now, if anyone waits for it. */
    if (syncq.n || retryq.n || bestq.n >= AUDIT_BATCH)
        flush();
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    flush();
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    flush();
}

static void on_up(void *arg, db_conn *db)
{
    flush();
}

void audit_init(struct event_base *base, const char *conninfo, long db_timeout,
                size_t max_queue)
{
    max_best = max_queue;
    conn = db_new(base, conninfo, "audit", db_timeout, on_up, NULL);
    if (conn && db_prepare(conn, "audit_insert", AUDIT_INSERT_SQL) != 0) {
        db_free(conn);
        conn = NULL;
    }
    if (conn == NULL)
        log_error("audit", "cannot open the audit connection: reads that must be audited get 503");
    timer = event_new(base, -1, EV_PERSIST, on_timer, NULL);
    kick = event_new(base, -1, 0, on_kick, NULL);
    struct timeval tv = {0, 200000};
    if (timer)
        event_add(timer, &tv);
}

static void free_list(struct list *l)
{
    struct audit_rec *r;
    while ((r = pop(l)) != NULL)
        free(r);
}

void audit_free(void)
{
    if (timer)
        event_free(timer);
    if (kick)
        event_free(kick);
    timer = kick = NULL;
    if (audit_pending())
        log_warn("audit", "%zu audit records not written at exit", audit_pending());
    /* Nobody is told any more: the requests are gone. */
    for (size_t i = 0; i < nflight; i++)
        flight[i]->done = NULL;
    for (struct audit_rec *r = syncq.head; r; r = r->next)
        r->done = NULL;
    for (struct audit_rec *r = retryq.head; r; r = r->next)
        r->done = NULL;
    if (conn)
        db_free(conn); /* completes the batch in flight (with an error): back on the lists */
    conn = NULL;
    free_list(&syncq);
    free_list(&bestq);
    free_list(&retryq);
    nflight = 0;
    nsync = nbest = 0;
}

/* Length of s with every byte that is not part of valid UTF-8 written as %XX. */
static size_t utf8_fixed_len(const unsigned char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    while (*s) {
        size_t len = 0;
        unsigned c = s[0];
        if (c < 0x80)
            len = 1;
        else if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        for (size_t k = 1; k < len; k++)
            if ((s[k] & 0xC0) != 0x80)
                len = 0;
        if (len == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
            len = 0; /* overlong, or a surrogate */
        if (len == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)))
            len = 0; /* overlong, or beyond U+10FFFF */
        if (len == 0) {
            if (out) {
                out[n] = '%';
                out[n + 1] = hex[c >> 4];
                out[n + 2] = hex[c & 15];
            }
            n += 3;
            s++;
            continue;
        }
        if (out)
            memcpy(out + n, s, len);
        n += len;
        s += len;
    }
    return n;
}

static struct audit_rec *make(int token_id, const char *request_id, const char *action,
                              const char *target, const char *detail)
{
    const char *v[4] = {request_id ? request_id : "", action, target ? target : "",
                        detail ? detail : "{}"};
    size_t n[4], total = 0;
    for (int k = 0; k < 4; k++) {
        n[k] = utf8_fixed_len((const unsigned char *)v[k], NULL);
        total += n[k] + 1;
    }
    struct audit_rec *r = malloc(sizeof *r + total);
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof *r);
    r->token_id = token_id;
    const char **dst[4] = {&r->request_id, &r->action, &r->target, &r->detail};
    size_t off = 0;
    for (int k = 0; k < 4; k++) {
        utf8_fixed_len((const unsigned char *)v[k], r->text + off);
        r->text[off + n[k]] = '\0';
        *dst[k] = r->text + off;
        off += n[k] + 1;
    }
    return r;
}

void audit_record(int token_id, const char *request_id, const char *action, const char *target,
                  const char *detail)
{
    if (nbest >= max_best) {
        if (dropped++ % 10000 == 0)
            log_error("audit", "audit queue full (%zu records wait for the database): dropping "
                      "records of refused (and unsynchronised) reads, %llu so far",
                      nbest, dropped);
        return;
    }
    struct audit_rec *r = make(token_id, request_id, action, target, detail);
    if (r == NULL) {
        dropped++;
        return;
    }
    nbest++;
    push_back(&bestq, r);
    if (nflight == 0 && bestq.n >= AUDIT_BATCH)
        flush();
}

audit_ticket *audit_record_sync(int token_id, const char *request_id, const char *action,
                                const char *target, const char *detail, audit_done_fn done,
                                void *arg)
{
    if (conn == NULL || !db_is_up(conn))
        return NULL;
    struct audit_rec *r = make(token_id, request_id, action, target, detail);
    if (r == NULL)
        return NULL;
    r->sync = 1;
    r->done = done;
    r->arg = arg;
    nsync++;
    push_back(&syncq, r);
    /* Not now: every read answered in this loop pass joins the batch. */
    if (nflight == 0 && kick)
        event_active(kick, 0, 0);
    return r;
}

void audit_cancel(audit_ticket *t)
{
    if (t)
        t->done = NULL;
}

void audit_metrics(sbuf *out)
{
    sbuf_printf(out,
                "# HELP compstatd_audit_queue Audit records of reads not yet written.\n"
                "# TYPE compstatd_audit_queue gauge\n"
                "compstatd_audit_queue %zu\n"
                "# HELP compstatd_audit_written_total Audit records of reads written.\n"
                "# TYPE compstatd_audit_written_total counter\n"
                "compstatd_audit_written_total %llu\n"
                "# HELP compstatd_audit_dropped_total Audit records dropped because "
                "audit_max_queue records were already waiting.\n"
                "# TYPE compstatd_audit_dropped_total counter\n"
                "compstatd_audit_dropped_total %llu\n"
                "# HELP compstatd_audit_rejected_total Audit records the database rejected "
                "on their own (logged).\n"
                "# TYPE compstatd_audit_rejected_total counter\n"
                "compstatd_audit_rejected_total %llu\n",
                audit_pending(), written, dropped, rejected);
}
