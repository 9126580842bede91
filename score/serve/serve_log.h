/* The daemon's log: one line per event, through the pm_serve_log_fn sink.
 * Internal to the serve module. */
#ifndef PM_SCORE_SERVE_LOG_H
#define PM_SCORE_SERVE_LOG_H

#include <stdbool.h>

#include "penmark/serve.h"

/* Keeps repeated warnings from flooding the log (see pm__log_printf). */
typedef struct pm__log_limit pm__log_limit;

typedef struct {
  pm_serve_log_fn fn; /* never NULL once set up */
  void *ctx;
  pm__log_limit *limit; /* NULL: every line goes out */
} pm__log;

/* A limiter: NULL when out of memory (then nothing is limited). */
pm__log_limit *pm__log_limit_new(void);
void pm__log_limit_free(pm__log_limit *l); /* NULL is a no-op */

/* How many lines of one kind go out per window before the rest are
 * counted instead; the count is logged when the window ends. */
#define PM__LOG_BURST 5
#define PM__LOG_WINDOW_MS 10000

/* Writes the "N similar messages suppressed" lines of the windows that
 * have ended (the daemon's guard calls it a few times a second; and once
 * at stop, with all set, for every window still open). */
void pm__log_flush(const pm__log *log, bool all);

/* Formats one line and hands it to the sink. Control characters (a tenant
 * name or an address from a request can hold any byte) become '?', so that
 * a client cannot forge log lines. With a limiter, warnings and errors of
 * one kind (one format string) go out at most PM__LOG_BURST times per
 * PM__LOG_WINDOW_MS; the rest are counted and summed up in one line
 * ("12 similar messages suppressed in 10 s, the last: ..."), so that a
 * client that provokes a warning per connection cannot flood the log.
 * Info lines (start, reload, stop) are never held back. */
void pm__log_printf(const pm__log *log, pm_log_level level, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

#endif
