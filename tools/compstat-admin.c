/*
 * compstat-admin -- administration from the command line (blocking libpq:
 * this is a tool, not the daemon).
 *
 *   compstat-admin migrate --database CONNINFO [--dir DIR]
 *   compstat-admin token create --database CONNINFO --role ROLE --agency CODE
 *                               [--precincts P1,P2] [--areas A1,A2] [--label TEXT]
 *   compstat-admin token create --database CONNINFO --region CODE --role analyst
 *                               [--label TEXT]
 *   compstat-admin user create --database CONNINFO --login L --name N
 *                              (--agency CODE --role ROLE [--precincts ..] [--areas ..]
 *                               | --region CODE --role analyst)
 *                              [--password-stdin] [--url BASE]
 *   compstat-admin user list --database CONNINFO [--agency CODE]
 *   compstat-admin user disable|enable --database CONNINFO --login L
 *   compstat-admin user reset --database CONNINFO --login L [--mfa] [--url BASE]
 *   compstat-admin region create CODE --name NAME --database CONNINFO
 *   compstat-admin region list --database CONNINFO
 *   compstat-admin program create CODE --region CODE --name NAME --database CONNINFO
 *   compstat-admin token revoke --database CONNINFO --token TOKEN
 *   compstat-admin token list --database CONNINFO [--agency CODE]
 *   compstat-admin audit --database CONNINFO [--since TIME] [--token-id N]
 *                        [--action ACTION] [--limit N]
 *
 * migrate applies migrations/NNNN_*.sql in name order, each in its own
 * transaction, recording each in schema_migrations with its SHA-256; it is
 * safe to repeat and refuses to run when an applied migration was edited.
 * token create prints the new token alone on stdout; only its hash is
 * stored. An agency that does not exist yet is created (name = code,
 * time zone UTC) so a fresh installation can be bootstrapped. --precincts
 * limits the token to precincts: every code must be one of that agency's
 * precincts (so the agency must exist), duplicates are dropped; otherwise
 * the bad code is named, nothing is written and the exit is non-zero.
 * --areas limits it to the precincts below those areas of the agency, as
 * the areas are at each request (with --precincts too: either's).
 * A token of a region (--region, role analyst, no --agency) is a region
 * reader: it reads what the agencies share with that region (PUT
 * /v1/sharing/{region}) and writes nothing. region create makes a region
 * (a code, as agency codes are, and a name); program create makes a
 * region's program, whose precincts each agency's admin enrols (PUT
 * /v1/programs/{code}).
 * user create makes an account for a person: a login, a name and the same
 * principal a token has (its role, agency or region, precincts, areas).
 * It prints a one-time link that sets the password (BASE/#set-password=..,
 * BASE from --url or COMPSTATD_PUBLIC_URL; valid 24 h, stored hashed), or
 * takes the password on standard input (--password-stdin: checked by the
 * rule of lib/authn.h and hashed with Argon2id, libsodium's
 * crypto_pwhash_str). disable ends the user's sessions and refuses its
 * sign-ins until enable; reset takes the password away and prints a new
 * link (--mfa: takes the second factor away instead). Every change is in
 * the audit log, and running daemons hear of it at once.
 * CONNINFO may also come from COMPSTATD_DATABASE.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <sodium.h>

#include "authn.h"
#include "refdata.h"

#include "secret.h"

#ifndef COMPSTAT_MIGRATIONS_DIR
#define COMPSTAT_MIGRATIONS_DIR "migrations"
#endif

static void usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  compstat-admin migrate --database CONNINFO [--dir DIR]\n"
            "  compstat-admin token create --database CONNINFO --role ROLE --agency CODE\n"
            "                              [--precincts P1,P2] [--areas A1,A2] [--label TEXT]\n"
            "  compstat-admin token create --database CONNINFO --region CODE --role analyst\n"
            "                              [--label TEXT]\n"
            "  compstat-admin user create --database CONNINFO --login L --name N\n"
            "                             (--agency CODE --role ROLE [--precincts P1,P2]\n"
            "                              [--areas A1,A2] | --region CODE --role analyst)\n"
            "                             [--password-stdin] [--url BASE]\n"
            "  compstat-admin user list --database CONNINFO [--agency CODE]\n"
            "  compstat-admin user disable|enable --database CONNINFO --login L\n"
            "  compstat-admin user reset --database CONNINFO --login L [--mfa] [--url BASE]\n"
            "  compstat-admin region create CODE --name NAME --database CONNINFO\n"
            "  compstat-admin region list --database CONNINFO\n"
            "  compstat-admin program create CODE --region CODE --name NAME --database CONNINFO\n"
            "  compstat-admin token revoke --database CONNINFO --token TOKEN\n"
            "  compstat-admin token list --database CONNINFO [--agency CODE]\n"
            "  compstat-admin audit --database CONNINFO [--since TIME] [--token-id N]\n"
            "                       [--action ACTION] [--limit N]\n"
            "ROLE: dispatch, commander, supervisor or admin (analyst: with --region). CONNINFO may also be given\n"
            "as COMPSTATD_DATABASE.\n");
}

static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static PGconn *connect_db(int argc, char **argv)
{
    const char *conninfo = opt(argc, argv, "--database");
    if (conninfo == NULL)
        conninfo = getenv("COMPSTATD_DATABASE");
    if (conninfo == NULL) {
        fprintf(stderr, "compstat-admin: --database CONNINFO is required\n");
        return NULL;
    }
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "compstat-admin: cannot connect: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, NULL, NULL);
    return pg;
}

static int exec_ok(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "compstat-admin: %s", PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int migrate(int argc, char **argv)
{
    const char *dir = opt(argc, argv, "--dir");
    if (dir == NULL)
        dir = getenv("COMPSTAT_MIGRATIONS_DIR");
    if (dir == NULL)
        dir = COMPSTAT_MIGRATIONS_DIR;
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "compstat-admin: cannot open %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char *names[1024];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 1024) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".sql") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);

    PGconn *pg = connect_db(argc, argv);
    int rc = pg ? 0 : 1, applied = 0;
    /* One migrator at a time: concurrent runs wait here. */
    if (rc == 0 && (!exec_ok(pg, "SET client_min_messages = warning") ||
                    !exec_ok(pg, "SELECT pg_advisory_lock(7361207)") ||
                    !exec_ok(pg, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 " version text PRIMARY KEY, checksum text NOT NULL,"
                                 " applied_at timestamptz NOT NULL DEFAULT now())")))
        rc = 1;
    for (int i = 0; rc == 0 && i < n; i++) {
        char path[4096], hash[SECRET_HASH_LEN + 1], version[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(version, sizeof version, "%s", names[i]);
        version[strlen(version) - 4] = '\0';
        size_t len;
        char *sql = read_file(path, &len);
        if (sql == NULL || secret_hash(sql, len, hash) != 0) {
            fprintf(stderr, "compstat-admin: cannot read %s\n", path);
            free(sql);
            rc = 1;
            break;
        }
        const char *params[1] = {version};
        PGresult *res = PQexecParams(pg, "SELECT checksum FROM schema_migrations WHERE version = $1",
                                     1, NULL, params, NULL, NULL, 0);
        int done = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
        if (done && strcmp(PQgetvalue(res, 0, 0), hash) != 0) {
            fprintf(stderr,
                    "compstat-admin: migration %s was changed after it was applied; "
                    "add a new migration instead\n",
                    version);
            rc = 1;
        }
        PQclear(res);
        if (done || rc) {
            free(sql);
            continue;
        }
        /* The file runs as a simple query (it may hold many statements),
           inside one transaction with its record. */
        if (!exec_ok(pg, "BEGIN") || !exec_ok(pg, sql)) {
            fprintf(stderr, "compstat-admin: migration %s failed\n", version);
            exec_ok(pg, "ROLLBACK");
            rc = 1;
        } else {
            const char *p2[2] = {version, hash};
            res = PQexecParams(pg, "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                               2, NULL, p2, NULL, NULL, 0);
            int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            PQclear(res);
            if (!ok || !exec_ok(pg, "COMMIT")) {
                exec_ok(pg, "ROLLBACK");
                rc = 1;
            } else {
                fprintf(stderr, "applied %s\n", version);
                applied++;
            }
        }
        free(sql);
    }
    if (rc == 0)
        fprintf(stderr, "migrations: %d applied, %d already present\n", applied, n - applied);
    for (int i = 0; i < n; i++)
        free(names[i]);
    PQfinish(pg);
    return rc;
}

/* Print s to stderr, bytes outside printable ASCII (and '\') escaped as \xNN. */
static void put_escaped(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '\\')
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
}

