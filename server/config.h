/*
 * config.h -- the daemon's settings, declared once.
 *
 * One table (config.c) gives every setting its name, type, default, bounds
 * and help text. The same table drives the command line (--name VALUE), the
 * environment (COMPSTATD_NAME), the config file (name = value lines, '#'
 * comments) and --print-config. Precedence, lowest first: default, config
 * file, environment, command line.
 */
#ifndef COMPSTAT_CONFIG_H
#define COMPSTAT_CONFIG_H

typedef struct config {
    char *listen;          /* HOST:PORT; port 0 picks a free port */
    char *database;        /* libpq conninfo */
    char *log_level;       /* error | warn | info | debug */
    long max_body_bytes;   /* request bodies beyond this get 413 */
    long max_header_bytes; /* request headers beyond this get 431/400 */
    long request_timeout;  /* seconds a connection may take to send a request */
    long max_batch_lines;  /* incidents in one POST */
    long commit_batch_max; /* incidents in one group commit */
    long db_timeout;       /* seconds before a silent database is dropped */
    long retry_after;      /* seconds clients are told to wait on 503 */
    long grid_base_m;      /* hotspot grid base cell, metres */
    long hotspot_max_cells;    /* cells a study area may span */
    long hotspot_max_features; /* cells one answer may return */
    long hotspot_threads;      /* workers computing hotspot questions */
    long hotspot_max_queue;    /* questions on or waiting for a worker */
    long max_queue;        /* incidents waiting for commit before posts get 429 */
    long max_streams;       /* open SSE streams before 503 */
    long stream_backlog;    /* events kept for Last-Event-ID resume */
    long stream_max_buffer; /* bytes a stream may lag before it is dropped */
    long stream_heartbeat;  /* seconds between keep-alive comments */
    char *snapshot_path;    /* cube snapshot file, "" = none */
    long snapshot_interval; /* seconds between background snapshots, 0 = only at shutdown */
    char *web_tile_url;     /* dashboard tile URL template, "" = none */
    char *web_tile_attribution;
    char *tls_cert;        /* PEM certificate chain; with tls_key: serve HTTPS */
    char *tls_key;         /* PEM private key */
    long max_connections_per_address; /* 0: a quarter of the open-file limit */
    long auth_unknown_cache; /* unknown tokens remembered (their 401 without a query) */
    long auth_fail_limit;    /* unknown tokens per address and minute before 429 */
    long audit_sync;         /* 1: a read is answered after its audit record commits */
    long audit_max_queue;    /* audit records that may wait unwritten before some are dropped */
    long session_idle_timeout; /* seconds a session may go unused */
    long session_max_age;      /* seconds a session lasts at most */
    char *cookie_secure;       /* auto (under TLS) | on (behind a TLS proxy) | off */
    long signin_fail_limit;    /* failed sign-ins per login or address before 429 */
    long password_threads;     /* workers hashing passwords */
} config;

/*
 * Fill *c from defaults, then the config file (--config PATH or
 * COMPSTATD_CONFIG), then COMPSTATD_* variables, then argv. On a bad value
 * or unknown option prints a message to stderr and returns -1; returns 1
 * when --help or --print-config was handled (caller exits 0); else 0.
 */
int config_load(config *c, int argc, char **argv);
void config_free(config *c);

#endif
