/*
 * http.h -- requests as compstatd sees them: routing, auth, replies.
 *
 * Every request gets an http_req that lives until its reply is sent. The
 * reply functions send exactly once (later calls are ignored and logged)
 * and free the http_req; after replying a handler must not touch it again.
 * A client that has gone still gets its reply sent into the void: libevent
 * frees the request then (see STYLE.md on deferred replies).
 *
 * Errors use the envelope of API.md:
 *   {"error": {"code": "...", "message": "...", "field": "..."}}
 *
 * Connections (http.c, "Connections"): each is tracked from its accept.
 * request_timeout is a deadline for a whole request -- headers and body --
 * counted from the accept, or on a keep-alive connection from the end of
 * the previous answer; a connection whose request is not in by then is
 * closed. It stops when the request reaches its handler (a handler waiting
 * for the database, or a stream, is not cut by it). One client address
 * (an IPv6 client: its /64) may hold max_connections_per_address
 * connections; more are closed as soon as they are accepted.
 *
 * Framing: a request with two different Content-Length headers, with
 * Content-Length and Transfer-Encoding, with a Transfer-Encoding other than
 * one "chunked", or a HEAD with a body gets 400 and its connection is
 * closed (a proxy in front could have read it otherwise: nothing may be
 * smuggled behind it). HEAD is answered as GET, without the body.
 *
 * Audit: an answer on a route with an audit action (reads of incident
 * data) is recorded (audit.h) when it is 2xx, 401, 403 or 404. A 2xx one,
 * with audit_sync on, is held until its record is committed, then sent; if
 * the record cannot be written the answer becomes 503 database_unavailable
 * (500 if the database rejected the record). A stream likewise starts only
 * once its stream.open record is committed.
 */
#ifndef COMPSTAT_HTTP_H
#define COMPSTAT_HTTP_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/http.h>

#include "qs.h"
#include "sbuf.h"

enum role {
    ROLE_DISPATCH = 1,
    ROLE_COMMANDER = 2,
    ROLE_SUPERVISOR = 4,
    ROLE_ADMIN = 8,
    ROLE_ANALYST = 16, /* a region's reader: see ROUTE_ACROSS below */
};
/*
 * A region's reader (a token of a region, not of an agency): it reads what
 * agencies share with its region (sharing.h) and writes nothing. A route
 * open to it names ROLE_ANALYST, and says how it reads: with agency=CODE
 * (the agency it reads, required), ROUTE_ACROSS (agency= may be left out:
 * the route reads across the region's agencies itself), ROUTE_ROWS (it
 * returns incident rows: only from agencies sharing incidents).
 */
#define ROUTE_ACROSS 32
#define ROUTE_ROWS 64
/* Open to a session that must first enrol its second factor (the agency
   requires one): enrolment, whoami, sign-out. */
#define ROUTE_ENROL 128
#define ROLE_READ (ROLE_COMMANDER | ROLE_SUPERVISOR | ROLE_ADMIN)
#define ROLE_ANY (ROLE_DISPATCH | ROLE_READ)
#define ROLE_HR (ROLE_SUPERVISOR | ROLE_ADMIN) /* units, officers, shifts */

/* Who is asking: resolved from the bearer token. */
typedef struct principal {
    int token_id;
    int role;      /* one enum role bit */
    int agency_id;
    int nprecincts; /* -1: all precincts of the agency */
    char **precincts; /* with a token of areas: the precincts below them now */
    int nareas;       /* the areas the token was given (its scope is in precincts) */
    char **areas;
    /* A region reader (sharing.h): its region and the agreements as they
       are at this request; agency_id is the agency it reads now (0: none
       yet, a route reading across agencies). NULL for an agency's token. */
    struct region_scope *region;
    /* The offenses it may count and read (offense ids; NULL: every one). */
    const uint8_t *offense_scope;
    int32_t noffense_scope;
    /* A person signed in (a session cookie): the user and the session; 0
       for a token. login and user_name are the principal's copies. */
    int user_id;
    long long session_id;
    char *login, *user_name;
} principal;

/* 1 when p may see or write precinct code (NULL = unassigned). */
int principal_allows(const principal *p, const char *precinct);
/* 1 when p may count or read offense id. */
int principal_offense_ok(const principal *p, int32_t offense_id);

#define HTTP_MAX_SEGS 8

typedef struct http_req {
    struct evhttp_request *ev;
    char id[40];        /* request id, logged and echoed as X-Request-Id */
    int method;         /* EVHTTP_REQ_* */
    int route;          /* index into the route table, -1 when none */
    int nseg;
    char *seg[HTTP_MAX_SEGS]; /* decoded path segments */
    qs query;
    principal who;
    int by_cookie; /* authenticated by the session cookie (CSRF applies) */
    uint64_t started_ns;
    void *state;        /* the handler's, freed by state_free if set */
    void (*state_free)(void *state);
    void (*stream_closed)(struct http_req *r); /* streams: see http_stream_begin */
    char peer[64];      /* the client's address (IPv6: its /64), "" when unknown */
    int head;           /* HEAD: answered as GET, without the body */
    /* private to http.c */
    int close;          /* close the connection after the answer */
    int audited;        /* the audit record is taken care of */
    struct http_hold *hold; /* an answer waiting for its audit record */
    struct http_req *hold_prev, *hold_next;
} http_req;

