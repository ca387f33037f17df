/*
 * analytics_snapshot.c -- the cubes' snapshot (analytics.h): its payload,
 * whether the database still vouches for one on disk, the last one at
 * shutdown and the ones written while running by a forked child.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "analytics_int.h"
#include "app.h"
#include "clock.h"
#include "log.h"
#include "zones.h"

static int bump_pending;         /* a generation is being taken on the writer */
static pid_t snap_child;         /* writing one; 0: none */
static snapshot_mark child_mark; /* ... this one */
static uint64_t child_started_ns;
static struct event *snap_timer, *chld_ev;

/* The payload: categories (their ids are the cube's), cube, grid,
   response-time cube, unit board. */
static int save_payload(snap_out *out, void *arg)
{
    int ncategories = an_category_count();
    snap_i32(out, ncategories);
    for (int i = 0; i < ncategories; i++)
        snap_str(out, analytics_category_name(i));
    if (cube_save(an_live.cube, out) != 0 || sp_save(an_live.sp, out) != 0 ||
        rt_save(an_live.rt, out) != 0)
        return -1;
    unitboard_save(an_live.board, out);
    return out->failed ? -1 : 0;
}

int an_restore_payload(const unsigned char *p, size_t n)
{
    snap_in in;
    snap_in_init(&in, p, n);
    int32_t ncat = snap_get_i32(&in);
    for (int32_t i = 0; !in.failed && i < ncat; i++) {
        char *name = snap_get_str(&in, 1024);
        /* The cube holds category ids: this process must number them alike. */
        if (name == NULL || analytics_category_id(name) != i)
            snap_fail(&in);
        free(name);
    }
    cube *c = in.failed ? NULL : cube_restore(&in);
    sp_store *sp = in.failed ? NULL : sp_restore(&in);
    rt_cube *rt = in.failed ? NULL : rt_restore(&in);
    unitboard *board = in.failed ? NULL : unitboard_restore(&in);
    if (in.failed || in.p != in.end) {
        cube_free(c);
        sp_free(sp);
        rt_free(rt);
        unitboard_free(board);
        return -1;
    }
    an_discard_loading();
    an_load.cube = c;
    an_load.sp = sp;
    an_load.rt = rt;
    an_load.board = board;
    an_declare_categories(an_load.cube); /* a no-op unless an offense moved since */
    an_load.categories_declared = 1;
    return 0;
}

void an_remove_snapshot(void)
{
    const char *path = app.cfg.snapshot_path;
    if (path && path[0] && unlink(path) != 0 && errno != ENOENT)
        log_warn("cube", "cannot remove the snapshot %s: %s", path, strerror(errno));
}

const char *an_snapshot_stale(const snapshot_mark *m, const struct an_db_state *st)
{
    if (strcmp(st->instance, m->instance) != 0)
        return "it was written for another database";
    if (strcmp(st->fingerprint, m->fingerprint) != 0)
        return "agencies, precincts or offenses changed since";
    char rules[72];
    zones_digest(rules);
    if (strcmp(rules, m->zones) != 0)
        return "the time-zone rules (the agencies' zoneinfo files) changed since";
    if (st->generation < m->generation || st->max_id < m->max_id)
        return "the database is older than the snapshot (restored from a backup?)";
    if (st->changes != m->changes)
        return "incidents were updated or deleted outside compstatd since";
    if (st->rows != m->rows)
        return "incidents at or below its high-water mark were added or removed since";
    return NULL;
}
static const char *state_mismatch(const struct an_db_state *st)
{
    if (st->changes != an_load.changes || st->inserts != an_load.inserts)
        return "incidents were changed outside compstatd while it ran";
    if (st->max_id != an_marks.max_id || st->rows_above != 0)
        return "the incidents table is not what the cubes were given";
    return NULL;
}

static void mark_of(const struct an_db_state *st, snapshot_mark *m)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    memset(m, 0, sizeof *m);
    m->written_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    m->max_id = st->max_id;
    m->rows = st->rows;
    m->changes = st->changes;
    m->inserts = st->inserts;
    m->generation = st->generation;
    snprintf(m->instance, sizeof m->instance, "%s", st->instance);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", st->fingerprint);
    zones_digest(m->zones);
}

