/* The daemon's lifecycle: start (configuration, socket, workers, store
 * checker), reload on SIGHUP, graceful stop, and pm_serve_run, the main
 * loop that turns signals into those (see include/penmark/serve.h). */
#include "penmark/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "penmark/config.h"
#include "penmark/penmark.h"
#include "score/serve/serve_internal.h"
#include "score/serve/serve_socket.h"
#include "score/serve/serve_worker.h"

/* Extra time, beyond the request timeout, that a stop waits for requests
 * in flight before closing them anyway. */
#define STOP_GRACE_S 5

void pm_serve_opts_default(pm_serve_opts *o) {
  memset(o, 0, sizeof *o);
  o->max_bytes = PM_SERVE_MAX_BYTES_DEFAULT;
  o->max_buffered = PM_SERVE_MAX_BUFFERED_DEFAULT;
  o->socket_mode = PM_SERVE_SOCKET_MODE_DEFAULT;
  o->max_connections = PM_SERVE_MAX_CONNECTIONS_DEFAULT;
  o->timeout_s = PM_SERVE_TIMEOUT_DEFAULT;
  o->drain_s = 2;
}

/* libmicrohttpd's own complaints (a connection it could not accept...). */
static void mhd_logger(void *cls, const char *fmt, va_list ap) {
  pm_serve *s = cls;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  pm__log_printf(&s->log, PM_LOG_WARN, "http: %s", msg);
}

static unsigned cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

/* Each connection holds a descriptor: warn when the limit is too low for
 * max_connections (and raise the soft limit to the hard one if that helps). */
static void check_fd_limit(pm_serve *s) {
  struct rlimit rl;
  rlim_t need = (rlim_t)s->opts.max_connections + 64;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
    return;
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
      return;
  }
  pm__log_printf(&s->log, PM_LOG_WARN,
                 "open file limit %llu is below max connections %u + 64: "
                 "connections beyond it will be refused",
                 (unsigned long long)rl.rlim_cur, s->opts.max_connections);
}

static pm_status check_opts(const pm_serve_opts *o, pm_error *err) {
  if (!o->socket_path || !*o->socket_path)
    return pm_error_set(err, PM_INVAL, "serve: no socket path");
  if (!o->store_dir || !*o->store_dir)
    return pm_error_set(err, PM_INVAL, "serve: no store directory");
  if (o->socket_mode > 0777)
    return pm_error_set(err, PM_INVAL, "serve: socket mode %o is not a mode",
                        o->socket_mode);
  if (o->threads > 1024)
    return pm_error_set(err, PM_INVAL, "serve: %u threads is too many",
                        o->threads);
  if (o->max_connections == 0 || o->timeout_s == 0)
    return pm_error_set(err, PM_INVAL,
                        "serve: max connections and timeout must be > 0");
  if (o->flag_rate != 0.0 && !(o->flag_rate > 0.0 && o->flag_rate <= 0.5))
    return pm_error_set(err, PM_INVAL,
                        "serve: flag rate %g is not a share in (0, 0.5]",
                        o->flag_rate);
  return PM_OK;
}

/* The options, completed with the defaults, and copies of the paths
 * (the caller's may go away); false when out of memory. */
static bool take_opts(pm_serve *s, const pm_serve_opts *opts) {
  s->opts = *opts;
  s->listen_fd = -1;
  atomic_init(&s->stopping, false);
  s->log.fn = opts->log ? opts->log : pm_serve_log_stderr;
  s->log.ctx = opts->log_ctx;
  s->log.limit = pm__log_limit_new(); /* NULL: unlimited, still correct */
  if (!s->opts.max_bytes)
    s->opts.max_bytes = PM_SERVE_MAX_BYTES_DEFAULT;
  if (!s->opts.max_buffered)
    s->opts.max_buffered = PM_SERVE_MAX_BUFFERED_DEFAULT;
  /* one mail of the largest size must always fit */
  if (s->opts.max_buffered < s->opts.max_bytes)
    s->opts.max_buffered = s->opts.max_bytes;

  s->threads = opts->threads ? opts->threads : cores();
  pm__metrics_init(&s->metrics);
  s->start_ms = pm__mono_us() / 1000;
  if (!(s->socket_path = strdup(opts->socket_path)) ||
      !(s->store_dir = strdup(opts->store_dir)) ||
      (opts->config_path && !(s->config_path = strdup(opts->config_path))))
    return false;
  s->opts.socket_path = s->socket_path;
  s->opts.store_dir = s->store_dir;
  s->opts.config_path = s->config_path;
  s->opts.log = s->log.fn;
  return true;
}

