/*
 * http.c -- see http.h.
 *
 * evhttp matches exact paths only, so everything goes through one generic
 * callback: decode the path into segments, find the route (method and
 * pattern, '*' matching one segment), authenticate, run the handler.
 */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>

#include "app.h"
#include "audit.h"
#include "clock.h"
#include "log.h"
#include "lrumap.h"
#include "metrics.h"
#include "route.h"

#define STREAM_SNDBUF 65536
/*
 * While evhttp writes an answer it keeps reading the connection (to notice
 * a close) but consumes nothing: a client that sends without end while it
 * does not read its answer (or its stream) would grow the input buffer
 * without bound. So while an answer is being written, reading stops at this
 * many unparsed bytes; once it is written the limit goes (evhttp wants a
 * whole request body in that buffer before it takes it).
 */
#define HTTP_MAX_INPUT 65536

/* The route table and what the router asks of the layers above (http_setup). */
static const http_route *routes;
static int nroutes;
static const http_hooks *hooks;

static long inflight;
static uint64_t req_counter;
static unsigned req_prefix;

/* An answer held until its audit record is committed (see send_reply). */
struct http_hold {
    audit_ticket *ticket;
    int status;
    int stream;            /* a stream's start: what it sends meanwhile waits in body */
    int nobody;            /* an answer without a body (HEAD of a stream) */
    char ctype[128];
    struct evbuffer *body; /* the answer, or the stream's first bytes */
};
static http_req *held; /* every request with a hold, for the exit */

static void on_written(struct evhttp_request *ev, void *arg);
static void stream_gone(http_req *r);

/* ------------------------------------------------------------ connections */

/*
 * Every connection evhttp accepts is tracked from the moment evhttp asks for
 * its bufferevent (make_bev: libevent 2.1 has no callback for a new
 * connection or a new request, only this one): an hconn, found by its
 * bufferevent. Right after the accept -- the same loop pass, before anything
 * is read -- it is attached: the client's address is counted, and the
 * connection closed at once when that address already holds
 * max_connections_per_address; its close callback is set; and the deadline
 * is armed. The deadline stops when a request reaches on_request and is
 * armed again once its answer is written (the keep-alive wait and the next
 * request share it). A connection still without a complete request when it
 * fires is closed: request_timeout bounds a request's headers and body
 * together, not the gaps between its bytes (evhttp's own timeout, which
 * every byte resets).
 *
 * libevent 2.1 has no public way from a bufferevent to its
 * evhttp_connection, but evhttp makes the connection the bufferevent's
 * callback argument (evhttp_connection_base_bufferevent_new, the same from
 * 2.0 to 2.2); attach takes it from there and checks it with
 * evhttp_connection_get_bufferevent. A reference held on the bufferevent
 * until then keeps it valid if evhttp gave up on the connection meanwhile
 * (its callbacks are gone then, and there is nothing to attach).
 */
struct hconn {
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* once attached */
    struct event *timer;             /* the attach first, then the deadline */
    http_req *stream;                /* the stream on this connection, told of the close */
    int attached, counted;
    char peer[64];
    struct hconn *chain; /* in the table, by bufferevent */
};

static struct hconn **conns;
static size_t nbuckets, nconns;
static lrumap *per_address; /* peer -> open connections (as a pointer-sized count) */
static long max_per_address;
static unsigned long long refused, deadline_closed;
static struct bufferevent *(*bev_factory)(struct event_base *base, void *arg);
static void *bev_factory_arg;

void http_set_bev_factory(struct bufferevent *(*make)(struct event_base *base, void *arg),
                          void *arg)
{
    bev_factory = make;
    bev_factory_arg = arg;
}

static size_t bucket_of(const void *p, size_t n)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    return (size_t)(x & (n - 1));
}

static struct hconn **conn_slot(const struct bufferevent *bev)
{
    struct hconn **p = &conns[bucket_of(bev, nbuckets)];
    while (*p && (*p)->bev != bev)
        p = &(*p)->chain;
    return p;
}

static struct hconn *conn_of_bev(const struct bufferevent *bev)
{
    return bev && conns ? *conn_slot(bev) : NULL;
}

static struct hconn *conn_of(struct evhttp_connection *c)
{
    return c ? conn_of_bev(evhttp_connection_get_bufferevent(c)) : NULL;
}

