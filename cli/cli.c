/* Shared pieces of the penmark command (see cli/cli.h). */
#include "cli/cli.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void pm_cli_err(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("penmark: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

pm_config *pm_cli_config(const char *path) {
  if (!path) {
    pm_config *c = pm_config_default();
    if (!c)
      pm_cli_err("out of memory");
    return c;
  }
  pm_config *c = NULL;
  pm_error err;
  pm_error_clear(&err);
  if (pm_config_load(path, &c, &err) != PM_OK) {
    pm_cli_err("%s", pm_error_message(&err));
    return NULL;
  }
  return c;
}

void pm_cli_print_json(FILE *out, cJSON *obj) {
  char *s = cJSON_PrintUnformatted(obj);
  if (s) {
    fputs(s, out);
    fputc('\n', out);
    free(s);
  } else {
    pm_cli_err("out of memory printing JSON");
  }
  cJSON_Delete(obj);
}

cJSON *pm_cli_add_number(cJSON *obj, const char *key, double v) {
  if (!isfinite(v))
    return cJSON_AddNullToObject(obj, key);
  char buf[32];
  snprintf(buf, sizeof buf, "%.6g", v);
  return cJSON_AddNumberToObject(obj, key, strtod(buf, NULL));
}

bool pm_cli_parse_count(const char *opt, const char *arg, long min, long max,
                        long *out) {
  char *end;
  errno = 0;
  long v = strtol(arg, &end, 10);
  if (errno || end == arg || *end || v < min || v > max) {
    pm_cli_err("%s: expected a whole number from %ld to %ld, got \"%s\"", opt,
               min, max, arg);
    return false;
  }
  *out = v;
  return true;
}

bool pm_cli_parse_flag_rate(const char *opt, const char *arg, double *out) {
  char *end;
  double v = strtod(arg, &end);
  if (end == arg || *end || !(v > 0.0 && v <= 0.5)) {
    pm_cli_err("%s %s: expected a share in (0, 0.5], e.g. 0.01", opt, arg);
    return false;
  }
  *out = v;
  return true;
}

void pm_cli_blas_threads(unsigned threads) {
  if (threads == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    threads = n > 0 ? (unsigned)n : 1;
  }
  openblas_set_num_threads((int)threads);
}

const char *pm_cli_input_name(const char *path) {
  return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

/* Reads and parses one mail file into *out (free with pm_mail_free), using
 * buf for the bytes; false after a message naming the input. */
static bool read_mail(const char *path, pm__buf *buf, const pm_mail_limits *lim,
                      pm_mail **out) {
  pm_error err;
  pm_error_clear(&err);
  *out = NULL;
  if (pm__read_file(path, lim->max_bytes, buf, &err) != PM_OK) {
    pm_cli_err("%s", pm_error_message(&err));
    return false;
  }
  if (pm_mail_parse(buf->data ? buf->data : "", buf->len, lim, out, &err) !=
      PM_OK) {
    pm_cli_err("%s: %s", pm_cli_input_name(path), pm_error_message(&err));
    return false;
  }
  return true;
}

int pm_cli_each_mail(char *const *paths, int n, pm_cli_mail_fn fn, void *ctx) {
  pm_mail_limits lim;
  pm_mail_limits_default(&lim);
  pm__buf buf = {0};
  int failed = 0;
  for (int i = 0; i < n; i++) {
    pm_mail *m = NULL;
    if (!read_mail(paths[i], &buf, &lim, &m)) {
      failed++;
      continue;
    }
    if (!fn(paths[i], pm_cli_input_name(paths[i]), m, ctx))
      failed++;
    pm_mail_free(m);
  }
  pm__buf_free(&buf);
  return failed;
}
