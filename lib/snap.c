/*
 * snap.c -- see snap.h.
 */
#include "snap.h"

#include <stdlib.h>
#include <string.h>

void snap_put(snap_out *o, const void *p, size_t n)
{
    if (o->failed || n == 0)
        return;
    if (o->write(o->arg, p, n) != 0)
        o->failed = 1;
}

void snap_u32(snap_out *o, uint32_t v)
{
    snap_put(o, &v, sizeof v);
}

void snap_i32(snap_out *o, int32_t v)
{
    snap_put(o, &v, sizeof v);
}

void snap_i64(snap_out *o, int64_t v)
{
    snap_put(o, &v, sizeof v);
}

void snap_u64(snap_out *o, uint64_t v)
{
    snap_put(o, &v, sizeof v);
}

void snap_f64(snap_out *o, double v)
{
    snap_put(o, &v, sizeof v);
}

void snap_str(snap_out *o, const char *s)
{
    size_t n = strlen(s);
    snap_u32(o, (uint32_t)n);
    snap_put(o, s, n);
}

void snap_in_init(snap_in *in, const void *buf, size_t n)
{
    in->p = buf;
    in->end = in->p + n;
    in->failed = 0;
}

void snap_fail(snap_in *in)
{
    in->failed = 1;
}

int snap_get(snap_in *in, void *p, size_t n)
{
    if (in->failed || (size_t)(in->end - in->p) < n) {
        in->failed = 1;
        memset(p, 0, n);
        return -1;
    }
    memcpy(p, in->p, n);
    in->p += n;
    return 0;
}

uint32_t snap_get_u32(snap_in *in)
{
    uint32_t v;
    snap_get(in, &v, sizeof v);
    return v;
}

int32_t snap_get_i32(snap_in *in)
{
    int32_t v;
    snap_get(in, &v, sizeof v);
    return v;
}

int64_t snap_get_i64(snap_in *in)
{
    int64_t v;
    snap_get(in, &v, sizeof v);
    return v;
}

uint64_t snap_get_u64(snap_in *in)
{
    uint64_t v;
    snap_get(in, &v, sizeof v);
    return v;
}

double snap_get_f64(snap_in *in)
{
    double v;
    snap_get(in, &v, sizeof v);
    return v;
}

char *snap_get_str(snap_in *in, size_t max)
{
    uint32_t n = snap_get_u32(in);
    if (in->failed || n > max || (size_t)(in->end - in->p) < n) {
        in->failed = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (s == NULL) {
        in->failed = 1;
        return NULL;
    }
    memcpy(s, in->p, n);
    s[n] = '\0';
    in->p += n;
    return s;
}

void *snap_get_array(snap_in *in, size_t count, size_t size)
{
    size_t left = (size_t)(in->end - in->p);
    if (in->failed || size == 0 || count > left / size) {
        in->failed = 1;
        return NULL;
    }
    size_t n = count * size;
    void *a = malloc(n ? n : 1);
    if (a == NULL) {
        in->failed = 1;
        return NULL;
    }
    memcpy(a, in->p, n);
    in->p += n;
    return a;
}
