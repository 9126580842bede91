/* The daemon's log (see score/serve/serve_log.h and pm_serve_log_stderr). */
#include "score/serve/serve_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
  if (log && log->fn)
    log->fn(level, msg, log->ctx);
  else
    pm_serve_log_stderr(level, msg, NULL);
}
