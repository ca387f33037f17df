/*
 * clock.h -- the monotonic clock every part of the daemon times itself by.
 *
 * Durations (request latency, commit round trips, loads, rebuilds) are
 * measured on CLOCK_MONOTONIC: a wall-clock step (NTP, an operator) must not
 * make one negative. Wall time (timestamps in answers) is time(2)'s.
 */
#ifndef COMPSTAT_CLOCK_H
#define COMPSTAT_CLOCK_H

#include <stdint.h>

/* Nanoseconds on the monotonic clock (an arbitrary origin). */
uint64_t clock_now_ns(void);

#endif
