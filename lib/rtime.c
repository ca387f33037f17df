/*
 * rtime.c -- see rtime.h.
 */
#include "rtime.h"

#include <stdlib.h>
#include <string.h>

#include "incident.h"

static const char *const interval_names[RT_NINT] = {"queue", "travel", "response", "on_scene",
                                                    "committed"};

const char *rt_interval_name(int k)
{
    return k >= 0 && k < RT_NINT ? interval_names[k] : "";
}

/* b - a when both are present and the difference fits; sets bit k. */
static unsigned span(const int64_t *times, unsigned set, int a, int b, uint32_t *out, int k)
{
    if (!(set & (1u << a)) || !(set & (1u << b)))
        return 0;
    int64_t d = times[b] - times[a];
    if (d < 0 || d > (int64_t)UINT32_MAX)
        return 0;
    out[k] = (uint32_t)d;
    return 1u << k;
}

unsigned rt_intervals(const int64_t *times, unsigned set, uint32_t out[RT_NINT])
{
    unsigned mask = 0;
    memset(out, 0, RT_NINT * sizeof *out);
    mask |= span(times, set, INC_T_RECEIVED, INC_T_DISPATCHED, out, RT_QUEUE);
    int from = (set & (1u << INC_T_EN_ROUTE)) ? INC_T_EN_ROUTE : INC_T_DISPATCHED;
    mask |= span(times, set, from, INC_T_ON_SCENE, out, RT_TRAVEL);
    mask |= span(times, set, INC_T_RECEIVED, INC_T_ON_SCENE, out, RT_RESPONSE);
    mask |= span(times, set, INC_T_ON_SCENE, INC_T_CLEARED, out, RT_ON_SCENE);
    int first = -1;
    for (int t = INC_T_DISPATCHED; t <= INC_T_ON_SCENE && first < 0; t++)
        if (set & (1u << t))
            first = t;
    if (first >= 0)
        mask |= span(times, set, first, INC_T_CLEARED, out, RT_COMMITTED);
    return mask;
}

/* ------------------------------------------------------------ histogram */

static int top_bit(uint32_t v)
{
    return 31 - __builtin_clz(v);
}

int rt_hist_bucket(uint32_t v)
{
    if (v < 2 * RT_HIST_SUB)
        return (int)v;
    int k = top_bit(v); /* 8..31 */
    return 2 * RT_HIST_SUB + (k - 8) * RT_HIST_SUB + (int)((v >> (k - 7)) - RT_HIST_SUB);
}

uint32_t rt_hist_lower(int bucket)
{
    if (bucket < 2 * RT_HIST_SUB)
        return (uint32_t)bucket;
    int k = 8 + (bucket - 2 * RT_HIST_SUB) / RT_HIST_SUB;
    uint32_t sub = (uint32_t)((bucket - 2 * RT_HIST_SUB) % RT_HIST_SUB);
    return (RT_HIST_SUB + sub) << (k - 7);
}

static uint32_t *counter(rt_hist *h, int bucket)
{
    int b = bucket / RT_HIST_SUB;
    if (h->block[b] == NULL && (h->block[b] = calloc(RT_HIST_SUB, sizeof(uint32_t))) == NULL)
        return NULL;
    return &h->block[b][bucket % RT_HIST_SUB];
}

static void note(rt_hist *h, uint32_t v, uint32_t count, uint64_t sum)
{
    if (h->n == 0 || v < h->min)
        h->min = v;
    if (h->n == 0 || v > h->max)
        h->max = v;
    h->n += count;
    h->sum += sum;
}

int rt_hist_add(rt_hist *h, uint32_t v, uint32_t count)
{
    if (count == 0)
        return 0;
    uint32_t *c = counter(h, rt_hist_bucket(v));
    if (c == NULL)
        return -1;
    *c += count;
    note(h, v, count, (uint64_t)v * count);
    return 0;
}

int rt_hist_merge(rt_hist *dst, const rt_hist *src)
{
    if (src->n == 0)
        return 0;
    for (int b = 0; b < RT_HIST_BLOCKS; b++) {
        if (src->block[b] == NULL)
            continue;
        if (dst->block[b] == NULL &&
            (dst->block[b] = calloc(RT_HIST_SUB, sizeof(uint32_t))) == NULL)
            return -1;
        for (int i = 0; i < RT_HIST_SUB; i++)
            dst->block[b][i] += src->block[b][i];
    }
    if (dst->n == 0 || src->min < dst->min)
        dst->min = src->min;
    if (dst->n == 0 || src->max > dst->max)
        dst->max = src->max;
    dst->n += src->n;
    dst->sum += src->sum;
    return 0;
}

uint32_t rt_hist_percentile(const rt_hist *h, uint32_t p_milli)
{
    if (h->n == 0)
        return 0;
    if (p_milli > 100000)
        p_milli = 100000;
    /* ceil(p * n / 100000) without floating point. */
    uint64_t rank = (h->n * (uint64_t)p_milli + 99999) / 100000;
    if (rank <= 1)
        return h->min;
    if (rank >= h->n)
        return h->max;
    uint64_t seen = 0;
    for (int b = 0; b < RT_HIST_BLOCKS; b++) {
        if (h->block[b] == NULL)
            continue;
        for (int i = 0; i < RT_HIST_SUB; i++) {
            seen += h->block[b][i];
            if (seen >= rank) {
                uint32_t v = rt_hist_lower(b * RT_HIST_SUB + i);
                return v < h->min ? h->min : v > h->max ? h->max : v;
            }
        }
    }
    return h->max; /* not reached: the counters add up to n */
}

void rt_hist_clear(rt_hist *h)
{
    for (int b = 0; b < RT_HIST_BLOCKS; b++)
        free(h->block[b]);
    memset(h, 0, sizeof *h);
}

int rt_percentile_parse(const char *s, uint32_t *p_milli)
{
    uint64_t whole = 0, frac = 0;
    int nwhole = 0, nfrac = 0;
    const char *c = s;
    for (; *c >= '0' && *c <= '9'; c++) {
        if (++nwhole > 3)
            return -1;
        whole = whole * 10 + (uint64_t)(*c - '0');
    }
    if (*c == '.') {
        for (c++; *c >= '0' && *c <= '9'; c++) {
            if (++nfrac > 3)
                return -1;
            frac = frac * 10 + (uint64_t)(*c - '0');
        }
        if (nfrac == 0)
            return -1;
    }
    if (*c != '\0' || nwhole == 0)
        return -1;
    for (int i = nfrac; i < 3; i++)
        frac *= 10;
    uint64_t p = whole * 1000 + frac;
    if (p == 0 || p > 100000)
        return -1;
    *p_milli = (uint32_t)p;
    return 0;
}
