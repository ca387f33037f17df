/*
 * audit.h -- the audit trail of reads of incident data.
 *
 * Writes are audited by the upsert itself (ingest.c), in the same
 * statement. Reads (incident by id, lists, cube, COMPSTAT, hotspots) are
 * recorded here when answered with a 2xx and written to audit_log in
 * batches -- one multi-row INSERT every 200 ms or 1,000 records on the
 * reader connection -- so auditing costs the read path a few appends, not a
 * database round trip. While the database is down records wait in memory
 * (at most 100,000; beyond that new ones are dropped, counted and logged)
 * and are written when it returns.
 */
#ifndef COMPSTAT_AUDIT_H
#define COMPSTAT_AUDIT_H

#include <stddef.h>

#include <event2/event.h>

#include "db.h"

void audit_init(struct event_base *base, db_conn *db);
void audit_free(void);

/* Record one read. detail is a JSON object text (copied). */
void audit_record(int token_id, const char *request_id, const char *action, const char *target,
                  const char *detail);

/* Records not yet written; and records dropped so far. */
size_t audit_pending(void);
unsigned long long audit_dropped(void);

#endif
