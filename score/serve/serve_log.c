/* The daemon's log (see score/serve/serve_log.h and pm_serve_log_stderr). */
#include "score/serve/serve_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One kind of line: its format string (the key: a call site) and level. */
typedef struct {
  const char *fmt;
  pm_log_level level;
  int64_t window_start_ms;
  unsigned sent;       /* lines out in this window */
  unsigned suppressed; /* lines held back in this window */
  char last[256];      /* the last one held back, for the summary */
} kind;

/* Kinds beyond this share the least recently used slot: still bounded. */
#define KINDS 32

struct pm__log_limit {
  pthread_mutex_t mu;
  kind k[KINDS];
};

static const char *level_name(pm_log_level level) {
  switch (level) {
  case PM_LOG_ERROR:
    return "error";
  case PM_LOG_WARN:
    return "warning";
  case PM_LOG_INFO:
    break;
  }
  return "info";
}

void pm_serve_log_stderr(pm_log_level level, const char *msg, void *ctx) {
  (void)ctx;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  /* One write(2) per line: lines from several threads never interleave,
   * and nothing waits on stdio's lock. Long lines are cut, not split. */
  char line[2048];
  int n =
      snprintf(line, sizeof line, "%s.%03ldZ penmark[%ld] %s: %s\n", stamp,
               ts.tv_nsec / 1000000, (long)getpid(), level_name(level), msg);
  if (n < 0)
    return;
  size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  if ((size_t)n >= sizeof line)
    line[len - 1] = '\n';
  ssize_t w = write(STDERR_FILENO, line, len);
  (void)w; /* nowhere left to report a failed log write */
}

static void emit(const pm__log *log, pm_log_level level, const char *msg) {
  if (log && log->fn)
    log->fn(level, msg, log->ctx);
  else
    pm_serve_log_stderr(level, msg, NULL);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pm__log_limit *pm__log_limit_new(void) {
  pm__log_limit *l = calloc(1, sizeof *l);
  if (l && pthread_mutex_init(&l->mu, NULL) != 0) {
    free(l);
    return NULL;
  }
  return l;
}

void pm__log_limit_free(pm__log_limit *l) {
  if (!l)
    return;
  pthread_mutex_destroy(&l->mu);
  free(l);
}

/* The summary of a window with lines held back; resets the window. Called
 * with the limiter's lock held (the sink serialises its own writes; holding
 * the lock keeps a summary before the next window's lines). */
static void close_window(const pm__log *log, kind *k, int64_t now) {
  if (k->suppressed) {
    char msg[512];
    snprintf(msg, sizeof msg,
             "%u similar messages suppressed in %lld s, the last: %s",
             k->suppressed, (long long)((now - k->window_start_ms) / 1000),
             k->last);
    emit(log, k->level, msg);
  }
  k->window_start_ms = now;
  k->sent = 0;
  k->suppressed = 0;
}

/* Whether the line may go out now (counted otherwise). */
static bool admit(const pm__log *log, pm_log_level level, const char *fmt,
                  const char *msg) {
  pm__log_limit *l = log ? log->limit : NULL;
  if (!l || level == PM_LOG_INFO)
    return true;
  int64_t now = now_ms();
  pthread_mutex_lock(&l->mu);
  kind *k = NULL, *oldest = &l->k[0];
  for (int i = 0; i < KINDS && !k; i++) {
    if (l->k[i].fmt == fmt && l->k[i].level == level)
      k = &l->k[i];
    else if (l->k[i].window_start_ms < oldest->window_start_ms)
      oldest = &l->k[i];
  }
  if (!k) {
    k = oldest;
    if (k->fmt)
      close_window(log, k, now);
    k->fmt = fmt;
    k->level = level;
    k->window_start_ms = now;
    k->sent = k->suppressed = 0;
  }
  if (now - k->window_start_ms >= PM__LOG_WINDOW_MS)
    close_window(log, k, now);
  bool ok = k->sent < PM__LOG_BURST;
  if (ok) {
    k->sent++;
  } else {
    k->suppressed++;
    size_t n = strlen(msg); /* cut: the summary line stays short */
    if (n >= sizeof k->last)
      n = sizeof k->last - 1;
    memcpy(k->last, msg, n);
    k->last[n] = '\0';
  }
  pthread_mutex_unlock(&l->mu);
  return ok;
}

void pm__log_flush(const pm__log *log, bool all) {
  pm__log_limit *l = log ? log->limit : NULL;
  if (!l)
    return;
  int64_t now = now_ms();
  pthread_mutex_lock(&l->mu);
  for (int i = 0; i < KINDS; i++) {
    kind *k = &l->k[i];
    if (k->fmt && k->suppressed &&
        (all || now - k->window_start_ms >= PM__LOG_WINDOW_MS))
      close_window(log, k, now);
  }
  pthread_mutex_unlock(&l->mu);
}

void pm__log_printf(const pm__log *log, pm_log_level level, const char *fmt,
                    ...) {
  char msg[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (char *p = msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  if (admit(log, level, fmt, msg))
    emit(log, level, msg);
}