/* A precinct code as the schema has it: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
static int precinct_code_ok(const char *s, size_t n)
{
    return ref_code_ok(s, n, 64);
}

/*
 * "P1,P2,P1" -> the array literal "{P1,P2}" (duplicates removed, order
 * kept) in *out (caller frees). Every code must be a precinct (or area)
 * code, as the schema has them; else the bad one is named on stderr, after
 * flag, and -1 returned. what: "precinct" or "area".
 */
static int code_list(const char *flag, const char *what, const char *list, char **out)
{
    size_t len = strlen(list);
    *out = NULL;
    if (len == 0) {
        fprintf(stderr, "compstat-admin: %s needs at least one %s code "
                        "(leave it out for a token of the whole agency)\n", flag, what);
        return -1;
    }
    char *lit = malloc(len + 3), *w = lit;
    if (lit == NULL)
        return -1;
    *w++ = '{';
    int pos = 0;
    for (const char *p = list;; pos++) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char code[80];
        if (n >= sizeof code || !precinct_code_ok(p, n)) {
            snprintf(code, sizeof code, "%.*s", n < 72 ? (int)n : 72, p);
            fprintf(stderr, "compstat-admin: %s: ", flag);
            if (n == 0) {
                fprintf(stderr, "code %d is empty", pos + 1);
            } else {
                fputc('"', stderr);
                put_escaped(code);
                fprintf(stderr, "\"%s is not a%s %s code", n >= 72 ? "..." : "",
                        what[0] == 'a' ? "n" : "", what);
            }
            fprintf(stderr, " (codes are 1 to 64 letters, digits, then also '.', '_', '-', "
                            "separated by commas)\n");
            free(lit);
            return -1;
        }
        memcpy(code, p, n);
        code[n] = '\0';
        /* Already listed? (lit holds "{A,B" so far.) */
        int dup = 0;
        for (const char *q = lit + 1; q < w && !dup;) {
            const char *qe = memchr(q, ',', (size_t)(w - q));
            size_t qn = qe ? (size_t)(qe - q) : (size_t)(w - q);
            dup = qn == n && memcmp(q, code, n) == 0;
            q += qn + 1;
        }
        if (!dup) {
            if (w > lit + 1)
                *w++ = ',';
            memcpy(w, code, n);
            w += n;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    *w++ = '}';
    *w = '\0';
    *out = lit;
    return 0;
}

/*
 * After an insert guarded by "every code is a precinct (an area) of the
 * agency" wrote nothing: say which codes are not (or that the agency is
 * unknown). table: "precincts" or "areas"; flag and what as for code_list.
 */
static int explain_codes(PGconn *pg, const char *agency, const char *list, const char *table,
                         const char *flag, const char *what)
{
    const char *params[2] = {agency, list};
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM agencies WHERE code = $1),"
             " coalesce(string_agg(t.c, ', ' ORDER BY t.n), '')"
             " FROM unnest($2::text[]) WITH ORDINALITY AS t(c, n)"
             " WHERE NOT EXISTS (SELECT 1 FROM %s p JOIN agencies a ON a.id = p.agency_id"
             "  WHERE a.code = $1 AND p.code = t.c)",
             table);
    PGresult *res = PQexecParams(pg, sql, 2, NULL, params, NULL, NULL, 0);
    int said = 1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "compstat-admin: %s", PQresultErrorMessage(res));
    } else if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        fprintf(stderr, "compstat-admin: %s: agency ", flag);
        put_escaped(agency);
        fprintf(stderr, " does not exist, so it has no %s %s (create the agency and its "
                        "%s first)\n", what, PQgetvalue(res, 0, 1), table);
    } else if (PQgetvalue(res, 0, 1)[0]) {
        fprintf(stderr, "compstat-admin: %s: not a%s %s of agency ", flag,
                what[0] == 'a' ? "n" : "", what);
        put_escaped(agency);
        fprintf(stderr, ": %s\n", PQgetvalue(res, 0, 1));
    } else {
        said = 0;
    }
    PQclear(res);
    return said;
}

