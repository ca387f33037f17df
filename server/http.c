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
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include "analytics.h"
#include "app.h"
#include "audit.h"
#include "auth.h"
#include "hr.h"
#include "log.h"
#include "metrics.h"
#include "stream.h"
#include "web.h"

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

struct route {
    int method;
    const char *pattern;
    int roles; /* 0: no token needed */
    void (*fn)(http_req *r);
    const char *name;
    const char *audit; /* a read of incident data: the audit action, else NULL */
};

static const struct route routes[] = {
    /* The dashboard: "" matches "/" alone; the other files are found by
       web_find when no route matches (see on_request). Keep it first. */
    {EVHTTP_REQ_GET, "", 0, h_web_asset, "web", NULL},
    {EVHTTP_REQ_GET, "/dashboard/config.json", 0, h_web_config, "web_config", NULL},
    {EVHTTP_REQ_GET, "/healthz", 0, h_healthz, "healthz", NULL},
    {EVHTTP_REQ_GET, "/v1/whoami", ROLE_ANY, h_whoami, "whoami", NULL},
    {EVHTTP_REQ_GET, "/readyz", 0, h_readyz, "readyz", NULL},
    {EVHTTP_REQ_GET, "/metrics", 0, h_metrics, "metrics", NULL},
    {EVHTTP_REQ_GET, "/v1/agencies/*", ROLE_ANY, h_agency_get, "agency_get", NULL},
    {EVHTTP_REQ_PUT, "/v1/agencies/*", ROLE_ADMIN, h_agency_put, "agency_put", NULL},
    {EVHTTP_REQ_GET, "/v1/precincts", ROLE_ANY, h_precincts_get, "precincts_get", NULL},
    {EVHTTP_REQ_PUT, "/v1/precincts/*", ROLE_ADMIN, h_precinct_put, "precinct_put", NULL},
    {EVHTTP_REQ_GET, "/v1/offenses", ROLE_ANY, h_offenses_get, "offenses_get", NULL},
    {EVHTTP_REQ_PUT, "/v1/offenses/*", ROLE_ADMIN, h_offense_put, "offense_put", NULL},
    {EVHTTP_REQ_POST, "/v1/incidents", ROLE_DISPATCH | ROLE_ADMIN, h_incidents_post,
     "incidents_post", NULL},
    {EVHTTP_REQ_GET, "/v1/incidents", ROLE_READ, h_incidents_list, "incidents_list",
     "incident.list"},
    {EVHTTP_REQ_GET, "/v1/incidents/*", ROLE_READ, h_incident_get, "incident_get",
     "incident.read"},
    {EVHTTP_REQ_GET, "/v1/cube", ROLE_READ, h_cube, "cube", "cube.read"},
    {EVHTTP_REQ_GET, "/v1/compstat", ROLE_READ, h_compstat, "compstat", "compstat.read"},
    {EVHTTP_REQ_GET, "/v1/hotspots", ROLE_READ, h_hotspots, "hotspots", "hotspots.read"},
    {EVHTTP_REQ_PATCH, "/v1/incidents/*/*", ROLE_DISPATCH | ROLE_ADMIN, h_incident_patch,
     "incident_patch", NULL},
    {EVHTTP_REQ_GET, "/v1/stream", ROLE_READ, h_stream, "stream", "stream.open"},
    {EVHTTP_REQ_GET, "/v1/response-times", ROLE_READ, h_response_times, "response_times",
     "response_times.read"},
    {EVHTTP_REQ_GET, "/v1/reports/workload", ROLE_READ, h_workload, "workload",
     "workload.read"},
    {EVHTTP_REQ_GET, "/v1/units", ROLE_READ, h_units_get, "units_get", "units.read"},
    {EVHTTP_REQ_GET, "/v1/units/*", ROLE_READ, h_unit_get, "unit_get", "units.read"},
    {EVHTTP_REQ_PUT, "/v1/units/*", ROLE_HR, h_unit_put, "unit_put", NULL},
    {EVHTTP_REQ_PUT, "/v1/units/*/status", ROLE_DISPATCH | ROLE_HR, h_unit_status_put,
     "unit_status_put", NULL},
    {EVHTTP_REQ_GET, "/v1/officers", ROLE_HR, h_officers_get, "officers_get", NULL},
    {EVHTTP_REQ_PUT, "/v1/officers/*", ROLE_HR, h_officer_put, "officer_put", NULL},
    {EVHTTP_REQ_GET, "/v1/shifts", ROLE_READ, h_shifts_get, "shifts_get", NULL},
    {EVHTTP_REQ_PUT, "/v1/shifts/*", ROLE_HR, h_shift_put, "shift_put", NULL},
    {EVHTTP_REQ_GET, "/v1/shifts/*/roster/*", ROLE_HR, h_roster_get, "roster_get", NULL},
    {EVHTTP_REQ_PUT, "/v1/shifts/*/roster/*", ROLE_HR, h_roster_put, "roster_put", NULL},
};
#define NROUTES ((int)(sizeof routes / sizeof routes[0]))

