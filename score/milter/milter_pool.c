/* The scoring workers. Scoring cannot be interrupted half-way (GMime,
 * ICU and MeCab hold state), so the time limit is kept on the waiting
 * side: the libmilter thread waits for its mail's decision with a timed
 * wait and, when the limit passes, answers at once (fail open) and leaves
 * the job to its worker, which frees it when done. The workers are a fixed
 * set, started once: a slow mail costs a worker for a while, never a
 * thread. Jobs queued or running, abandoned ones included, count against
 * max_jobs, so a flood of slow mail is refused fast instead of piling up.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "score/milter/milter_internal.h"

typedef struct pm__job {
  struct pm__job *next;
  char *raw;
  size_t len;
  pm__mdecision d;
  bool done;      /* d is filled */
  bool abandoned; /* the waiter left: the worker frees the job */
} pm__job;

struct pm__pool {
  pm__mfilter *f;
  pthread_mutex_t lock;
  pthread_cond_t work; /* a job queued, or stop */
  pthread_cond_t done; /* a job done (each waiter checks its own) */
  pm__job *head, *tail;
  unsigned jobs, max_jobs; /* queued + running */
  bool stop;
  pthread_t *threads;
  unsigned n_threads;
};

static void job_free(pm__job *j) {
  free(j->raw);
  free(j);
}

static pm__job *take(pm__pool *p) {
  pthread_mutex_lock(&p->lock);
  while (!p->head && !p->stop)
    pthread_cond_wait(&p->work, &p->lock);
  pm__job *j = p->head; /* after stop, the queue is still emptied */
  if (j) {
    p->head = j->next;
    if (!p->head)
      p->tail = NULL;
  }
  pthread_mutex_unlock(&p->lock);
  return j;
}

static void *worker(void *arg) {
  pm__pool *p = arg;
  /* this thread's scorers now, so that its first mail is not slower */
  for (size_t i = 0; i < p->f->n_tenants; i++) {
    pm_error err;
    pm_serve_host_prepare(p->f->host, p->f->tenants[i].name, &err);
  }
  pm__job *j;
  while ((j = take(p))) {
    pthread_mutex_lock(&p->lock);
    bool wanted = !j->abandoned; /* timed out in the queue: not scored */
    pthread_mutex_unlock(&p->lock);
    if (wanted)
      pm__mfilter_judge(p->f, j->raw, j->len, &j->d);
    pthread_mutex_lock(&p->lock);
    p->jobs--;
    bool gone = j->abandoned;
    j->done = true;
    pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->lock);
    if (gone)
      job_free(j);
  }
  return NULL; /* the thread's scorers go with it (pm_serve_host) */
}

static pm_status pool_alloc(pm__pool *p, pm_error *err) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca,
                            CLOCK_MONOTONIC); /* a clock step is no timeout */
  int rc = pthread_mutex_init(&p->lock, NULL);
  rc = rc ? rc : pthread_cond_init(&p->work, NULL);
  rc = rc ? rc : pthread_cond_init(&p->done, &ca);
  pthread_condattr_destroy(&ca);
  p->threads = calloc(p->n_threads, sizeof *p->threads);
  if (rc || !p->threads)
    return pm_error_set(err, PM_NOMEM, "milter: cannot set up the workers");
  return PM_OK;
}

pm_status pm__pool_start(pm__mfilter *f, unsigned workers, unsigned max_jobs,
                         pm__pool **out, pm_error *err) {
  pm__pool *p = calloc(1, sizeof *p);
  if (!p)
    return pm_error_set(err, PM_NOMEM, "milter: out of memory");
  p->f = f;
  p->max_jobs = max_jobs;
  p->n_threads = workers ? workers : 1;
  pm_status st = pool_alloc(p, err);
  /* the workers inherit this mask: a SIGTERM must reach libmilter's signal
   * thread, never end a worker with the default action */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  unsigned started = 0;
  while (st == PM_OK && started < p->n_threads &&
         pthread_create(&p->threads[started], NULL, worker, p) == 0)
    started++;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (st == PM_OK && started == 0)
    st = pm_error_set(err, PM_NOMEM, "milter: cannot start a worker");
  p->n_threads = started; /* fewer than asked still works */
  if (st != PM_OK) {
    pm__pool_stop(p);
    return st;
  }
  *out = p;
  return PM_OK;
}

static struct timespec deadline_after(unsigned ms) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

pm__pool_result pm__pool_judge(pm__pool *p, char *raw, size_t len,
                               unsigned limit_ms, pm__mdecision *d) {
  struct timespec until = deadline_after(limit_ms);
  pm__job *j = calloc(1, sizeof *j);
  if (!j) {
    free(raw);
    return PM__POOL_NOMEM;
  }
  j->raw = raw;
  j->len = len;
  pthread_mutex_lock(&p->lock);
  if (p->jobs >= p->max_jobs || p->stop) {
    pthread_mutex_unlock(&p->lock);
    job_free(j);
    return PM__POOL_BUSY;
  }
  p->jobs++;
  if (p->tail)
    p->tail->next = j;
  else
    p->head = j;
  p->tail = j;
  pthread_cond_signal(&p->work);
  int rc = 0;
  while (!j->done && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&p->done, &p->lock, &until);
  bool done = j->done;
  if (done)
    *d = j->d;
  else
    j->abandoned = true; /* the worker frees it (queued or running) */
  pthread_mutex_unlock(&p->lock);
  if (done)
    job_free(j);
  return done ? PM__POOL_DONE : PM__POOL_TIMEOUT;
}

void pm__pool_stop(pm__pool *p) {
  if (!p)
    return;
  if (p->threads) {
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_threads; i++)
      pthread_join(p->threads[i], NULL);
  }
  free(p->threads);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->done);
  free(p);
}
