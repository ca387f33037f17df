/*
 * route.c -- see route.h.
 */
#include "route.h"

#include <stdlib.h>
#include <string.h>

#include "qs.h"

int route_split(const char *path, char **seg, int max, int *nseg)
{
    const char *p = path;
    int n = 0;
    *nseg = 0;
    if (*p != '/')
        return -1;
    while (*p) {
        p++; /* skip '/' */
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 && end == NULL)
            break; /* trailing slash */
        char *s = n < max ? malloc(len + 1) : NULL;
        if (s == NULL || qs_decode(p, len, 0, s) < 0) {
            free(s);
            route_free_segs(seg, n);
            return -1;
        }
        seg[n++] = s;
        p += len;
    }
    *nseg = n;
    return 0;
}

void route_free_segs(char **seg, int nseg)
{
    for (int i = 0; i < nseg; i++) {
        free(seg[i]);
        seg[i] = NULL;
    }
}

int route_match(const char *pattern, char *const *seg, int nseg)
{
    int i = 0;
    const char *p = pattern;
    while (*p) {
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int any = len == 1 && *p == '*';
        if (i >= nseg)
            return 0;
        if (any ? seg[i][0] == '\0' : strlen(seg[i]) != len || strncmp(seg[i], p, len) != 0)
            return 0;
        i++;
        p += len;
    }
    return i == nseg;
}
