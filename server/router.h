/*
 * router.h -- the route table and what the router needs from above it.
 *
 * Part of the composition root (with main.c): the one place that names
 * every route handler, says per route who may call it, what it needs to
 * be loaded, its audit action and its metric name, and hands the router
 * (http.c) its hooks -- readiness from the loaders, authentication from
 * auth, the dashboard's files from web.
 */
#ifndef COMPSTAT_ROUTER_H
#define COMPSTAT_ROUTER_H

#include <event2/http.h>

/* Install the routes and the hooks on http (http_setup). */
void router_setup(struct evhttp *http);

#endif
