/* penmark: error codes and messages.
 *
 * Every fallible function returns a pm_status. Where a caller needs more than
 * the code (which file, which line of the config, what differs), the function
 * also takes a pm_error, filled on failure with the code and a message that
 * names the input and the problem. A NULL pm_error is allowed: the message is
 * then dropped. Library code never prints and never exits.
 */
#ifndef PENMARK_ERROR_H
#define PENMARK_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, text): the codes, generated into the enum and pm_strerror(). */
#define PM_STATUS_MAP(X)                                                       \
  X(OK, "success")                                                             \
  X(NOMEM, "out of memory")                                                    \
  X(INVAL, "invalid argument")                                                 \
  X(IO, "input/output error")                                                  \
  X(NOTMAIL, "not a mail")                                                     \
  X(TOOBIG, "input over the size limit")                                       \
  X(CONFIG, "bad configuration")                                               \
  X(DICT, "dictionary or lexicon unavailable")                                 \
  X(STORE, "store error")                                                      \
  X(CORRUPT, "store is corrupt or not a penmark store")                        \
  X(MISMATCH, "store was built with another configuration or schema")          \
  X(NOTFOUND, "not found")                                                     \
  X(BUSY, "resource busy")                                                     \
  X(INTERNAL, "internal error")

typedef enum {
#define PM__STATUS_ENUM(name, text) PM_##name,
  PM_STATUS_MAP(PM__STATUS_ENUM)
#undef PM__STATUS_ENUM
      PM__STATUS_COUNT
} pm_status;

/* A status with its message. Fixed size on purpose: filling it never
 * allocates, so out-of-memory can still be reported. Longer messages are
 * truncated. */
typedef struct {
  pm_status code;
  char msg[512];
} pm_error;

/* The text of a code; never NULL (an unknown code gives "unknown error"). */
const char *pm_strerror(pm_status code);

/* Resets err to PM_OK with an empty message. err may be NULL. */
void pm_error_clear(pm_error *err);

/* Sets err (when not NULL) to code and a printf-style message; returns code,
 * so that `return pm_error_set(err, PM_IO, "...", ...);` reads naturally. */
pm_status pm_error_set(pm_error *err, pm_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message of err, or the text of its code when the message is empty. */
const char *pm_error_message(const pm_error *err);

#ifdef __cplusplus
}
#endif
#endif
