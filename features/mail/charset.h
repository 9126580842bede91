/* Charset decoding for the mail module: any labelled (or unlabelled) byte
 * string to valid UTF-8, never failing on bad input.
 *
 * Internal to the library (pm__ prefix); the public contract is
 * include/penmark/mail.h. All functions are reentrant: no shared state beyond
 * what glibc's iconv keeps for itself. */
#ifndef PM_FEATURES_CHARSET_H
#define PM_FEATURES_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Decodes `len` bytes in the charset named by `label` (NULL or "" when the
 * mail gave none) and appends valid UTF-8 to `out`. A missing, unknown or
 * wrong label falls back to a guess: valid UTF-8, then ISO-2022-JP escapes,
 * then Shift_JIS (CP932) or EUC-JP when the bytes are valid and read as
 * Japanese, then windows-1252. iso-8859-1 and us-ascii labels are read as
 * windows-1252, as mail clients do. Undecodable bytes and NUL become U+FFFD.
 * ORs PM_MAIL_CHARSET_GUESSED / PM_MAIL_INVALID_UTF8 into *flags (flags may
 * be NULL). Returns false only when memory runs out (out then holds a
 * partial result; the caller frees it as usual). */
bool pm__charset_decode(const char *data, size_t len, const char *label,
                        pm__buf *out, unsigned *flags);

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates, nothing
 * over U+10FFFF) and holds no NUL byte. */
bool pm__utf8_valid(const char *s, size_t len);

/* Appends s[0..len) to out with every invalid UTF-8 sequence (maximal
 * subpart, as the WHATWG decoder does) and every NUL replaced by U+FFFD.
 * *nbad (may be NULL) gets the number of replacements. False on no memory. */
bool pm__utf8_sanitize(const char *s, size_t len, pm__buf *out, size_t *nbad);

/* Appends the code point cp as UTF-8 (U+FFFD when cp is not a scalar
 * value). False on no memory. */
bool pm__utf8_put(pm__buf *out, uint32_t cp);

/* Decodes one UTF-8 sequence at s (n bytes available). Returns its length
 * and sets *cp, or returns 0 when the bytes there are not a valid sequence
 * (*len_bad then gets the length of the maximal invalid subpart, >= 1). */
size_t pm__utf8_next(const unsigned char *s, size_t n, uint32_t *cp,
                     size_t *len_bad);

#endif
