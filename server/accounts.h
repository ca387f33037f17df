/*
 * accounts.h -- people's passwords, off the event loop, and the sign-in
 * throttle.
 *
 * Passwords are hashed and verified with Argon2id (libsodium's
 * crypto_pwhash_str: opslimit and memlimit "interactive", 64 MiB) on
 * password_threads worker threads (workq.h): a sign-in costs the loop a
 * hand-off, never the hash. A login that does not exist, or has no
 * password, is verified against a hash of the same cost that matches
 * nothing, so neither the answer nor its time tells whether a login
 * exists.
 *
 * The throttle: each failed sign-in counts against the login (as typed,
 * ASCII case folded) and the client address, in a window of 15 minutes.
 * From signin_fail_limit failures on, either is blocked for 1 s, then twice
 * as long at each further failure (at most 15 min); a success clears the
 * login's count. At most 16,384 logins and addresses are tracked (the least
 * recently seen forgotten first): a flood of made-up logins cannot grow the
 * daemon.
 */
#ifndef COMPSTAT_ACCOUNTS_H
#define COMPSTAT_ACCOUNTS_H

#include <event2/event.h>

/* Start (sodium_init; the workers start at the first job). 0, or -1. */
int accounts_init(struct event_base *base, int nthreads);
void accounts_free(void);

/*
 * Verify password against hash (NULL: the dummy, never a match) on a
 * worker; done(arg, ok) runs on the loop. The password is copied and wiped
 * after use. 0, or -1 (nothing queued: answer 503).
 */
int accounts_verify(const char *hash, const char *password, void (*done)(void *arg, int ok),
                    void *arg);

/* Hash password on a worker; done(arg, hash or NULL out of memory) on the loop. 0, or -1. */
int accounts_hash(const char *password, void (*done)(void *arg, const char *hash), void *arg);

/* Seconds login (or NULL) from peer must still wait before a sign-in (0: none). */
long accounts_blocked(const char *login, const char *peer);
/* A failed sign-in of login from peer; a successful one. */
void accounts_failed(const char *login, const char *peer);
void accounts_succeeded(const char *login);

#endif