/*
 * Routes. One row says everything about a route: its method and pattern
 * (lib/route.h: '*' is one segment), who may call it (roles; 0: no token
 * is asked for), what it needs before it may answer, its audit action (a
 * read of incident data; NULL: none) and its metric name. The table is
 * the composition root's (router.c).
 */
enum http_need {
    HTTP_NEED_NOTHING, /* answers at once, even while starting up */
    HTTP_NEED_COUNTS,  /* the reference data and the count cube and grid */
    HTTP_NEED_ALL,     /* everything loaded: the response times and the unit board too */
};

typedef struct http_route {
    int method; /* EVHTTP_REQ_*; a GET route answers HEAD too */
    const char *pattern;
    int roles;
    enum http_need need;
    void (*fn)(http_req *r);
    const char *name;
    const char *audit;
} http_route;

/*
 * What the router asks of the layers above it, handed down at start-up
 * (router.c): whether what a route needs is loaded; who is asking (a
 * route with roles: authenticate answers 401/403/503 itself, or calls
 * then(r) with r->who filled in); and a handler for a GET path no route
 * matches (the dashboard's files), or NULL.
 */
typedef struct http_hooks {
    int (*ready)(enum http_need need);
    void (*authenticate)(http_req *r, int roles, void (*then)(http_req *r));
    void (*(*fallback)(const char *path))(http_req *r);
    /* What authenticate put in a principal beyond its precincts and areas:
       freed with the request (NULL: nothing). */
    void (*release)(principal *who);
    /* Add who read what to an audit record's detail: the agencies whose
       data the answer holds, and a region reader's region (NULL: none). */
    void (*audit_who)(const principal *who, cJSON *detail);
} http_hooks;

/*
 * Install the router (routes and hooks must outlive it), the connection
 * tracking and the limits on http. A request for a route with roles gets
 * 503 shutting_down while the daemon drains, and 503 starting_up while
 * hooks->ready(its need) is 0.
 */
void http_setup(struct evhttp *http, const http_route *routes, int nroutes,
                const http_hooks *hooks);
/*
 * Make each connection's bufferevent with make (TLS: tls.c) instead of a
 * plain socket one; call before http_setup. make must return a bufferevent
 * without an fd that closes it when freed (BEV_OPT_CLOSE_ON_FREE), or NULL.
 */
void http_set_bev_factory(struct bufferevent *(*make)(struct event_base *base, void *arg),
                          void *arg);
/*
 * At exit, after evhttp_free: drop the answers still waiting for their audit
 * records (their connections are gone) and what is left of the connection
 * tracking.
 */
void http_shutdown(void);
/* Append the connection metrics (Prometheus text) to out. */
void http_metrics(sbuf *out);

/* Requests received but not yet answered. */
long http_inflight(void);

/* Send body (consumed) as JSON. */
void http_reply_json(http_req *r, int status, cJSON *body);
/* The same with another JSON media type (application/geo+json). */
void http_reply_json_as(http_req *r, int status, const char *content_type, cJSON *body);
/* Send a preformatted body. */
void http_reply_raw(http_req *r, int status, const char *content_type, const char *body,
                    size_t len);
/* Send body's contents (body is left empty; the caller frees it): with
   evbuffer_add_reference, a large answer goes out without a copy. */
void http_reply_buffer(http_req *r, int status, const char *content_type, struct evbuffer *body);
/* 503 database_unavailable with Retry-After: the answer whenever the
   database is needed but down. */
void http_reply_db_down(http_req *r);
/* Send the error envelope; field may be NULL. 503 adds Retry-After. */
void http_reply_error(http_req *r, int status, const char *code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * A zeroed block of size bytes for the handler's state, attached to r
 * (r->state; state_free(block) runs when r is freed, and frees it). NULL
 * after replying 500 when memory runs out.
 */
void *http_state_new(http_req *r, size_t size, void (*state_free)(void *state));

/* Request body as a NUL-terminated copy (caller frees), its length in *len. */
char *http_body(http_req *r, size_t *len);
/* A request header, or NULL. */
const char *http_header(http_req *r, const char *name);
/* 1 when the Content-Type's media type is mt (parameters ignored). */
int http_content_type_is(http_req *r, const char *mt);

/*
 * Streams (Server-Sent Events): the reply starts with 200 now and stays
 * open. http_stream_begin sends the headers (accounted and audited like any
 * 2xx) and returns 0; the connection then only ends when a write stalls for
 * write_timeout seconds, the client goes away, or the server ends it. When
 * it ends, closed(r) runs once (r->state is still valid there) and r is
 * freed. Returns -1 when the client is already gone (r freed, closed not
 * called).
 */
int http_stream_begin(http_req *r, const char *content_type, long write_timeout,
                      void (*closed)(http_req *r));
/* Queue bytes on the stream (one chunk). */
void http_stream_send(http_req *r, const char *data, size_t len);
/* Queue buf's contents on the stream (one chunk; buf is left empty). */
void http_stream_send_buffer(http_req *r, struct evbuffer *buf);
/* Bytes queued for the client and not yet written to the socket. */
size_t http_stream_pending(http_req *r);
/* Drop the connection at once (a reader too slow to keep). closed runs. */
void http_stream_abort(http_req *r);
/* End the reply cleanly (what is queued is still delivered). closed runs. */
void http_stream_end(http_req *r);

/*
 * Refuse query parameters outside allowed (NULL-terminated): replies 400
 * naming the first unknown one and returns -1, else returns 0. A typo must
 * not silently widen a question.
 */
int http_check_params(http_req *r, const char *const *allowed);

#endif
