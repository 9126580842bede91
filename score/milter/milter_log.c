/* The milter's log: one whole line per event, and a rate limit for events
 * that can come with every mail (an unmapped domain, a full pool). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "score/milter/milter_internal.h"

void pm__mlog(FILE *out, const char *fmt, ...) {
  if (!out)
    out = stderr;
  char ts[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  va_list ap;
  va_start(ap, fmt);
  flockfile(out); /* lines of different threads never mix */
  fprintf(out, "%s penmark-milter: ", ts);
  vfprintf(out, fmt, ap);
  fputc('\n', out);
  fflush(out);
  funlockfile(out);
  va_end(ap);
}

bool pm__ratelimit_pass(pm__ratelimit *r, time_t now, unsigned long *left_out) {
  pthread_mutex_lock(&r->lock);
  bool pass = r->last == 0 || now - r->last >= (time_t)r->interval;
  if (pass) {
    r->last = now;
    *left_out = r->suppressed;
    r->suppressed = 0;
  } else {
    r->suppressed++;
  }
  pthread_mutex_unlock(&r->lock);
  return pass;
}
