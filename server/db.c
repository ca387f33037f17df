/*
 * db.c -- see db.h.
 *
 * States: DOWN (a reconnect timer is armed) -> CONNECTING (PQconnectPoll
 * drives a one-shot socket event) -> IDLE <-> BUSY (one statement in
 * flight; a persistent read event feeds PQconsumeInput, a one-shot write
 * event finishes PQflush) -> DOWN on any failure.
 */
#include "db.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgbin.h"

enum db_state { DB_DOWN, DB_CONNECTING, DB_IDLE, DB_BUSY };
/* A job's COPY: not streaming (0), text rows, binary tuples (before or after the first). */
enum { COPY_NONE, COPY_TEXT, COPY_BINARY_FIRST, COPY_BINARY };
static const char *const state_names[] = {"down", "connecting", "idle", "busy"};

struct db_job {
    char *sql;
    int nparams;
    char **params;
    db_result_cb cb;
    char *stmt;    /* prepared statement to run (sql unused), or NULL */
    int prepare;   /* 1: prepare sql under the name stmt */
    void (*on_row)(void *arg, char *row, int len); /* COPY TO STDOUT */
    int copying;                                   /* rows are streaming: COPY_* */
    void *arg;
    struct db_job *next;
};

struct prepared {
    char *name, *sql;
    struct prepared *next;
};

struct db_conn {
    struct event_base *base;
    char *conninfo;
    char name[40];
    long timeout_s;
    db_up_cb on_up;
    void *on_up_arg;

    PGconn *pg;
    enum db_state state;
    struct event *sock_ev;  /* read (persistent) when up; one-shot while connecting */
    struct event *write_ev; /* one-shot, while a flush is pending */
    struct event *timer;    /* reconnect delay, or the in-flight deadline */
    int backoff_ms;
    int closing; /* db_free: no warnings, no reconnect */

    struct db_job *head, *tail, *current;
    struct prepared *prepared;
    void (*on_notify)(void *arg, const char *channel, const char *payload);
    void *notify_arg;
    size_t depth;
    PGresult *last;
};

static void start_connect(db_conn *db);
static void pump(db_conn *db);

static void job_free(struct db_job *j)
{
    free(j->stmt);
    for (int i = 0; i < j->nparams; i++)
        free(j->params[i]);
    free(j->params);
    free(j->sql);
    free(j);
}

static void clear_events(db_conn *db)
{
    if (db->sock_ev) {
        event_free(db->sock_ev);
        db->sock_ev = NULL;
    }
    if (db->write_ev) {
        event_free(db->write_ev);
        db->write_ev = NULL;
    }
}

static void complete(db_conn *db, struct db_job *j, PGresult *res, const char *error)
{
    db->depth--;
    j->cb(j->arg, res, error);
    job_free(j);
}