static int conn_insert(struct hconn *hc)
{
    if (nconns >= nbuckets) {
        size_t nb = nbuckets ? nbuckets * 2 : 256;
        struct hconn **t = calloc(nb, sizeof *t);
        if (t == NULL && conns == NULL)
            return -1;
        if (t) { /* else: longer chains */
            for (size_t i = 0; i < nbuckets; i++)
                for (struct hconn *c = conns[i], *next; c; c = next) {
                    next = c->chain;
                    size_t j = bucket_of(c->bev, nb);
                    c->chain = t[j];
                    t[j] = c;
                }
            free(conns);
            conns = t;
            nbuckets = nb;
        }
    }
    struct hconn **p = &conns[bucket_of(hc->bev, nbuckets)];
    hc->chain = *p;
    *p = hc;
    nconns++;
    return 0;
}

/* The client's address as a key: IPv4, or the /64 of an IPv6 address (what one client has). */
static void peer_key(evutil_socket_t fd, char *out, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    out[0] = '\0';
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        if (inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)n) == NULL)
            out[0] = '\0';
    } else if (ss.ss_family == AF_INET6) {
        struct in6_addr a = ((struct sockaddr_in6 *)&ss)->sin6_addr;
        char buf[INET6_ADDRSTRLEN];
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            if (inet_ntop(AF_INET, &a.s6_addr[12], out, (socklen_t)n) == NULL)
                out[0] = '\0';
            return;
        }
        memset(&a.s6_addr[8], 0, 8);
        if (inet_ntop(AF_INET6, &a, buf, sizeof buf))
            snprintf(out, n, "%s/64", buf);
    }
}

static void uncount(struct hconn *hc)
{
    if (!hc->counted)
        return;
    hc->counted = 0;
    uintptr_t k = (uintptr_t)lrumap_peek(per_address, hc->peer);
    if (k <= 1)
        lrumap_remove(per_address, hc->peer);
    else
        lrumap_put(per_address, hc->peer, (void *)(k - 1), NULL);
}

static void conn_forget(struct hconn *hc)
{
    uncount(hc);
    struct hconn **p = conn_slot(hc->bev);
    if (*p == hc) {
        *p = hc->chain;
        nconns--;
    }
    if (hc->timer)
        event_free(hc->timer);
    free(hc);
}

static void arm_deadline(struct hconn *hc)
{
    struct timeval tv = {app.cfg.request_timeout, 0};
    evtimer_add(hc->timer, &tv);
}

static void on_conn_close(struct evhttp_connection *c, void *arg)
{
    struct hconn *hc = arg;
    evhttp_connection_set_closecb(c, NULL, NULL);
    http_req *r = hc->stream;
    conn_forget(hc);
    if (r)
        stream_gone(r);
}

/* Returns 0, or -1 when the connection was refused (and is gone). */
static int conn_attach(struct hconn *hc)
{
    struct bufferevent *bev = hc->bev;
    bufferevent_data_cb readcb = NULL;
    void *cbarg = NULL;
    bufferevent_getcb(bev, &readcb, NULL, NULL, &cbarg);
    struct evhttp_connection *c = cbarg;
    hc->attached = 1;
    if (readcb == NULL || c == NULL || evhttp_connection_get_bufferevent(c) != bev) {
        conn_forget(hc); /* evhttp gave up on it already */
        bufferevent_decref(bev);
        return -1;
    }
    hc->evcon = c;
    peer_key(bufferevent_getfd(bev), hc->peer, sizeof hc->peer);
    if (hc->peer[0] && per_address) {
        uintptr_t k = (uintptr_t)lrumap_peek(per_address, hc->peer);
        if ((long)k >= max_per_address) {
            if (refused++ % 1000 == 0)
                log_warn("http", "%s already holds %ld connections (max_connections_per_address): "
                         "closing its new ones (%llu refused so far)", hc->peer, (long)k, refused);
            conn_forget(hc);
            evhttp_connection_free(c); /* no close callback yet: nothing else runs */
            bufferevent_decref(bev);   /* the last reference: the socket closes */
            return -1;
        }
        if (lrumap_put(per_address, hc->peer, (void *)(k + 1), NULL) == 0)
            hc->counted = 1;
    }
    evhttp_connection_set_closecb(c, on_conn_close, hc);
    arm_deadline(hc);
    bufferevent_decref(bev);
    return 0;
}