static int print_tsv(PGconn *pg, PGresult *res);

/* A code as agencies and regions have them: 1-32 of [A-Za-z0-9_.-], a letter or digit first. */
static int code_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
                               (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* A region's or program's code (1..max) and name (1..200 bytes), saying what is wrong. */
static int code_and_name_ok(const char *what, const char *code, size_t max, const char *name)
{
    if (!code_ok(code, max)) {
        fprintf(stderr, "compstat-admin: %s code must be 1 to %zu letters, digits, '.', '_' "
                        "or '-', a letter or digit first\n", what, max);
        return 0;
    }
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen > 200) {
        fprintf(stderr, "compstat-admin: --name must be 1 to 200 characters\n");
        return 0;
    }
    return 1;
}

/* region create CODE --name NAME */
static int region_create(int argc, char **argv)
{
    const char *code = argc > 3 && argv[3][0] != '-' ? argv[3] : NULL;
    const char *name = opt(argc, argv, "--name");
    if (code == NULL || name == NULL) {
        usage();
        return 2;
    }
    if (!code_and_name_ok("region", code, 32, name))
        return 2;
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    const char *params[2] = {code, name};
    PGresult *res = PQexecParams(pg,
                                 "INSERT INTO regions (code, name) VALUES ($1, $2)"
                                 " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name"
                                 " RETURNING id",
                                 2, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (!ok)
        fprintf(stderr, "compstat-admin: %s", PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(pg);
    return ok ? 0 : 1;
}

/* One line per region: code, name, the agencies sharing with it, its programs. */
static int region_list(int argc, char **argv)
{
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    PGresult *res = PQexec(
        pg, "SELECT r.code, r.name,"
            " coalesce((SELECT string_agg(a.code || ':' || s.level, ',' ORDER BY a.code)"
            "  FROM sharing_agreements s JOIN agencies a ON a.id = s.agency_id"
            "  WHERE s.region_id = r.id), '') AS sharing,"
            " coalesce((SELECT string_agg(p.code, ',' ORDER BY p.code) FROM programs p"
            "  WHERE p.region_id = r.id), '') AS programs"
            " FROM regions r ORDER BY r.code");
    return print_tsv(pg, res);
}

/* program create CODE --region CODE --name NAME */
static int program_create(int argc, char **argv)
{
    const char *code = argc > 3 && argv[3][0] != '-' ? argv[3] : NULL;
    const char *region = opt(argc, argv, "--region");
    const char *name = opt(argc, argv, "--name");
    if (code == NULL || region == NULL || name == NULL) {
        usage();
        return 2;
    }
    if (!code_and_name_ok("program", code, 64, name))
        return 2;
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    const char *params[3] = {code, region, name};
    PGresult *res = PQexecParams(
        pg,
        "INSERT INTO programs (code, region_id, name) SELECT $1, r.id, $3 FROM regions r"
        " WHERE r.code = $2"
        " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name"
        "  WHERE programs.region_id = EXCLUDED.region_id RETURNING id",
        3, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "compstat-admin: %s", PQresultErrorMessage(res));
    } else if (!ok) {
        fprintf(stderr, "compstat-admin: no region ");
        put_escaped(region);
        fprintf(stderr, ", or program %s belongs to another region\n", code);
    }
    PQclear(res);
    if (ok) /* running daemons: region readers' cached programs are looked up again */
        PQclear(PQexec(pg, "SELECT pg_notify('compstat_sharing', '')"));
    PQfinish(pg);
    return ok ? 0 : 1;
}

/*
 * The principal of a token or a user from the command line: --role with
 * --agency (and --precincts / --areas), or --region with role analyst.
 * Inserted on pg with the given hash and label; *id is its api_tokens id.
 * Returns 0, 2 (usage: said why) or 1 (refused or failed: said why).
 */
static int principal_insert(PGconn *pg, int argc, char **argv, const char *hash,
                            const char *label, int *id)
{
    const char *role = opt(argc, argv, "--role");
    const char *agency = opt(argc, argv, "--agency");
    const char *precincts = opt(argc, argv, "--precincts");
    const char *areas = opt(argc, argv, "--areas");
    const char *region = opt(argc, argv, "--region");
    if (region != NULL) {
        if (agency || precincts || areas) {
            fprintf(stderr, "compstat-admin: a region's token belongs to no agency: give --region "
                            "without --agency, --precincts or --areas\n");
            return 2;
        }
        if (role == NULL || strcmp(role, "analyst") != 0) {
            fprintf(stderr, "compstat-admin: --role must be analyst for a region's token (region "
                            "readers read what agencies share, and write nothing)\n");
            return 2;
        }
    } else if (role == NULL || agency == NULL) {
        usage();
        return 2;
    } else if (strcmp(role, "dispatch") && strcmp(role, "commander") &&
               strcmp(role, "supervisor") && strcmp(role, "admin")) {
        fprintf(stderr, "compstat-admin: --role must be dispatch, commander, supervisor or admin%s\n",
                strcmp(role, "analyst") == 0 ? " (analyst is a region's reader: --region CODE, no "
                                               "--agency)"
                                             : "");
        return 2;
    }
    /* The scope: every code a precinct (an area) code, duplicates dropped;
       checked against the agency's precincts (areas) by the insert itself
       below. */
    char *list = NULL, *alist = NULL;
    if ((precincts && code_list("--precincts", "precinct", precincts, &list) != 0) ||
        (areas && code_list("--areas", "area", areas, &alist) != 0)) {
        free(list);
        return 2;
    }
    PGresult *res;
    if (region != NULL) {
        res = PQexecParams(pg,
                           "INSERT INTO api_tokens (token_hash, role, region_id, label)"
                           " SELECT $2, 'analyst', r.id, $3 FROM regions r WHERE r.code = $1"
                           " RETURNING id",
                           3, NULL, (const char *[3]){region, hash, label}, NULL, NULL, 0);
    } else if (list == NULL && alist == NULL) {
        /* The whole agency: created when new, to bootstrap an installation. */
        res = PQexecParams(pg,
                           "WITH a AS (INSERT INTO agencies (code, name) VALUES ($1, $1)"
                           "  ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id)"
                           " INSERT INTO api_tokens (token_hash, role, agency_id, precincts, label)"
                           " SELECT $2, $3, a.id, NULL, $4 FROM a RETURNING id",
                           4, NULL, (const char *[4]){agency, hash, role, label}, NULL, NULL,
                           0);
    } else {
        /* Limited to precincts and/or areas: the agency must exist and
           hold every one of them, or nothing is written. */
        const char *params[6] = {agency, hash, role, list, alist, label};
        res = PQexecParams(pg,
                           "INSERT INTO api_tokens (token_hash, role, agency_id, precincts, areas,"
                           "  label)"
                           " SELECT $2, $3, a.id, $4::text[], $5::text[], $6 FROM agencies a"
                           " WHERE a.code = $1 AND NOT EXISTS ("
                           "  SELECT 1 FROM unnest($4::text[]) AS c WHERE NOT EXISTS ("
                           "   SELECT 1 FROM precincts p WHERE p.agency_id = a.id AND p.code = c))"
                           " AND NOT EXISTS ("
                           "  SELECT 1 FROM unnest($5::text[]) AS c WHERE NOT EXISTS ("
                           "   SELECT 1 FROM areas x WHERE x.agency_id = a.id AND x.code = c))"
                           " RETURNING id",
                           6, NULL, params, NULL, NULL, 0);
    }
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok) {
        *id = atoi(PQgetvalue(res, 0, 0));
    } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "compstat-admin: %s", PQresultErrorMessage(res));
    } else if (region != NULL) {
        fprintf(stderr, "compstat-admin: --region: no region ");
        put_escaped(region);
        fprintf(stderr, " (compstat-admin region create CODE --name NAME first)\n");
    } else if (!(list && explain_codes(pg, agency, list, "precincts", "--precincts",
                                       "precinct")) &&
               !(alist && explain_codes(pg, agency, alist, "areas", "--areas", "area"))) {
        fprintf(stderr, "compstat-admin: the precincts or areas changed meanwhile; try again\n");
    }
    PQclear(res);
    free(list);
    free(alist);
    return ok ? 0 : 1;
}

