/* The daemon's log: one line per event, through the pm_serve_log_fn sink.
 * Internal to the serve module. */
#ifndef PM_SCORE_SERVE_LOG_H
#define PM_SCORE_SERVE_LOG_H

#include "penmark/serve.h"

typedef struct {
  pm_serve_log_fn fn; /* never NULL once set up */
  void *ctx;
} pm__log;

/* Formats one line and hands it to the sink. Control characters (a tenant
 * name or an address from a request can hold any byte) become '?', so that
 * a client cannot forge log lines. */
void pm__log_printf(const pm__log *log, pm_log_level level, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

#endif