static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
    struct hconn *hc = arg;
    if (!hc->attached) {
        conn_attach(hc);
        return;
    }
    deadline_closed++;
    log_debug("http", "%s: no complete request within %ld s: closing the connection", hc->peer,
              app.cfg.request_timeout);
    evhttp_connection_free(hc->evcon); /* on_conn_close frees hc */
}

/* evhttp's bufferevent factory: every connection starts here. */
static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    struct bufferevent *bev = bev_factory
                                  ? bev_factory(base, bev_factory_arg)
                                  : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        return NULL;
    struct hconn *hc = calloc(1, sizeof *hc);
    if (hc) {
        hc->bev = bev;
        hc->timer = evtimer_new(base, on_conn_timer, hc);
    }
    if (hc == NULL || hc->timer == NULL || conn_insert(hc) != 0) {
        if (hc && hc->timer)
            event_free(hc->timer);
        free(hc);
        log_warn("http", "out of memory: a connection goes untracked (no deadline, not counted)");
        return bev;
    }
    bufferevent_incref(bev);
    event_active(hc->timer, EV_TIMEOUT, 1); /* attach right after this accept */
    return bev;
}

void http_metrics(sbuf *out)
{
    sbuf_printf(out,
                "# HELP compstatd_http_connections Client connections open.\n"
                "# TYPE compstatd_http_connections gauge\n"
                "compstatd_http_connections %zu\n"
                "# HELP compstatd_http_connections_per_address_max Connections one client "
                "address may hold (max_connections_per_address).\n"
                "# TYPE compstatd_http_connections_per_address_max gauge\n"
                "compstatd_http_connections_per_address_max %ld\n"
                "# HELP compstatd_http_connections_refused_total Connections closed at once "
                "because their address held max_connections_per_address.\n"
                "# TYPE compstatd_http_connections_refused_total counter\n"
                "compstatd_http_connections_refused_total %llu\n"
                "# HELP compstatd_http_deadline_closed_total Connections closed because no "
                "complete request arrived within request_timeout.\n"
                "# TYPE compstatd_http_deadline_closed_total counter\n"
                "compstatd_http_deadline_closed_total %llu\n",
                nconns, max_per_address, refused, deadline_closed);
}

long http_inflight(void)
{
    return inflight;
}

int principal_offense_ok(const principal *p, int32_t offense_id)
{
    return p->offense_scope == NULL ||
           (offense_id >= 0 && offense_id < p->noffense_scope && p->offense_scope[offense_id]);
}

int principal_allows(const principal *p, const char *precinct)
{
    if (p->nprecincts < 0)
        return 1;
    if (precinct == NULL)
        return 0;
    for (int i = 0; i < p->nprecincts; i++)
        if (strcmp(p->precincts[i], precinct) == 0)
            return 1;
    return 0;
}

static void drop_hold(http_req *r);

static void req_free(http_req *r)
{
    if (r->hold)
        drop_hold(r);
    if (r->state_free)
        r->state_free(r->state);
    route_free_segs(r->seg, r->nseg);
    for (int i = 0; i < r->who.nprecincts; i++)
        free(r->who.precincts[i]);
    free(r->who.precincts);
    for (int i = 0; i < r->who.nareas; i++)
        free(r->who.areas[i]);
    free(r->who.areas);
    if (hooks && hooks->release)
        hooks->release(&r->who);
    qs_free(&r->query);
    free(r);
    inflight--;
}

static const char *method_name(int m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    default: return "OTHER";
    }
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

/* The common headers, the metrics and the log line of an answer. */
static void account(http_req *r, int status, const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Request-Id", r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (app.draining || r->close)
        evhttp_add_header(h, "Connection", "close");
    double secs = (double)(clock_now_ns() - r->started_ns) / 1e9;
    metrics_request(r->route, status, secs);
    const char *m = r->head ? "HEAD" : method_name(r->method);
    if (status >= 500 && status != 503)
        log_warn(r->id, "%s %s -> %d (%.1f ms)", m, evhttp_request_get_uri(r->ev), status,
                 secs * 1e3);
    else
        log_debug(r->id, "%s %s -> %d (%.3f ms)", m, evhttp_request_get_uri(r->ev), status,
                  secs * 1e3);
}

