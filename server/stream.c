/*
 * stream.c -- see stream.h.
 *
 * Every event is formatted once, as the complete SSE frame, into a ring of
 * the last stream_backlog events. Each stream has a cursor into the ring
 * and is pumped -- the frames it may see copied into its connection buffer
 * as one chunk, up to stream_max_buffer bytes -- after each commit batch
 * (stream_flush), at least every half ring, and every 20 ms while it is
 * behind. A stream whose cursor the ring overtakes has lost events and is
 * dropped; so memory is the ring plus a bounded buffer per stream, however
 * slowly clients read.
 */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "analytics.h"
#include "app.h"
#include "filters.h"
#include "log.h"
#include "rfc3339.h"
#include "sbuf.h"
#include "zones.h"

typedef struct sevent {
    uint64_t seq; /* 0: slot unused */
    int agency_id;
    int precinct_id; /* 0: no precinct */
    char *frame;     /* "id: ...\nevent: ...\ndata: ...\n\n" */
    size_t len;
} sevent;

typedef struct client {
    http_req *r;
    int agency_id;
    int token_id;  /* whose: revoking it ends the stream */
    long long session_id; /* a person's: ending it (or its time running out) ends the stream */
    int checking;  /* its token is in the validation query in flight */
    int all;       /* sees every precinct, and incidents without one */
    int by_area;   /* its precincts came from areas (area=, or a token of areas) */
    uint8_t *mask; /* else: precinct ids it sees */
    int32_t nmask;
    uint64_t cursor; /* seq of the next event to consider sending */
    struct client *prev, *next;
} client;

static struct {
    struct event_base *base;
    struct event *heartbeat;
    struct event *retry; /* pumps streams that were blocked on a full buffer */
    struct event *flush; /* pumps after events that no stream_flush followed */
    struct event *recheck; /* re-validates the streams' tokens */
    int recheck_running;   /* a validation query is in flight */
    int recheck_again;     /* tokens changed while it ran */
    int flush_scheduled;
    uint64_t pumped_to;  /* next_seq when every stream was last pumped */
    sevent *ring;
    size_t cap;
    uint64_t next_seq; /* the seq the next event gets; starts at 1 */
    char boot[24];     /* this process's id prefix */
    client *head;
    size_t nclients;
    uint64_t dropped;
    uint64_t revoked; /* streams ended because their token was revoked */
    uint64_t evicted; /* streams ended to give another agency its share */
    size_t ring_bytes;
} S;

/* How often the streams' tokens are checked when no notification comes
   (a token revoked by hand in SQL): the bound auth.h gives its cache. */
#define STREAM_RECHECK_S 60

static void on_heartbeat(evutil_socket_t fd, short what, void *arg);
static void on_retry(evutil_socket_t fd, short what, void *arg);
static void on_flush(evutil_socket_t fd, short what, void *arg);
static void on_recheck(evutil_socket_t fd, short what, void *arg);

int stream_init(struct event_base *base)
{
    S.base = base;
    S.cap = (size_t)app.cfg.stream_backlog;
    S.ring = calloc(S.cap, sizeof *S.ring);
    S.next_seq = 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(S.boot, sizeof S.boot, "%llx",
             (unsigned long long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000) ^
                 ((unsigned long long)getpid() << 40));
    S.heartbeat = event_new(base, -1, EV_PERSIST, on_heartbeat, NULL);
    S.retry = event_new(base, -1, 0, on_retry, NULL);
    S.flush = event_new(base, -1, 0, on_flush, NULL);
    S.recheck = event_new(base, -1, EV_PERSIST, on_recheck, NULL);
    S.pumped_to = S.next_seq;
    if (S.ring == NULL || S.heartbeat == NULL || S.retry == NULL || S.flush == NULL ||
        S.recheck == NULL)
        return -1;
    struct timeval tv = {app.cfg.stream_heartbeat, 0};
    event_add(S.heartbeat, &tv);
    struct timeval rv = {STREAM_RECHECK_S, 0};
    event_add(S.recheck, &rv);
    return 0;
}

static int sees(const client *c, int agency_id, int precinct_id)
{
    if (c->agency_id != agency_id)
        return 0;
    if (c->all)
        return 1;
    return precinct_id > 0 && precinct_id < c->nmask && c->mask[precinct_id];
}

/* The oldest event the ring still holds. */
static uint64_t oldest_seq(void)
{
    uint64_t last = S.next_seq - 1;
    return last >= S.cap ? last - S.cap + 1 : 1;
}

