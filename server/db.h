/*
 * db.h -- one non-blocking PostgreSQL connection on the event loop.
 *
 * A db_conn owns a libpq connection in non-blocking mode and a FIFO of
 * queries. Queries run one at a time, in the order queued; each is one SQL
 * statement with text parameters (PQsendQueryParams), so a statement is its
 * own transaction unless it is part of an explicit one.
 *
 * The connection reconnects by itself with capped exponential back-off.
 * While it is not connected, db_query refuses new work at once (the caller
 * answers 503), and when the link fails, the query in flight and everything
 * queued behind it are completed with an error. A query whose fate is
 * unknown (the link died after it was sent) is reported as failed: callers
 * that write must be idempotent, which incident upserts are.
 *
 * Callbacks run on the loop; they may queue further queries. Every queued
 * query gets exactly one callback.
 */
#ifndef COMPSTAT_DB_H
#define COMPSTAT_DB_H

#include <stddef.h>

#include <event2/event.h>
#include <libpq-fe.h>

typedef struct db_conn db_conn;

/*
 * res: the statement's result when the server answered (check
 * PQresultStatus; error is PQresultErrorMessage then), or NULL when it never
 * answered (error says why). The result is freed after the callback returns.
 */
typedef void (*db_result_cb)(void *arg, PGresult *res, const char *error);

/* Called each time the connection (re)opens, before queued work runs. */
typedef void (*db_up_cb)(void *arg, db_conn *db);

/* Create and start connecting. name labels log lines ("writer"). */
db_conn *db_new(struct event_base *base, const char *conninfo, const char *name,
                long timeout_s, db_up_cb on_up, void *arg);
/* Close; pending callbacks are called with an error first. */
void db_free(db_conn *db);

/* 1 when connected (queries are accepted). */
int db_is_up(const db_conn *db);
/* 1 when connected and nothing is queued or in flight. */
int db_is_idle(const db_conn *db);
/* Queries queued or in flight. */
size_t db_depth(const db_conn *db);

/*
 * Queue sql with nparams text parameters (NULL entries are SQL NULL; all are
 * copied). Returns 0 (cb will be called exactly once), or -1 when the
 * connection is down or memory ran out (cb is not called).
 */
int db_query(db_conn *db, const char *sql, int nparams, const char *const *params,
             db_result_cb cb, void *arg);

/*
 * Queue "COPY (...) TO STDOUT" (sql) and stream its rows: on_row is called
 * with each text-format row (without its newline), or with (FORMAT binary)
 * each binary tuple (file header and trailer taken off; lib/pgbin.h reads
 * it), as it arrives -- a read
 * event delivers what the socket holds, so the loop never waits for the
 * whole result -- then cb once with the final result (or NULL and an
 * error). Returns 0, or -1 when the connection is down.
 */
int db_copy_out(db_conn *db, const char *sql, void (*on_row)(void *arg, char *row, int len),
                db_result_cb cb, void *arg);

/*
 * Register sql as a prepared statement named name: it is prepared on this
 * connection now (when up) and again after every reconnect, before any
 * other work. Returns 0, or -1 out of memory.
 */
int db_prepare(db_conn *db, const char *name, const char *sql);

/* Like db_query, running the statement registered under name. */
int db_query_prepared(db_conn *db, const char *name, int nparams, const char *const *params,
                      db_result_cb cb, void *arg);

/* Call fn for every NOTIFY received on this connection (after LISTEN). */
void db_on_notify(db_conn *db, void (*fn)(void *arg, const char *channel, const char *payload),
                  void *arg);

/* SQLSTATE of an error result ("23505"), or "" */
const char *db_sqlstate(const PGresult *res);
/* Constraint named by an error result, or "" */
const char *db_constraint(const PGresult *res);

#endif