/*
 * What an answer's audit record must be: 0 none, 1 best effort, 2 committed
 * before the answer goes out. Routes with an audit action are reads of
 * incident data; their refusals are recorded too.
 */
static int audit_kind(const http_req *r, int status)
{
    if (r->audited || r->route < 0 || routes[r->route].audit == NULL)
        return 0;
    if (status >= 200 && status < 300)
        return app.cfg.audit_sync ? 2 : 1;
    return status == 401 || status == 403 || status == 404;
}

/* {"status": n, "precincts": [...] | null} -- the precincts only once a token is known. */
static char *audit_detail(const http_req *r, int status)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON_AddNumberToObject(o, "status", status);
    if (r->who.token_id > 0) {
        if (r->who.nprecincts < 0) {
            cJSON_AddNullToObject(o, "precincts");
        } else {
            cJSON *a = cJSON_AddArrayToObject(o, "precincts");
            for (int i = 0; a && i < r->who.nprecincts; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(r->who.precincts[i]));
        }
        if (hooks && hooks->audit_who)
            hooks->audit_who(&r->who, o);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static void record_async(http_req *r, int status)
{
    char *detail = audit_detail(r, status);
    audit_record(r->who.token_id, r->id, routes[r->route].audit, evhttp_request_get_uri(r->ev),
                 detail);
    cJSON_free(detail);
    r->audited = 1;
}

static void on_audited(void *arg, int result);

/* Hold r's answer (or a stream's start) until its record is committed. 0, or -1: cannot. */
static int hold_answer(http_req *r, int status, const char *content_type, struct evbuffer *body,
                       int stream)
{
    struct http_hold *h = calloc(1, sizeof *h);
    if (h == NULL || (h->body = evbuffer_new()) == NULL) {
        free(h);
        return -1;
    }
    char *detail = audit_detail(r, status);
    h->ticket = audit_record_sync(r->who.token_id, r->id, routes[r->route].audit,
                                  evhttp_request_get_uri(r->ev), detail, on_audited, r);
    cJSON_free(detail);
    if (h->ticket == NULL) {
        evbuffer_free(h->body);
        free(h);
        return -1;
    }
    h->status = status;
    h->stream = stream;
    h->nobody = body == NULL;
    snprintf(h->ctype, sizeof h->ctype, "%s", content_type);
    if (body)
        evbuffer_add_buffer(h->body, body);
    r->hold = h;
    r->audited = 1;
    r->hold_prev = NULL;
    r->hold_next = held;
    if (held)
        held->hold_prev = r;
    held = r;
    return 0;
}

static struct http_hold *unhold(http_req *r)
{
    struct http_hold *h = r->hold;
    r->hold = NULL;
    if (r->hold_prev)
        r->hold_prev->hold_next = r->hold_next;
    else
        held = r->hold_next;
    if (r->hold_next)
        r->hold_next->hold_prev = r->hold_prev;
    r->hold_prev = r->hold_next = NULL;
    return h;
}

static void drop_hold(http_req *r)
{
    struct http_hold *h = unhold(r);
    audit_cancel(h->ticket);
    evbuffer_free(h->body);
    free(h);
}

/* The read cannot be answered as audited. */
static void refuse_unaudited(http_req *r, int result)
{
    r->audited = 1;
    evhttp_clear_headers(evhttp_request_get_output_headers(r->ev));
    if (result == AUDIT_REJECTED)
        http_reply_error(r, 500, "internal", NULL,
                         "the database rejected this read's audit record; it is not answered");
    else
        http_reply_error(r, 503, "database_unavailable", NULL,
                         "the audit log cannot be written now: reads of incident data are not "
                         "answered until it can");
}

static struct bufferevent *bev_of(struct evhttp_request *ev)
{
    struct evhttp_connection *c = evhttp_request_get_connection(ev);
    return c ? evhttp_connection_get_bufferevent(c) : NULL;
}

static void cap_input(struct evhttp_request *ev)
{
    struct bufferevent *bev = bev_of(ev);
    if (bev)
        bufferevent_setwatermark(bev, EV_READ, 0, HTTP_MAX_INPUT);
}

/* The answer is out: the connection reads freely again, and the next request has its deadline. */
static void on_written(struct evhttp_request *ev, void *arg)
{
    (void)arg;
    struct bufferevent *bev = bev_of(ev);
    if (bev)
        bufferevent_setwatermark(bev, EV_READ, 0, 0);
    struct hconn *hc = conn_of_bev(bev);
    if (hc && hc->attached)
        arm_deadline(hc);
}

/* Send it now. HEAD: the headers GET would get, Content-Length included, no body. */
static void finish_reply(http_req *r, int status, const char *content_type, struct evbuffer *body)
{
    account(r, status, content_type);
    if (r->head) {
        if (body) {
            char n[32];
            size_t len = evbuffer_get_length(body);
            snprintf(n, sizeof n, "%zu", len);
            evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Content-Length", n);
            evbuffer_drain(body, len);
        }
        body = NULL;
    }
    cap_input(r->ev);
    evhttp_request_set_on_complete_cb(r->ev, on_written, NULL);
    evhttp_send_reply(r->ev, status, reason_of(status), body);
    req_free(r);
}

static void send_reply(http_req *r, int status, const char *content_type, struct evbuffer *body)
{
    switch (audit_kind(r, status)) {
    case 2:
        if (hold_answer(r, status, content_type, body, 0) != 0)
            refuse_unaudited(r, AUDIT_UNAVAILABLE);
        return; /* sent by on_audited */
    case 1:
        record_async(r, status);
        break;
    }
    finish_reply(r, status, content_type, body);
}

/* The stream's headers go out; then whatever it sent while its record was written. */
static void start_stream(http_req *r, const char *content_type, struct evbuffer *first)
{
    account(r, 200, content_type);
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), "X-Accel-Buffering", "no");
    evhttp_send_reply_start(r->ev, 200, "OK");
    if (first && evbuffer_get_length(first))
        evhttp_send_reply_chunk(r->ev, first);
}

