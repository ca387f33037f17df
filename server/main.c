/*
 * main.c -- compstatd: start-up, the wiring of the layers, signals, the
 * loop, shutdown.
 *
 *   compstatd --listen HOST:PORT --database CONNINFO [--config FILE]
 *
 * Prints "listening on HOST:PORT" on stderr once it accepts connections
 * (with port 0, the port the kernel chose). SIGTERM or SIGINT: stop
 * accepting, finish the requests and commits in flight, exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "accounts.h"
#include "analytics.h"
#include "app.h"
#include "audit.h"
#include "auth.h"
#include "ingest.h"
#include "hr.h"
#include "log.h"
#include "router.h"
#include "routes.h"
#include "stream.h"
#include "tls.h"
#include "words.h"
#include "zones.h"

struct app app;

/*
 * ------------------------------------------------------------ wiring
 *
 * main.c and router.c are the composition root: the only files that know
 * every layer (server/LAYERS). What a lower layer needs from a higher one
 * is handed down from here at start-up -- ingest's hooks below, the
 * router's in router.c, auth's token notifications to the streams, the
 * loaders' "ready" to ingest -- so that no module calls up.
 */

/* Writes wait while the cubes load: a write moves every cube. */
static int writes_may_run(void *arg)
{
    return analytics_ready();
}

/* A committed change moves the cubes and goes to the live streams... */
static void change_committed(void *arg, const stored *old, const stored *new_row)
{
    analytics_apply(old, new_row);
    stream_publish(old, new_row);
}

/* ... and the streams carry the batch before anyone is answered. */
static void batch_applied(void *arg)
{
    stream_flush();
}

static const ingest_hooks ingest_wiring = {
    .may_run = writes_may_run,
    .committed = change_committed,
    .batch_applied = batch_applied,
};

/* The cubes are loaded: the writes that waited for them go. */
static void on_cubes_ready(void *arg)
{
    ingest_resume(app.ingest);
}

/* ------------------------------------------------------------ accepting */

static struct evhttp_bound_socket *bound;
static struct event *accept_retry;
static unsigned long accept_pauses;

/* Out of file descriptors (or memory) accepting: the connection stays in
   the kernel's backlog and the listening socket stays readable, so libevent
   would retry at once, forever. Pause accepting briefly instead. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
        log_warn("http", "accept: %s", evutil_socket_error_to_string(err));
        return;
    }
    evconnlistener_disable(lev);
    if (accept_pauses++ % 100 == 0)
        log_warn("http", "accept: %s (%lu times so far): pausing accepts for 100 ms; raise the "
                 "file limit (ulimit -n) for more connections",
                 evutil_socket_error_to_string(err), accept_pauses);
    struct timeval tv = {0, 100000};
    event_add(accept_retry, &tv);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    if (bound)
        evconnlistener_enable(evhttp_bound_socket_get_listener(bound));
}

/* ------------------------------------------------------------ the database, draining */

static struct event *drain_timer;
static int drain_ticks;

static void on_reader_up(void *arg, db_conn *db)
{
    auth_watch(db);
}

static void on_set_writer(void *arg, PGresult *res, const char *error)
{
    if (error)
        log_warn("main", "cannot mark the writer session: %s", error);
}

static void on_writer_up(void *arg, db_conn *db)
{
    /* Statements of this session do not count as changes outside compstatd
       (migrations/0003_cube_state.sql); first on the connection. With
       snapshots, its updates keep the old rows a snapshot needs (0004);
       without, nothing does, and whatever an earlier run kept goes. */
    db_query(db, "SET compstat.writer = 'on'", 0, NULL, on_set_writer, NULL);
    if (app.cfg.snapshot_path[0])
        db_query(db, "SET compstat.dirty = 'on'", 0, NULL, on_set_writer, NULL);
    else
        db_query(db, "DELETE FROM cube_dirty", 0, NULL, on_set_writer, NULL);
    areas_reload(db); /* before the rest: the offenses' arrival marks all loaded */
    refdata_reload(db);
    words_reload(db);
    hr_reload(db);
    analytics_reload(db);
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    int done = http_inflight() == 0 && ingest_depth(app.ingest) == 0 && audit_drained();
    if (done || ++drain_ticks > 600) { /* 30 s at most */
        if (!done)
            log_warn("main", "shutdown: giving up on %ld requests after 30 s", http_inflight());
        event_base_loopexit(app.base, NULL);
    }
}

/* Not a real signal handler: libevent calls it from the loop. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    if (app.draining) {
        log_warn("main", "second signal: exiting now");
        event_base_loopexit(app.base, NULL);
        return;
    }
    log_info("main", "signal %d: draining (no new connections, finishing in-flight work)",
             (int)sig);
    app.draining = 1;
    stream_drain(); /* live streams end now: they would never finish */
    if (bound) {
        evhttp_del_accept_socket(app.http, bound);
        bound = NULL;
    }
    struct timeval tv = {0, 50000};
    drain_timer = event_new(app.base, -1, EV_PERSIST, on_drain_tick, NULL);
    event_add(drain_timer, &tv);
}

static int split_listen(const char *listen, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen)
        return -1;
    size_t n = (size_t)(colon - listen);
    if (listen[0] == '[' && n >= 2 && listen[n - 1] == ']') { /* [::1]:8080 */
        listen++;
        n -= 2;
    }
    if (n >= hostlen)
        return -1;
    memcpy(host, listen, n);
    host[n] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

