/*
 * accounts.c -- see accounts.h.
 */
#include "accounts.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "app.h"
#include "lrumap.h"
#include "workq.h"

static workq *wq;
static lrumap *fails;
static char dummy[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

#define TRACKED 16384
#define WINDOW_S (15 * 60)
#define BLOCK_MAX_S (15 * 60)

struct job {
    char *password;
    size_t len;
    char hash[crypto_pwhash_STRBYTES];
    int has_hash, ok;
    void (*verified)(void *arg, int ok);
    void (*hashed)(void *arg, const char *hash);
    void *arg;
};

/* A hash of a random password: what an unknown login is verified against. */
static void make_dummy(void)
{
    unsigned char pw[32];
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str(dummy, (const char *)pw, sizeof pw, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy[0] = '\0';
    sodium_memzero(pw, sizeof pw);
}

int accounts_init(struct event_base *base, int nthreads)
{
    if (sodium_init() < 0)
        return -1;
    wq = workq_new(base, nthreads);
    fails = lrumap_new(TRACKED, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&wq);
    return wq && fails ? 0 : -1;
}

static void job_free(struct job *j)
{
    if (j->password) {
        sodium_memzero(j->password, j->len);
        free(j->password);
    }
    sodium_memzero(j->hash, sizeof j->hash);
    free(j);
}

void accounts_free(void)
{
    workq_free(wq);
    wq = NULL;
    lrumap_free(fails, free);
    fails = NULL;
}

/*
 * Worker: verify, or hash. A worker thread runs at the lowest priority
 * (Linux's SCHED_IDLE; else nice 19): a hash takes tens of milliseconds of
 * a core, and on a core the event loop shares it must yield to the loop,
 * not the loop to it (BENCHMARKS.md, "Sign-ins").
 */
static void job_run(void *arg)
{
    static __thread int niced;
    if (!niced) {
        niced = 1;
        struct sched_param sp = {0};
        if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
            setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
    }
    struct job *j = arg;
    if (j->verified) {
        pthread_once(&dummy_once, make_dummy);
        const char *h = j->has_hash ? j->hash : dummy;
        j->ok = h[0] != '\0' && crypto_pwhash_str_verify(h, j->password, j->len) == 0 &&
                j->has_hash;
    } else {
        j->ok = crypto_pwhash_str(j->hash, j->password, j->len,
                                  crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                  crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
    }
    sodium_memzero(j->password, j->len);
}

static void job_done(void *arg)
{
    struct job *j = arg;
    if (j->verified)
        j->verified(j->arg, j->ok);
    else
        j->hashed(j->arg, j->ok ? j->hash : NULL);
    job_free(j);
}

static void job_drop(void *arg)
{
    job_free(arg);
}

static struct job *job_new(const char *password)
{
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->len = strlen(password);
    if ((j->password = malloc(j->len + 1)) == NULL) {
        free(j);
        return NULL;
    }
    memcpy(j->password, password, j->len + 1);
    return j;
}

int accounts_verify(const char *hash, const char *password, void (*done)(void *arg, int ok),
                    void *arg)
{
    struct job *j = wq ? job_new(password) : NULL;
    if (j == NULL)
        return -1;
    if (hash && strlen(hash) < sizeof j->hash) {
        memcpy(j->hash, hash, strlen(hash) + 1);
        j->has_hash = 1;
    }
    j->verified = done;
    j->arg = arg;
    if (workq_submit(wq, job_run, job_done, job_drop, j) != 0) {
        job_free(j);
        return -1;
    }
    return 0;
}

int accounts_hash(const char *password, void (*done)(void *arg, const char *hash), void *arg)
{
    struct job *j = wq ? job_new(password) : NULL;
    if (j == NULL)
        return -1;
    j->hashed = done;
    j->arg = arg;
    if (workq_submit(wq, job_run, job_done, job_drop, j) != 0) {
        job_free(j);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ the throttle */

struct fails {
    time_t window; /* start of the counting window */
    time_t blocked; /* until */
    int count, strikes;
};

/* "l:" + login folded, or "a:" + address. */
static void key_of(char *out, size_t size, char kind, const char *s)
{
    size_t i = 0;
    out[i++] = kind;
    out[i++] = ':';
    for (; s && *s && i + 1 < size; s++)
        out[i++] = *s >= 'A' && *s <= 'Z' ? (char)(*s + 32) : *s;
    out[i] = '\0';
}

static long wait_of(char kind, const char *s)
{
    char key[96];
    if (fails == NULL || s == NULL || *s == '\0')
        return 0;
    key_of(key, sizeof key, kind, s);
    const struct fails *f = lrumap_peek(fails, key);
    time_t now = time(NULL);
    return f && f->blocked > now ? (long)(f->blocked - now) : 0;
}

long accounts_blocked(const char *login, const char *peer)
{
    long a = wait_of('l', login), b = wait_of('a', peer);
    return a > b ? a : b;
}

static void count(char kind, const char *s)
{
    char key[96];
    if (fails == NULL || s == NULL || *s == '\0')
        return;
    key_of(key, sizeof key, kind, s);
    time_t now = time(NULL);
    struct fails *f = lrumap_get(fails, key);
    if (f == NULL) {
        if ((f = calloc(1, sizeof *f)) == NULL)
            return;
        void *old = NULL;
        if (lrumap_put(fails, key, f, &old) != 0) {
            free(f);
            return;
        }
        free(old);
        f->window = now;
    }
    if (now - f->window >= WINDOW_S) {
        f->window = now;
        f->count = 0;
        f->strikes = 0;
    }
    if (++f->count < app.cfg.signin_fail_limit)
        return;
    long secs = f->strikes >= 10 ? BLOCK_MAX_S : 1L << f->strikes;
    if (secs > BLOCK_MAX_S)
        secs = BLOCK_MAX_S;
    f->strikes++;
    f->blocked = now + secs;
}

void accounts_failed(const char *login, const char *peer)
{
    count('l', login);
    count('a', peer);
}

void accounts_succeeded(const char *login)
{
    char key[96];
    if (fails == NULL || login == NULL)
        return;
    key_of(key, sizeof key, 'l', login);
    struct fails *f = lrumap_peek(fails, key);
    if (f) {
        f->count = 0;
        f->strikes = 0;
        f->blocked = 0;
    }
}