static long inflight;
static uint64_t req_counter;
static unsigned req_prefix;

uint64_t http_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

long http_inflight(void)
{
    return inflight;
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

static void req_free(http_req *r)
{
    if (r->state_free)
        r->state_free(r->state);
    for (int i = 0; i < r->nseg; i++)
        free(r->seg[i]);
    for (int i = 0; i < r->who.nprecincts; i++)
        free(r->who.precincts[i]);
    free(r->who.precincts);
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

/* The common headers, the metrics, the log line and the audit record of an answer. */
static void account(http_req *r, int status, const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Request-Id", r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (app.draining)
        evhttp_add_header(h, "Connection", "close");
    double secs = (double)(http_now_ns() - r->started_ns) / 1e9;
    metrics_request(r->route, status, secs);
    if (status >= 500 && status != 503)
        log_warn(r->id, "%s %s -> %d (%.1f ms)", method_name(r->method),
                 evhttp_request_get_uri(r->ev), status, secs * 1e3);
    else
        log_debug(r->id, "%s %s -> %d (%.3f ms)", method_name(r->method),
                  evhttp_request_get_uri(r->ev), status, secs * 1e3);
    if (status >= 200 && status < 300 && r->route >= 0 && routes[r->route].audit) {
        /* who read what, and which precincts the token could see */
        char detail[512];
        size_t n = (size_t)snprintf(detail, sizeof detail, "{\"status\":%d,\"precincts\":",
                                    status);
        if (r->who.nprecincts < 0) {
            snprintf(detail + n, sizeof detail - n, "null}");
        } else {
            n += (size_t)snprintf(detail + n, sizeof detail - n, "[");
            for (int i = 0; i < r->who.nprecincts && n < sizeof detail - 80; i++)
                n += (size_t)snprintf(detail + n, sizeof detail - n, "%s\"%s\"", i ? "," : "",
                                      r->who.precincts[i]); /* codes: [A-Za-z0-9._-] */
            snprintf(detail + n, sizeof detail - n, "]}");
        }
        audit_record(r->who.token_id, r->id, routes[r->route].audit,
                     evhttp_request_get_uri(r->ev), detail);
    }
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

/* The answer is out: the connection reads freely again. */
static void on_written(struct evhttp_request *ev, void *arg)
{
    (void)arg;
    struct bufferevent *bev = bev_of(ev);
    if (bev)
        bufferevent_setwatermark(bev, EV_READ, 0, 0);
}

static void send_reply(http_req *r, int status, const char *content_type, struct evbuffer *body)
{
    account(r, status, content_type);
    cap_input(r->ev);
    evhttp_request_set_on_complete_cb(r->ev, on_written, NULL);
    evhttp_send_reply(r->ev, status, reason_of(status), body);
    req_free(r);
}

/* libevent is closing a stream's connection (client gone, timeout, abort, exit). */
static void on_stream_closed(struct evhttp_connection *c, void *arg)
{
    http_req *r = arg;
    evhttp_connection_set_closecb(c, NULL, NULL);
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
    if (c == NULL) {
        send_reply(r, 200, content_type, NULL); /* the client is gone already */
        return -1;
    }
    account(r, 200, content_type);
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), "X-Accel-Buffering", "no");
    r->stream_closed = closed;
    evhttp_connection_set_closecb(c, on_stream_closed, r);
    cap_input(r->ev); /* for as long as the stream lasts */
    evhttp_send_reply_start(r->ev, 200, "OK");
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
    return 0;
}

void http_stream_send(http_req *r, const char *data, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL)
        return;
    evbuffer_add(b, data, len);
    evhttp_send_reply_chunk(r->ev, b);
    evbuffer_free(b);
}

void http_stream_send_buffer(http_req *r, struct evbuffer *buf)
{
    evhttp_send_reply_chunk(r->ev, buf);
}