/* The link failed: fail everything, close, and schedule a reconnect. */
static void fail_link(db_conn *db, const char *why)
{
    const char *msg = db->pg ? PQerrorMessage(db->pg) : "";
    if (!db->closing && (db->state != DB_CONNECTING || db->backoff_ms == 0))
        log_warn(db->name, "database link %s: %s %s", state_names[db->state], why, msg);
    clear_events(db);
    if (db->pg) {
        PQfinish(db->pg);
        db->pg = NULL;
    }
    db->state = DB_DOWN;
    if (db->last) {
        PQclear(db->last);
        db->last = NULL;
    }
    struct db_job *cur = db->current;
    db->current = NULL;
    struct db_job *q = db->head;
    db->head = db->tail = NULL;
    if (cur)
        complete(db, cur, NULL, "database connection lost");
    while (q) {
        struct db_job *next = q->next;
        complete(db, q, NULL, "database unavailable");
        q = next;
    }
    db->backoff_ms = db->backoff_ms ? db->backoff_ms * 2 : 250;
    if (db->backoff_ms > 5000)
        db->backoff_ms = 5000;
    struct timeval tv = {db->backoff_ms / 1000, (db->backoff_ms % 1000) * 1000};
    evtimer_add(db->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    db_conn *db = arg;
    if (db->state == DB_DOWN)
        start_connect(db);
    else if (db->state == DB_BUSY)
        fail_link(db, "no answer within the time limit;");
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    db_conn *db = arg;
    int r = PQflush(db->pg);
    if (r < 0)
        fail_link(db, "flush failed:");
    else if (r == 1)
        event_add(db->write_ev, NULL);
}

static void finish_current(db_conn *db)
{
    struct db_job *j = db->current;
    PGresult *res = db->last;
    db->current = NULL;
    db->last = NULL;
    db->state = DB_IDLE;
    evtimer_del(db->timer);
    const char *err = NULL;
    if (res == NULL)
        err = "no result";
    else if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        err = PQresultErrorMessage(res);
    complete(db, j, res, err);
    if (res)
        PQclear(res);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    db_conn *db = arg;
    if (!PQconsumeInput(db->pg)) {
        fail_link(db, "read failed:");
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(db->pg)) != NULL) {
        if (db->on_notify)
            db->on_notify(db->notify_arg, n->relname, n->extra);
        PQfreemem(n);
    }
    if (db->state != DB_BUSY) {
        if (PQstatus(db->pg) == CONNECTION_BAD)
            fail_link(db, "connection closed:");
        return;
    }
    while (db->state == DB_BUSY) {
        struct db_job *j = db->current;
        if (j->copying) {
            /* Stream COPY rows as they come. */
            char *buf;
            int got, rows = 0;
            while ((got = PQgetCopyData(db->pg, &buf, 1)) > 0) {
                if (j->copying == COPY_TEXT) {
                    j->on_row(j->arg, buf, buf[got - 1] == '\n' ? got - 1 : got);
                } else {
                    /* Binary: one tuple per message; the file header comes
                       with the first, the trailer alone at the end. */
                    size_t skip = j->copying == COPY_BINARY_FIRST ? pgbin_header(buf, (size_t)got)
                                                                  : 0;
                    j->copying = COPY_BINARY;
                    if (!pgbin_is_trailer(buf + skip, (size_t)got - skip) && (size_t)got > skip)
                        j->on_row(j->arg, buf + skip, got - (int)skip);
                }
                PQfreemem(buf);
                if (++rows == 20000) {
                    /* Bounded work per loop pass: come back for the rest. */
                    event_active(db->sock_ev, EV_READ, 0);
                    break;
                }
            }
            if (rows > 0) {
                struct timeval tv = {db->timeout_s, 0};
                evtimer_add(db->timer, &tv); /* progress: extend the deadline */
            }
            if (got >= 0)
                return; /* more to come */
            j->copying = 0; /* -1: done, -2: failed; the final result says which */
        }
        if (PQisBusy(db->pg))
            break;
        PGresult *r = PQgetResult(db->pg);
        if (r == NULL) {
            finish_current(db);
            break;
        }
        if (PQresultStatus(r) == PGRES_COPY_OUT && j->on_row) {
            j->copying = PQbinaryTuples(r) ? COPY_BINARY_FIRST : COPY_TEXT;
            PQclear(r);
            continue;
        }
        if (db->last)
            PQclear(db->last);
        db->last = r;
    }
    if (db->pg && PQstatus(db->pg) == CONNECTION_BAD) {
        fail_link(db, "connection closed:");
        return;
    }
    pump(db);
}

static void on_prepared(void *arg, PGresult *res, const char *error)
{
    if (error)
        log_error("db", "cannot prepare statement %s: %s", (const char *)arg, error);
}

static int submit(db_conn *db, const char *sql, int nparams, const char *const *params,
                  db_result_cb cb, void (*on_row)(void *arg, char *row, int len), void *arg);

