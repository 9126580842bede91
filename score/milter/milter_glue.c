/* libmilter's side: the callbacks, which turn the MTA's conversation into
 * a message (milter_msg.c) and a decision (milter_judge.c, on the workers),
 * and then into header changes and a reply; and pm_milter_run. The only
 * file of the module that knows libmilter. */
#include <errno.h>
#include <libmilter/mfapi.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "score/milter/milter_internal.h"

/* libmilter's callbacks carry no user pointer: the one running filter. */
static pm__mfilter *the;

/* The graceful stop. libmilter (built with its pool of workers, as
 * Debian's is) stops serving every connection as soon as it is told to
 * stop: a mail whose end of message is being decided still gets its answer
 * (the libmilter thread is in our callback), a mail still being
 * transferred does not (the MTA applies milter_default_action). So the
 * filter waits for the mails being decided, which the time limit bounds,
 * and refuses new decisions once stopping. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t idle;
  unsigned deciding; /* mails in on_eom */
  bool stopping;
} run = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};

static bool stopping(void) {
  pthread_mutex_lock(&run.lock);
  bool s = run.stopping;
  pthread_mutex_unlock(&run.lock);
  return s;
}

typedef struct {
  bool trusted; /* the client's address is in trusted_networks */
  pm__mmsg *m;  /* the mail in progress, NULL between mails */
} session;

static session *get_session(SMFICTX *ctx) {
  session *s = smfi_getpriv(ctx);
  if (!s && (s = calloc(1, sizeof *s)))
    smfi_setpriv(ctx, s);
  return s;
}

static void end_mail(session *s) {
  if (!s || !s->m)
    return;
  pm__mmsg_free(s->m);
  s->m = NULL;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3,
                             unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3) {
  *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
  *pf1 = f1 & (SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA);
  *pf2 = *pf3 = 0;
  /* Sendmail sends {auth_authen} at MAIL FROM only when asked; Postfix
   * does by default (milter_mail_macros) and honours the request too */
  if (the->pol->skip_authenticated && (f0 & SMFIF_SETSYMLIST) &&
      smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen}") == MI_SUCCESS)
    *pf0 |= SMFIF_SETSYMLIST;
  return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, struct sockaddr *addr) {
  if (stopping())
    return SMFIS_ACCEPT;
  session *s = get_session(ctx);
  if (s)
    s->trusted = pm__netlist_match(&the->pol->trusted, addr);
  return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv) {
  session *s = get_session(ctx);
  if (!s)
    return SMFIS_ACCEPT; /* out of memory: fail open, untouched */
  end_mail(s);
  if (stopping() || !(s->m = calloc(1, sizeof *s->m)))
    return SMFIS_ACCEPT;
  const char *auth = smfi_getsymval(ctx, "{auth_authen}");
  if (s->trusted)
    s->m->skip_why = "trusted network";
  else if (the->pol->skip_authenticated && auth && auth[0])
    s->m->skip_why = "authenticated submission";
  s->m->no_copy = s->m->skip_why != NULL;
  return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value) {
  session *s = smfi_getpriv(ctx);
  if (s && s->m)
    pm__mmsg_header(s->m, name, value);
  return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *ctx) {
  session *s = smfi_getpriv(ctx);
  if (s && s->m)
    pm__mmsg_eoh(s->m);
  return SMFIS_CONTINUE;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len) {
  session *s = smfi_getpriv(ctx);
  if (s && s->m)
    pm__mmsg_body(s->m, chunk, len);
  return SMFIS_CONTINUE;
}

/* Removes every incoming X-Penmark-* header: each occurrence by index,
 * highest first so that the lower indexes stay valid. */
static void strip_own(SMFICTX *ctx, const pm__mmsg *m) {
  for (size_t i = 0; i < m->n_own; i++)
    for (unsigned idx = m->own[i].n; idx >= 1; idx--)
      smfi_chgheader(ctx, m->own[i].name, (int)idx, NULL);
}

/* The decision for the mail in progress, within the time limit. */
static void decide(pm__mmsg *m, pm__mdecision *d) {
  if (pm__mmsg_settled(m, d))
    return;
  size_t len = m->raw.len;
  char *raw = pm__buf_steal(&m->raw);
  unsigned long left_out;
  switch (pm__pool_judge(the->pool, raw, len, the->pol->time_limit_ms, d)) {
  case PM__POOL_DONE:
    break;
  case PM__POOL_TIMEOUT:
    pm__mdecision_error(d, "time limit");
    break;
  case PM__POOL_BUSY:
    pm__mdecision_error(d, "too many mails being scored");
    if (!pm__ratelimit_pass(&the->rl_busy, time(NULL), &left_out))
      d->log[0] = '\0';
    break;
  case PM__POOL_NOMEM:
    pm__mdecision_error(d, "out of memory");
    break;
  }
}