static void drop(client *c, const char *why)
{
    S.dropped++;
    log_info(c->r->id, "stream: %s; dropped (a reconnect is told to re-read)", why);
    http_stream_abort(c->r); /* frees c */
}

/*
 * Send c what it has not had yet, as far as its buffer allows. A stream
 * that has fallen out of the backlog is dropped: it lost events. 0, or -1
 * when dropped.
 */
static int pump(client *c)
{
    if (c->cursor >= S.next_seq)
        return 0;
    if (c->cursor < oldest_seq()) {
        drop(c, "fell behind the backlog");
        return -1;
    }
    size_t room = (size_t)app.cfg.stream_max_buffer, pending = http_stream_pending(c->r);
    room = pending < room ? room - pending : 0;
    struct evbuffer *out = evbuffer_new();
    if (out == NULL)
        return 0;
    size_t n = 0;
    while (c->cursor < S.next_seq) {
        const sevent *e = &S.ring[c->cursor % S.cap];
        if (sees(c, e->agency_id, e->precinct_id)) {
            if (n + e->len > room && (n > 0 || pending > 0))
                break; /* full: the retry timer comes back when it drains */
            if (evbuffer_add(out, e->frame, e->len) != 0)
                break;
            n += e->len;
        }
        c->cursor++;
    }
    if (n > 0)
        http_stream_send_buffer(c->r, out); /* one chunk for everything new */
    evbuffer_free(out);
    if (c->cursor < S.next_seq && !evtimer_pending(S.retry, NULL)) {
        struct timeval tv = {0, 20000};
        evtimer_add(S.retry, &tv);
    }
    return 0;
}

