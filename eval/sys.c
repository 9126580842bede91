/* What the evaluation needs from the system: a private temporary directory
 * for the store it trains (removed with common/rmtree.h), and a clock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/internal.h"

pm_status pm__eval_tmpdir(const char *parent, char **out, pm_error *err) {
  *out = NULL;
  if (!parent || !*parent)
    parent = getenv("TMPDIR");
  if (!parent || !*parent)
    parent = "/tmp";
  static const char tail[] = "/penmark-eval.XXXXXX";
  size_t n = strlen(parent) + sizeof tail;
  char *p = malloc(n);
  if (!p)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  snprintf(p, n, "%s%s", parent, tail);
  /* mkdtemp: a new directory, mode 0700, that no one else can have made:
   * the store of a run is never shared with another run. */
  if (!mkdtemp(p)) {
    int e = errno;
    free(p);
    return pm_error_set(err, PM_IO,
                        "cannot make a temporary directory in %s: %s", parent,
                        strerror(e));
  }
  *out = p;
  return PM_OK;
}

double pm__eval_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