static void send_prepare(db_conn *db, struct prepared *p)
{
    if (submit(db, p->sql, 0, NULL, on_prepared, NULL, p->name) == 0) {
        db->tail->prepare = 1;
        db->tail->stmt = strdup(p->name);
        if (db->tail->stmt == NULL)
            db->tail->prepare = 0; /* runs as a plain statement: harmless */
    }
}

static void became_up(db_conn *db)
{
    if (PQsetnonblocking(db->pg, 1) != 0) {
        fail_link(db, "cannot set non-blocking mode:");
        return;
    }
    clear_events(db);
    int fd = PQsocket(db->pg);
    db->sock_ev = event_new(db->base, fd, EV_READ | EV_PERSIST, on_read, db);
    db->write_ev = event_new(db->base, fd, EV_WRITE, on_write, db);
    if (!db->sock_ev || !db->write_ev || event_add(db->sock_ev, NULL) != 0) {
        fail_link(db, "cannot watch socket");
        return;
    }
    db->state = DB_IDLE;
    if (db->backoff_ms)
        log_info(db->name, "database connection restored");
    else
        log_info(db->name, "database connected");
    db->backoff_ms = 0;
    for (struct prepared *p = db->prepared; p; p = p->next)
        send_prepare(db, p);
    if (db->on_up)
        db->on_up(db->on_up_arg, db);
    pump(db);
}

static void on_connect_io(evutil_socket_t fd, short what, void *arg)
{
    db_conn *db = arg;
    PostgresPollingStatusType st = PQconnectPoll(db->pg);
    short ev;
    switch (st) {
    case PGRES_POLLING_OK:
        became_up(db);
        return;
    case PGRES_POLLING_READING:
        ev = EV_READ;
        break;
    case PGRES_POLLING_WRITING:
        ev = EV_WRITE;
        break;
    default:
        fail_link(db, "connect failed:");
        return;
    }
    clear_events(db);
    db->sock_ev = event_new(db->base, PQsocket(db->pg), ev, on_connect_io, db);
    struct timeval tv = {db->timeout_s, 0};
    if (db->sock_ev == NULL || event_add(db->sock_ev, &tv) != 0)
        fail_link(db, "cannot watch socket");
}

static void start_connect(db_conn *db)
{
    db->state = DB_CONNECTING;
    db->pg = PQconnectStart(db->conninfo);
    if (db->pg == NULL || PQstatus(db->pg) == CONNECTION_BAD) {
        fail_link(db, "connect failed:");
        return;
    }
    /* PQconnectPoll's first step is "as if the socket were writable". */
    on_connect_io(PQsocket(db->pg), EV_WRITE, db);
}

static void pump(db_conn *db)
{
    while (db->state == DB_IDLE && db->head) {
        struct db_job *j = db->head;
        db->head = j->next;
        if (db->head == NULL)
            db->tail = NULL;
        db->current = j;
        int sent;
        if (j->prepare)
            sent = PQsendPrepare(db->pg, j->stmt, j->sql, 0, NULL);
        else if (j->stmt)
            sent = PQsendQueryPrepared(db->pg, j->stmt, j->nparams,
                                       (const char *const *)j->params, NULL, NULL, 0);
        else
            sent = PQsendQueryParams(db->pg, j->sql, j->nparams, NULL,
                                     (const char *const *)j->params, NULL, NULL, 0);
        if (!sent) {
            fail_link(db, "send failed:");
            return;
        }
        db->state = DB_BUSY;
        struct timeval tv = {db->timeout_s, 0};
        evtimer_add(db->timer, &tv);
        int r = PQflush(db->pg);
        if (r < 0) {
            fail_link(db, "flush failed:");
            return;
        }
        if (r == 1)
            event_add(db->write_ev, NULL);
    }
}

