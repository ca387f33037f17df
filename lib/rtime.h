/*
 * rtime.h -- response-time intervals and their histograms.
 *
 * Intervals (API.md "Response times"), in whole seconds, each defined only
 * where both of its ends are present:
 *   queue      received   -> dispatched
 *   travel     en_route   -> on_scene  (dispatched -> on_scene without en_route)
 *   response   received   -> on_scene
 *   on_scene   on_scene   -> cleared
 *   committed  first of dispatched, en_route, on_scene -> cleared
 *              (the time a unit was tied to the call: the workload report)
 *
 * The histogram is log-linear, like HdrHistogram with two significant
 * binary digits of 7 bits: values 0..255 have a bucket each (exact), and
 * every power of two above is split into 128 equal buckets, so a bucket
 * [lo, hi) has hi - lo <= lo / 128. A percentile is reported as the lower
 * edge of the bucket holding the nearest-rank value x (clamped to the exact
 * min and max), which is within x / 128 (< 0.8 %) below x, and exact for
 * x < 256 s. n, sum, min and max are kept exactly. Histograms merge by
 * adding counts, so any grouping of any cells is answered from them.
 *
 * Storage is 26 blocks of 128 counters, allocated when first touched: a
 * histogram of response times spanning seconds to hours holds ~8 blocks
 * (4 KiB). Pure C: no I/O, no globals.
 */
#ifndef COMPSTAT_RTIME_H
#define COMPSTAT_RTIME_H

#include <stdint.h>

enum rt_interval { RT_QUEUE, RT_TRAVEL, RT_RESPONSE, RT_ON_SCENE, RT_COMMITTED, RT_NINT };

/* "queue", "travel", "response", "on_scene", "committed". */
const char *rt_interval_name(int k);

/*
 * The intervals of an incident from its lifecycle instants (seconds since
 * the epoch; times[t] valid when bit t of times_set is set, t an enum
 * inc_time). Fills out[k] and returns the mask of intervals present (bit
 * k). An interval that would be negative or exceed UINT32_MAX seconds is
 * left out (validation makes that impossible for stored incidents).
 */
unsigned rt_intervals(const int64_t *times, unsigned times_set, uint32_t out[RT_NINT]);

#define RT_HIST_SUB 128    /* buckets per power of two */
#define RT_HIST_BLOCKS 26  /* 0..255 in two blocks, then one per power 2^8..2^31 */
#define RT_HIST_BUCKETS (RT_HIST_BLOCKS * RT_HIST_SUB)

typedef struct rt_hist {
    uint64_t n;   /* values added */
    uint64_t sum; /* their exact sum */
    uint32_t min, max; /* exact; meaningless while n == 0 */
    uint32_t *block[RT_HIST_BLOCKS];
} rt_hist;

/* The bucket of v, and the lowest value of a bucket. */
int rt_hist_bucket(uint32_t v);
uint32_t rt_hist_lower(int bucket);

/* Add count copies of v. 0, or -1 when out of memory (h unchanged). */
int rt_hist_add(rt_hist *h, uint32_t v, uint32_t count);
/* dst += src. 0, or -1 when out of memory (dst partly merged). */
int rt_hist_merge(rt_hist *dst, const rt_hist *src);

/*
 * The nearest-rank percentile: the value of rank ceil(p * n / 100000) in
 * ascending order (at least 1), p in thousandths of a percent
 * (1..100000; 90 % is 90000), reported as described above. 0 when n == 0.
 */
uint32_t rt_hist_percentile(const rt_hist *h, uint32_t p_milli);

/* Free the blocks; h is empty again. */
void rt_hist_clear(rt_hist *h);

/*
 * Parse a percentile as given in a query ("90", "99.9", "50.125"):
 * 0 < p <= 100 with at most three decimals. Returns 0 with *p_milli set,
 * or -1.
 */
int rt_percentile_parse(const char *s, uint32_t *p_milli);

#endif