/* libmicrohttpd on the listening socket, with the worker pool. */
static pm_status start_http(pm_serve *s, pm_error *err) {
  /* ITC: needed by MHD_quiesce_daemon with a thread pool. poll, not
   * epoll: with epoll, libmicrohttpd 0.9.75 does not notice a client that
   * closes in the middle of a body until something else wakes the worker,
   * so the request would hold its slot (and a stop) until the timeout. */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                   MHD_USE_ERROR_LOG | MHD_USE_POLL;
  s->mhd = MHD_start_daemon(
      flags, 0, NULL, NULL, pm__serve_on_request, s,
      /* First, or messages about the options before it go to stderr. */
      MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s, MHD_OPTION_LISTEN_SOCKET,
      s->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, s->threads,
      MHD_OPTION_CONNECTION_LIMIT, s->opts.max_connections,
      MHD_OPTION_CONNECTION_TIMEOUT, s->opts.timeout_s,
      MHD_OPTION_NOTIFY_COMPLETED, pm__serve_on_completed, s,
      MHD_OPTION_NOTIFY_CONNECTION, pm__serve_on_connection, s, MHD_OPTION_END);
  if (!s->mhd)
    return pm_error_set(err, PM_INTERNAL,
                        "cannot start the HTTP server on %s (see the messages "
                        "above)",
                        s->socket_path);
  s->listen_fd = -1; /* libmicrohttpd's now, handed back by quiesce */
  return PM_OK;
}

pm_status pm_serve_start(const pm_serve_opts *opts, pm_serve **out,
                         pm_error *err) {
  pm_status rc = check_opts(opts, err);
  if (rc != PM_OK)
    return rc;
  pm_serve *s = calloc(1, sizeof *s);
  if (!s)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  if (!take_opts(s, opts)) {
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
    goto fail;
  }
  pm_config *cfg = NULL;
  if (s->config_path &&
      (rc = pm_config_load(s->config_path, &cfg, err)) != PM_OK)
    goto fail;
  if ((rc = pm__tenants_new(s->store_dir, cfg, &s->log, &s->metrics,
                            &s->tenants, err)) != PM_OK)
    goto fail;
  pm__tenants_set_budget(s->tenants, s->opts.max_memory);
  if (pm__worker_key_create(&s->worker_key) != 0) {
    rc = pm_error_set(err, PM_NOMEM, "cannot create the worker key");
    goto fail;
  }
  s->key_made = true;
  check_fd_limit(s);

  if ((rc = pm__guard_new(s->opts.max_connections, s->opts.timeout_s, &s->log,
                          &s->guard, err)) != PM_OK ||
      (rc = pm__guard_start(s->guard, err)) != PM_OK)
    goto fail;
  /* A deep queue: connections wait there while a burst is accepted, rather
   * than being refused (EAGAIN); the kernel caps it at somaxconn. */
  if ((rc = pm__socket_listen(s->socket_path, s->opts.socket_mode, 4096,
                              &s->log, &s->listen_fd, &s->sock_id, err)) !=
      PM_OK)
    goto fail;
  s->sock_made = true;
  if ((rc = pm__tenants_start(s->tenants, err)) != PM_OK ||
      (rc = start_http(s, err)) != PM_OK)
    goto fail;
  pm__log_printf(&s->log, PM_LOG_INFO,
                 "penmark %s serving on %s (mode %04o): %u workers, max %u "
                 "connections, body limit %zu bytes (%zu in all), timeout %u "
                 "s, store %s, configuration %s",
                 PM_VERSION, s->socket_path, s->opts.socket_mode, s->threads,
                 s->opts.max_connections, s->opts.max_bytes,
                 s->opts.max_buffered, s->opts.timeout_s, s->store_dir,
                 s->config_path ? s->config_path : "(each store's own)");
  *out = s;
  return PM_OK;
fail:
  pm_serve_free(s);
  return rc;
}

void pm_serve_reload(pm_serve *s) {
  if (!s || s->stopped)
    return;
  bool replace = false;
  pm_config *cfg = NULL;
  if (s->config_path) {
    pm_error err;
    pm_error_clear(&err);
    if (pm_config_load(s->config_path, &cfg, &err) != PM_OK) {
      pm__log_printf(&s->log, PM_LOG_ERROR,
                     "reload: keeping the current configuration: %s",
                     pm_error_message(&err));
    } else {
      replace = true;
    }
  }
  pm__tenants_reset(s->tenants, replace, cfg);
  pm__log_printf(&s->log, PM_LOG_INFO,
                 "reload: %s; tenants will load again on their next request",
                 replace ? "configuration read again" : "configuration kept");
}