static int token_create(int argc, char **argv)
{
    char token[SECRET_TOKEN_LEN + 1], hash[SECRET_HASH_LEN + 1];
    if (secret_new_token(token) != 0 || secret_hash(token, strlen(token), hash) != 0) {
        fprintf(stderr, "compstat-admin: cannot generate a token\n");
        return 1;
    }
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    int id = 0;
    int rc = principal_insert(pg, argc, argv, hash, opt(argc, argv, "--label"), &id);
    PQfinish(pg);
    if (rc == 0)
        printf("%s\n", token);
    return rc;
}

/* ------------------------------------------------------------ users */

/* A login as users.login has it. */
static int login_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
                              (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '@' || c == '-'))
            return 0;
    }
    return 1;
}

/* Run sql with params; 1 when it succeeded, else say why. *rows: rows returned or changed. */
static int exec_params(PGconn *pg, const char *sql, int n, const char *const *params, int *rows)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "compstat-admin: %s", PQresultErrorMessage(res));
    if (rows)
        *rows = st == PGRES_TUPLES_OK ? PQntuples(res) : atoi(PQcmdTuples(res));
    PQclear(res);
    return ok;
}

/* The audit record of an account change made here (no token: the operator). */
static void audit_admin(PGconn *pg, const char *action, const char *login)
{
    const char *params[2] = {action, login};
    exec_params(pg,
                "INSERT INTO audit_log (action, target, detail)"
                " VALUES ($1, $2, '{\"by\": \"compstat-admin\"}')",
                2, params, NULL);
}