/* BUMP_SQL's parameters: the mark as the cubes know it. */
static void bump_params(char p[4][24], const char *params[4])
{
    snprintf(p[0], 24, "%" PRId64, an_marks.max_id);
    snprintf(p[1], 24, "%" PRId64, an_load.inserts);
    snprintf(p[2], 24, "%" PRId64, an_marks.rows);
    snprintf(p[3], 24, "%" PRId64, an_load.changes);
    for (int i = 0; i < 4; i++)
        params[i] = p[i];
}

/* Old rows of generations before the newest snapshot's: nothing reads them. */
#define DIRTY_PRUNE_SQL "DELETE FROM cube_dirty WHERE generation < $1::bigint"

/* The background writer ended (status from waitpid). 0 when it wrote. */
static int child_ended(int status)
{
    snap_child = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        log_info("cube", "snapshot %s written in the background in %.0f ms: %" PRId64
                 " incidents up to id %" PRId64 ", generation %" PRId64,
                 app.cfg.snapshot_path, (double)(clock_now_ns() - child_started_ns) / 1e6,
                 child_mark.rows, child_mark.max_id, child_mark.generation);
        return 0;
    }
    if (WIFSIGNALED(status))
        log_error("cube", "the snapshot writer died of signal %d", WTERMSIG(status));
    else
        log_error("cube", "the snapshot writer failed (exit %d)", WEXITSTATUS(status));
    an_marks.due = 1; /* the last one on disk (if any) is still exact: try again later */
    return -1;
}

void analytics_save_snapshot(void)
{
    const char *path = app.cfg.snapshot_path;
    if (path == NULL || path[0] == '\0')
        return;
    if (snap_child > 0) {
        /* Two writers would share <path>.tmp: let the background one end. */
        int status = 0;
        if (waitpid(snap_child, &status, 0) == snap_child)
            child_ended(status);
        snap_child = 0;
    }
    if (!analytics_ready() || an_load_in_progress() || an_live.cube == NULL ||
        an_live.rt == NULL || !an_load.have_state || an_grid_any_stale()) {
        /* Any snapshot on disk stays: cube_dirty keeps it exact (or, after a
           zone change, its fingerprint makes it stale). */
        log_warn("cube", "no snapshot written: the cubes are not loaded and current");
        return;
    }
    uint64_t t0 = clock_now_ns();
    /* A connection of its own, blocking (the loop has stopped), and not
       waiting long for a database that is gone. */
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {app.cfg.database, "5", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    char p[4][24];
    const char *params[4];
    bump_params(p, params);
    /* A new generation: every write went before it (writes have drained). */
    PGresult *res = PQstatus(pg) == CONNECTION_OK
                        ? PQexecParams(pg, BUMP_SQL, 4, NULL, params, NULL, NULL, 0)
                        : NULL;
    struct an_db_state st;
    const char *mismatch = NULL;
    if (an_read_state(res, &st) != 0)
        log_warn("cube", "no snapshot written: cannot read the database's state: %s",
                 PQerrorMessage(pg));
    else if ((mismatch = state_mismatch(&st)) != NULL)
        log_warn("cube", "no snapshot written: %s", mismatch);
    PQclear(res);
    if (res == NULL || mismatch) {
        /* The one on disk stays only while the database can still vouch
           for it; after changes outside compstatd it would be stale. */
        if (mismatch)
            an_remove_snapshot();
        PQfinish(pg);
        return;
    }
    snapshot_mark m;
    mark_of(&st, &m);
    char why[512];
    if (snapshot_write(path, &m, save_payload, NULL, why, sizeof why) != 0) {
        log_error("cube", "no snapshot written: %s", why);
        PQfinish(pg);
        return;
    }
    log_info("cube", "snapshot %s written in %.0f ms: %" PRId64 " incidents up to id %" PRId64
             ", generation %" PRId64, path, (double)(clock_now_ns() - t0) / 1e6, m.rows,
             m.max_id, m.generation);
    char g[24];
    snprintf(g, sizeof g, "%" PRId64, m.generation);
    const char *gp[1] = {g};
    res = PQexecParams(pg, DIRTY_PRUNE_SQL, 1, NULL, gp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        log_warn("cube", "cannot prune cube_dirty: %s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
}

/* ------------------------------------------------------------ background snapshots */

static void snapshot_schedule(long seconds)
{
    if (snap_timer == NULL)
        return;
    struct timeval tv = {seconds, 0};
    event_add(snap_timer, &tv);
}

void an_snapshot_soon(void)
{
    an_marks.due = 1;
    if (app.cfg.snapshot_interval > 0)
        snapshot_schedule(0);
}

static void on_pruned(void *arg, PGresult *res, const char *error)
{
    if (error)
        log_warn("cube", "cannot prune cube_dirty: %s", error);
}

static void on_sigchld(evutil_socket_t fd, short what, void *arg)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid != snap_child)
            continue;
        if (child_ended(status) == 0 && db_is_up(app.writer)) {
            char g[24];
            snprintf(g, sizeof g, "%" PRId64, child_mark.generation);
            const char *params[1] = {g};
            db_query(app.writer, DIRTY_PRUNE_SQL, 1, params, on_pruned, NULL);
        }
        snapshot_schedule(app.cfg.snapshot_interval);
    }
}

