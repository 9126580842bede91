/* Shared pieces of the penmark command (see cli/cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

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