int main(int argc, char **argv)
{
    int rc = config_load(&app.cfg, argc, argv);
    if (rc != 0) {
        config_free(&app.cfg);
        return rc > 0 ? 0 : 2;
    }
    int lvl = log_level_parse(app.cfg.log_level);
    if (lvl < 0) {
        fprintf(stderr, "compstatd: log_level must be error, warn, info or debug\n");
        return 2;
    }
    log_set_level((enum log_level)lvl);
    if (strcmp(app.cfg.cookie_secure, "auto") && strcmp(app.cfg.cookie_secure, "on") &&
        strcmp(app.cfg.cookie_secure, "off")) {
        fprintf(stderr, "compstatd: cookie_secure must be auto, on or off\n");
        return 2;
    }
    if (app.cfg.database[0] == '\0') {
        fprintf(stderr, "compstatd: no database given (--database CONNINFO or "
                        "COMPSTATD_DATABASE)\n");
        return 2;
    }
    char host[256];
    int port;
    if (split_listen(app.cfg.listen, host, sizeof host, &port) != 0) {
        fprintf(stderr, "compstatd: --listen must be HOST:PORT, got \"%s\"\n", app.cfg.listen);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    app.started = (int64_t)time(NULL);

    app.base = event_base_new();
    app.ref = ref_new();
    app.areas = areas_new();
    if (app.base == NULL || app.ref == NULL || app.areas == NULL) {
        fprintf(stderr, "compstatd: out of memory at start-up\n");
        return 1;
    }
    app.writer = db_new(app.base, app.cfg.database, "writer", app.cfg.db_timeout, on_writer_up,
                        NULL);
    app.reader = db_new(app.base, app.cfg.database, "reader", app.cfg.db_timeout, on_reader_up,
                        NULL);
    app.ingest = app.writer ? ingest_new(app.base, app.writer, (size_t)app.cfg.commit_batch_max,
                                         &ingest_wiring)
                            : NULL;
    app.http = evhttp_new(app.base);
    if (!app.writer || !app.reader || !app.ingest || !app.http) {
        fprintf(stderr, "compstatd: out of memory at start-up\n");
        return 1;
    }
    analytics_on_ready(on_cubes_ready, NULL);
    audit_init(app.base, app.cfg.database, app.cfg.db_timeout, (size_t)app.cfg.audit_max_queue);
    analytics_snapshots_start();
    if (stream_init(app.base) != 0) {
        fprintf(stderr, "compstatd: out of memory at start-up\n");
        return 1;
    }
    auth_on_tokens_changed(stream_check_tokens); /* a revoked token's streams end */
    if (accounts_init(app.base, (int)app.cfg.password_threads) != 0) {
        fprintf(stderr, "compstatd: cannot start the password workers (libsodium)\n");
        return 1;
    }
    if (app.cfg.tls_cert[0] || app.cfg.tls_key[0]) {
        if (!app.cfg.tls_cert[0] || !app.cfg.tls_key[0]) {
            fprintf(stderr, "compstatd: tls_cert and tls_key go together\n");
            return 2;
        }
        if (tls_setup(app.http, app.cfg.tls_cert, app.cfg.tls_key) != 0)
            return 2;
    }
    evhttp_set_max_body_size(app.http, (ev_ssize_t)app.cfg.max_body_bytes);
    evhttp_set_max_headers_size(app.http, (ev_ssize_t)app.cfg.max_header_bytes);
    evhttp_set_timeout(app.http, (int)app.cfg.request_timeout);
    router_setup(app.http);

    bound = evhttp_bind_socket_with_handle(app.http, host, (ev_uint16_t)port);
    if (bound == NULL) {
        fprintf(stderr, "compstatd: cannot listen on %s\n", app.cfg.listen);
        return 1;
    }
    accept_retry = evtimer_new(app.base, on_accept_retry, NULL);
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound), on_accept_error);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char shown[INET6_ADDRSTRLEN] = "?";
    evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);
    /* evhttp writes a reply in pieces (headers, then body): without
       TCP_NODELAY a client's delayed ACK holds every reply larger than a
       segment for 40 ms. Linux passes the option from the listening socket
       to the accepted ones. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &sin->sin_addr, shown, sizeof shown);
            port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &sin6->sin6_addr, shown, sizeof shown);
            port = ntohs(sin6->sin6_port);
        }
    }
    struct event *sigterm = evsignal_new(app.base, SIGTERM, on_signal, NULL);
    struct event *sigint = evsignal_new(app.base, SIGINT, on_signal, NULL);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);

    if (strchr(shown, ':'))
        fprintf(stderr, "listening on [%s]:%d\n", shown, port);
    else
        fprintf(stderr, "listening on %s:%d\n", shown, port);
    fflush(stderr);

    event_base_dispatch(app.base);

    log_info("main", "stopped");
    /* Every write was answered and applied: the cubes are the database's. */
    if (app.draining && ingest_depth(app.ingest) == 0)
        analytics_save_snapshot();
    if (bound)
        evhttp_del_accept_socket(app.http, bound);
    stream_free();
    evhttp_free(app.http);
    http_shutdown();
    tls_free();
    ingest_free(app.ingest);
    db_free(app.writer);
    db_free(app.reader);
    accounts_free();
    auth_free();
    audit_free();
    ref_free(app.ref);
    areas_free(app.areas);
    areas_free_all();
    analytics_free();
    zones_free();
    hotspots_free();
    hr_free();
    words_free();
    if (drain_timer)
        event_free(drain_timer);
    if (accept_retry)
        event_free(accept_retry);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(app.base);
    config_free(&app.cfg);
    return 0;
}