size_t http_stream_pending(http_req *r)
{
    struct bufferevent *bev = bev_of(r->ev);
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

void http_stream_abort(http_req *r)
{
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    if (c)
        evhttp_connection_free(c); /* runs on_stream_closed, which frees r */
}

void http_stream_end(http_req *r)
{
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    if (c)
        evhttp_connection_set_closecb(c, NULL, NULL);
    if (r->stream_closed)
        r->stream_closed(r);
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
    send_reply(r, status, "application/json", b);
    if (b)
        evbuffer_free(b);
    cJSON_free(text);
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
    const char *bad = qs_unknown(&r->query, allowed);
    if (bad == NULL)
        return 0;
    http_reply_error(r, 400, "unknown_parameter", bad, "unknown query parameter \"%s\"", bad);
    return -1;
}

/* Split "/a/b%20c" into decoded segments. -1 on bad encoding or too deep. */
static int split_path(http_req *r, const char *path)
{
    const char *p = path;
    if (*p != '/')
        return -1;
    while (*p) {
        p++; /* skip '/' */
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 && end == NULL)
            break; /* trailing slash */
        if (r->nseg == HTTP_MAX_SEGS)
            return -1;
        char *s = malloc(len + 1);
        if (s == NULL || qs_decode(p, len, 0, s) < 0) {
            free(s);
            return -1;
        }
        r->seg[r->nseg++] = s;
        p += len;
    }
    return 0;
}

/* 1 when r's segments match pattern. */
static int match(const http_req *r, const char *pattern)
{
    int i = 0;
    const char *p = pattern;
    while (*p) {
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (i >= r->nseg)
            return 0;
        if (!(len == 1 && *p == '*') &&
            (strlen(r->seg[i]) != len || strncmp(r->seg[i], p, len) != 0))
            return 0;
        if (len == 1 && *p == '*' && r->seg[i][0] == '\0')
            return 0;
        i++;
        p += len;
    }
    return i == r->nseg;
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

/*
 * While the cubes load, reads that need only the counts (the cube, COMPSTAT,
 * hotspots, incidents, reference data, streams) answer as soon as the count
 * cube is in; writes, response times and the unit board wait for all of it.
 */
static int route_ready(int i)
{
    if (analytics_ready())
        return 1;
    const struct route *rt = &routes[i];
    return analytics_counts_ready() && rt->method == EVHTTP_REQ_GET &&
           rt->fn != h_response_times && rt->fn != h_workload && rt->fn != h_units_get &&
           rt->fn != h_unit_get;
}

static void run_handler(http_req *r)
{
    routes[r->route].fn(r);
}

static void on_request(struct evhttp_request *ev, void *arg)
{
    http_req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        evhttp_send_error(ev, 500, "out of memory");
        return;
    }
    inflight++;
    r->ev = ev;

    r->route = -1;
    r->started_ns = http_now_ns();
    r->method = evhttp_request_get_command(ev);
    r->who.nprecincts = 0;
    make_id(r);

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || *path == '\0')
        path = "/";
    if (split_path(r, path) != 0) {
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
    for (int i = 0; i < NROUTES; i++) {
        if (!match(r, routes[i].pattern))
            continue;
        path_matched = 1;
        if ((int)routes[i].method == r->method) {
            r->route = i;
            break;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "",
                 method_name((int)routes[i].method));
    }
    if (r->route < 0 && !path_matched && r->method == EVHTTP_REQ_GET && web_find(path)) {
        r->route = 0; /* a file of the dashboard */
        run_handler(r);
        return;
    }
    if (r->route < 0) {
        if (path_matched) {
            evhttp_add_header(evhttp_request_get_output_headers(ev), "Allow", allow);
            http_reply_error(r, 405, "method_not_allowed", NULL, "%s is not allowed here; use %s",
                             method_name(r->method), allow);
        } else {
            http_reply_error(r, 404, "not_found", NULL, "no such endpoint: %s", path);
        }
        return;
    }
    if (app.draining && routes[r->route].roles) {
        http_reply_error(r, 503, "shutting_down", NULL, "the server is shutting down");
        return;
    }
    if (routes[r->route].roles && (!app.ref_loaded || !hr_ready() || !route_ready(r->route))) {
        http_reply_error(r, 503, "starting_up", NULL,
                         "reference data and the cube are loading from the database");
        return;
    }
    if (routes[r->route].roles == 0)
        run_handler(r);
    else
        auth_check(r, routes[r->route].roles, run_handler);
}

void http_setup(struct evhttp *http)
{
    static const char *route_names[NROUTES];
    for (int i = 0; i < NROUTES; i++)
        route_names[i] = routes[i].name;
    metrics_init(NROUTES, route_names);
    req_prefix = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(http, on_request, NULL);
}