void pm_serve_stop(pm_serve *s) {
  if (!s || s->stopped)
    return;
  s->stopped = true;
  atomic_store(&s->stopping, true);
  int64_t t0 = pm__mono_us();
  if (s->mhd) {
    /* Stop accepting: the listening socket is handed back (and closed);
     * connections already open are still served. */
    MHD_socket fd = MHD_quiesce_daemon(s->mhd);
    /* Remove the file while the socket is still open: its inode cannot
     * have been reused, so the identity check is sound. */
    if (s->sock_made) {
      pm__socket_remove(s->socket_path, &s->sock_id);
      s->sock_made = false;
    }
    if (fd != MHD_INVALID_SOCKET)
      close(fd);
  }
  if (s->sock_made) {
    pm__socket_remove(s->socket_path, &s->sock_id);
    s->sock_made = false;
  }
  long in_flight = (long)atomic_load(&s->metrics.in_flight);
  long conns = (long)atomic_load(&s->metrics.connections);
  pm__log_printf(&s->log, PM_LOG_INFO,
                 "stopping: %ld requests in flight, %ld connections open",
                 in_flight, conns);
  if (s->mhd) {
    /* Every request in flight is finished (each connection is closed after
     * its answer); idle keep-alive connections get drain_s to go. */
    int64_t idle_end = t0 + (int64_t)s->opts.drain_s * 1000000;
    int64_t hard_end =
        t0 + ((int64_t)s->opts.timeout_s + STOP_GRACE_S) * 1000000;
    for (;;) {
      int64_t now = pm__mono_us();
      if (atomic_load(&s->metrics.connections) == 0)
        break;
      if (atomic_load(&s->metrics.in_flight) == 0 && now >= idle_end)
        break;
      if (now >= hard_end)
        break;
      usleep(5000);
    }
    in_flight = (long)atomic_load(&s->metrics.in_flight);
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    if (in_flight)
      pm__log_printf(&s->log, PM_LOG_WARN,
                     "stop: %ld requests still in flight after %u s were cut "
                     "off",
                     in_flight, s->opts.timeout_s + STOP_GRACE_S);
  }
  pm__metrics_view v;
  pm__metrics_snapshot(&s->metrics, &v);
  uint64_t total = 0;
  for (int i = 0; i < PM__CODE_COUNT; i++)
    total += v.by_code[i];
  pm__log_printf(&s->log, PM_LOG_INFO,
                 "stopped after %.0f s: %llu requests answered, stop took "
                 "%lld ms",
                 (double)(pm__mono_us() / 1000 - s->start_ms) / 1000.0,
                 (unsigned long long)total,
                 (long long)((pm__mono_us() - t0) / 1000));
}

void pm_serve_free(pm_serve *s) {
  if (!s)
    return;
  if (s->mhd)
    pm_serve_stop(s);
  if (s->listen_fd >= 0)
    close(s->listen_fd);
  if (s->sock_made)
    pm__socket_remove(s->socket_path, &s->sock_id);
  /* The workers are gone (MHD_stop_daemon joined them, and their scorers
   * went with them): the key can go. */
  if (s->key_made)
    pthread_key_delete(s->worker_key);
  pm__guard_free(s->guard); /* after MHD: every connection is closed */
  pm__log_flush(&s->log, true);
  pm__log_limit_free(s->log.limit);
  pm__tenants_free(s->tenants);
  free(s->socket_path);
  free(s->store_dir);
  free(s->config_path);
  free(s);
}

/* ---- signals: a self-pipe; the handler only writes the signal number ----
 * The write end is process-global because a signal handler has nothing
 * else to reach; pm_serve_run is the only user and runs once at a time. */
static volatile sig_atomic_t signal_fd = -1;

static void on_signal(int sig) {
  int saved = errno;
  unsigned char c = (unsigned char)sig;
  if (signal_fd >= 0) {
    ssize_t w = write(signal_fd, &c, 1);
    (void)w; /* a full pipe already holds a wake-up */
  }
  errno = saved;
}

pm_status pm_serve_run(const pm_serve_opts *opts, pm_error *err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
    return pm_error_set(err, PM_IO, "pipe: %s", strerror(errno));
  signal_fd = p[1];
  /* Handlers, not blocked signals read from a signalfd: OpenBLAS starts its
   * threads before main with every signal unblocked, and a blocked-signal
   * scheme would let a SIGTERM land in one of them and kill the process. */
  struct sigaction sa, old_term, old_int, old_hup, old_pipe;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGHUP, &sa, &old_hup);
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, &old_pipe);

  pm_serve *s = NULL;
  pm_status rc = pm_serve_start(opts, &s, err);
  while (rc == PM_OK) {
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
      break;
    unsigned char sigs[64];
    ssize_t n = read(p[0], sigs, sizeof sigs);
    bool stop = false, reload = false;
    for (ssize_t i = 0; i < n; i++) {
      if (sigs[i] == SIGTERM || sigs[i] == SIGINT)
        stop = true;
      else if (sigs[i] == SIGHUP)
        reload = true;
    }
    if (stop) {
      pm__log_printf(&s->log, PM_LOG_INFO, "signal received: stopping");
      break;
    }
    if (reload)
      pm_serve_reload(s);
  }
  pm_serve_free(s);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  signal_fd = -1;
  close(p[0]);
  close(p[1]);
  return rc;
}
