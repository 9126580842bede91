/* The own-text step: what the sender wrote, without what they quoted.
 *
 * Internal to the library; pm_own_text() in include/penmark/mail.h is the
 * public face. */
#ifndef PM_FEATURES_OWNTEXT_H
#define PM_FEATURES_OWNTEXT_H

#include <stddef.h>

#include "common/buf.h"
#include "penmark/error.h"

/* The most text the own-text step reads (32-bit line offsets); a longer
 * text is cut at a line end and PM_MAIL_TRUNCATED set. */
#define PM__OWN_TEXT_INPUT_MAX ((size_t)0xFFFFFFF0u)

/* Appends the own text of utf8[0..len) to out (see pm_own_text for what is
 * cut and kept). Invalid UTF-8 and NUL in the input become U+FFFD. ORs
 * PM_MAIL_QUOTE_CUT / PM_MAIL_DISCLAIMER_CUT (and PM_MAIL_TRUNCATED, see
 * above) into *flags (may be NULL).
 * Linear in len. Errors: PM_NOMEM. */
pm_status pm__own_text_buf(const char *utf8, size_t len, pm__buf *out,
                           unsigned *flags);

#endif
