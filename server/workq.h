/*
 * workq.h -- slow work off the event loop: a few worker threads and a
 * hand-off back to the loop.
 *
 * The loop submits a job (run, done, arg). A worker thread calls run(arg);
 * then the loop calls done(arg) -- on the loop thread, from an event, in
 * the order jobs finish. run must touch nothing the loop changes: it gets
 * everything it reads in arg (copies, or data that stays frozen while the
 * job holds it, e.g. lib/spatial.h's views), and writes only into arg.
 * The hand-off (a mutex around two lists and a pipe the loop watches)
 * orders everything run wrote before done reads it.
 *
 * Threads start at the first submit and block signals (the loop's
 * handlers stay on the loop thread).
 */
#ifndef COMPSTAT_WORKQ_H
#define COMPSTAT_WORKQ_H

#include <stddef.h>

#include <event2/event.h>

typedef struct workq workq;

/* A queue with nthreads workers (>= 1). NULL out of memory. */
workq *workq_new(struct event_base *base, int nthreads);

/*
 * Queue a job. drop(arg) is called instead of done(arg) for a job that
 * workq_free finds unfinished (or finished but not yet handed back).
 * Returns 0, or -1 (threads or pipe could not be made, out of memory:
 * nothing queued, no callback will run).
 */
int workq_submit(workq *q, void (*run)(void *arg), void (*done)(void *arg),
                 void (*drop)(void *arg), void *arg);

/* Jobs submitted whose done has not run yet (queued, running or finished). */
size_t workq_jobs(const workq *q);

/*
 * Stop: wait for the jobs running now, drop the others, join the threads,
 * free everything. For the end of the process, after the loop stopped.
 */
void workq_free(workq *q);

#endif
