/* Error codes and messages (see include/penmark/error.h). */
#include "penmark/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *pm_strerror(pm_status code) {
  switch (code) {
#define PM__STATUS_TEXT(name, text)                                            \
  case PM_##name:                                                              \
    return text;
    PM_STATUS_MAP(PM__STATUS_TEXT)
#undef PM__STATUS_TEXT
  case PM__STATUS_COUNT:
    break;
  }
  return "unknown error";
}

void pm_error_clear(pm_error *err) {
  if (!err)
    return;
  err->code = PM_OK;
  err->msg[0] = '\0';
}

pm_status pm_error_set(pm_error *err, pm_status code, const char *fmt, ...) {
  if (!err)
    return code;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}

const char *pm_error_message(const pm_error *err) {
  if (!err)
    return "";
  return err->msg[0] ? err->msg : pm_strerror(err->code);
}
