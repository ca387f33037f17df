/*
 * config.c -- see config.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum ctype { C_STR, C_INT, C_BOOL };

struct setting {
    const char *name;
    enum ctype type;
    size_t offset;
    const char *def;
    long min, max;
    const char *help;
};

#define S(field, def, help) {#field, C_STR, offsetof(config, field), def, 0, 0, help}
#define I(field, def, lo, hi, help) {#field, C_INT, offsetof(config, field), def, lo, hi, help}
#define B(field, def, help) {#field, C_BOOL, offsetof(config, field), def, 0, 1, help}

static const struct setting settings[] = {
    S(listen, "127.0.0.1:8080", "address to serve HTTP on, HOST:PORT (port 0: any free port)"),
    S(database, "", "libpq connection string of the PostGIS database"),
    S(log_level, "info", "error, warn, info or debug"),
    I(max_body_bytes, "16777216", 1024, 1073741824, "largest request body accepted"),
    I(max_header_bytes, "16384", 1024, 1048576, "largest request header block accepted"),
    I(request_timeout, "30", 1, 3600, "seconds a client may take to send a request"),
    I(max_batch_lines, "10000", 1, 1000000, "most incidents in one POST"),
    I(commit_batch_max, "5000", 1, 100000, "most incidents in one group commit"),
    I(db_timeout, "30", 1, 3600, "seconds a database round trip may take before reconnecting"),
    I(retry_after, "2", 1, 3600, "Retry-After seconds sent with 503"),
    I(grid_base_m, "100", 10, 10000, "hotspot grid base cell size, metres"),
    I(hotspot_max_cells, "1000000", 100, 100000000,
      "most cells a hotspot study area may span (a bbox, or one precinct's bounding box, "
      "at the cell size asked); larger questions get 422"),
    I(hotspot_max_features, "100000", 1, 10000000,
      "most cells one hotspot answer may return; more get 422 (ask with limit=, a larger "
      "cell_m or a smaller area)"),
    I(hotspot_threads, "1", 1, 64, "worker threads computing hotspot questions off the loop"),
    I(hotspot_max_queue, "16", 1, 100000,
      "hotspot questions waiting for or on a worker before new ones get 429"),
    I(max_queue, "100000", 100, 100000000,
      "incidents waiting for a commit before new posts get 429 (memory bound)"),
    I(max_streams, "256", 0, 100000, "open live streams (GET /v1/stream) before new ones get 503"),
    I(stream_backlog, "4096", 16, 1000000, "events kept so reconnecting streams can resume"),
    I(stream_max_buffer, "1048576", 4096, 1073741824,
      "bytes a stream's client may fall behind before it is dropped"),
    I(stream_heartbeat, "15", 1, 3600, "seconds between keep-alive comments on quiet streams"),
    S(web_tile_url, "",
      "dashboard map tiles, e.g. https://tile.example.org/{z}/{x}/{y}.png (empty: no tiles)"),
    S(web_tile_attribution, "", "attribution shown under the dashboard map's tiles"),
    S(snapshot_path, "",
      "file for the cube snapshot: written while running and at shutdown, read at start-up "
      "(empty: none)"),
    I(snapshot_interval, "300", 0, 86400,
      "seconds between snapshots written in the background while incidents change "
      "(0: only at shutdown)"),
    S(tls_cert, "", "PEM certificate chain: with tls_key, serve HTTPS only"),
    S(tls_key, "", "PEM private key for tls_cert"),
    I(max_connections_per_address, "0", 0, 10000000,
      "open connections one client address may hold (IPv6: one /64); more are closed at once "
      "(0: a quarter of the open-file limit)"),
    I(auth_unknown_cache, "10000", 16, 10000000,
      "unknown tokens remembered for 5 s, the least recently seen forgotten first"),
    I(auth_fail_limit, "20", 1, 1000000000,
      "unknown tokens one address may send in a minute before it gets 429 with a growing "
      "Retry-After"),
    B(audit_sync, "on",
      "on: a read of incident data is answered only after its audit record is committed "
      "(503 when it cannot be); off: records are written within 200 ms and the last ones are "
      "lost on a crash"),
    I(audit_max_queue, "100000", 100, 100000000,
      "audit records (refusals, or reads with audit_sync off) that may wait unwritten; beyond, "
      "new ones are dropped, counted and logged"),
    I(session_idle_timeout, "1800", 60, 86400,
      "seconds a person's session may go unused before it ends (sign in again)"),
    I(session_max_age, "43200", 300, 2592000,
      "seconds a person's session lasts at most, used or not"),
    S(cookie_secure, "auto",
      "the session cookie's Secure flag: auto (when serving TLS), on (behind a TLS proxy), off"),
    I(signin_fail_limit, "5", 1, 1000,
      "failed sign-ins one login, or one address, may make in 15 minutes before 429 with a "
      "growing Retry-After"),
    I(password_threads, "1", 1, 64,
      "worker threads hashing passwords (Argon2id: 64 MiB and tens of ms each)"),
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

static const struct setting *find(const char *name)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

static int set(config *c, const struct setting *s, const char *value, const char *origin)
{
    char *base = (char *)c + s->offset;
    if (s->type == C_STR) {
        char *copy = strdup(value);
        if (copy == NULL)
            return -1;
        free(*(char **)base);
        *(char **)base = copy;
        return 0;
    }
    if (s->type == C_BOOL) {
        static const char *const yes[] = {"on", "true", "yes", "1"}, *const no[] = {"off", "false",
                                                                               "no", "0"};
        for (int k = 0; k < 4; k++)
            if (strcasecmp(value, yes[k]) == 0 || strcasecmp(value, no[k]) == 0) {
                *(long *)base = strcasecmp(value, yes[k]) == 0;
                return 0;
            }
        fprintf(stderr, "compstatd: %s: %s must be on or off, got \"%s\"\n", origin, s->name,
                value);
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < s->min || v > s->max) {
        fprintf(stderr, "compstatd: %s: %s must be an integer from %ld to %ld, got \"%s\"\n",
                origin, s->name, s->min, s->max, value);
        return -1;
    }
    *(long *)base = v;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int load_file(config *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "compstatd: cannot open config file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[4096], origin[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *l = trim(line);
        if (*l == '\0' || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        snprintf(origin, sizeof origin, "%s:%d", path, lineno);
        if (eq == NULL) {
            fprintf(stderr, "compstatd: %s: expected name = value\n", origin);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *name = trim(l), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        for (char *p = name; *p; p++)
            if (*p == '-')
                *p = '_';
        const struct setting *s = find(name);
        if (s == NULL) {
            fprintf(stderr, "compstatd: %s: unknown setting \"%s\"\n", origin, name);
            rc = -1;
        } else {
            rc = set(c, s, value, origin);
        }
    }
    fclose(f);
    return rc;
}

static void usage(void)
{
    printf("usage: compstatd [--config FILE] [--print-config] [--SETTING VALUE ...]\n\n"
           "settings (also COMPSTATD_<NAME> in the environment, or name = value in FILE):\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        char opt[64];
        snprintf(opt, sizeof opt, "--%s", settings[i].name);
        for (char *p = opt + 2; *p; p++)
            if (*p == '_')
                *p = '-';
        printf("  %-22s %s (default \"%s\")\n", opt, settings[i].help, settings[i].def);
    }
}

static void print_config(const config *c)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *base = (const char *)c + settings[i].offset;
        if (settings[i].type == C_STR) {
            const char *v = *(char *const *)base;
            /* Never print a password that may sit in the conninfo. */
            if (strcmp(settings[i].name, "database") == 0 && strstr(v, "password"))
                v = "(set, contains a password)";
            printf("%s = \"%s\"\n", settings[i].name, v);
        } else if (settings[i].type == C_BOOL) {
            printf("%s = %s\n", settings[i].name, *(const long *)base ? "on" : "off");
        } else {
            printf("%s = %ld\n", settings[i].name, *(const long *)base);
        }
    }
}