/* The policy's action on an impersonation; the reply to give. */
static sfsistat act(SMFICTX *ctx, const pm__mmsg *m) {
  switch (the->pol->action) {
  case PM_MILTER_REPORT:
    break;
  case PM_MILTER_TAG: {
    char *subj = pm__mmsg_tagged_subject(m, the->pol->tag);
    if (subj && m->subject)
      smfi_chgheader(ctx, "Subject", 1, subj);
    else if (subj)
      smfi_addheader(ctx, "Subject", subj);
    free(subj);
    break;
  }
  case PM_MILTER_QUARANTINE:
    smfi_quarantine(ctx, "penmark: impersonation");
    break;
  case PM_MILTER_REJECT:
    smfi_setreply(ctx, "550", "5.7.1",
                  "Message looks like an impersonation of its sender");
    return SMFIS_REJECT;
  }
  return SMFIS_ACCEPT;
}

static sfsistat on_eom(SMFICTX *ctx) {
  session *s = smfi_getpriv(ctx);
  if (!s || !s->m)
    return SMFIS_ACCEPT;
  strip_own(ctx, s->m);
  pm__mdecision *d = malloc(sizeof *d); /* 5 KiB: not on a milter stack */
  if (!d) {
    end_mail(s);
    return SMFIS_ACCEPT;
  }
  pthread_mutex_lock(&run.lock);
  bool go = !run.stopping;
  run.deciding += go;
  pthread_mutex_unlock(&run.lock);
  if (go)
    decide(s->m, d);
  else
    pm__mdecision_error(d, "stopping");
  pthread_mutex_lock(&run.lock);
  if (go && --run.deciding == 0)
    pthread_cond_broadcast(&run.idle);
  pthread_mutex_unlock(&run.lock);
  smfi_addheader(ctx, "X-Penmark-Verdict", d->verdict);
  if (d->reasons[0])
    smfi_addheader(ctx, "X-Penmark-Reasons", d->reasons);
  if (d->log[0])
    pm__mlog(the->log, "%s", d->log);
  sfsistat r = d->impersonation ? act(ctx, s->m) : SMFIS_ACCEPT;
  free(d);
  end_mail(s);
  return r;
}

static sfsistat on_abort(SMFICTX *ctx) {
  end_mail(smfi_getpriv(ctx));
  return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx) {
  session *s = smfi_getpriv(ctx);
  end_mail(s);
  free(s);
  smfi_setpriv(ctx, NULL);
  return SMFIS_CONTINUE;
}

/* After libmilter has stopped: no new decision starts, and the ones under
 * way finish (each within the time limit; a second more for the answer). */
static void wait_deciding(unsigned limit_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += limit_ms / 1000 + 2;
  pthread_mutex_lock(&run.lock);
  run.stopping = true;
  int rc = 0;
  while (run.deciding > 0 && rc == 0)
    rc = pthread_cond_timedwait(&run.idle, &run.lock, &until);
  pthread_mutex_unlock(&run.lock);
}

/* SIGTERM, SIGINT and SIGHUP stop the filter (SIGHUP too: libmilter's own
 * signal thread takes it as a stop, as every milter does); SIGUSR1 makes
 * every tenant be read again. libmilter takes its signals with sigwait in a
 * thread of its own, but threads made before it (OpenBLAS's, at load time)
 * do not block them, and a signal the kernel hands to one of those would
 * end the process at once. So a handler catches them wherever they land
 * and wakes a thread of ours, which asks libmilter to stop or reloads
 * (neither is async-signal-safe: never done in the handler). */
static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig) {
  char c = (char)sig;
  int saved = errno;
  if (write(stop_pipe[1], &c, 1) < 0) {
    /* the pipe is full: a stop is pending already */
  }
  errno = saved;
}

static void *stopper(void *arg) {
  (void)arg;
  for (;;) {
    char c = 0;
    ssize_t n;
    while ((n = read(stop_pipe[0], &c, 1)) < 0 && errno == EINTR)
      ;
    if (n <= 0 || c == 0) /* 0: the filter ends by itself */
      return NULL;
    if (c == SIGUSR1) {
      pm__mlog(the ? the->log : stderr, "signal %d: reloading every tenant", c);
      if (the)
        pm_serve_host_reload(the->host);
      continue;
    }
    pm__mlog(the ? the->log : stderr, "signal %d: stopping", c);
    smfi_stop();
    return NULL;
  }
}

static bool stop_signals_start(pthread_t *t) {
  if (pipe(stop_pipe) != 0)
    return false;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN); /* a client gone is an error return, not an end */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  bool ok = pthread_create(t, NULL, stopper, NULL) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return ok;
}

static void stop_signals_end(pthread_t t) {
  char c = 0;
  if (write(stop_pipe[1], &c, 1) == 1)
    pthread_join(t, NULL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGUSR1, SIG_DFL);
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  stop_pipe[0] = stop_pipe[1] = -1;
}