static void pump_all(void)
{
    S.pumped_to = S.next_seq;
    for (client *c = S.head, *next; c; c = next) {
        next = c->next;
        pump(c);
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    pump_all();
}

/* Keep the event in the ring and send it to every stream that sees it. */
static void emit(int agency_id, int precinct_id, const char *type, sbuf *data)
{
    if (sbuf_failed(data))
        return;
    sbuf f;
    sbuf_init(&f);
    uint64_t seq = S.next_seq;
    sbuf_printf(&f, "id: %s-%llu\nevent: %s\ndata: ", S.boot, (unsigned long long)seq, type);
    sbuf_append(&f, data->data, data->len);
    sbuf_puts(&f, "\n\n");
    if (sbuf_failed(&f)) {
        sbuf_free(&f);
        return;
    }
    sevent *e = &S.ring[seq % S.cap];
    S.ring_bytes -= e->len;
    S.ring_bytes += f.len;
    free(e->frame);
    e->seq = seq;
    e->agency_id = agency_id;
    e->precinct_id = precinct_id;
    e->len = f.len;
    e->frame = f.data; /* the ring owns it now */
    S.next_seq++;
    if (S.nclients == 0)
        return;
    /* Streams are pumped once per commit batch (stream_flush), so that a
       batch travels as one chunk; but never let the ring overtake them. */
    if (S.next_seq - S.pumped_to >= S.cap / 2) {
        pump_all();
    } else if (!S.flush_scheduled) {
        S.flush_scheduled = 1;
        event_active(S.flush, EV_TIMEOUT, 0);
    }
}

void stream_flush(void)
{
    if (S.pumped_to != S.next_seq)
        pump_all();
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    S.flush_scheduled = 0;
    stream_flush();
}

/* ,"key":"value" (null for NULL; no comma when first) */
static void json_code(sbuf *b, const char *key, const char *v, int first)
{
    sbuf_printf(b, "%s\"%s\":", first ? "" : ",", key);
    sbuf_json_str(b, v);
}

/* The cube cell of a counted incident: its local hour. */
static int64_t local_hour(const stored *s)
{
    int64_t local = tz_local(zone_of_agency(s->agency_id), store_counted_at(s));
    return local - ((local % 3600) + 3600) % 3600; /* local start of the hour */
}

static void cube_event(const stored *s, int delta)
{
    int64_t hour = local_hour(s);
    const ref_offense *o = ref_offense_by_id(app.ref, s->offense_id);
    char when[RFC3339_BUFSZ], asof[RFC3339_BUFSZ];
    /* The hour's start in the offset in force at its start. */
    const tz_zone *z = zone_of_agency(s->agency_id);
    int64_t utc = tz_utc(z, hour);
    rfc3339_format(utc, (int)(hour - utc), when);
    rfc3339_format_ms(s->updated_ms, 0, asof);
    sbuf b;
    sbuf_init(&b);
    sbuf_putc(&b, '{');
    json_code(&b, "precinct", s->precinct_id ? s->inc.precinct : NULL, 1);
    json_code(&b, "offense", s->inc.offense, 0);
    json_code(&b, "category", o ? o->category : NULL, 0);
    if (s->inc.priority >= 0)
        sbuf_printf(&b, ",\"priority\":%d", s->inc.priority);
    else
        sbuf_puts(&b, ",\"priority\":null");
    sbuf_printf(&b, ",\"bucket\":\"%s\",\"delta\":%d,\"incident\":%lld,\"as_of\":\"%s\"}", when,
                delta, (long long)s->id, asof);
    emit(s->agency_id, s->precinct_id, "cube", &b);
    sbuf_free(&b);
}

static int same_cell(const stored *a, const stored *b)
{
    return a->agency_id == b->agency_id && a->precinct_id == b->precinct_id &&
           a->offense_id == b->offense_id && a->inc.priority == b->inc.priority &&
           local_hour(a) == local_hour(b);
}

void stream_publish(const stored *old, const stored *new_row)
{
    if (S.ring == NULL)
        return;
    cJSON *inc = store_to_json(new_row);
    char *text = inc ? cJSON_PrintUnformatted(inc) : NULL;
    cJSON_Delete(inc);
    if (text) {
        sbuf b;
        sbuf_init(&b);
        sbuf_printf(&b, "{\"change\":\"%s\",\"incident\":", old ? "updated" : "created");
        sbuf_puts(&b, text);
        sbuf_putc(&b, '}');
        emit(new_row->agency_id, new_row->precinct_id, "incident", &b);
        sbuf_free(&b);
        cJSON_free(text);
    }
    int was = old && store_counted(old), is = store_counted(new_row);
    if (was && is && same_cell(old, new_row))
        return;
    if (was)
        cube_event(old, -1);
    if (is)
        cube_event(new_row, +1);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    static const char beat[] = ": keepalive\n\n";
    for (client *c = S.head; c; c = c->next)
        if (c->cursor >= S.next_seq && http_stream_pending(c->r) == 0)
            http_stream_send(c->r, beat, sizeof beat - 1);
}

static void client_closed(http_req *r)
{
    client *c = r->state;
    if (c->prev)
        c->prev->next = c->next;
    else
        S.head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    S.nclients--;
}

static void client_free(void *state)
{
    client *c = state;
    free(c->mask);
    free(c);
}

/*
 * "<boot>-<seq>" of this process: *seq, and 1. Anything else: 0.
 */
static int parse_last_id(const char *v, uint64_t *seq)
{
    size_t n = strlen(S.boot);
    if (v == NULL || strncmp(v, S.boot, n) != 0 || v[n] != '-')
        return 0;
    char *end;
    unsigned long long s = strtoull(v + n + 1, &end, 10);
    if (*end != '\0' || end == v + n + 1)
        return 0;
    *seq = s;
    return 1;
}

/* 1 when the ring still holds every event after seq (and seq is not from the future). */
static int resumable(uint64_t after)
{
    return after <= S.next_seq - 1 && after + 1 >= oldest_seq();
}

/*
 * Stream slots are shared fairly between agencies: while slots are free
 * anyone may open one; when all max_streams are taken, an agency holding
 * fewer than its fair share (max_streams / the agencies holding streams,
 * itself included) takes the newest stream of the agency holding the most,
 * which is ended cleanly (its client reconnects later). So one agency's
 * streams can never lock another agency out. 0: admitted; -1 after 503.
 */
static int admit(http_req *r)
{
    size_t max = (size_t)app.cfg.max_streams;
    if (S.nclients < max)
        return 0;
    int agencies[64], counts[64];
    size_t nag = 0, mine = 0;
    int self_seen = 0;
    client *victim = NULL;
    int victim_count = 0;
    for (client *c = S.head; c; c = c->next) {
        if (c->agency_id == r->who.agency_id) {
            mine++;
            self_seen = 1;
        }
        size_t k = 0;
        while (k < nag && agencies[k] != c->agency_id)
            k++;
        if (k == nag) {
            if (nag == sizeof agencies / sizeof agencies[0])
                continue; /* more agencies than this tally: count the first 64 */
            agencies[nag] = c->agency_id;
            counts[nag++] = 0;
        }
        counts[k]++;
    }
    size_t holders = nag + (self_seen ? 0 : 1);
    size_t share = max / (holders ? holders : 1);
    if (share == 0)
        share = 1;
    if (mine < share) {
        /* the list is newest first: the first stream of the largest holder */
        for (size_t k = 0; k < nag; k++)
            if (agencies[k] != r->who.agency_id && counts[k] > victim_count)
                victim_count = counts[k];
        for (client *c = S.head; c && victim_count > 0; c = c->next) {
            size_t k = 0;
            while (k < nag && agencies[k] != c->agency_id)
                k++;
            if (k < nag && counts[k] == victim_count && c->agency_id != r->who.agency_id &&
                (size_t)victim_count > mine + 1) {
                victim = c;
                break;
            }
        }
    }
    if (victim == NULL) {
        http_reply_error(r, 503, "too_many_streams", NULL,
                         "this server already serves %zu streams, %zu of them this agency's "
                         "(its fair share is %zu)",
                         S.nclients, mine, share);
        return -1;
    }
    S.evicted++;
    log_info(victim->r->id, "stream: ended to give another agency its share of the %zu slots",
             max);
    http_stream_end(victim->r); /* unlinks and frees it */
    return 0;
}

/* ---------------------------------------------------------------- revocation */

static void on_recheck_result(void *arg, PGresult *res, const char *error)
{
    (void)arg;
    S.recheck_running = 0;
    if (res == NULL || error) {
        if (error)
            log_warn("stream", "cannot check the streams' tokens: %s", error);
        for (client *c = S.head; c; c = c->next)
            c->checking = 0;
        return; /* the reader reconnects and auth_watch asks again */
    }
    /* The rows are the token ids ('t') and the sessions ('s') still valid;
       end the others' streams. */
    int n = PQntuples(res);
    for (client *c = S.head, *next; c; c = next) {
        next = c->next;
        if (!c->checking)
            continue; /* opened since the query was sent: its token was just looked up */
        c->checking = 0;
        int valid = 0, open = c->session_id == 0;
        for (int i = 0; i < n; i++) {
            const char *kind = PQgetvalue(res, i, 0);
            if (kind[0] == 't' && atoll(PQgetvalue(res, i, 1)) == c->token_id)
                valid = 1;
            else if (kind[0] == 's' && atoll(PQgetvalue(res, i, 1)) == c->session_id)
                open = 1;
        }
        if (!valid || !open) {
            S.revoked++;
            log_info(c->r->id, "stream: its %s; ended",
                     valid ? "session ended" : "token was revoked");
            http_stream_end(c->r);
        }
    }
    if (S.recheck_again) {
        S.recheck_again = 0;
        stream_check_tokens();
    }
}

void stream_check_tokens(void)
{
    if (S.head == NULL)
        return;
    if (S.recheck_running) {
        S.recheck_again = 1;
        return;
    }
    sbuf ids, sids;
    sbuf_init(&ids);
    sbuf_init(&sids);
    sbuf_array_begin(&ids);
    sbuf_array_begin(&sids);
    char num[24], idle[24];
    for (client *c = S.head; c; c = c->next) {
        snprintf(num, sizeof num, "%d", c->token_id);
        sbuf_array_raw(&ids, num);
        if (c->session_id) {
            snprintf(num, sizeof num, "%lld", c->session_id);
            sbuf_array_raw(&sids, num);
        }
    }
    sbuf_array_end(&ids);
    sbuf_array_end(&sids);
    snprintf(idle, sizeof idle, "%ld", (long)app.cfg.session_idle_timeout);
    const char *params[3] = {sbuf_str(&ids), sbuf_str(&sids), idle};
    /* A person's session as auth.c would take it: open, in its time, not
       idle (its last use is written at most a minute late). */
    if (!sbuf_failed(&ids) && !sbuf_failed(&sids) &&
        db_query(app.reader,
                 "SELECT 't', id::bigint FROM api_tokens"
                 " WHERE id = ANY($1::int[]) AND revoked_at IS NULL"
                 " UNION ALL SELECT 's', id FROM sessions WHERE id = ANY($2::bigint[])"
                 "  AND ended_at IS NULL AND expires_at > now()"
                 "  AND last_seen_at > now() - make_interval(secs => $3::int + 60)",
                 3, params, on_recheck_result, NULL) == 0) {
        S.recheck_running = 1;
        for (client *c = S.head; c; c = c->next)
            c->checking = 1;
    }
    sbuf_free(&ids);
    sbuf_free(&sids);
}

static void on_recheck(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    stream_check_tokens();
}

void stream_areas_changed(int agency_id)
{
    for (client *c = S.head, *next; c; c = next) {
        next = c->next;
        if (c->by_area && c->agency_id == agency_id) {
            log_info(c->r->id, "stream: its areas changed; ended (it resumes with the new ones)");
            http_stream_end(c->r);
        }
    }
}

void h_stream(http_req *r)
{
    static const char *const allowed[] = {"precinct", "area", NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    if (admit(r) != 0)
        return;
    client *c = calloc(1, sizeof *c);
    int32_t n = ref_precinct_max(app.ref) + 1;
    if (c == NULL || (c->mask = calloc((size_t)n, 1)) == NULL) {
        free(c);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    c->r = r;
    c->nmask = n;
    c->agency_id = r->who.agency_id;
    c->token_id = r->who.token_id;
    c->session_id = r->who.session_id;
    r->state = c;
    r->state_free = client_free;
    int restricts = filter_precinct_mask(r, c->mask, n);
    if (restricts < 0)
        return;
    c->all = !restricts;
    c->by_area = r->who.nareas > 0 || qs_get(&r->query, "area") != NULL;

    uint64_t after = 0;
    const char *last_id = http_header(r, "Last-Event-ID");
    int asked = last_id != NULL && *last_id != '\0';
    int known = asked && parse_last_id(last_id, &after);

    if (http_stream_begin(r, "text/event-stream", app.cfg.request_timeout, client_closed) != 0)
        return;
    c->next = S.head;
    if (S.head)
        S.head->prev = c;
    S.head = c;
    S.nclients++;

    static const char retry[] = "retry: 2000\n\n";
    http_stream_send(r, retry, sizeof retry - 1);
    int resumed = known && resumable(after);
    c->cursor = resumed ? after + 1 : S.next_seq;

    /* ready: where this stream starts. A resumed stream keeps the id it
       had (the missed events follow, with theirs); any other gets the id
       of the newest event, so a reconnect resumes from here. */
    const cube *cb = analytics_cube();
    char asof[RFC3339_BUFSZ] = "";
    int64_t as_of = cb ? cube_as_of(cb) : 0;
    if (as_of)
        rfc3339_format_ms(as_of, 0, asof);
    sbuf b;
    sbuf_init(&b);
    if (!resumed)
        sbuf_printf(&b, "id: %s-%llu\n", S.boot, (unsigned long long)(S.next_seq - 1));
    sbuf_printf(&b, "event: ready\ndata: {\"resumed\":%s,\"as_of\":", resumed ? "true" : "false");
    if (as_of)
        sbuf_printf(&b, "\"%s\"", asof);
    else
        sbuf_puts(&b, "null");
    sbuf_puts(&b, ",\"precincts\":");
    if (c->all) {
        sbuf_puts(&b, "null");
    } else {
        sbuf_putc(&b, '[');
        int first = 1;
        for (int32_t i = 1; i < n; i++) {
            const ref_precinct *p = c->mask[i] ? ref_precinct_by_id(app.ref, i) : NULL;
            if (p == NULL)
                continue;
            if (!first)
                sbuf_putc(&b, ',');
            sbuf_json_str(&b, p->code);
            first = 0;
        }
        sbuf_putc(&b, ']');
    }
    sbuf_puts(&b, "}\n\n");
    if (!sbuf_failed(&b))
        http_stream_send(r, b.data, b.len);
    sbuf_free(&b);
    if (asked && !resumed)
        log_debug(r->id, "stream: cannot resume after %s", last_id);
    pump(c); /* the missed events, if resumed */
}

void stream_drain(void)
{
    while (S.head)
        http_stream_end(S.head->r); /* unlinks and frees the head */
}

size_t stream_count(void)
{
    return S.nclients;
}

uint64_t stream_events(void)
{
    return S.next_seq - 1;
}

uint64_t stream_dropped(void)
{
    return S.dropped;
}

uint64_t stream_revoked(void)
{
    return S.revoked;
}

uint64_t stream_evicted(void)
{
    return S.evicted;
}

size_t stream_buffered(void)
{
    size_t n = 0;
    for (client *c = S.head; c; c = c->next)
        n += http_stream_pending(c->r);
    return n;
}

size_t stream_backlog_bytes(void)
{
    return S.ring_bytes;
}

void stream_free(void)
{
    stream_drain();
    if (S.heartbeat)
        event_free(S.heartbeat);
    if (S.retry)
        event_free(S.retry);
    if (S.flush)
        event_free(S.flush);
    if (S.recheck)
        event_free(S.recheck);
    S.heartbeat = S.retry = S.flush = S.recheck = NULL;
    for (size_t i = 0; S.ring && i < S.cap; i++)
        free(S.ring[i].frame);
    free(S.ring);
    S.ring = NULL;
}