int config_load(config *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NSETTINGS; i++)
        if (set(c, &settings[i], settings[i].def, "default") != 0)
            return -1;

    const char *file = getenv("COMPSTATD_CONFIG");
    int print = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 1;
        } else if (strcmp(argv[i], "--print-config") == 0)
            print = 1;
    }
    if (file && load_file(c, file) != 0)
        return -1;

    for (size_t i = 0; i < NSETTINGS; i++) {
        char env[64];
        snprintf(env, sizeof env, "COMPSTATD_%s", settings[i].name);
        for (char *p = env; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        const char *v = getenv(env);
        if (v && set(c, &settings[i], v, env) != 0)
            return -1;
    }

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--print-config") == 0)
            continue;
        if (strncmp(argv[i], "--", 2) != 0) {
            fprintf(stderr, "compstatd: unexpected argument \"%s\" (see --help)\n", argv[i]);
            return -1;
        }
        char name[64];
        const char *arg = argv[i] + 2, *value = NULL;
        const char *eq = strchr(arg, '=');
        size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nl >= sizeof name)
            nl = sizeof name - 1;
        memcpy(name, arg, nl);
        name[nl] = '\0';
        for (char *p = name; *p; p++)
            if (*p == '-')
                *p = '_';
        const struct setting *s = find(name);
        if (s == NULL) {
            fprintf(stderr, "compstatd: unknown option %s (see --help)\n", argv[i]);
            return -1;
        }
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "compstatd: %s needs a value\n", argv[i]);
            return -1;
        }
        if (set(c, s, value, "command line") != 0)
            return -1;
    }
    if (print) {
        print_config(c);
        return 1;
    }
    return 0;
}

void config_free(config *c)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].type == C_STR) {
            char **p = (char **)((char *)c + settings[i].offset);
            free(*p);
            *p = NULL;
        }
}
