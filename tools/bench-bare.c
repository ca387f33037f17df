/*
 * bench-bare.c -- the throughput baseline of tools/bench qps: a bare
 * libevent evhttp server that answers every request with the same fixed
 * body (the bytes compstatd answered to the question being measured), with
 * the headers compstatd sends. What it costs is HTTP on libevent and the
 * loopback; what compstatd costs on top is routing, the token, the question
 * and writing the answer.
 *
 *   bench-bare --listen 127.0.0.1:0 --body FILE
 *
 * Prints "listening on HOST:PORT" on stderr; exits on SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static char *body;
static size_t body_len;

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "X-Request-Id", "00000000-0000000000000000");
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, body_len);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void on_signal(evutil_socket_t sig, short what, void *base)
{
    (void)sig, (void)what;
    event_base_loopexit(base, NULL);
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0", *path = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--listen") == 0)
            listen = argv[i + 1];
        else if (strcmp(argv[i], "--body") == 0)
            path = argv[i + 1];
    }
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (f == NULL) {
        fprintf(stderr, "usage: bench-bare [--listen HOST:PORT] --body FILE\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    body = malloc(n > 0 ? (size_t)n : 1);
    body_len = n > 0 ? fread(body, 1, (size_t)n, f) : 0;
    fclose(f);

    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
        return 2;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, on_request, NULL);
    struct evhttp_bound_socket *bs =
        evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)atoi(colon + 1));
    if (bs == NULL) {
        fprintf(stderr, "bench-bare: cannot listen on %s\n", listen);
        return 1;
    }
    evutil_socket_t fd = evhttp_bound_socket_get_fd(bs);
    int one = 1; /* as compstatd does: no delayed-ACK stalls on split writes */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    fprintf(stderr, "listening on %s:%d\n", host, ntohs(sin.sin_port));
    fflush(stderr);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    free(body);
    return 0;
}