static unsigned worker_count(const pm_milter_policy *p) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned n = cpus > 0 ? (unsigned)cpus : 1;
  return n < p->max_connections ? n : p->max_connections;
}

/* Peers the front holds at once: Postfix holds one connection per smtpd
 * and cleanup process; slow or idle ones beyond, each a descriptor, are
 * what the unit's LimitNOFILE bounds. */
#define FRONT_MAX_PEERS 4096

static pm_status serve(const pm_milter_policy *p, pm_error *err) {
  struct smfiDesc desc = {
      .xxfi_name = "penmark",
      .xxfi_version = SMFI_VERSION,
      .xxfi_flags =
          SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
      .xxfi_connect = on_connect,
      .xxfi_envfrom = on_envfrom,
      .xxfi_header = on_header,
      .xxfi_eoh = on_eoh,
      .xxfi_body = on_body,
      .xxfi_eom = on_eom,
      .xxfi_abort = on_abort,
      .xxfi_close = on_close,
      .xxfi_negotiate = on_negotiate,
  };
  /* libmilter listens on a private socket behind the front, which owns
   * the public one (milter_front.c): libmilter's timeout bounds each read
   * and write of a command and the wait between commands (7210 s by its
   * default: a peer gone silent held a thread for two hours); the front
   * bounds the time a command takes to be whole */
  const char *tmp = getenv("TMPDIR");
  char dir[256], inner[300], conn[310];
  snprintf(dir, sizeof dir, "%s/penmark-milter.XXXXXX",
           tmp && *tmp && strlen(tmp) < 180 ? tmp : "/tmp");
  if (!mkdtemp(dir))
    return pm_error_set(err, PM_IO, "milter: cannot make a directory in %s",
                        tmp && *tmp ? tmp : "/tmp");
  snprintf(inner, sizeof inner, "%s/libmilter.sock", dir);
  snprintf(conn, sizeof conn, "unix:%s", inner);
  pm__mfront *front = NULL;
  pm_status st = PM_OK;
  if (smfi_setconn(conn) == MI_FAILURE ||
      smfi_settimeout((int)p->timeout_s) == MI_FAILURE ||
      smfi_setbacklog(4096) == MI_FAILURE ||
      smfi_register(desc) == MI_FAILURE || smfi_opensocket(1) == MI_FAILURE)
    st = pm_error_set(err, PM_IO, "milter: libmilter cannot listen on '%s'",
                      conn);
  if (st == PM_OK)
    st = pm__mfront_start(p->socket, inner, p->timeout_s, FRONT_MAX_PEERS,
                          the->log, &front, err);
  if (st == PM_OK) {
    pm__mlog(
        the->log, "listening on %s (%zu tenants, %u workers, action %s)",
        p->socket, the->n_tenants, worker_count(p),
        (const char *[]){"report", "tag", "quarantine", "reject"}[p->action]);
    /* returns after SIGTERM, SIGINT or SIGHUP */
    if (smfi_main() != MI_SUCCESS)
      st = pm_error_set(err, PM_IO, "milter: libmilter failed on '%s'",
                        p->socket);
  }
  pm__mfront_stop(front);
  unlink(inner);
  rmdir(dir);
  return st;
}

pm_status pm_milter_run(const pm_milter_policy *p, pm_error *err) {
  if (!p->checked)
    return pm_error_set(err, PM_INVAL, "milter: the policy is not checked");
  if (the)
    return pm_error_set(err, PM_BUSY, "milter: already running");
  FILE *log = stderr;
  if (p->log_path && !(log = fopen(p->log_path, "a")))
    return pm_error_set(err, PM_IO, "milter: log %s: cannot open", p->log_path);
  static pm__mfilter f;
  pthread_t stop_thread;
  pm_status st = pm__mfilter_load(&f, p, log, err);
  if (st == PM_OK)
    st = pm__pool_start(&f, worker_count(p), p->max_connections, &f.pool, err);
  if (st == PM_OK && !stop_signals_start(&stop_thread))
    st = pm_error_set(err, PM_NOMEM, "milter: cannot set up the signals");
  if (st != PM_OK) { /* libmilter never started: everything goes */
    pm__pool_stop(f.pool);
    pm__mfilter_free(&f);
    if (log != stderr)
      fclose(log);
    return st;
  }
  the = &f;
  st = serve(p, err);
  wait_deciding(p->time_limit_ms);
  stop_signals_end(stop_thread); /* a second SIGTERM meanwhile: no matter */
  pm__mlog(log, "stopped");
  pm__pool_stop(f.pool); /* its workers finish mails past their limit */
  f.pool = NULL;
  /* libmilter's threads may still be in a callback of a mail being
   * transferred: they read the policy and may log (a mail refused as
   * "stopping"), never judge (only the workers, now gone, did). So the
   * profiles go; the filter, its log and its pointer to the policy stay
   * until the process ends. */
  pm_serve_host_free(f.host);
  f.host = NULL;
  return st;
}