static int can_snapshot(void)
{
    return analytics_ready() && !an_load_in_progress() && an_live.cube && an_live.rt &&
           an_load.have_state && !app.draining &&
           !an_grid_any_stale();
}

static void on_bump(void *arg, PGresult *res, const char *error)
{
    bump_pending = 0;
    struct an_db_state st;
    const char *why = NULL;
    if (error || an_read_state(res, &st) != 0) {
        log_warn("cube", "no snapshot: cannot take a generation: %s",
                 error ? error : "unexpected result");
        an_marks.due = 1;
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    if (!can_snapshot()) /* a reload began meanwhile: its end asks again */
        return;
    if ((why = state_mismatch(&st)) != NULL) {
        if (!an_marks.outside_logged)
            log_warn("cube", "no snapshot until the cubes reload: %s", why);
        an_marks.outside_logged = 1;
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    /* Every write before the generation was taken has been applied (results
       come back in order), none after: the cubes are the database as of it. */
    snapshot_mark m;
    mark_of(&st, &m);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: only the snapshot, from its copy of the cubes; no
           event loop, no database, no exit handlers. Its signals must not
           reach the parent's loop (libevent's handlers write to a socket
           both share), and a stop signalled to the whole group lets it
           finish: the parent waits for it before its own last snapshot. */
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        char why2[512];
        int rc = snapshot_write(app.cfg.snapshot_path, &m, save_payload, NULL, why2,
                                sizeof why2);
        if (rc != 0)
            log_error("cube", "no snapshot written: %s", why2);
        _exit(rc == 0 ? 0 : 1);
    }
    if (pid < 0) {
        log_error("cube", "cannot start the snapshot writer: %s", strerror(errno));
        an_marks.due = 1;
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    snap_child = pid;
    child_mark = m;
    child_started_ns = clock_now_ns();
    an_marks.changed = 0;
    an_marks.due = 0;
}

static void on_snapshot_tick(evutil_socket_t fd, short what, void *arg)
{
    if (snap_child > 0 || bump_pending)
        return; /* the writer's end schedules the next */
    if (!can_snapshot()) {
        snapshot_schedule(app.cfg.snapshot_interval); /* a load's end asks sooner */
        return;
    }
    if (an_marks.changed == 0 && !an_marks.due) {
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    char p[4][24];
    const char *params[4];
    bump_params(p, params);
    /* On the writer, after the group commit in flight and before the next. */
    if (db_query(app.writer, BUMP_SQL, 4, params, on_bump, NULL) != 0) {
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    bump_pending = 1;
}

void analytics_snapshots_start(void)
{
    const char *path = app.cfg.snapshot_path;
    if (path == NULL || path[0] == '\0' || app.cfg.snapshot_interval <= 0)
        return;
    snap_timer = event_new(app.base, -1, 0, on_snapshot_tick, NULL);
    chld_ev = evsignal_new(app.base, SIGCHLD, on_sigchld, NULL);
    if (snap_timer == NULL || chld_ev == NULL || event_add(chld_ev, NULL) != 0) {
        log_error("cube", "cannot schedule snapshots: out of memory");
        return;
    }
    snapshot_schedule(app.cfg.snapshot_interval);
}

void an_snapshots_stop(void)
{
    if (snap_child > 0) {
        int status;
        waitpid(snap_child, &status, 0);
        snap_child = 0;
    }
    if (snap_timer)
        event_free(snap_timer);
    if (chld_ev)
        event_free(chld_ev);
    snap_timer = chld_ev = NULL;
}
