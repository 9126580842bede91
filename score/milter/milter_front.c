/* The milter's front (see milter_internal.h): the public socket is ours,
 * and libmilter listens on a private one behind it. libmilter gives each
 * connection a thread that reads a command with one timeout per read, so
 * a peer sending a byte a second held a thread as long as it liked, and a
 * new connection handed to that thread waited behind it. Here one thread
 * reads every peer without blocking, keeps a command until it is whole
 * (within the timeout from its first byte, else the peer is closed) and
 * only then passes it on: libmilter sees whole commands, at once, and a
 * connection only once it has sent one. Answers go back as they come. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "score/milter/milter_internal.h"

/* libmilter's largest command (MILTER_MAX_DATA_SIZE, plus the command
 * byte): a longer one is refused by it as by us */
#define MAX_COMMAND ((size_t)65535 + 1)
/* answers not yet taken by the peer: past this, libmilter is not read
 * (its own write timeout then ends the session) */
#define MAX_PENDING ((size_t)1 << 20)

typedef struct {
  int peer, inner; /* inner: -1 until the first whole command */
  pm__buf in;      /* from the peer: at most one command not yet whole */
  pm__buf to_inner, to_peer; /* whole commands, answers: not yet written */
  double opened, partial_since, pending_since; /* 0: none */
  uint32_t gen; /* tells this connection's events from an earlier one's
                   in the same slot */
} conn;

struct pm__mfront {
  int listener, ep, wake, reserve;
  char *public_path; /* the unix socket made, unlinked at the end */
  struct sockaddr_un inner;
  unsigned timeout_s;
  size_t max_conns, n_conns, n_inner;
  size_t fd_budget; /* descriptors the connections may take */
  uint32_t next_gen;
  double paused_until; /* the listener out of the wait set until then */
  conn **conns;        /* slot i: NULL when free */
  FILE *log;
  double last_shed_log, last_bad_log;
  pthread_t thread;
  bool started;
};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* epoll's word: the connection's generation (31 bits), its slot, and
 * which side; the listener and the wake fd have words no connection's is.
 * A slot freed and taken again within one batch of events gets events of
 * its old connection: the generation tells them apart. */
#define SIDE_INNER 1u
#define TAG_LISTENER UINT64_MAX
#define TAG_WAKE (UINT64_MAX - 1)

static uint64_t tag_of(const conn *c, size_t slot, unsigned side) {
  return (uint64_t)(c->gen & 0x7fffffffu) << 32 | (uint64_t)slot << 1 | side;
}

static void watch(pm__mfront *f, int fd, uint64_t tag, uint32_t events,
                  int op) {
  struct epoll_event ev = {.events = events, .data.u64 = tag};
  (void)epoll_ctl(f->ep, op, fd, &ev);
}

static void conn_close(pm__mfront *f, size_t slot) {
  conn *c = f->conns[slot];
  if (!c)
    return;
  close(c->peer); /* leaves the epoll set with it */
  if (c->inner >= 0) {
    close(c->inner);
    f->n_inner--;
  }
  free(c->in.data);
  free(c->to_inner.data);
  free(c->to_peer.data);
  free(c);
  f->conns[slot] = NULL;
  f->n_conns--;
}

