/*
 * audit.h -- the audit trail of reads of incident data.
 *
 * Writes are audited by the upsert itself (ingest.c), in the same
 * statement. Reads (incident by id, lists, cube, COMPSTAT, hotspots,
 * response times, workload, units, streams) are recorded here on their own
 * database connection ("audit"), in batches: one multi-row INSERT at a
 * time, and records arriving while it is in flight go into the next one --
 * the group commit of ingest.c.
 *
 * Two kinds of record:
 *
 *  - committed first (audit_record_sync): a read answered 2xx with
 *    audit_sync on. The caller holds the answer until done(arg, AUDIT_OK)
 *    says the record is committed; the batch goes out at the end of the
 *    loop pass that queued it (or right after the batch in flight). When
 *    the record cannot be written -- the database is down, the link failed
 *    with it in flight, the database rejected it -- done says so and the
 *    read must not be answered 2xx. Never dropped for lack of room: they are
 *    bounded by the requests in flight.
 *
 *  - best effort (audit_record): refusals (401, 403, 404) on incident data,
 *    and 2xx reads with audit_sync off. Written with the next batch, or
 *    every 200 ms; while the database is down they wait in memory. At most
 *    audit_max_queue of them wait; beyond, new ones are dropped, counted
 *    (compstatd_audit_dropped_total) and logged, so a flood of refused
 *    requests cannot grow the daemon without bound.
 *
 * A batch the database rejects with a data or constraint error (SQLSTATE
 * class 22 or 23) is split in halves and retried, down to single records,
 * so only a record that is bad on its own is lost (logged, and counted in
 * compstatd_audit_rejected_total). Other errors keep the records (best
 * effort ones are retried later; committed-first ones fail, so their reads
 * get 503). Texts are made valid UTF-8 before they are sent.
 */
#ifndef COMPSTAT_AUDIT_H
#define COMPSTAT_AUDIT_H

#include <stddef.h>

#include <event2/event.h>

#include "db.h"
#include "sbuf.h"

enum audit_result {
    AUDIT_OK = 0,          /* committed */
    AUDIT_UNAVAILABLE = 1, /* the database is down or the link failed: 503 */
    AUDIT_REJECTED = 2,    /* the database refused this record: 500 */
};

typedef struct audit_rec audit_ticket;
typedef void (*audit_done_fn)(void *arg, int result);

/* Open the audit connection to conninfo. max_queue bounds the best-effort records. */
void audit_init(struct event_base *base, const char *conninfo, long db_timeout,
                size_t max_queue);
void audit_free(void);

/*
 * Record one read, best effort. detail is a JSON object text (copied; NULL:
 * {}); target may be any bytes (made valid UTF-8).
 */
void audit_record(int token_id, const char *request_id, const char *action, const char *target,
                  const char *detail);

/*
 * Record one read to be committed before it is answered. Returns a ticket:
 * done(arg, result) runs exactly once later, on the loop, unless
 * audit_cancel(ticket) ran first. NULL when it cannot be recorded now (the
 * database is down, or out of memory): answer 503 at once.
 */
audit_ticket *audit_record_sync(int token_id, const char *request_id, const char *action,
                                const char *target, const char *detail, audit_done_fn done,
                                void *arg);
/* The caller is gone: done will not be called (the record is still written). */
void audit_cancel(audit_ticket *t);

/* Records not yet written (both kinds); records dropped so far. */
size_t audit_pending(void);
unsigned long long audit_dropped(void);
/* 1 when nothing waits that could be written now (for the shutdown drain). */
int audit_drained(void);
/* The audit connection (for the connection gauges). */
const db_conn *audit_conn(void);
/* Append the audit metrics (Prometheus text) to out. */
void audit_metrics(sbuf *out);

#endif