/* A new set-password link for user id: stored hashed, valid 24 h; printed. 0, or -1. */
static int print_link(PGconn *pg, int argc, char **argv, const char *user_id)
{
    char secret[SECRET_TOKEN_LEN + 1], hash[SECRET_HASH_LEN + 1];
    if (secret_new_token(secret) != 0 || secret_hash(secret, strlen(secret), hash) != 0)
        return -1;
    const char *params[2] = {hash, user_id};
    /* Older links of the user stop working: only the newest sets the password. */
    if (!exec_params(pg, "UPDATE user_links SET used_at = now() WHERE user_id = $1::int"
                         " AND used_at IS NULL",
                     1, params + 1, NULL) ||
        !exec_params(pg, "INSERT INTO user_links (token_hash, user_id, purpose, expires_at)"
                         " VALUES ($1, $2::int, 'set_password', now() + interval '24 hours')",
                     2, params, NULL))
        return -1;
    const char *base = opt(argc, argv, "--url");
    if (base == NULL)
        base = getenv("COMPSTATD_PUBLIC_URL");
    if (base == NULL)
        base = "http://127.0.0.1:8080";
    size_t bl = strlen(base);
    printf("%.*s/#set-password=%s\n", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base, secret);
    fprintf(stderr, "compstat-admin: the link works once, within 24 hours\n");
    return 0;
}