/* Writes what it can of b to fd; false when fd is gone. */
static bool flush(int fd, pm__buf *b) {
  size_t done = 0;
  while (done < b->len) {
    ssize_t w = send(fd, b->data + done, b->len - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (w <= 0)
      return false;
    done += (size_t)w;
  }
  if (done > 0) /* (an empty buffer may have no data at all) */
    memmove(b->data, b->data + done, b->len - done);
  b->len -= done;
  return true;
}

/* The events each side waits for: the peer's input while its command
 * buffer and libmilter's backlog are bounded, output when pending. */
static void rewatch(pm__mfront *f, size_t slot) {
  conn *c = f->conns[slot];
  uint32_t pe = (c->to_inner.len < MAX_COMMAND ? EPOLLIN : 0) |
                (c->to_peer.len ? EPOLLOUT : 0) | EPOLLRDHUP;
  watch(f, c->peer, tag_of(c, slot, 0), pe, EPOLL_CTL_MOD);
  if (c->inner >= 0) {
    uint32_t ie = (c->to_peer.len < MAX_PENDING ? EPOLLIN : 0) |
                  (c->to_inner.len ? EPOLLOUT : 0) | EPOLLRDHUP;
    watch(f, c->inner, tag_of(c, slot, SIDE_INNER), ie, EPOLL_CTL_MOD);
  }
}

static bool connect_inner(pm__mfront *f, size_t slot) {
  conn *c = f->conns[slot];
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  int rc;
  while ((rc = connect(fd, (const struct sockaddr *)&f->inner,
                       sizeof f->inner)) < 0 &&
         errno == EINTR)
    ;
  if (rc < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
    close(fd);
    return false;
  }
  c->inner = fd;
  f->n_inner++;
  watch(f, fd, tag_of(c, slot, SIDE_INNER), EPOLLIN | EPOLLRDHUP,
        EPOLL_CTL_ADD);
  return true;
}

static void log_bad(pm__mfront *f, const char *what, unsigned long n) {
  double t = now_s();
  if (t - f->last_bad_log < 60.0)
    return;
  f->last_bad_log = t;
  pm__mlog(f->log,
           "front: %s (%lu bytes); connection closed (logged at most once a "
           "minute)",
           what, n);
}

/* Moves the whole commands at the head of c->in to libmilter's side;
 * false when the connection is to end. */
static bool pass_whole(pm__mfront *f, size_t slot) {
  conn *c = f->conns[slot];
  size_t at = 0;
  while (c->in.len - at >= 4) {
    const unsigned char *p = (const unsigned char *)c->in.data + at;
    size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
               (size_t)p[3];
    if (n == 0 || n > MAX_COMMAND) {
      log_bad(f, "a milter command of an impossible length", n);
      return false;
    }
    if (c->in.len - at < 4 + n)
      break;
    if (!pm__buf_append(&c->to_inner, p, 4 + n))
      return false;
    at += 4 + n;
  }
  if (at > 0)
    memmove(c->in.data, c->in.data + at, c->in.len - at);
  c->in.len -= at;
  double t = now_s();
  if (c->in.len == 0)
    c->partial_since = 0;
  else if (at > 0 || c->partial_since == 0)
    c->partial_since = t; /* a new command begun */
  if (c->to_inner.len && c->inner < 0 && !connect_inner(f, slot))
    return false;
  return c->inner < 0 || flush(c->inner, &c->to_inner);
}

static bool from_peer(pm__mfront *f, size_t slot) {
  conn *c = f->conns[slot];
  char b[16384];
  for (;;) {
    if (c->in.len >= 4 + MAX_COMMAND || c->to_inner.len >= MAX_COMMAND)
      break; /* libmilter is behind: read on when it has caught up */
    ssize_t r = recv(c->peer, b, sizeof b, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (r <= 0) { /* the peer is done: what it sent whole still goes */
      if (pass_whole(f, slot) && c->inner >= 0)
        (void)flush(c->inner, &c->to_inner);
      return false;
    }
    if (!pm__buf_append(&c->in, b, (size_t)r) || !pass_whole(f, slot))
      return false;
  }
  return true;
}

static bool from_inner(pm__mfront *f, size_t slot) {
  conn *c = f->conns[slot];
  char b[16384];
  while (c->to_peer.len < MAX_PENDING) {
    ssize_t r = recv(c->inner, b, sizeof b, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (r <= 0) { /* libmilter ended the session: its last words go */
      (void)flush(c->peer, &c->to_peer);
      return false;
    }
    if (!pm__buf_append(&c->to_peer, b, (size_t)r))
      return false;
  }
  if (!flush(c->peer, &c->to_peer))
    return false;
  c->pending_since =
      c->to_peer.len ? (c->pending_since ? c->pending_since : now_s()) : 0;
  return true;
}

static void log_shed(pm__mfront *f) {
  double t = now_s();
  if (t - f->last_shed_log >= 60.0) {
    f->last_shed_log = t;
    pm__mlog(f->log, "front: no descriptor or slot for a new connection; "
                     "closed (logged at most once a minute)");
  }
}

/* Descriptors in use by the connections: a peer's, and once it has sent a
 * whole command the front's to libmilter and libmilter's own. */
static size_t fds_in_use(const pm__mfront *f) {
  return f->n_conns + 2 * f->n_inner;
}

/* A connection is taken while a peer that turns active still fits in the
 * descriptor budget, so that neither the front nor libmilter meets the
 * limit; past it, one is taken and closed at once. Should the limit come
 * anyway (descriptors taken elsewhere in the process), a spare descriptor
 * is given up for a moment to take one and close it, and failing that the
 * listener rests 100 ms: a connection left in the queue would wake every
 * wait at once. */
static void take_new(pm__mfront *f) {
  for (;;) {
    bool room = f->n_conns < f->max_conns && fds_in_use(f) + 3 <= f->fd_budget;
    int fd = accept4(f->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
      if (f->reserve >= 0) {
        close(f->reserve);
        fd = accept4(f->listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
          close(fd);
        f->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      if (fd < 0) {
        (void)epoll_ctl(f->ep, EPOLL_CTL_DEL, f->listener, NULL);
        f->paused_until = now_s() + 0.1;
      }
      log_shed(f);
      return;
    }
    if (fd < 0)
      return; /* EAGAIN, or an error of that one connection */
    size_t slot = 0;
    while (room && slot < f->max_conns && f->conns[slot])
      slot++;
    conn *c = room && slot < f->max_conns ? calloc(1, sizeof *c) : NULL;
    if (!c) {
      close(fd);
      log_shed(f);
      continue;
    }
    c->peer = fd;
    c->inner = -1;
    c->opened = now_s();
    c->gen = f->next_gen++;
    f->conns[slot] = c;
    f->n_conns++;
    watch(f, fd, tag_of(c, slot, 0), EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
  }
}

/* A command not whole, answers not taken, or nothing sent at all, for
 * longer than the timeout: the peer is closed. */
static void expire(pm__mfront *f) {
  double t = now_s(), limit = (double)f->timeout_s;
  for (size_t i = 0; i < f->max_conns; i++) {
    conn *c = f->conns[i];
    if (c && ((c->partial_since && t - c->partial_since > limit) ||
              (c->pending_since && t - c->pending_since > limit) ||
              (c->inner < 0 && c->in.len == 0 && t - c->opened > limit)))
      conn_close(f, i);
  }
}

static void *front_loop(void *arg) {
  pm__mfront *f = arg;
  struct epoll_event ev[64];
  double next_expire = 0;
  for (;;) {
    int n = epoll_wait(f->ep, ev, 64, 250);
    if (n < 0 && errno != EINTR)
      break;
    for (int i = 0; i < n; i++) {
      uint64_t tag = ev[i].data.u64;
      if (tag == TAG_WAKE)
        return NULL;
      if (tag == TAG_LISTENER) {
        take_new(f);
        continue;
      }
      size_t slot = (size_t)((tag & 0xffffffffu) >> 1);
      conn *c = slot < f->max_conns ? f->conns[slot] : NULL;
      if (!c || (c->gen & 0x7fffffffu) != (uint32_t)(tag >> 32))
        continue; /* closed earlier in this round (the slot maybe taken) */
      bool ok = true;
      if (tag & SIDE_INNER) {
        if (ev[i].events & EPOLLOUT)
          ok = flush(c->inner, &c->to_inner);
        if (ok && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
          ok = from_inner(f, slot);
      } else {
        if (ev[i].events & EPOLLOUT) {
          ok = flush(c->peer, &c->to_peer);
          if (!c->to_peer.len)
            c->pending_since = 0;
        }
        if (ok && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
          ok = from_peer(f, slot);
      }
      if (ok)
        rewatch(f, slot);
      else
        conn_close(f, slot);
    }
    double t = now_s();
    if (t >= next_expire) {
      expire(f);
      next_expire = t + 0.25;
    }
    if (f->paused_until && t >= f->paused_until) {
      f->paused_until = 0;
      watch(f, f->listener, TAG_LISTENER, EPOLLIN, EPOLL_CTL_ADD);
    }
  }
  return NULL;
}

/* libmilter's socket syntax: unix:PATH, local:PATH, a bare /PATH,
 * inet:PORT[@HOST], inet6:PORT[@HOST]. */
static int open_listener(pm__mfront *f, const char *spec, pm_error *err,
                         pm_status *rc) {
  const char *path = NULL;
  if (!strncmp(spec, "unix:", 5) || !strncmp(spec, "local:", 6))
    path = strchr(spec, ':') + 1;
  else if (spec[0] == '/')
    path = spec;
  int fd = -1;
  if (path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
      *rc = pm_error_set(err, PM_INVAL, "milter: socket path '%s' too long",
                         path);
      return -1;
    }
    strcpy(a.sun_path, path);
    unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0) {
      f->public_path = strdup(path);
      if (listen(fd, 4096) == 0 && f->public_path)
        return fd;
    }
  } else {
    bool six = !strncmp(spec, "inet6:", 6);
    if (!six && strncmp(spec, "inet:", 5)) {
      *rc = pm_error_set(err, PM_INVAL,
                         "milter: socket '%s': expected unix:PATH, "
                         "inet:PORT@HOST or inet6:PORT@HOST",
                         spec);
      return -1;
    }
    char port[16] = "", host[256] = "";
    const char *p = strchr(spec, ':') + 1, *at = strchr(p, '@');
    size_t pl = at ? (size_t)(at - p) : strlen(p);
    if (pl == 0 || pl >= sizeof port || (at && strlen(at + 1) >= sizeof host)) {
      *rc = pm_error_set(err, PM_INVAL, "milter: socket '%s': bad port or host",
                         spec);
      return -1;
    }
    memcpy(port, p, pl);
    if (at)
      strcpy(host, at + 1);
    struct addrinfo hints = {.ai_family = six ? AF_INET6 : AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *ai = NULL;
    if (getaddrinfo(at ? host : NULL, port, &hints, &ai) == 0 && ai) {
      fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      int one = 1;
      if (fd >= 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
          listen(fd, 4096) == 0) {
        freeaddrinfo(ai);
        return fd;
      }
    }
    if (ai)
      freeaddrinfo(ai);
  }
  int e = errno;
  if (fd >= 0)
    close(fd);
  *rc = pm_error_set(err, PM_IO, "milter: cannot listen on '%s': %s", spec,
                     strerror(e));
  return -1;
}

pm_status pm__mfront_start(const char *spec, const char *inner_path,
                           unsigned timeout_s, size_t max_conns, FILE *log,
                           pm__mfront **out, pm_error *err) {
  *out = NULL;
  pm__mfront *f = calloc(1, sizeof *f);
  if (!f)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  f->listener = f->ep = f->wake = f->reserve = -1;
  f->timeout_s = timeout_s ? timeout_s : 1;
  f->max_conns = max_conns;
  f->log = log;
  /* as many descriptors as allowed; the process's own (stores, log,
   * libmilter's threads and sockets) keep a margin */
  struct rlimit rl;
  size_t nofile = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      (void)setrlimit(RLIMIT_NOFILE, &rl);
      (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < ((rlim_t)1 << 30))
      nofile = (size_t)rl.rlim_cur;
    else
      nofile = (size_t)1 << 20;
  }
  f->fd_budget = nofile > 64 ? nofile - 48 : nofile / 4;
  f->inner.sun_family = AF_UNIX;
  pm_status rc = PM_OK;
  if (strlen(inner_path) >= sizeof f->inner.sun_path)
    rc = pm_error_set(err, PM_INVAL, "milter: '%s' too long", inner_path);
  else
    strcpy(f->inner.sun_path, inner_path);
  f->conns = calloc(max_conns ? max_conns : 1, sizeof *f->conns);
  if (rc == PM_OK && !f->conns)
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
  if (rc == PM_OK)
    f->listener = open_listener(f, spec, err, &rc);
  if (rc == PM_OK) {
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    f->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (f->ep < 0 || f->wake < 0 || f->reserve < 0)
      rc = pm_error_set(err, PM_IO, "milter: front: %s", strerror(errno));
  }
  if (rc == PM_OK) {
    watch(f, f->listener, TAG_LISTENER, EPOLLIN, EPOLL_CTL_ADD);
    watch(f, f->wake, TAG_WAKE, EPOLLIN, EPOLL_CTL_ADD);
    if (pthread_create(&f->thread, NULL, front_loop, f) != 0)
      rc = pm_error_set(err, PM_NOMEM, "milter: front: no thread");
    else
      f->started = true;
  }
  if (rc != PM_OK) {
    pm__mfront_stop(f);
    return rc;
  }
  *out = f;
  return PM_OK;
}

void pm__mfront_stop(pm__mfront *f) {
  if (!f)
    return;
  if (f->started) {
    uint64_t one = 1;
    if (write(f->wake, &one, sizeof one) == sizeof one)
      pthread_join(f->thread, NULL);
  }
  for (size_t i = 0; f->conns && i < f->max_conns; i++)
    conn_close(f, i);
  free(f->conns);
  int fds[] = {f->listener, f->ep, f->wake, f->reserve};
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  if (f->public_path)
    unlink(f->public_path);
  free(f->public_path);
  free(f);
}
