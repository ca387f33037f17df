/*
 * tls.h -- optional TLS for the HTTP listener (OpenSSL through libevent's
 * bufferevent_openssl). With tls_cert and tls_key set, every connection is
 * TLS (1.2 or later); without them the listener speaks plain HTTP, for
 * deployments behind a reverse proxy that terminates TLS.
 */
#ifndef COMPSTAT_TLS_H
#define COMPSTAT_TLS_H

#include <event2/http.h>

/*
 * Load the certificate chain and key (PEM files) and make http accept TLS.
 * Returns 0, or -1 after printing why on stderr (start-up only).
 */
int tls_setup(struct evhttp *http, const char *cert, const char *key);
void tls_free(void);

#endif
