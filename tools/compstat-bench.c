/*
 * compstat-bench -- the cube's questions timed three ways in one run:
 * in-process (lib/cube over the same rows, no HTTP), through the daemon's
 * HTTP API, and as SQL on PostGIS. Prints p50/p99 of each and the ratio
 * SQL / cube. Used by tools/bench; a tool, so blocking I/O is fine here.
 *
 *   compstat-bench --database CONNINFO --url http://HOST:PORT --token T
 *                  --agency CODE [--iterations N] [--sql-iterations M]
 */
#include <arpa/inet.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "analytics.h"
#include "benchutil.h"
#include "cube.h"
#include "ingest.h"
#include "pgbin.h"
#include "rfc3339.h"
#include "tz.h"

/* ------------------------------------------------------------ HTTP */

static int http_fd = -1;

static int http_connect(const char *url)
{
    char host[128];
    int port;
    if (sscanf(url, "http://%127[^:]:%d", host, &port) != 2)
        return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    http_fd = socket(AF_INET, SOCK_STREAM, 0);
    return connect(http_fd, (struct sockaddr *)&sa, sizeof sa);
}

/* One keep-alive GET; returns the status, body read and discarded. */
static int http_get(const char *path, const char *token, size_t *bodylen)
{
    char req[2048], buf[65536];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n\r\n", path,
                     token);
    if (write(http_fd, req, (size_t)n) != n)
        return -1;
    size_t have = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t got = read(http_fd, buf + have, sizeof buf - have - 1);
        if (got <= 0)
            return -1;
        have += (size_t)got;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end == NULL && have >= sizeof buf - 1)
            return -1;
    }
    long need = 0;
    for (char *p = buf; p < end; p++)
        if (strncmp(p, "\r\nContent-Length:", 17) == 0 || strncmp(p, "\r\ncontent-length:", 17) == 0)
            need = atol(p + 17);
    int status = atoi(buf + 9);
    long left = need - (long)(have - (size_t)(end + 4 - buf));
    while (left > 0) {
        ssize_t got = read(http_fd, buf, sizeof buf < (size_t)left ? sizeof buf : (size_t)left);
        if (got <= 0)
            return -1;
        left -= got;
    }
    *bodylen = (size_t)need;
    return status;
}

/* The median over nr runs of each of ncols measures: med[k] = median of rm[k][0..nr). */
static void medians(double (*rm)[16], int ncols, int nr, double *med)
{
    for (int k = 0; k < ncols; k++)
        med[k] = pct(rm[k], nr < 16 ? nr : 16, 0.5);
}

/* Time n GETs of path: p50 and p99 in seconds. -1 on a non-200 answer. */
static int time_http(const char *path, const char *token, int n, double *lat, double *p50,
                     double *p99)
{
    size_t bl = 0;
    for (int k = 0; k < n; k++) {
        double a = now_s();
        int st = http_get(path, token, &bl);
        lat[k] = now_s() - a;
        if (st != 200) {
            fprintf(stderr, "HTTP %d for %s\n", st, path);
            return -1;
        }
    }
    *p50 = pct(lat, n, 0.5);
    *p99 = pct(lat, n, 0.99);
    return 0;
}

/* Time n runs of sql. -1 when it fails. */
static int time_sql(PGconn *pg, const char *sql, int n, double *lat, double *p50, double *p99)
{
    for (int k = 0; k < n; k++) {
        double a = now_s();
        PGresult *res = PQexec(pg, sql);
        lat[k] = now_s() - a;
        int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "SQL failed: %s\n%s\n", PQresultErrorMessage(res), sql);
        PQclear(res);
        if (!ok)
            return -1;
    }
    *p50 = pct(lat, n, 0.5);
    *p99 = pct(lat, n, 0.99);
    return 0;
}

/* ------------------------------------------------------------ questions */

