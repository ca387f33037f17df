/*
 * ingest.c -- see ingest.h (which also holds the statement).
 */
#include "ingest.h"

#include <event2/event.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "sbuf.h"
#include "strmap.h"

#define NPARAMS INGEST_NPARAMS

static void flush(struct ingest *g);

struct ingest {
    db_conn *db;
    size_t batch_max;
    ingest_hooks hooks;
    batch_queue waiting;
    ingest_item **flight; /* the batch in flight, by ord */
    size_t nflight;
    uint64_t flight_started;
    strmap *keys;        /* the identities in the batch being taken */
    batch_link **taken;  /* ... and the batch, as links */
    struct event *kick; /* flush at the end of this loop pass */
};

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    flush(arg);
}

struct ingest *ingest_new(struct event_base *base, db_conn *writer, size_t batch_max,
                          const ingest_hooks *hooks)
{
    struct ingest *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->hooks = *hooks;
    g->kick = event_new(base, -1, 0, on_kick, g);
    g->db = writer;
    g->batch_max = batch_max;
    g->flight = calloc(batch_max, sizeof *g->flight);
    g->taken = calloc(batch_max, sizeof *g->taken);
    /* Prepared once per connection: the upsert is planned once, not per batch. */
    if (db_prepare(writer, "ingest_upsert", INGEST_UPSERT_SQL) != 0) {
        ingest_free(g);
        return NULL;
    }
    g->keys = strmap_new();
    if (g->flight == NULL || g->taken == NULL || g->keys == NULL || g->kick == NULL) {
        ingest_free(g);
        return NULL;
    }
    return g;
}

void ingest_free(struct ingest *g)
{
    if (g == NULL)
        return;
    free(g->flight);
    free(g->taken);
    strmap_free(g->keys);
    if (g->kick)
        event_free(g->kick);
    free(g);
}

size_t ingest_depth(const struct ingest *g)
{
    return g->waiting.n + g->nflight;
}

void ingest_item_clear(ingest_item *it)
{
    inc_clear(&it->inc);
    store_clear(&it->row);
}

static void set_error(ingest_item *it, int status, const char *code, const char *field,
                      const char *msg)
{
    it->status = status;
    it->err.status = status;
    snprintf(it->err.code, sizeof it->err.code, "%s", code);
    snprintf(it->err.field, sizeof it->err.field, "%s", field ? field : "");
    snprintf(it->err.message, sizeof it->err.message, "%s", msg);
}

static void fmt_ll(char *buf, size_t n, long long v)
{
    snprintf(buf, n, "%lld", v);
}

/* Append the batch's column arrays to p[0..NPARAMS). */
static int build_params(struct ingest *g, sbuf *p)
{
    char num[40];
    for (int c = 0; c < NPARAMS; c++)
        sbuf_array_begin(&p[c]);
    for (size_t k = 0; k < g->nflight; k++) {
        const ingest_item *it = g->flight[k];
        const inc_incident *in = &it->inc;
        fmt_ll(num, sizeof num, (long long)k);
        sbuf_array_raw(&p[0], num);
        sbuf_array_str(&p[1], in->source);
        sbuf_array_str(&p[2], in->external_id);
        fmt_ll(num, sizeof num, it->agency_id);
        sbuf_array_raw(&p[3], num);
        if (it->precinct_id) {
            fmt_ll(num, sizeof num, it->precinct_id);
            sbuf_array_raw(&p[4], num);
        } else {
            sbuf_array_null(&p[4]);
        }
        fmt_ll(num, sizeof num, it->offense_id);
        sbuf_array_raw(&p[5], num);
        if (in->priority >= 0) {
            fmt_ll(num, sizeof num, in->priority);
            sbuf_array_raw(&p[6], num);
        } else {
            sbuf_array_null(&p[6]);
        }
        sbuf_array_str(&p[7], inc_status_name(inc_derived_status(in)));
        if (in->has_location) {
            snprintf(num, sizeof num, "%.17g", in->lon);
            sbuf_array_raw(&p[8], num);
            snprintf(num, sizeof num, "%.17g", in->lat);
            sbuf_array_raw(&p[9], num);
        } else {
            sbuf_array_null(&p[8]);
            sbuf_array_null(&p[9]);
        }
        sbuf_array_str(&p[10], in->address);
        for (int t = 0; t < INC_T_COUNT; t++) {
            if (in->times_set & (1u << t)) {
                fmt_ll(num, sizeof num, (long long)in->times[t]);
                sbuf_array_raw(&p[11 + t], num);
            } else {
                sbuf_array_null(&p[11 + t]);
            }
        }
        cJSON *units = cJSON_CreateStringArray((const char *const *)in->units, (int)in->nunits);
        char *ju = units ? cJSON_PrintUnformatted(units) : NULL;
        cJSON_Delete(units);
        if (ju == NULL)
            return -1;
        sbuf_array_str(&p[17], ju);
        cJSON_free(ju);
        fmt_ll(num, sizeof num, it->version);
        sbuf_array_raw(&p[18], num);
        if (it->token_id > 0) {
            fmt_ll(num, sizeof num, it->token_id);
            sbuf_array_raw(&p[19], num);
        } else {
            sbuf_array_null(&p[19]);
        }
        sbuf_array_str(&p[20], it->request_id[0] ? it->request_id : NULL);
        sbuf_array_raw(&p[21], in->self_initiated ? "true" : "false");
    }
    for (int c = 0; c < NPARAMS; c++) {
        sbuf_array_end(&p[c]);
        if (sbuf_failed(&p[c]))
            return -1;
    }
    return 0;
}