db_conn *db_new(struct event_base *base, const char *conninfo, const char *name,
                long timeout_s, db_up_cb on_up, void *arg)
{
    db_conn *db = calloc(1, sizeof *db);
    if (db == NULL)
        return NULL;
    db->base = base;
    db->conninfo = strdup(conninfo);
    snprintf(db->name, sizeof db->name, "db:%s", name);
    db->timeout_s = timeout_s;
    db->on_up = on_up;
    db->on_up_arg = arg;
    db->timer = evtimer_new(base, on_timer, db);
    if (db->conninfo == NULL || db->timer == NULL) {
        free(db->conninfo);
        if (db->timer)
            event_free(db->timer);
        free(db);
        return NULL;
    }
    start_connect(db);
    return db;
}

void db_free(db_conn *db)
{
    if (db == NULL)
        return;
    db->on_up = NULL;
    db->closing = 1;
    fail_link(db, "closing");
    while (db->prepared) {
        struct prepared *p = db->prepared;
        db->prepared = p->next;
        free(p->name);
        free(p->sql);
        free(p);
    }
    evtimer_del(db->timer);
    event_free(db->timer);
    free(db->conninfo);
    free(db);
}

void db_on_notify(db_conn *db, void (*fn)(void *arg, const char *channel, const char *payload),
                  void *arg)
{
    db->on_notify = fn;
    db->notify_arg = arg;
}

int db_is_up(const db_conn *db)
{
    return db->state == DB_IDLE || db->state == DB_BUSY;
}

int db_is_idle(const db_conn *db)
{
    return db->state == DB_IDLE && db->head == NULL;
}

size_t db_depth(const db_conn *db)
{
    return db->depth;
}

int db_copy_out(db_conn *db, const char *sql, void (*on_row)(void *arg, char *row, int len),
                db_result_cb cb, void *arg)
{
    if (submit(db, sql, 0, NULL, cb, on_row, arg) != 0)
        return -1;
    pump(db);
    return 0;
}

int db_query(db_conn *db, const char *sql, int nparams, const char *const *params,
             db_result_cb cb, void *arg)
{
    if (submit(db, sql, nparams, params, cb, NULL, arg) != 0)
        return -1;
    pump(db);
    return 0;
}

int db_query_prepared(db_conn *db, const char *name, int nparams, const char *const *params,
                      db_result_cb cb, void *arg)
{
    char *stmt = strdup(name);
    if (stmt == NULL || submit(db, "", nparams, params, cb, NULL, arg) != 0) {
        free(stmt);
        return -1;
    }
    db->tail->stmt = stmt;
    pump(db);
    return 0;
}

int db_prepare(db_conn *db, const char *name, const char *sql)
{
    struct prepared *p = calloc(1, sizeof *p);
    if (p == NULL || (p->name = strdup(name)) == NULL || (p->sql = strdup(sql)) == NULL) {
        if (p) {
            free(p->name);
            free(p);
        }
        return -1;
    }
    p->next = db->prepared;
    db->prepared = p;
    if (db_is_up(db)) {
        send_prepare(db, p);
        pump(db);
    }
    return 0;
}

static int submit(db_conn *db, const char *sql, int nparams, const char *const *params,
                  db_result_cb cb, void (*on_row)(void *arg, char *row, int len), void *arg)
{
    if (!db_is_up(db))
        return -1;
    struct db_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return -1;
    j->sql = strdup(sql);
    j->params = nparams ? calloc((size_t)nparams, sizeof *j->params) : NULL;
    j->nparams = nparams;
    j->cb = cb;
    j->on_row = on_row;
    j->arg = arg;
    int oom = j->sql == NULL || (nparams && j->params == NULL);
    for (int i = 0; !oom && i < nparams; i++)
        if (params[i] && (j->params[i] = strdup(params[i])) == NULL)
            oom = 1;
    if (oom) {
        job_free(j);
        return -1;
    }
    if (db->tail)
        db->tail->next = j;
    else
        db->head = j;
    db->tail = j;
    db->depth++;
    return 0;
}

const char *db_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

const char *db_constraint(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    return s ? s : "";
}
