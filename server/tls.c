/*
 * tls.c -- see tls.h.
 */
#include "tls.h"

#include "http.h"

#include <stdio.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static SSL_CTX *ctx;

/* evhttp's bufferevent factory: one TLS server session per connection. */
static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL)
        return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

int tls_setup(struct evhttp *http, const char *cert, const char *key)
{
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        char buf[256];
        ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
        fprintf(stderr, "compstatd: TLS: cannot use %s and %s: %s\n", cert, key, buf);
        tls_free();
        return -1;
    }
    http_set_bev_factory(make_bev, NULL); /* http.c tracks each connection around it */
    return 0;
}

void tls_free(void)
{
    if (ctx)
        SSL_CTX_free(ctx);
    ctx = NULL;
}
