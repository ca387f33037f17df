/*
 * route.h -- request paths into segments, and route patterns against them.
 *
 * A path "/v1/units/A%2012/status" splits into decoded segments ("v1",
 * "units", "A 12", "status"); '+' stays '+' in a path (qs.h), a trailing
 * slash is ignored, an empty segment in the middle ("/a//b") is a segment
 * of its own. A pattern is a path whose segment "*" matches any one
 * non-empty segment; the pattern "" matches "/" alone (no segments).
 *
 * Ownership: route_split allocates the segments; route_free_segs frees them.
 */
#ifndef COMPSTAT_ROUTE_H
#define COMPSTAT_ROUTE_H

/*
 * Split path into at most max decoded segments (seg[0..*nseg)). Returns 0,
 * or -1 -- nothing left allocated, *nseg 0 -- when the path does not start
 * with '/', has more than max segments, a bad %-escape, an encoded NUL or
 * invalid UTF-8, or memory runs out.
 */
int route_split(const char *path, char **seg, int max, int *nseg);

/* Free seg[0..nseg). */
void route_free_segs(char **seg, int nseg);

/* 1 when the segments match pattern exactly, else 0. */
int route_match(const char *pattern, char *const *seg, int nseg);

#endif