/* A password from standard input (one line), checked and hashed (Argon2id). 0, or 2. */
static int read_password(const char *login, const char *name, char out[crypto_pwhash_STRBYTES])
{
    char line[1100];
    if (fgets(line, sizeof line, stdin) == NULL) {
        fprintf(stderr, "compstat-admin: --password-stdin: no password on standard input\n");
        return 2;
    }
    size_t n = strcspn(line, "\r\n");
    line[n] = '\0';
    char why[160];
    if (authn_password_ok(line, login, name, why, sizeof why) != 0) {
        fprintf(stderr, "compstat-admin: --password-stdin: %s\n", why);
        sodium_memzero(line, sizeof line);
        return 2;
    }
    int rc = crypto_pwhash_str(out, line, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(line, sizeof line);
    if (rc != 0) {
        fprintf(stderr, "compstat-admin: out of memory hashing the password\n");
        return 1;
    }
    return 0;
}

/* user create --login L --name N (--agency A [--precincts..] [--areas..] | --region R) --role ROLE */
static int user_create(int argc, char **argv)
{
    const char *login = opt(argc, argv, "--login"), *name = opt(argc, argv, "--name");
    int stdin_pw = 0;
    for (int i = 0; i < argc; i++)
        stdin_pw |= strcmp(argv[i], "--password-stdin") == 0;
    if (login == NULL || name == NULL) {
        usage();
        return 2;
    }
    if (!login_ok(login)) {
        fprintf(stderr, "compstat-admin: --login must be 1 to 64 letters, digits, '.', '_', '@' "
                        "or '-', a letter or digit first\n");
        return 2;
    }
    if (strlen(name) == 0 || strlen(name) > 200) {
        fprintf(stderr, "compstat-admin: --name must be 1 to 200 characters\n");
        return 2;
    }
    char pwhash[crypto_pwhash_STRBYTES] = "";
    int rc;
    if (stdin_pw && (rc = read_password(login, name, pwhash)) != 0)
        return rc;
    /* The user's principal is a token row whose secret nobody holds. */
    char unused[SECRET_TOKEN_LEN + 1], hash[SECRET_HASH_LEN + 1], label[80];
    if (secret_new_token(unused) != 0 || secret_hash(unused, strlen(unused), hash) != 0)
        return 1;
    sodium_memzero(unused, sizeof unused);
    snprintf(label, sizeof label, "user:%s", login);
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    int id = 0, rows = 0;
    rc = exec_ok(pg, "BEGIN") ? principal_insert(pg, argc, argv, hash, label, &id) : 1;
    char tid[16], uid[16] = "";
    snprintf(tid, sizeof tid, "%d", id);
    if (rc == 0) {
        const char *params[4] = {login, name, tid, stdin_pw ? pwhash : NULL};
        PGresult *res = PQexecParams(
            pg,
            "INSERT INTO users (login, name, token_id, password_hash, password_set_at)"
            " VALUES ($1, $2, $3::int, $4, CASE WHEN $4::text IS NULL THEN NULL ELSE now() END)"
            " ON CONFLICT (login) DO NOTHING RETURNING id",
            4, NULL, params, NULL, NULL, 0);
        rows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : -1;
        if (rows == 1)
            snprintf(uid, sizeof uid, "%s", PQgetvalue(res, 0, 0));
        else if (rows == 0)
            fprintf(stderr, "compstat-admin: --login: %s is taken\n", login);
        else
            fprintf(stderr, "compstat-admin: %s", PQresultErrorMessage(res));
        PQclear(res);
        rc = rows == 1 ? 0 : 1;
    }
    if (rc == 0)
        audit_admin(pg, "user.create", login);
    if (rc == 0 && !stdin_pw && print_link(pg, argc, argv, uid) != 0)
        rc = 1;
    if (rc != 0 || !exec_ok(pg, "COMMIT")) {
        exec_ok(pg, "ROLLBACK");
        PQfinish(pg);
        return rc ? rc : 1;
    }
    if (stdin_pw)
        fprintf(stderr, "compstat-admin: user %s created with its password\n", login);
    PQfinish(pg);
    return 0;
}

/* user disable | enable | reset --login L [--mfa] */
static int user_change(int argc, char **argv, const char *what)
{
    const char *login = opt(argc, argv, "--login");
    if (login == NULL) {
        usage();
        return 2;
    }
    int mfa = 0;
    for (int i = 0; i < argc; i++)
        mfa |= strcmp(argv[i], "--mfa") == 0;
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    const char *sql =
        strcmp(what, "disable") == 0
            ? "WITH u AS (UPDATE users SET disabled_at = now(), updated_at = now()"
              "  WHERE login = $1 RETURNING id, token_id),"
              " t AS (UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
              "  FROM u WHERE api_tokens.id = u.token_id)"
              " UPDATE sessions SET ended_at = now() FROM u"
              "  WHERE sessions.user_id = u.id AND ended_at IS NULL RETURNING u.id"
        : strcmp(what, "enable") == 0
            ? "WITH u AS (UPDATE users SET disabled_at = NULL, updated_at = now()"
              "  WHERE login = $1 RETURNING id, token_id)"
              " UPDATE api_tokens SET revoked_at = NULL FROM u WHERE api_tokens.id = u.token_id"
              " RETURNING u.id"
        : mfa
            ? "WITH u AS (UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL,"
              "  updated_at = now() WHERE login = $1 RETURNING id),"
              " c AS (DELETE FROM user_recovery_codes USING u WHERE user_id = u.id)"
              " UPDATE sessions SET ended_at = now() FROM u"
              "  WHERE sessions.user_id = u.id AND ended_at IS NULL RETURNING u.id"
            : "WITH u AS (UPDATE users SET password_hash = NULL, password_set_at = NULL,"
              "  updated_at = now() WHERE login = $1 RETURNING id)"
              " UPDATE sessions SET ended_at = now() FROM u"
              "  WHERE sessions.user_id = u.id AND ended_at IS NULL RETURNING u.id";
    int ok = exec_ok(pg, "BEGIN");
    PGresult *res = ok ? PQexecParams(pg, sql, 1, NULL, (const char *[1]){login}, NULL, NULL, 0)
                       : NULL;
    ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
    if (res && !ok)
        fprintf(stderr, "compstat-admin: %s", PQresultErrorMessage(res));
    PQclear(res);
    /* The user's id, whether or not it had sessions. */
    char uid[16] = "";
    res = ok ? PQexecParams(pg, "SELECT id FROM users WHERE login = $1", 1, NULL,
                            (const char *[1]){login}, NULL, NULL, 0)
             : NULL;
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        snprintf(uid, sizeof uid, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (ok && uid[0] == '\0') {
        fprintf(stderr, "compstat-admin: --login: no user %s\n", login);
        ok = 0;
    }
    char action[32];
    snprintf(action, sizeof action, "user.%s%s", what, mfa ? "_mfa" : "");
    if (ok)
        audit_admin(pg, action, login);
    if (ok && strcmp(what, "reset") == 0 && !mfa && print_link(pg, argc, argv, uid) != 0)
        ok = 0;
    if (!ok || !exec_ok(pg, "COMMIT")) {
        exec_ok(pg, "ROLLBACK");
        PQfinish(pg);
        return 1;
    }
    /* Running daemons look every principal up again: the user's open pages
       and streams end now (disable, reset), or work again (enable). */
    PQclear(PQexec(pg, "SELECT pg_notify('compstat_tokens', '')"));
    PQfinish(pg);
    return 0;
}

/* One line per user (tab-separated, with a header); never a hash. */
static int user_list(int argc, char **argv)
{
    const char *agency = opt(argc, argv, "--agency");
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    PGresult *res = PQexecParams(
        pg,
        "SELECT u.login, u.name, t.role, coalesce(a.code, '') AS agency,"
        " coalesce(g.code, '') AS region,"
        " CASE WHEN t.precincts IS NULL AND t.areas IS NULL THEN '*'"
        "  ELSE coalesce(array_to_string(t.precincts, ','), '') END AS precincts,"
        " coalesce(array_to_string(t.areas, ','), '') AS areas,"
        " CASE WHEN u.password_hash IS NOT NULL THEN 'set'"
        "  WHEN EXISTS (SELECT 1 FROM user_links l WHERE l.user_id = u.id AND l.used_at IS NULL"
        "   AND l.expires_at > now()) THEN 'link' ELSE 'none' END AS password,"
        " CASE WHEN u.totp_enabled_at IS NOT NULL THEN 'totp' ELSE '' END AS mfa,"
        " coalesce(to_char(u.disabled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
        "  AS disabled,"
        " (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.ended_at IS NULL"
        "   AND s.expires_at > now()) AS sessions"
        " FROM users u JOIN api_tokens t ON t.id = u.token_id"
        " LEFT JOIN agencies a ON a.id = t.agency_id LEFT JOIN regions g ON g.id = t.region_id"
        " WHERE $1::text IS NULL OR a.code = $1 ORDER BY u.login",
        1, NULL, (const char *[1]){agency}, NULL, NULL, 0);
    return print_tsv(pg, res);
}

static int token_revoke(int argc, char **argv)
{
    const char *token = opt(argc, argv, "--token");
    if (token == NULL) {
        usage();
        return 2;
    }
    char hash[SECRET_HASH_LEN + 1];
    if (secret_hash(token, strlen(token), hash) != 0)
        return 1;
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    const char *params[1] = {hash};
    PGresult *res = PQexecParams(pg,
                                 "UPDATE api_tokens SET revoked_at = now()"
                                 " WHERE token_hash = $1 AND revoked_at IS NULL",
                                 1, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK && atoi(PQcmdTuples(res)) == 1;
    if (!ok)
        fprintf(stderr, "compstat-admin: no such active token\n");
    PQclear(res);
    if (ok) { /* running daemons forget the token at once */
        const char *np[1] = {hash};
        PQclear(PQexecParams(pg, "SELECT pg_notify('compstat_tokens', $1)", 1, NULL, np, NULL,
                             NULL, 0));
    }
    PQfinish(pg);
    return ok ? 0 : 1;
}

/*
 * Print a query's rows tab-separated, under a header of its column names;
 * then free everything. Returns the exit code.
 */
static int print_tsv(PGconn *pg, PGresult *res)
{
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (ok) {
        int nc = PQnfields(res);
        for (int c = 0; c < nc; c++)
            printf("%s%c", PQfname(res, c), c == nc - 1 ? '\n' : '\t');
        for (int i = 0; i < PQntuples(res); i++)
            for (int c = 0; c < nc; c++)
                printf("%s%c", PQgetvalue(res, i, c), c == nc - 1 ? '\n' : '\t');
    } else {
        fprintf(stderr, "compstat-admin: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    PQfinish(pg);
    return ok ? 0 : 1;
}

/* One line per token: id, agency, role, precincts ('*': every one), label,
   created, revoked, areas, region (tab-separated, with a header). Hashes are not shown: they are secrets too. */
static int token_list(int argc, char **argv)
{
    const char *agency = opt(argc, argv, "--agency");
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    const char *params[1] = {agency};
    PGresult *res = PQexecParams(
        pg,
        "SELECT t.id, coalesce(a.code, '') AS agency, t.role,"
        " CASE WHEN t.precincts IS NULL AND t.areas IS NULL THEN '*'"
        "  ELSE coalesce(array_to_string(t.precincts, ','), '') END AS precincts,"
        " coalesce(t.label, '') AS label,"
        " to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created,"
        " coalesce(to_char(t.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
        "  AS revoked,"
        " coalesce(array_to_string(t.areas, ','), '') AS areas,"
        " coalesce(g.code, '') AS region"
        " FROM api_tokens t LEFT JOIN agencies a ON a.id = t.agency_id"
        " LEFT JOIN regions g ON g.id = t.region_id"
        " WHERE $1::text IS NULL OR a.code = $1 ORDER BY t.id",
        1, NULL, params, NULL, NULL, 0);
    return print_tsv(pg, res);
}

/* The audit log, newest first, tab-separated with a header. */
static int audit(int argc, char **argv)
{
    const char *params[4] = {opt(argc, argv, "--since"), opt(argc, argv, "--token-id"),
                             opt(argc, argv, "--action"), opt(argc, argv, "--limit")};
    if (params[3] == NULL)
        params[3] = "100";
    PGconn *pg = connect_db(argc, argv);
    if (pg == NULL)
        return 1;
    PGresult *res = PQexecParams(
        pg,
        "SELECT l.id, to_char(l.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at,"
        " coalesce(l.token_id::text, '') AS token_id, coalesce(a.code, '') AS agency,"
        " coalesce(t.role, '') AS role, coalesce(l.request_id, '') AS request_id, l.action,"
        " coalesce(l.target, '') AS target, coalesce(l.detail::text, '') AS detail,"
        " coalesce(g.code, '') AS region"
        " FROM audit_log l LEFT JOIN api_tokens t ON t.id = l.token_id"
        " LEFT JOIN agencies a ON a.id = t.agency_id LEFT JOIN regions g ON g.id = t.region_id"
        " WHERE ($1::timestamptz IS NULL OR l.at >= $1) AND ($2::int IS NULL OR l.token_id = $2)"
        " AND ($3::text IS NULL OR l.action = $3) ORDER BY l.id DESC LIMIT $4::int",
        4, NULL, params, NULL, NULL, 0);
    return print_tsv(pg, res);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "migrate") == 0)
        return migrate(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "token") == 0 && strcmp(argv[2], "create") == 0)
        return token_create(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "token") == 0 && strcmp(argv[2], "revoke") == 0)
        return token_revoke(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "token") == 0 && strcmp(argv[2], "list") == 0)
        return token_list(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "audit") == 0)
        return audit(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "create") == 0)
        return sodium_init() < 0 ? 1 : user_create(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "list") == 0)
        return user_list(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "user") == 0 &&
        (strcmp(argv[2], "disable") == 0 || strcmp(argv[2], "enable") == 0 ||
         strcmp(argv[2], "reset") == 0))
        return user_change(argc, argv, argv[2]);
    if (argc >= 3 && strcmp(argv[1], "region") == 0 && strcmp(argv[2], "create") == 0)
        return region_create(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "region") == 0 && strcmp(argv[2], "list") == 0)
        return region_list(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "program") == 0 && strcmp(argv[2], "create") == 0)
        return program_create(argc, argv);
    usage();
    return 2;
}