struct question {
    const char *name;
    char http[512];
    char sql[2048];
    cube_question q;
};

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--print-upsert") == 0) {
        puts(INGEST_UPSERT_SQL); /* for tools/bench upsert */
        return 0;
    }
    const char *db = opt(argc, argv, "--database", NULL);
    const char *url = opt(argc, argv, "--url", NULL);
    const char *token = opt(argc, argv, "--token", NULL);
    const char *agency = opt(argc, argv, "--agency", NULL);
    int iters = atoi(opt(argc, argv, "--iterations", "2000"));
    int sql_iters = atoi(opt(argc, argv, "--sql-iterations", "5"));
    int rounds = atoi(opt(argc, argv, "--runs", "3"));
    if (rounds < 1)
        rounds = 1;
    if (!db || !url || !token || !agency) {
        fprintf(stderr, "usage: compstat-bench --database CONNINFO --url URL --token T --agency "
                        "CODE [--iterations N] [--sql-iterations M]\n");
        return 2;
    }
    PGconn *pg = PQconnectdb(db);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(pg));
        return 1;
    }
    const char *ap[1] = {agency};
    PGresult *res = PQexecParams(pg, "SELECT id, time_zone FROM agencies WHERE code = $1", 1,
                                 NULL, ap, NULL, NULL, 0);
    if (PQntuples(res) != 1) {
        fprintf(stderr, "no agency %s\n", agency);
        return 1;
    }
    int agency_id = atoi(PQgetvalue(res, 0, 0));
    char zone_name[64];
    snprintf(zone_name, sizeof zone_name, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone_name);
    FILE *f = fopen(path, "rb");
    static unsigned char tzbuf[65536];
    size_t tzlen = f ? fread(tzbuf, 1, sizeof tzbuf, f) : 0;
    if (f)
        fclose(f);
    tz_zone *zone = NULL;
    if (tz_parse(tzbuf, tzlen, &zone) != 0) {
        fprintf(stderr, "cannot read zone %s\n", zone_name);
        return 1;
    }

    /* Build the cube in-process from the same rows, as the daemon does:
       categories first, then the incidents. */
    double t0 = now_s();
    cube *c = cube_new();
    res = PQexec(pg, "SELECT o.agency_id, o.id, dense_rank() OVER (ORDER BY o.category)"
                     " FROM offenses o");
    for (int i = 0; i < PQntuples(res); i++)
        cube_set_category(c, atoi(PQgetvalue(res, i, 0)), atoi(PQgetvalue(res, i, 1)),
                          atoi(PQgetvalue(res, i, 2)));
    PQclear(res);
    res = PQexec(pg, ANALYTICS_LOAD_SQL); /* the daemon's own load query */
    PQclear(res);
    char *row;
    int n, first = 1;
    while ((n = PQgetCopyData(pg, &row, 0)) > 0) {
        /* binary tuples, as the daemon reads them (lib/pgbin) */
        size_t skip = first ? pgbin_header(row, (size_t)n) : 0;
        first = 0;
        pgbin b;
        int32_t v[4];
        int64_t t, commit;
        if (pgbin_begin(&b, row + skip, (size_t)n - skip) == 8 && pgbin_int4(&b, &v[0]) == 1 &&
            pgbin_int4(&b, &v[1]) == 1 && pgbin_int4(&b, &v[2]) == 1 &&
            pgbin_int4(&b, &v[3]) == 1 && pgbin_timestamptz(&b, &t) == 1 &&
            pgbin_int8(&b, &commit) == 1) {
            cube_key k = {v[0], v[1], v[2], v[3]};
            cube_load(c, &k, t, commit);
        }
        PQfreemem(row);
    }
    PQclear(PQgetResult(pg));
    double t1 = now_s();
    while (cube_load_finish(c, (size_t)-1) == 0)
        ;
    double t2 = now_s();
    printf("in-process cube: %llu incidents, %zu series, %zu cells, %.1f MiB; "
           "COPY+parse %.2f s, index %.2f s\n",
           (unsigned long long)cube_total(c), cube_series(c), cube_cells(c),
           (double)cube_bytes(c) / 1048576.0, t1 - t0, t2 - t1);

    /* A precinct and an offense with data, for the narrow questions. */
    res = PQexec(pg, "SELECT p.code, p.id, o.code, o.id FROM incidents i"
                     " JOIN precincts p ON p.id = i.precinct_id JOIN offenses o ON o.id = i.offense_id"
                     " WHERE i.id = (SELECT min(id) FROM incidents)");
    if (PQntuples(res) != 1) {
        fprintf(stderr, "no incidents\n");
        return 1;
    }
    char pcode[64], ocode[64];
    snprintf(pcode, sizeof pcode, "%s", PQgetvalue(res, 0, 0));
    snprintf(ocode, sizeof ocode, "%s", PQgetvalue(res, 0, 2));
    int pid = atoi(PQgetvalue(res, 0, 1)), oid = atoi(PQgetvalue(res, 0, 3));
    PQclear(res);
    res = PQexec(pg, "SELECT max(counted_at)::date FROM incidents");
    int y, m, d;
    rfc3339_parse_date(PQgetvalue(res, 0, 0), &y, &m, &d);
    PQclear(res);
    int64_t today = rfc3339_days_from_civil(y, m, d);
    int64_t jan1 = rfc3339_days_from_civil(y, 1, 1);
    int64_t tenyears = rfc3339_days_from_civil(y - 10, m, d);
    char s_today[16], s_jan1[16], s_d28[16], s_y1[16], s_10y[16];
    int64_t yy;
    int mm, dd;
