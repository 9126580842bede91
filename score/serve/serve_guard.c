/* The guard against slow clients (see score/serve/serve_guard.h).
 *
 * A connection is closed with shutdown(2) from the guard's thread or the
 * thread that accepted a newer one: libmicrohttpd then sees the end of the
 * stream and closes it itself, on its own thread. The slot list is under
 * one lock, and libmicrohttpd reports a connection closed (pm__guard_closed)
 * before it closes the descriptor, so a descriptor the guard shuts down is
 * always the connection it belongs to, never a reused number. */
#include "score/serve/serve_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

typedef struct slot {
  struct slot *prev, *next;
  int fd;
  bool answering;   /* a request is in: no deadline */
  bool in_body;     /* its headers are in: the body is arriving */
  bool dropped;     /* shut down by the guard, not yet closed */
  int64_t since_ms; /* reading since */
  long pid, uid;    /* the peer, from the kernel */
} slot;

struct pm__guard {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  slot *head, *tail; /* oldest first */
  unsigned live;     /* open and not dropped */
  unsigned high_water;
  int64_t timeout_ms;
  const pm__log *log;
  pthread_t thread;
  bool started, stop;
  atomic_uint_fast64_t dropped;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pm_status pm__guard_new(unsigned max_connections, unsigned timeout_s,
                        const pm__log *log, pm__guard **out, pm_error *err) {
  pm__guard *g = calloc(1, sizeof *g);
  if (!g)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  if (pthread_mutex_init(&g->mu, NULL) != 0) {
    free(g);
    return pm_error_set(err, PM_NOMEM, "cannot make the guard's lock");
  }
  if (pthread_cond_init(&g->cv, NULL) != 0) {
    pthread_mutex_destroy(&g->mu);
    free(g);
    return pm_error_set(err, PM_NOMEM, "cannot make the guard's condition");
  }
  unsigned headroom = max_connections / 8 ? max_connections / 8 : 1;
  g->high_water = max_connections > headroom ? max_connections - headroom : 1;
  /* a second past the idle timeout: libmicrohttpd closes idle connections
   * itself (quietly); what is left past it is trickling bytes in */
  g->timeout_ms = (int64_t)timeout_s * 1000 + 1000;
  g->log = log;
  atomic_init(&g->dropped, 0);
  *out = g;
  return PM_OK;
}

/* Shuts a connection down (lock held). */
static void drop(pm__guard *g, slot *s, const char *why, int64_t now) {
  s->dropped = true;
  g->live--;
  shutdown(s->fd, SHUT_RDWR);
  atomic_fetch_add(&g->dropped, 1);
  pm__log_printf(g->log, PM_LOG_WARN,
                 "connection closed (pid %ld uid %ld): %s after %lld ms "
                 "without a whole request",
                 s->pid, s->uid, why, (long long)(now - s->since_ms));
}

/* Whether bytes the client sent wait on the socket, unread. */
static int has_input(int fd) {
  int n = 0;
  return fd >= 0 && ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

static void *guard_main(void *arg) {
  pm__guard *g = arg;
  pthread_mutex_lock(&g->mu);
  while (!g->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    if (g->stop)
      break;
    int64_t now = now_ms();
    for (slot *s = g->head; s; s = s->next)
      if (!s->answering && !s->dropped && now - s->since_ms >= g->timeout_ms)
        drop(g, s, "timed out", now);
    pthread_mutex_unlock(&g->mu);
    pm__log_flush(g->log, false);
    pthread_mutex_lock(&g->mu);
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

pm_status pm__guard_start(pm__guard *g, pm_error *err) {
  int e = pthread_create(&g->thread, NULL, guard_main, g);
  if (e != 0)
    return pm_error_set(err, PM_INTERNAL, "cannot start the guard thread: %s",
                        strerror(e));
  g->started = true;
  return PM_OK;
}

void pm__guard_free(pm__guard *g) {
  if (!g)
    return;
  if (g->started) {
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
  }
  for (slot *s = g->head, *n; s; s = n) {
    n = s->next;
    free(s);
  }
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

void pm__guard_opened(pm__guard *g, int fd, void **out) {
  *out = NULL;
  slot *s = calloc(1, sizeof *s);
  if (!s)
    return; /* unguarded: libmicrohttpd's idle timeout still holds */
  s->fd = fd;
  s->since_ms = now_ms();
  struct ucred uc;
  socklen_t len = sizeof uc;
  if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
    s->pid = (long)uc.pid;
    s->uid = (long)uc.uid;
  } else {
    s->pid = s->uid = -1;
  }
  pthread_mutex_lock(&g->mu);
  s->prev = g->tail;
  if (g->tail)
    g->tail->next = s;
  else
    g->head = s;
  g->tail = s;
  g->live++;
  if (g->live > g->high_water) {
    /* make room: the connection idle (or reading headers) longest goes;
     * one whose request is arriving (its body, or bytes not read yet)
     * only when there is no such */
    slot *victim = NULL;
    int victim_busy = 0;
    for (slot *o = g->head; o; o = o->next) {
      if (o == s || o->answering || o->dropped)
        continue;
      if (victim && victim_busy == 0 && o->since_ms >= victim->since_ms)
        continue; /* cannot win: no system call for it */
      int busy = o->in_body || has_input(o->fd);
      if (!victim || busy < victim_busy ||
          (busy == victim_busy && o->since_ms < victim->since_ms)) {
        victim = o;
        victim_busy = busy;
      }
    }
    if (victim)
      drop(g, victim, "too many connections, the longest reading closed",
           now_ms());
  }
  pthread_mutex_unlock(&g->mu);
  *out = s;
}

void pm__guard_closed(pm__guard *g, void **p) {
  slot *s = *p;
  if (!s)
    return;
  pthread_mutex_lock(&g->mu);
  if (s->prev)
    s->prev->next = s->next;
  else
    g->head = s->next;
  if (s->next)
    s->next->prev = s->prev;
  else
    g->tail = s->prev;
  if (!s->dropped)
    g->live--;
  pthread_mutex_unlock(&g->mu);
  free(s);
  *p = NULL;
}

void pm__guard_answering(pm__guard *g, void *p) {
  slot *s = p;
  if (!s)
    return;
  pthread_mutex_lock(&g->mu);
  s->answering = true;
  pthread_mutex_unlock(&g->mu);
}

void pm__guard_headers_in(pm__guard *g, void *p) {
  slot *s = p;
  if (!s)
    return;
  pthread_mutex_lock(&g->mu);
  s->in_body = true;
  pthread_mutex_unlock(&g->mu);
}

void pm__guard_request_done(pm__guard *g, void *p) {
  slot *s = p;
  if (!s)
    return;
  pthread_mutex_lock(&g->mu);
  s->answering = false;
  s->in_body = false;
  s->since_ms = now_ms();
  pthread_mutex_unlock(&g->mu);
}

uint64_t pm__guard_dropped(const pm__guard *g) {
  return g ? atomic_load(&((pm__guard *)g)->dropped) : 0;
}
