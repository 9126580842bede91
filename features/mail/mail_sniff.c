/* What kind of input this is (see pm__mail_sniff in
 * features/mail/mail_internal.h).
 *
 * A mail starts with a header block: lines "Field-Name: value" (RFC 5322
 * field names: printable ASCII but ':'), folded lines that start with a
 * space or tab, ending at a blank line. Mailing-list archives keep the same
 * shape with fewer fields. Anything else is a bare body (a text file), or,
 * when it is full of control bytes, not text at all. */
#include <stdbool.h>
#include <string.h>

#include "features/mail/mail_internal.h"

/* RFC 5322 allows field names up to the 998-byte line limit; real ones are
 * short, and a long run of ftext before a colon is text, not a field. */
#define FIELD_NAME_MAX 76u
/* A body with this share of control bytes or more is binary. Text has
 * none; random bytes have about 10%; UTF-16 about 50%. */
#define CONTROL_PCT_BINARY 5u

static bool is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
         c == '\v';
}

/* A field line: name of ftext, optional blanks (obsolete syntax), colon. */
static bool field_line(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n && i <= FIELD_NAME_MAX && s[i] >= 33 && s[i] <= 126 &&
         s[i] != ':')
    i++;
  if (i == 0 || i > FIELD_NAME_MAX)
    return false;
  while (i < n && (s[i] == ' ' || s[i] == '\t'))
    i++;
  return i < n && s[i] == ':';
}

/* Whether a header block starts at s: the first line is a field; the
 * block runs to a blank line (or the end), and at most a fifth of its
 * lines are neither fields nor folded continuations (real mail has the odd
 * broken header line; prose that opens with "Note: ..." does not pass). */
static bool header_block(const unsigned char *s, size_t n) {
  size_t good = 0, bad = 0, i = 0;
  bool first = true;
  while (i < n) {
    const unsigned char *nl = memchr(s + i, '\n', n - i);
    size_t end = nl ? (size_t)(nl - s) : n, ll = end - i;
    if (ll && s[end - 1] == '\r')
      ll--;
    if (ll == 0)
      break; /* the blank line that ends the block */
    if (field_line(s + i, ll))
      good++;
    else if (!first && (s[i] == ' ' || s[i] == '\t'))
      good++;
    else if (first)
      return false;
    else
      bad++;
    first = false;
    i = nl ? end + 1 : n;
  }
  return good > 0 && bad * 5 <= good;
}

pm__input_kind pm__mail_sniff(const char *data, size_t len, size_t *skip,
                              unsigned *control_pct) {
  const unsigned char *s = (const unsigned char *)data;
  *skip = 0;
  *control_pct = 0;
  size_t i = 0;
  while (i < len && is_ws(s[i]))
    i++;
  if (i == len)
    return PM__INPUT_EMPTY;
  size_t start = 0;
  if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
    start = 3;
  /* An mbox envelope line ("From sender date") before the headers. */
  if (len - start >= 5 && memcmp(s + start, "From ", 5) == 0) {
    const unsigned char *nl = memchr(s + start, '\n', len - start);
    if (nl && header_block(nl + 1, len - (size_t)(nl + 1 - s))) {
      *skip = (size_t)(nl + 1 - s);
      return PM__INPUT_MAIL;
    }
  }
  if (header_block(s + start, len - start)) {
    *skip = start;
    return PM__INPUT_MAIL;
  }
  size_t control = 0;
  for (i = 0; i < len; i++) {
    unsigned char c = s[i];
    if ((c < 0x20 && !is_ws(c) && c != 0x1B) || c == 0x7F)
      control++;
  }
  unsigned pct = (unsigned)((control * 100u + len / 2) / len);
  *control_pct = pct;
  if (control * 100u >= (size_t)CONTROL_PCT_BINARY * len)
    return PM__INPUT_BINARY;
  *skip = start;
  return PM__INPUT_BODY;
}