#define DATE(buf, day)                                                                  \
    rfc3339_civil_from_days(day, &yy, &mm, &dd);                                        \
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", (int)yy, mm, dd)
    DATE(s_today, today + 1);
    DATE(s_jan1, jan1);
    DATE(s_d28, today - 27);
    DATE(s_y1, today - 364);
    DATE(s_10y, tenyears);

    static uint8_t pmask[100000], omask[100000];
    pmask[pid] = 1;
    omask[oid] = 1;
    struct question qs[5];
    memset(qs, 0, sizeof qs);
    char where[256];
    snprintf(where, sizeof where,
             "i.agency_id = %d AND i.status NOT IN ('unfounded','cancelled')", agency_id);
#define BOUND(s) tz_utc(zone, rfc3339_days_from_civil(atoi(s), atoi((s) + 5), atoi((s) + 8)) * 86400)

    qs[0].name = "YTD by precinct x offense";
    snprintf(qs[0].http, sizeof qs[0].http, "/v1/cube?from=%s&to=%s&by=precinct,offense", s_jan1,
             s_today);
    snprintf(qs[0].sql, sizeof qs[0].sql,
             "SELECT precinct_id, offense_id, count(*) FROM incidents i WHERE %s"
             " AND counted_at >= '%s'::timestamp AT TIME ZONE '%s'"
             " AND counted_at < '%s'::timestamp AT TIME ZONE '%s' GROUP BY 1, 2",
             where, s_jan1, zone_name, s_today, zone_name);
    qs[0].q.by = CUBE_BY_PRECINCT | CUBE_BY_OFFENSE;
    qs[0].q.from = BOUND(s_jan1);
    qs[0].q.to = BOUND(s_today);

    qs[1].name = "28 days by category, one precinct";
    snprintf(qs[1].http, sizeof qs[1].http, "/v1/cube?from=%s&to=%s&by=category&precinct=%s",
             s_d28, s_today, pcode);
    snprintf(qs[1].sql, sizeof qs[1].sql,
             "SELECT o.category, count(*) FROM incidents i JOIN offenses o ON o.id = i.offense_id"
             " WHERE %s AND i.precinct_id = %d"
             " AND counted_at >= '%s'::timestamp AT TIME ZONE '%s'"
             " AND counted_at < '%s'::timestamp AT TIME ZONE '%s' GROUP BY 1",
             where, pid, s_d28, zone_name, s_today, zone_name);
    qs[1].q.by = CUBE_BY_CATEGORY;
    qs[1].q.precincts = pmask;
    qs[1].q.nprecincts = 100000;
    qs[1].q.from = BOUND(s_d28);
    qs[1].q.to = BOUND(s_today);

    qs[2].name = "10-year weekly trend, precinct x offense";
    snprintf(qs[2].http, sizeof qs[2].http,
             "/v1/cube?from=%s&to=%s&granularity=week&precinct=%s&offense=%s", s_10y, s_today,
             pcode, ocode);
    snprintf(qs[2].sql, sizeof qs[2].sql,
             "SELECT date_trunc('week', counted_at AT TIME ZONE '%s'), count(*) FROM incidents i"
             " WHERE %s AND i.precinct_id = %d AND i.offense_id = %d"
             " AND counted_at >= '%s'::timestamp AT TIME ZONE '%s'"
             " AND counted_at < '%s'::timestamp AT TIME ZONE '%s' GROUP BY 1",
             zone_name, where, pid, oid, s_10y, zone_name, s_today, zone_name);
    qs[2].q.granularity = CUBE_WEEK;
    qs[2].q.precincts = pmask;
    qs[2].q.nprecincts = 100000;
    qs[2].q.offenses = omask;
    qs[2].q.noffenses = 100000;
    qs[2].q.from = BOUND(s_10y);
    qs[2].q.to = BOUND(s_today);

    qs[3].name = "year by hour of day x day of week, one precinct";
    snprintf(qs[3].http, sizeof qs[3].http,
             "/v1/cube?from=%s&to=%s&by=hour_of_day,day_of_week&precinct=%s", s_y1, s_today, pcode);
    snprintf(qs[3].sql, sizeof qs[3].sql,
             "SELECT extract(hour FROM counted_at AT TIME ZONE '%s'),"
             " extract(isodow FROM counted_at AT TIME ZONE '%s'), count(*) FROM incidents i"
             " WHERE %s AND i.precinct_id = %d"
             " AND counted_at >= '%s'::timestamp AT TIME ZONE '%s'"
             " AND counted_at < '%s'::timestamp AT TIME ZONE '%s' GROUP BY 1, 2",
             zone_name, zone_name, where, pid, s_y1, zone_name, s_today, zone_name);
    qs[3].q.by = CUBE_BY_HOUR_OF_DAY | CUBE_BY_DAY_OF_WEEK;
    qs[3].q.precincts = pmask;
    qs[3].q.nprecincts = 100000;
    qs[3].q.from = BOUND(s_y1);
    qs[3].q.to = BOUND(s_today);

    qs[4].name = "COMPSTAT sheet, one precinct";
    snprintf(qs[4].http, sizeof qs[4].http, "/v1/compstat?precinct=%s&week_ending=%s", pcode,
             s_today); /* adjusted below to a Sunday */
    qs[4].q.by = CUBE_BY_CATEGORY;
    {
        int64_t sunday = today + (7 - cube_iso_dow(today)) - 7;
        char s_sun[16];
        DATE(s_sun, sunday);
        snprintf(qs[4].http, sizeof qs[4].http, "/v1/compstat?precinct=%s&week_ending=%s", pcode,
                 s_sun);
        char s_w0[16], s_p0[16], s_p1[16], s_sun1[16];
        DATE(s_w0, rfc3339_days_from_civil(yy, 1, 1));
        DATE(s_sun1, sunday + 1);
        DATE(s_p0, rfc3339_days_from_civil(yy - 1, 1, 1));
        DATE(s_p1, sunday + 1 - 365);
        /* the SQL the sheet needs: 6 windows by category (here: YTD and prior YTD,
           week and d28 are sub-ranges of the same scan) */
        snprintf(qs[4].sql, sizeof qs[4].sql,
                 "SELECT o.category,"
                 " count(*) FILTER (WHERE counted_at >= '%s'::timestamp AT TIME ZONE '%s'),"
                 " count(*) FILTER (WHERE counted_at < '%s'::timestamp AT TIME ZONE '%s')"
                 " FROM incidents i JOIN offenses o ON o.id = i.offense_id"
                 " WHERE %s AND i.precinct_id = %d AND ((counted_at >= '%s'::timestamp AT TIME"
                 " ZONE '%s' AND counted_at < '%s'::timestamp AT TIME ZONE '%s') OR"
                 " (counted_at >= '%s'::timestamp AT TIME ZONE '%s' AND counted_at <"
                 " '%s'::timestamp AT TIME ZONE '%s')) GROUP BY 1",
                 s_w0, zone_name, s_p1, zone_name, where, pid, s_w0, zone_name, s_sun1, zone_name,
                 s_p0, zone_name, s_p1, zone_name);
        qs[4].q.precincts = pmask;
        qs[4].q.nprecincts = 100000;
        qs[4].q.from = BOUND(s_w0);
        qs[4].q.to = BOUND(s_sun1);
    }
    for (int i = 0; i < 5; i++) {
        qs[i].q.agency = agency_id;
        qs[i].q.zone = zone;
        if (qs[i].q.from == 0)
            qs[i].q.from = INT64_MIN;
        if (qs[i].q.to == 0)
            qs[i].q.to = INT64_MAX;
    }

    if (http_connect(url) != 0) {
        fprintf(stderr, "cannot connect to %s\n", url);
        return 1;
    }
    double *lat = malloc((size_t)(iters > sql_iters ? iters : sql_iters) * sizeof *lat);
    printf("\nmedian of %d runs; in-process and HTTP: %d iterations per run, SQL: %d\n", rounds,
           iters, sql_iters);
    printf("\n| question | in-process p50 / p99 | HTTP p50 / p99 | SQL p50 / p99 | SQL / HTTP p50 |\n");
    printf("| --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < 5; i++) {
        double rm[6][16]; /* per round: ip50 ip99 h50 h99 s50 s99 */
        int reps = i == 4 ? 6 : 1; /* the sheet is 6 cube questions */
        for (int rnd = 0; rnd < rounds && rnd < 16; rnd++) {
            for (int k = 0; k < iters; k++) {
                double a = now_s();
                for (int r = 0; r < reps; r++) {
                    cube_result out;
                    cube_query(c, &qs[i].q, &out);
                    cube_result_free(&out);
                }
                lat[k] = now_s() - a;
            }
            rm[0][rnd] = pct(lat, iters, 0.5);
            rm[1][rnd] = pct(lat, iters, 0.99);
            if (time_http(qs[i].http, token, iters, lat, &rm[2][rnd], &rm[3][rnd]) != 0 ||
                time_sql(pg, qs[i].sql, sql_iters, lat, &rm[4][rnd], &rm[5][rnd]) != 0)
                return 1;
        }
        double med[6];
        medians(rm, 6, rounds, med);
        printf("| %s | %.3f / %.3f ms | %.3f / %.3f ms | %.1f / %.1f ms | %.0fx |\n", qs[i].name,
               med[0] * 1e3, med[1] * 1e3, med[2] * 1e3, med[3] * 1e3, med[4] * 1e3, med[5] * 1e3,
               med[4] / med[2]);
        fflush(stdout);
    }
    /* Hotspots: a ~100,000-cell study area (bbox), HTTP vs the same in SQL. */
    {
        const double lat0 = 42, lon0 = -88; /* the daemon's origin for the bench area */
        const double deg = 180.0 / 3.14159265358979323846;
        double dlat = 100.0 / 6371008.8 * deg;
        double dlon = 100.0 / (6371008.8 * cos(lat0 / deg)) * deg;
        const char *bbox = "-87.95,41.65,-87.55,41.92";
        char s_y0[16], s_28[16];
        DATE(s_y0, today - 364);
        DATE(s_28, today - 27);
        struct {
            const char *name;
            char http[512];
            char sql[4096];
        } hq[3];
        hq[0].name = "hotspots: Gi* over ~100k cells, one year (top 20 by z)";
        snprintf(hq[0].http, sizeof hq[0].http,
                 "/v1/hotspots?bbox=%s&from=%s&to=%s&method=gi&limit=20", bbox, s_y0, s_today);
        snprintf(hq[0].sql, sizeof hq[0].sql,
                 "WITH c AS (SELECT floor((ST_X(geom) - %.17g) / %.17g)::int ix,"
                 " floor((ST_Y(geom) - %.17g) / %.17g)::int iy, count(*)::float8 x FROM incidents i"
                 " WHERE %s AND geom && ST_MakeEnvelope(%s, 4326)"
                 " AND counted_at >= '%s'::timestamp AT TIME ZONE '%s'"
                 " AND counted_at < '%s'::timestamp AT TIME ZONE '%s' GROUP BY 1, 2),"
                 " g AS (SELECT gx ix, gy iy, coalesce(c.x, 0) x"
                 "  FROM generate_series(floor((-87.95 - %.17g) / %.17g)::int,"
                 "                       floor((-87.55 - %.17g) / %.17g)::int) gx"
                 "  CROSS JOIN generate_series(floor((41.65 - %.17g) / %.17g)::int,"
                 "                       floor((41.92 - %.17g) / %.17g)::int) gy"
                 "  LEFT JOIN c ON c.ix = gx AND c.iy = gy),"
                 " st AS (SELECT count(*)::float8 n, avg(x) m,"
                 "  sqrt(greatest(avg(x * x) - avg(x) ^ 2, 0)) s FROM g),"
                 " nb AS (SELECT a.ix, a.iy, sum(b.x) sx, count(*)::float8 w FROM g a"
                 "  CROSS JOIN (VALUES (-1,-1),(-1,0),(-1,1),(0,-1),(0,0),(0,1),(1,-1),(1,0),(1,1))"
                 "   d(dx, dy) JOIN g b ON b.ix = a.ix + d.dx AND b.iy = a.iy + d.dy"
                 "  GROUP BY 1, 2)"
                 " SELECT nb.ix, nb.iy, (sx - m * w) / nullif(s * sqrt((n * w - w * w) / (n - 1)), 0) z"
                 " FROM nb, st ORDER BY z DESC LIMIT 20",
                 lon0, dlon, lat0, dlat, where, bbox, s_y0, zone_name, s_today, zone_name, lon0,
                 dlon, lon0, dlon, lat0, dlat, lat0, dlat);
        hq[1].name = "hotspots: top 20 cells by count, 28 days";
        snprintf(hq[1].http, sizeof hq[1].http,
                 "/v1/hotspots?bbox=%s&from=%s&to=%s&method=count&limit=20", bbox, s_28, s_today);
        snprintf(hq[1].sql, sizeof hq[1].sql,
                 "SELECT floor((ST_X(geom) - %.17g) / %.17g)::int,"
                 " floor((ST_Y(geom) - %.17g) / %.17g)::int, count(*) FROM incidents i"
                 " WHERE %s AND geom && ST_MakeEnvelope(%s, 4326)"
                 " AND counted_at >= '%s'::timestamp AT TIME ZONE '%s'"
                 " AND counted_at < '%s'::timestamp AT TIME ZONE '%s'"
                 " GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 20",
                 lon0, dlon, lat0, dlat, where, bbox, s_28, zone_name, s_today, zone_name);
        hq[2].name = "response times by precinct and priority, one year (n, mean, p50, p90, max of 4 intervals)";
        snprintf(hq[2].http, sizeof hq[2].http,
                 "/v1/response-times?from=%s&to=%s&by=precinct,priority", s_y0, s_today);
        char stats[2048] = "";
        static const char *const iv[4] = {
            "dispatched_at - received_at", "on_scene_at - coalesce(en_route_at, dispatched_at)",
            "on_scene_at - received_at", "cleared_at - on_scene_at"};
        for (int k = 0; k < 4; k++) {
            char one[512];
            snprintf(one, sizeof one,
                     "%s count(%s), avg(extract(epoch FROM %s)), max(%s),"
                     " percentile_disc(0.5) WITHIN GROUP (ORDER BY %s),"
                     " percentile_disc(0.9) WITHIN GROUP (ORDER BY %s)",
                     k ? "," : "", iv[k], iv[k], iv[k], iv[k], iv[k]);
            strncat(stats, one, sizeof stats - strlen(stats) - 1);
        }
        snprintf(hq[2].sql, sizeof hq[2].sql,
                 "SELECT precinct_id, priority, count(*), %s FROM incidents i WHERE %s"
                 " AND received_at >= '%s'::timestamp AT TIME ZONE '%s'"
                 " AND received_at < '%s'::timestamp AT TIME ZONE '%s' GROUP BY 1, 2",
                 stats, where, s_y0, zone_name, s_today, zone_name);
        for (int i = 0; i < 3; i++) {
            double rm[4][16];
            int hiters = iters / 10 > 20 ? iters / 10 : 20;
            for (int rnd = 0; rnd < rounds && rnd < 16; rnd++) {
                if (time_http(hq[i].http, token, hiters, lat, &rm[0][rnd], &rm[1][rnd]) != 0 ||
                    time_sql(pg, hq[i].sql, sql_iters, lat, &rm[2][rnd], &rm[3][rnd]) != 0)
                    return 1;
            }
            double med[4];
            medians(rm, 4, rounds, med);
            printf("| %s | - | %.3f / %.3f ms | %.1f / %.1f ms | %.0fx |\n", hq[i].name,
                   med[0] * 1e3, med[1] * 1e3, med[2] * 1e3, med[3] * 1e3, med[2] / med[0]);
            fflush(stdout);
        }
    }
    free(lat);
    cube_free(c);
    tz_free(zone);
    PQfinish(pg);
    return 0;
}
