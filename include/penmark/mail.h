/* penmark: a mail, parsed down to what its sender wrote.
 *
 * pm_mail_parse() takes the raw bytes of an RFC 5322 message (or a plain text
 * file: a header block, a blank line and a body, as mailing-list archives
 * keep them; or a body with no header block at all) and gives:
 *   - the sender's own text in UTF-8: the text/plain part (or the de-tagged
 *     HTML part), with quoted replies, forwarded blocks and legal disclaimers
 *     cut, and the layout of what remains kept (greeting line, sign-off, blank
 *     lines, line breaks; line ends normalised to "\n");
 *   - the claimed sender (the From: address, lower-cased) and display name;
 *   - the Subject (decoded), the Message-ID and the Date.
 *
 * Charsets are converted to UTF-8; a missing, unknown or wrong charset label
 * degrades to a best-effort decode (flag PM_MAIL_CHARSET_GUESSED), never to an
 * error. Invalid sequences become U+FFFD. The own text is always valid UTF-8.
 *
 * Thread safety: pm_mail objects are independent; parsing may run on several
 * threads at once.
 */
#ifndef PENMARK_MAIL_H
#define PENMARK_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_mail pm_mail;

/* What happened on the way to the own text (pm_mail_flags). */
enum {
  PM_MAIL_HTML = 1u << 0,       /* own text came from a de-tagged HTML part */
  PM_MAIL_NO_HEADERS = 1u << 1, /* input had no header block: all body */
  PM_MAIL_CHARSET_GUESSED = 1u << 2, /* charset missing, unknown or wrong */
  PM_MAIL_INVALID_UTF8 = 1u << 3,    /* undecodable bytes became U+FFFD */
  PM_MAIL_QUOTE_CUT = 1u << 4,       /* quoted or forwarded text was cut */
  PM_MAIL_DISCLAIMER_CUT = 1u << 5,  /* a legal disclaimer was cut */
  PM_MAIL_TRUNCATED = 1u << 6,       /* own text cut at max_text_bytes */
  PM_MAIL_PARTS_LIMIT = 1u << 7,     /* MIME parts or depth over the limits */
  PM_MAIL_NO_TEXT_PART = 1u << 8     /* no text/plain or text/html part */
};

/* Limits that bound the time and memory one mail can take. */
typedef struct {
  size_t max_bytes;      /* larger input is refused with PM_TOOBIG */
  size_t max_text_bytes; /* own text beyond this is dropped (flag TRUNCATED) */
  unsigned max_parts;    /* MIME parts looked at */
  unsigned max_depth;    /* multipart nesting followed */
} pm_mail_limits;

/* The defaults: 64 MiB input, 1 MiB own text, 1000 parts, depth 32. */
void pm_mail_limits_default(pm_mail_limits *lim);

/* max_depth above this is taken as this: deeper nesting would only feed
 * GMime's recursive parser. */
#define PM_MAIL_MAX_DEPTH_CAP 256u

/* What the limits guarantee (pm_mail_parse):
 *   - input over max_bytes is refused before anything is parsed;
 *   - GMime never sees more than max_depth nested multipart or message
 *     levels (a pre-scan renames deeper ones so that GMime reads each as one
 *     opaque leaf part) nor more than about max_parts parts (the input is
 *     cut before the next part delimiter): its recursion and object count
 *     stay bounded whatever the input (10,000 nested parts included), and
 *     PM_MAIL_PARTS_LIMIT is set; a header block (the mail's or a part's)
 *     is read up to 256 KiB, fields beyond are dropped (same flag);
 *   - every other step (charset decoding, HTML de-tagging, quote cutting)
 *     is linear in the input and reads at most a bounded prefix of any one
 *     line, so huge single lines cost no more than many short ones;
 *   - memory is a small multiple of the input (GMime's copy, the decoded
 *     part, the body text, the own text);
 *   - a truncated multipart (no closing boundary) is read up to its end;
 *     NUL bytes become U+FFFD;
 *   - quote cutting reads at most 16 * max_text_bytes of the body (cut at
 *     a line end), and the own text is cut at max_text_bytes, on a
 *     character boundary (both set PM_MAIL_TRUNCATED); the body text
 *     itself is not cut.
 * A zero field of pm_mail_limits takes its default. */

/* Parses `len` bytes at `data` (need not be NUL-terminated). lim may be NULL
 * (defaults). On success *out is a new mail, owned by the caller: free it
 * with pm_mail_free. Errors: PM_NOTMAIL for empty input or binary data that is
 * neither a message nor text, PM_TOOBIG over lim->max_bytes, PM_NOMEM. The
 * message in err describes the problem without naming the input: the caller
 * knows its name and puts it in front. */
pm_status pm_mail_parse(const char *data, size_t len, const pm_mail_limits *lim,
                        pm_mail **out, pm_error *err);

/* Frees a mail; NULL is a no-op. */
void pm_mail_free(pm_mail *mail);

/* The accessors below return strings borrowed from the mail: valid UTF-8,
 * NUL-terminated, never NULL ("" when absent), valid until pm_mail_free. */

/* The own text, and its length in bytes in *len when len is not NULL. */
const char *pm_mail_own_text(const pm_mail *mail, size_t *len);
/* The whole decoded text body before anything was cut. */
const char *pm_mail_body_text(const pm_mail *mail, size_t *len);
/* The From: address (addr-spec), lower-cased. */
const char *pm_mail_sender(const pm_mail *mail);
/* The From: display name, RFC 2047 decoded. */
const char *pm_mail_display_name(const pm_mail *mail);
/* The Subject, RFC 2047 decoded, unfolded. */
const char *pm_mail_subject(const pm_mail *mail);
/* The Message-ID without angle brackets. */
const char *pm_mail_message_id(const pm_mail *mail);
/* The Date header as seconds since the epoch (UTC); 0 when absent or
 * unparseable. */
int64_t pm_mail_date(const pm_mail *mail);
/* PM_MAIL_* flags. */
unsigned pm_mail_flags(const pm_mail *mail);

/* The own-text step alone, on text that is already UTF-8: cuts quoted
 * replies, forwarded blocks, reply headers (English and Japanese forms) and
 * disclaimers, keeps the layout of the rest, trims trailing blank lines.
 * *out is malloc'd (free it), NUL-terminated, *out_len its length; *flags (may
 * be NULL) gets PM_MAIL_QUOTE_CUT / PM_MAIL_DISCLAIMER_CUT. */
pm_status pm_own_text(const char *utf8, size_t len, char **out, size_t *out_len,
                      unsigned *flags);

/* Releases the process-wide state of the MIME library, for clean leak reports
 * at exit. Call once, after every other penmark call has returned. */
void pm_mail_library_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif
