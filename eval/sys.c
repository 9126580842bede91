/* What the evaluation needs from the system: a private temporary directory
 * for the store it trains, and a clock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tmpdir.h"
#include "eval/internal.h"

pm_status pm__eval_tmpdir(const char *parent, char **out, pm_error *err) {
  /* a directory no one else can have made: the store of a run is never
   * shared with another run */
  const char *used;
  *out = pm__make_tmpdir(parent, "eval", &used);
  if (!*out)
    return errno == ENOMEM
               ? pm_error_set(err, PM_NOMEM, "out of memory")
               : pm_error_set(err, PM_IO,
                              "cannot make a temporary directory in %s: %s",
                              used, strerror(errno));
  return PM_OK;
}

double pm__eval_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