static const char *field_of_constraint(const char *c)
{
    static const struct {
        const char *constraint, *field;
    } map[] = {
        {"incidents_dispatched_at_order", "dispatched_at"},
        {"incidents_en_route_at_order", "en_route_at"},
        {"incidents_on_scene_at_order", "on_scene_at"},
        {"incidents_cleared_at_order", "cleared_at"},
        {"incidents_time_required", "occurred_at"},
        {"incidents_place_required", "location"},
        {"incidents_offense_id_fkey", "offense"},
        {"incidents_precinct_id_fkey", "precinct"},
        {"incidents_address_check", "address"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(c, map[i].constraint) == 0)
            return map[i].field;
    return NULL;
}

/* Complete every item in flight and start the next batch. */
static void finish_batch(struct ingest *g)
{
    size_t n = g->nflight;
    ingest_item **items = malloc(n * sizeof *items);
    if (items)
        memcpy(items, g->flight, n * sizeof *items);
    g->nflight = 0;
    for (size_t k = 0; items && k < n; k++) {
        if (items[k]->status == 0)
            set_error(items[k], 500, "internal", NULL, "no result for this incident");
        items[k]->done(items[k]);
    }
    free(items);
    flush(g);
}

static void on_result(void *arg, PGresult *res, const char *error)
{
    struct ingest *g = arg;
    double secs = (double)(clock_now_ns() - g->flight_started) / 1e9;

    if (res == NULL) {
        metrics_commit(g->nflight, secs, 0);
        for (size_t k = 0; k < g->nflight; k++)
            set_error(g->flight[k], 503, "database_unavailable", NULL,
                      "the database connection failed; the write may not have been "
                      "committed, retry it");
        finish_batch(g);
        return;
    }
    if (error) {
        metrics_commit(g->nflight, secs, 0);
        if (g->nflight > 1) {
            /* Split: put every item back at the head, each to run alone. */
            log_warn("ingest", "batch of %zu rejected (%s), retrying one by one", g->nflight,
                     db_sqlstate(res));
            for (size_t k = g->nflight; k-- > 0;)
                batch_push_front_solo(&g->waiting, &g->flight[k]->link);
            g->nflight = 0;
            flush(g);
            return;
        }
        ingest_item *it = g->flight[0];
        const char *state = db_sqlstate(res);
        const char *field = field_of_constraint(db_constraint(res));
        if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "rejected by the database: %s",
                     field ? "value out of order or out of range" : db_constraint(res));
            set_error(it, 422, "invalid_field", field, msg);
        } else {
            log_error("ingest", "upsert failed: %s", error);
            set_error(it, 500, "internal", NULL, "the database rejected the write");
        }
        finish_batch(g);
        return;
    }

    metrics_commit(g->nflight, secs, 1);
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        size_t ord = (size_t)atoi(PQgetvalue(res, r, 0));
        if (ord >= g->nflight)
            continue;
        ingest_item *it = g->flight[ord];
        int is_new = PQgetvalue(res, r, 1)[0] == 't';
        int written = PQgetvalue(res, r, 2)[0] == 't';
        int up_col = 5, old_col = 5 + STORE_NCOLS;
        if (written) {
            it->status = is_new ? 201 : 200;
            if (store_from_row(res, r, up_col, &it->row) != 0) {
                set_error(it, 500, "internal", NULL, "cannot read the stored incident");
                continue;
            }
            /* Committed: move the cubes and the streams before anyone is answered. */
            stored old;
            if (!is_new && store_from_row(res, r, old_col, &old) == 0) {
                g->hooks.committed(g->hooks.arg, &old, &it->row);
                store_clear(&old);
            } else {
                g->hooks.committed(g->hooks.arg, NULL, &it->row);
            }
            continue;
        }
        int old_version = atoi(PQgetvalue(res, r, 4));
        if (it->version > 1 && old_version != it->version - 1) {
            it->conflict = 1;
            set_error(it, 409, "conflict", NULL, "the incident changed meanwhile");
        } else {
            it->status = 200; /* identical repost: nothing changed */
            if (store_from_row(res, r, old_col, &it->row) != 0)
                set_error(it, 500, "internal", NULL, "cannot read the stored incident");
        }
    }
    g->hooks.batch_applied(g->hooks.arg);
    finish_batch(g);
}