/* libevent is closing the connection of a stream whose connection is not tracked. */
static void on_untracked_stream_closed(struct evhttp_connection *c, void *arg)
{
    evhttp_connection_set_closecb(c, NULL, NULL);
    stream_gone(arg);
}

/* r's connection no longer tells r of its close. */
static void stream_detach(http_req *r)
{
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    struct hconn *hc = conn_of(c);
    if (hc && hc->stream == r)
        hc->stream = NULL;
    else if (c && hc == NULL)
        evhttp_connection_set_closecb(c, NULL, NULL);
}

static void on_audited(void *arg, int result)
{
    http_req *r = arg;
    struct http_hold *h = unhold(r);
    if (result == AUDIT_OK) {
        if (h->stream)
            start_stream(r, h->ctype, h->body);
        else
            finish_reply(r, h->status, h->ctype, h->nobody ? NULL : h->body);
    } else {
        if (h->stream) {
            stream_detach(r);
            if (r->stream_closed)
                r->stream_closed(r);
            r->stream_closed = NULL;
        }
        refuse_unaudited(r, result);
    }
    evbuffer_free(h->body);
    free(h);
}

/*
 * The connection of a stream is closing (client gone, timeout, abort, exit);
 * a stream still waiting for its audit record too.
 */
static void stream_gone(http_req *r)
{
    if (r->hold)
        drop_hold(r);
    if (r->stream_closed)
        r->stream_closed(r);
    /* A client that went away leaves the request detached from its
       connection (libevent frees it only when told the reply ended);
       otherwise the connection frees it right after this callback. */
    if (evhttp_request_get_connection(r->ev) == NULL)
        evhttp_send_reply_end(r->ev);
    req_free(r);
}

