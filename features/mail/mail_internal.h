/* Shared between the mail module's files (features/mail*.c); not part of
 * the public API (include/penmark/mail.h is).
 *
 *   mail.c        pm_mail_parse, the accessors, GMime init and shutdown
 *   mail_sniff.c  empty / binary / header block / body-only input
 *   mail_guard.c  bounds what GMime sees: nesting depth and part count
 *   mail_mime.c   the GMime walk: headers and the text part
 *   charset.c, html.c, owntext.c  decoding, de-tagging, quote cutting */
#ifndef PM_FEATURES_MAIL_INTERNAL_H
#define PM_FEATURES_MAIL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "penmark/mail.h"

/* The parsed mail. Every string is owned by the mail (malloc'd, freed by
 * pm_mail_free), valid UTF-8 and NUL-terminated; NULL stands for "" until
 * pm_mail_parse fills the gaps before returning. */
struct pm_mail {
  char *own;
  size_t own_len;
  char *body;
  size_t body_len;
  char *sender;
  char *display;
  char *subject;
  char *message_id;
  int64_t date;
  unsigned flags;
};

/* What the input is, from its first bytes and its byte statistics. */
typedef enum {
  PM__INPUT_EMPTY,  /* no bytes, or only whitespace */
  PM__INPUT_BINARY, /* control bytes and no header block */
  PM__INPUT_MAIL,   /* a header block: give it to GMime */
  PM__INPUT_BODY    /* text without a header block */
} pm__input_kind;

/* Classifies data[0..len). *skip gets the length of what precedes the
 * header block (an mbox "From " line, a UTF-8 byte order mark);
 * *control_pct the share of control bytes, in percent (for the message of
 * PM__INPUT_BINARY). */
pm__input_kind pm__mail_sniff(const char *data, size_t len, size_t *skip,
                              unsigned *control_pct);

/* The largest header block GMime is given (the top-level one or a part's):
 * real ones are a few KB, and GMime takes many times a header block's size
 * in memory. Fields beyond it are dropped. */
#define PM__HEADER_BLOCK_MAX ((size_t)256 << 10)

/* Bounds what GMime's recursive parser sees. Scans the MIME structure the
 * way GMime will (Content-Type headers, boundary delimiter lines) and
 *  - renames a multipart/ or message/ type nested deeper than max_depth
 *    (to "xultipart/", "xessage/"), so that GMime reads it as one opaque
 *    leaf: recursion never goes deeper than max_depth;
 *  - cuts the input before the delimiter of part number max_parts + 1,
 *    so that GMime builds at most about max_parts objects;
 *  - drops the fields of a header block beyond PM__HEADER_BLOCK_MAX, but
 *    for the mail's first From: field when the kept part has none;
 * On return *view points at the bytes to parse and *view_len is their
 * length: data itself when nothing had to change, else *copy (malloc'd;
 * the caller frees it). Sets PM_MAIL_PARTS_LIMIT in *flags when it changed
 * anything. Linear time. False when memory runs out. */
bool pm__mime_guard(const char *data, size_t len, unsigned max_depth,
                    unsigned max_parts, char **copy, const char **view,
                    size_t *view_len, unsigned *flags);

/* Parses data[0..len) (a message with a header block) with GMime and fills
 * the header fields of m and the decoded text body into body (UTF-8; HTML
 * already de-tagged), ORing PM_MAIL_* flags into m->flags. Errors:
 * PM_NOMEM. */
pm_status pm__mime_extract(const char *data, size_t len,
                           const pm_mail_limits *lim, pm_mail *m, pm__buf *body,
                           pm_error *err);

/* Makes sure GMime is initialised (once per process, thread-safe). */
void pm__mime_init(void);
/* Shuts GMime down if it was initialised. Final: GMime is not initialised
 * again in this process. */
void pm__mime_shutdown(void);

#endif