static ingest_item *item_of(const batch_link *l)
{
    return (ingest_item *)((char *)l - offsetof(ingest_item, link));
}

static void identity_key(const batch_link *l, char *buf, size_t n)
{
    const ingest_item *it = item_of(l);
    snprintf(buf, n, "%d\x1f%s\x1f%s", it->agency_id, it->inc.source, it->inc.external_id);
}

static void flush(struct ingest *g)
{
    if (g->nflight > 0 || g->waiting.head == NULL)
        return;
    if (db_is_up(g->db) && !g->hooks.may_run(g->hooks.arg))
        return; /* the cubes are reloading: writes wait (ingest_resume) */
    if (!db_is_up(g->db)) {
        /* Fail what is queued: clients get 503 promptly. */
        batch_link *l;
        while ((l = batch_pop(&g->waiting)) != NULL) {
            ingest_item *it = item_of(l);
            set_error(it, 503, "database_unavailable", NULL, "the database is unavailable");
            it->done(it);
        }
        return;
    }
    g->nflight = batch_take(&g->waiting, g->taken, g->batch_max, g->keys, identity_key);
    for (size_t k = 0; k < g->nflight; k++)
        g->flight[k] = item_of(g->taken[k]);

    sbuf p[NPARAMS];
    const char *params[NPARAMS];
    for (int c = 0; c < NPARAMS; c++)
        sbuf_init(&p[c]);
    int ok = build_params(g, p) == 0;
    for (int c = 0; c < NPARAMS; c++)
        params[c] = sbuf_str(&p[c]);
    g->flight_started = clock_now_ns();
    if (!ok || db_query_prepared(g->db, "ingest_upsert", NPARAMS, params, on_result, g) != 0) {
        for (size_t k = 0; k < g->nflight; k++)
            set_error(g->flight[k], ok ? 503 : 500, ok ? "database_unavailable" : "internal",
                      NULL, ok ? "the database is unavailable" : "out of memory");
        for (int c = 0; c < NPARAMS; c++)
            sbuf_free(&p[c]);
        finish_batch(g);
        return;
    }
    for (int c = 0; c < NPARAMS; c++)
        sbuf_free(&p[c]);
}

void ingest_resume(struct ingest *g)
{
    if (g->nflight == 0 && g->waiting.head)
        event_active(g->kick, 0, 0);
}

int ingest_submit(struct ingest *g, ingest_item *it)
{
    if (!db_is_up(g->db))
        return -1;
    it->status = 0;
    it->conflict = 0;
    it->link.solo = 0;
    batch_push(&g->waiting, &it->link);
    /* Not now: let every request read in this loop pass join the batch. */
    if (g->nflight == 0)
        event_active(g->kick, 0, 0);
    return 0;
}
