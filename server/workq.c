/*
 * workq.c -- see workq.h.
 */
#include "workq.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct job {
    void (*run)(void *arg);
    void (*done)(void *arg);
    void (*drop)(void *arg);
    void *arg;
    struct job *next;
};

struct workq {
    struct event_base *base;
    int nthreads, started;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *todo, **todo_tail; /* FIFO, under mu */
    struct job *finished, **fin_tail;
    int stop;
    int pipe_rd, pipe_wr;
    struct event *ev;
    size_t jobs; /* loop's count: submitted, done not yet run */
};

static void *worker(void *arg)
{
    workq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->todo == NULL && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->stop)
            break;
        struct job *j = q->todo;
        q->todo = j->next;
        if (q->todo == NULL)
            q->todo_tail = &q->todo;
        pthread_mutex_unlock(&q->mu);

        j->run(j->arg);

        pthread_mutex_lock(&q->mu);
        j->next = NULL;
        *q->fin_tail = j;
        q->fin_tail = &j->next;
        /* One byte wakes the loop; a full pipe already will. */
        char c = 1;
        if (write(q->pipe_wr, &c, 1) < 0 && errno != EAGAIN)
            log_error("workq", "cannot wake the loop: %s", strerror(errno));
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* On the loop: hand finished jobs back, in the order they finished. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    workq *q = arg;
    char buf[256];
    while (read(q->pipe_rd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&q->mu);
    struct job *list = q->finished;
    q->finished = NULL;
    q->fin_tail = &q->finished;
    pthread_mutex_unlock(&q->mu);
    while (list) {
        struct job *j = list;
        list = j->next;
        q->jobs--;
        j->done(j->arg);
        free(j);
    }
}

workq *workq_new(struct event_base *base, int nthreads)
{
    workq *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    q->base = base;
    q->nthreads = nthreads > 0 ? nthreads : 1;
    q->todo_tail = &q->todo;
    q->fin_tail = &q->finished;
    q->pipe_rd = q->pipe_wr = -1;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    return q;
}

/* Pipe, event and threads, at the first submit. 0, or -1. */
static int start(workq *q)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    q->pipe_rd = fds[0];
    q->pipe_wr = fds[1];
    q->ev = event_new(q->base, q->pipe_rd, EV_READ | EV_PERSIST, on_wake, q);
    q->threads = calloc((size_t)q->nthreads, sizeof *q->threads);
    if (q->ev == NULL || q->threads == NULL || event_add(q->ev, NULL) != 0)
        return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < q->nthreads; i++) {
        if (pthread_create(&q->threads[i], NULL, worker, q) != 0)
            break;
        q->started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return q->started > 0 ? 0 : -1;
}

int workq_submit(workq *q, void (*run)(void *arg), void (*done)(void *arg),
                 void (*drop)(void *arg), void *arg)
{
    if (q->started == 0 && start(q) != 0) {
        log_error("workq", "cannot start worker threads");
        return -1;
    }
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return -1;
    j->run = run;
    j->done = done;
    j->drop = drop;
    j->arg = arg;
    pthread_mutex_lock(&q->mu);
    *q->todo_tail = j;
    q->todo_tail = &j->next;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    q->jobs++;
    return 0;
}

size_t workq_jobs(const workq *q)
{
    return q ? q->jobs : 0;
}

static void drop_list(struct job *list)
{
    while (list) {
        struct job *j = list;
        list = j->next;
        if (j->drop)
            j->drop(j->arg);
        free(j);
    }
}

void workq_free(workq *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < q->started; i++)
        pthread_join(q->threads[i], NULL);
    drop_list(q->todo);
    drop_list(q->finished);
    if (q->ev)
        event_free(q->ev);
    if (q->pipe_rd >= 0)
        close(q->pipe_rd);
    if (q->pipe_wr >= 0)
        close(q->pipe_wr);
    free(q->threads);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}
