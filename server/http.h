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
 */
#ifndef COMPSTAT_HTTP_H
#define COMPSTAT_HTTP_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/http.h>

#include "qs.h"

enum role {
    ROLE_DISPATCH = 1,
    ROLE_COMMANDER = 2,
    ROLE_SUPERVISOR = 4,
    ROLE_ADMIN = 8,
};
#define ROLE_READ (ROLE_COMMANDER | ROLE_SUPERVISOR | ROLE_ADMIN)
#define ROLE_ANY (ROLE_DISPATCH | ROLE_READ)
#define ROLE_HR (ROLE_SUPERVISOR | ROLE_ADMIN) /* units, officers, shifts */

/* Who is asking: resolved from the bearer token. */
typedef struct principal {
    int token_id;
    int role;      /* one enum role bit */
    int agency_id;
    int nprecincts; /* -1: all precincts of the agency */
    char **precincts;
} principal;

/* 1 when p may see or write precinct code (NULL = unassigned). */
int principal_allows(const principal *p, const char *precinct);

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
    uint64_t started_ns;
    void *state;        /* the handler's, freed by state_free if set */
    void (*state_free)(void *state);
    void (*stream_closed)(struct http_req *r); /* streams: see http_stream_begin */
} http_req;

/* Install the router on http. */
void http_setup(struct evhttp *http);

/* Requests received but not yet answered. */
long http_inflight(void);

/* Send body (consumed) as JSON. */
void http_reply_json(http_req *r, int status, cJSON *body);
/* Send a preformatted body. */
void http_reply_raw(http_req *r, int status, const char *content_type, const char *body,
                    size_t len);
/* Send body's contents (body is left empty; the caller frees it): with
   evbuffer_add_reference, a large answer goes out without a copy. */
void http_reply_buffer(http_req *r, int status, const char *content_type, struct evbuffer *body);
/* Send the error envelope; field may be NULL. 503 adds Retry-After. */
void http_reply_error(http_req *r, int status, const char *code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Request body as a NUL-terminated copy (caller frees), its length in *len. */
char *http_body(http_req *r, size_t *len);
/* A request header, or NULL. */
const char *http_header(http_req *r, const char *name);
/* 1 when the Content-Type's media type is mt (parameters ignored). */
int http_content_type_is(http_req *r, const char *mt);

uint64_t http_now_ns(void);

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