int http_stream_begin(http_req *r, const char *content_type, long write_timeout,
                      void (*closed)(http_req *r))
{
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    if (c == NULL || r->head) {
        /* The client is gone already; or HEAD: the stream's headers, no stream. */
        if (r->head)
            evhttp_add_header(evhttp_request_get_output_headers(r->ev), "X-Accel-Buffering",
                              "no");
        send_reply(r, 200, content_type, NULL);
        return -1;
    }
    r->stream_closed = closed;
    struct hconn *hc = conn_of(c);
    if (hc)
        hc->stream = r;
    else
        evhttp_connection_set_closecb(c, on_untracked_stream_closed, r);
    cap_input(r->ev); /* for as long as the stream lasts */
    /* The request is in: from now on only a stalled write ends the stream
       (evhttp's read timeout would cut every quiet stream). */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(c);
    struct timeval wt = {write_timeout, 0};
    if (bev) {
        bufferevent_set_timeouts(bev, NULL, &wt);
        /* A small kernel send buffer: what a slow client has not taken
           stays in our buffer, where the stream can see and bound it
           (autotuning would let the kernel hold megabytes per client). */
        int sndbuf = STREAM_SNDBUF;
        evutil_socket_t fd = bufferevent_getfd(bev);
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    switch (audit_kind(r, 200)) {
    case 2:
        if (hold_answer(r, 200, content_type, NULL, 1) != 0) {
            stream_detach(r);
            r->stream_closed = NULL;
            refuse_unaudited(r, AUDIT_UNAVAILABLE);
            return -1;
        }
        return 0; /* starts in on_audited; what it sends meanwhile waits */
    case 1:
        record_async(r, 200);
        break;
    }
    start_stream(r, content_type, NULL);
    return 0;
}

void http_stream_send(http_req *r, const char *data, size_t len)
{
    if (r->hold) {
        evbuffer_add(r->hold->body, data, len);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (b == NULL)
        return;
    evbuffer_add(b, data, len);
    evhttp_send_reply_chunk(r->ev, b);
    evbuffer_free(b);
}

void http_stream_send_buffer(http_req *r, struct evbuffer *buf)
{
    if (r->hold)
        evbuffer_add_buffer(r->hold->body, buf);
    else
        evhttp_send_reply_chunk(r->ev, buf);
}

size_t http_stream_pending(http_req *r)
{
    struct bufferevent *bev = bev_of(r->ev);
    return (bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0) +
           (r->hold ? evbuffer_get_length(r->hold->body) : 0);
}

void http_stream_abort(http_req *r)
{
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    if (c)
        evhttp_connection_free(c); /* runs on_conn_close, which frees r */
}

void http_stream_end(http_req *r)
{
    stream_detach(r);
    if (r->stream_closed)
        r->stream_closed(r);
    r->stream_closed = NULL;
    if (r->hold) { /* it never started: nothing was sent yet */
        drop_hold(r);
        http_reply_error(r, 503, app.draining ? "shutting_down" : "stream_ended", NULL,
                         "the stream was ended before it started");
        return;
    }
    evhttp_request_set_on_complete_cb(r->ev, on_written, NULL);
    evhttp_send_reply_end(r->ev);
    req_free(r);
}

void http_reply_raw(http_req *r, int status, const char *content_type, const char *body,
                    size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (b)
        evbuffer_add(b, body, len);
    send_reply(r, status, content_type, b);
    if (b)
        evbuffer_free(b);
}

void http_reply_buffer(http_req *r, int status, const char *content_type, struct evbuffer *body)
{
    send_reply(r, status, content_type, body);
}

void http_reply_json(http_req *r, int status, cJSON *body)
{
    http_reply_json_as(r, status, "application/json", body);
}

void http_reply_json_as(http_req *r, int status, const char *content_type, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        http_reply_raw(r, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (b) {
        evbuffer_add(b, text, strlen(text));
        evbuffer_add(b, "\n", 1);
    }
    send_reply(r, status, content_type, b);
    if (b)
        evbuffer_free(b);
    cJSON_free(text);
}

void *http_state_new(http_req *r, size_t size, void (*state_free)(void *state))
{
    void *state = calloc(1, size);
    if (state == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    r->state = state;
    r->state_free = state_free;
    return state;
}

void http_reply_db_down(http_req *r)
{
    http_reply_error(r, 503, "database_unavailable", NULL,
                     "the database is unavailable; retry after the delay in Retry-After");
}

void http_reply_error(http_req *r, int status, const char *code, const char *field,
                      const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (status == 503) {
        char ra[16];
        snprintf(ra, sizeof ra, "%ld", app.cfg.retry_after);
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Retry-After", ra);
    }
    if (status == 401)
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "WWW-Authenticate",
                          "Bearer realm=\"compstatd\"");
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", msg);
    if (field && *field)
        cJSON_AddStringToObject(err, "field", field);
    cJSON_AddStringToObject(err, "request_id", r->id);
    http_reply_json(r, status, root);
}

char *http_body(http_req *r, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    size_t n = evbuffer_get_length(in);
    char *buf = malloc(n + 1);
    if (buf == NULL)
        return NULL;
    if (n && evbuffer_copyout(in, buf, n) != (ev_ssize_t)n) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

const char *http_header(http_req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

int http_content_type_is(http_req *r, const char *mt)
{
    const char *ct = http_header(r, "Content-Type");
    if (ct == NULL)
        return 0;
    size_t n = strlen(mt);
    if (strncasecmp(ct, mt, n) != 0)
        return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

int http_check_params(http_req *r, const char *const *allowed)
{
    /* A region reader's agency= was read before the route ran (sharing.h). */
    const char *with_agency[48];
    if (r->who.region != NULL) {
        int n = 0;
        while (allowed[n] && n < 46) {
            with_agency[n] = allowed[n];
            n++;
        }
        with_agency[n++] = "agency";
        with_agency[n] = NULL;
        allowed = with_agency;
    }
    const char *bad = qs_unknown(&r->query, allowed);
    if (bad == NULL)
        return 0;
    http_reply_error(r, 400, "unknown_parameter", bad, "unknown query parameter \"%s\"", bad);
    return -1;
}

static void make_id(http_req *r)
{
    const char *given = http_header(r, "X-Request-Id");
    if (given) {
        size_t n = strlen(given);
        int ok = n >= 1 && n < sizeof r->id;
        for (size_t i = 0; ok && i < n; i++) {
            char c = given[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        }
        if (ok) {
            memcpy(r->id, given, n + 1);
            return;
        }
    }
    snprintf(r->id, sizeof r->id, "%08x-%08llx", req_prefix, (unsigned long long)++req_counter);
}

static void run_handler(http_req *r)
{
    routes[r->route].fn(r);
}

/*
 * Framing a proxy in front might read differently from evhttp, which takes
 * the first Content-Length, ignores it with Transfer-Encoding: chunked,
 * ignores a Transfer-Encoding it does not know, and reads no body on HEAD:
 * refused, and the connection closed after the answer, so that no byte of
 * it can be read as another request. 0, or -1 when answered.
 */
static int check_framing(http_req *r)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->ev);
    const char *cl = NULL, *te = NULL, *why = NULL, *field = "Content-Length";
    int nte = 0;
    struct evkeyval *kv;
    for (kv = in->tqh_first; kv; kv = kv->next.tqe_next) {
        if (strcasecmp(kv->key, "Content-Length") == 0) {
            if (cl && strcmp(cl, kv->value) != 0)
                why = "two different Content-Length headers";
            cl = kv->value;
        } else if (strcasecmp(kv->key, "Transfer-Encoding") == 0) {
            te = kv->value;
            nte++;
        }
    }
    if (why == NULL && cl && te)
        why = "Content-Length together with Transfer-Encoding";
    if (why == NULL && te && (nte > 1 || strcasecmp(te, "chunked") != 0)) {
        why = "a Transfer-Encoding other than one \"chunked\"";
        field = "Transfer-Encoding";
    }
    if (why == NULL && r->head && (te || (cl && strcmp(cl, "0") != 0)))
        why = "a body on a HEAD request";
    if (why == NULL)
        return 0;
    r->close = 1;
    http_reply_error(r, 400, "bad_request", field, "%s: refused (the connection is closed)", why);
    return -1;
}

static void on_request(struct evhttp_request *ev, void *arg)
{
    struct evhttp_connection *evc = evhttp_request_get_connection(ev);
    struct hconn *hc = conn_of(evc);
    if (hc && !hc->attached && conn_attach(hc) != 0)
        return; /* refused: the connection, and ev with it, is gone */
    if (hc)
        evtimer_del(hc->timer); /* the request is in: no deadline while it is handled */
    http_req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        evhttp_send_error(ev, 500, "out of memory");
        return;
    }
    inflight++;
    r->ev = ev;

    r->route = -1;
    r->started_ns = clock_now_ns();
    r->method = evhttp_request_get_command(ev);
    r->who.nprecincts = 0;
    if (hc)
        memcpy(r->peer, hc->peer, sizeof r->peer);
    make_id(r);
    if (r->method == EVHTTP_REQ_HEAD) {
        r->head = 1; /* answered as GET, without the body */
        r->method = EVHTTP_REQ_GET;
    }
    if (check_framing(r) != 0)
        return;

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || *path == '\0')
        path = "/";
    if (route_split(path, r->seg, HTTP_MAX_SEGS, &r->nseg) != 0) {
        http_reply_error(r, 400, "bad_request", NULL, "malformed request path");
        return;
    }
    if (qs_parse(uri ? evhttp_uri_get_query(uri) : NULL, &r->query) != 0) {
        http_reply_error(r, 400, "bad_request", NULL,
                         "malformed query string (bad %%-escape, invalid UTF-8 or more "
                         "than %d parameters)",
                         QS_MAX_PARAMS);
        return;
    }

    int path_matched = 0;
    char allow[64] = "";
    for (int i = 0; i < nroutes; i++) {
        if (!route_match(routes[i].pattern, r->seg, r->nseg))
            continue;
        path_matched = 1;
        if ((int)routes[i].method == r->method) {
            r->route = i;
            break;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "",
                 routes[i].method == EVHTTP_REQ_GET ? "GET, HEAD"
                                                    : method_name((int)routes[i].method));
    }
    void (*fallback)(http_req *) = r->route < 0 && !path_matched && r->method == EVHTTP_REQ_GET &&
                                           hooks->fallback
                                       ? hooks->fallback(path)
                                       : NULL;
    if (fallback) {
        r->route = 0; /* accounted as the table's first route (the dashboard's) */
        fallback(r);
        return;
    }
    if (r->route < 0) {
        if (path_matched) {
            evhttp_add_header(evhttp_request_get_output_headers(ev), "Allow", allow);
            http_reply_error(r, 405, "method_not_allowed", NULL, "%s is not allowed here; use %s",
                             r->head ? "HEAD" : method_name(r->method), allow);
        } else {
            http_reply_error(r, 404, "not_found", NULL, "no such endpoint: %s", path);
        }
        return;
    }
    if (app.draining && routes[r->route].roles) {
        http_reply_error(r, 503, "shutting_down", NULL, "the server is shutting down");
        return;
    }
    if (routes[r->route].roles && !hooks->ready(routes[r->route].need)) {
        http_reply_error(r, 503, "starting_up", NULL,
                         "reference data and the cube are loading from the database");
        return;
    }
    if (routes[r->route].roles == 0)
        run_handler(r);
    else
        hooks->authenticate(r, routes[r->route].roles, run_handler);
}

void http_setup(struct evhttp *http, const http_route *table, int n, const http_hooks *h)
{
    routes = table;
    nroutes = n;
    hooks = h;
    const char **route_names = malloc((size_t)n * sizeof *route_names);
    if (route_names == NULL)
        abort(); /* start-up only */
    for (int i = 0; i < n; i++)
        route_names[i] = routes[i].name;
    metrics_init(n, route_names);
    req_prefix = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(http, on_request, NULL);
    evhttp_set_bevcb(http, make_bev, NULL);
    max_per_address = app.cfg.max_connections_per_address;
    if (max_per_address == 0) {
        /* A quarter of the open-file limit: no one address can take most of it. */
        struct rlimit rl;
        long files = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                         ? (long)rl.rlim_cur
                         : 1024;
        max_per_address = files / 4 > 4 ? files / 4 : 4;
    }
    per_address = lrumap_new(0, (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
                                    (uint64_t)(uintptr_t)&per_address);
}

void http_shutdown(void)
{
    /* evhttp_free has closed the connections: their requests are gone. */
    while (held) {
        http_req *r = held;
        drop_hold(r);
        req_free(r);
    }
    for (size_t i = 0; i < nbuckets; i++) {
        while (conns[i]) { /* accepted in the last loop pass, never attached */
            struct hconn *hc = conns[i];
            struct bufferevent *bev = hc->bev;
            int attached = hc->attached;
            conn_forget(hc);
            if (!attached)
                bufferevent_decref(bev);
        }
    }
    free(conns);
    conns = NULL;
    nbuckets = nconns = 0;
    lrumap_free(per_address, NULL);
    per_address = NULL;
}
