/* The own-text step (see features/mail/owntext.h and pm_own_text in
 * include/penmark/mail.h).
 *
 * Three passes over the lines, each linear:
 *  1. find the cut: the first line from which everything is someone
 *     else's (a forward or "Original Message" marker, a reply-header block,
 *     an attribution not followed by quotes). Top-posting is the rule in
 *     business mail, so nothing after it is kept;
 *  2. before the cut, drop quoted lines, the attributions that introduce
 *     them and attachment placeholders: interleaved replies keep the
 *     author's lines between the quotes;
 *  3. drop legal-disclaimer paragraphs.
 * Then the kept lines are written back unchanged, with blank lines left by
 * a removed block merged and leading and trailing blank lines trimmed. */
#include "features/mail/owntext.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "features/mail/charset.h"
#include "features/mail/owntext_rules.h"
#include "penmark/mail.h"

enum { KEEP = 0, DROP_QUOTE, DROP_PLACEHOLDER, DROP_DISCLAIMER };

/* Line i of the text T in scope. */
#define LINE(i) pm__lines_at(T, (i))

/* How far a reply-header block may stretch: Notes wraps a long To: over
 * many lines, but a block is never a page long. */
#define BLOCK_MAX_LINES 200u
#define BLOCK_MAX_CONT 150u
/* Blank lines allowed inside a block: Notes leaves a few (often holding
 * only tabs) between the date and To:. */
#define BLOCK_MAX_BLANKS 6u

static size_t next_nonblank(const pm__lines *T, size_t from, size_t end) {
  while (from < end && pm__line_blank(LINE(from)))
    from++;
  return from;
}

/* The nearest non-blank line above i, skipping at most `max` blank lines;
 * SIZE_MAX when there is none. */
static size_t prev_nonblank(const pm__lines *T, size_t i, unsigned max) {
  unsigned skipped = 0;
  while (i > 0) {
    i--;
    if (!pm__line_blank(LINE(i)))
      return i;
    if (++skipped > max)
      break;
  }
  return SIZE_MAX;
}

static unsigned popcount(unsigned v) {
  unsigned c = 0;
  for (; v; v &= v - 1)
    c++;
  return c;
}

/* Whether a reply-header block starts at line i (which has a header key):
 * more header lines follow, with at most wrapped address lines and a few
 * blank lines between them, up to the Subject. Outlook writes
 * From/Sent/To/Subject, Notes To/cc/Subject, Apple From/Subject/Date/To. */
static bool header_block(const pm__lines *T, size_t n, size_t i,
                         size_t *scanned) {
  unsigned keys = pm__line_header_key(LINE(i));
  *scanned = i + 1;
  if (keys == PM__KEY_SUBJECT)
    return false;
  unsigned blanks = 0, conts = 0, odd = 0;
  bool date = false;
  size_t j = i + 1;
  for (; j < n && j < i + BLOCK_MAX_LINES; j++) {
    if (pm__line_blank(LINE(j))) {
      if (++blanks > BLOCK_MAX_BLANKS)
        break;
      continue;
    }
    blanks = 0;
    unsigned k = pm__line_header_key(LINE(j));
    if (k) {
      keys |= k;
      if (k == PM__KEY_SUBJECT)
        break;
      continue;
    }
    if (pm__line_notes_date(LINE(j))) {
      date = true;
      continue;
    }
    if (pm__line_header_cont(LINE(j)) && ++conts <= BLOCK_MAX_CONT)
      continue;
    /* The tail of a wrapped address list: "Communications", "grissom". */
    if (pm__line_notes_name_len(LINE(j)) <= 40 && ++odd <= 3)
      continue;
    break;
  }
  *scanned = j;
  /* Notes: "From:  Jane Doe" over (or beside) its date is a header by
   * itself, and To: under a date line needs no Subject. */
  size_t above = prev_nonblank(T, i, 3);
  bool date_above = above != SIZE_MAX && pm__line_notes_date(LINE(above));
  if (keys == PM__KEY_FROM && (date || pm__line_notes_datetime(LINE(i))))
    return true;
  if (popcount(keys) < 2)
    return false;
  if (keys & (PM__KEY_FROM | PM__KEY_SENTBY | PM__KEY_SENT))
    return true;
  return (keys & PM__KEY_TO) &&
         (date_above || (keys & (PM__KEY_SUBJECT | PM__KEY_DATE)));
}

/* Where the cut for a header block at line i really starts. Notes puts
 * the sender's name and a date line above To: ("Jane Doe" / "10/26/2000
 * 12:06 PM", or "jane@example.com on 10/26/2000 12:06:01 PM"), sometimes
 * an indented company line and "From: ... date";
 * Outlook puts a row of underscores above From:. The author's last line is
 * only taken with them when it sits above such a header line, or is
 * indented like an indented block. */
static size_t block_start(const pm__lines *T, size_t i) {
  size_t s = i;
  bool header_above = false, after_bare_date = false;
  pm__line name = {NULL, 0}; /* the name line taken, if any */
  for (int step = 0; step < 8; step++) {
    size_t j = prev_nonblank(T, s, 3);
    if (j == SIZE_MAX)
      break;
    /* Only a date line on its own has the sender's name on a line above
     * it; "Jo <jo@example.com> on 04/03/2001 12:53 PM" holds it already. */
    bool bare_date = pm__line_notes_date(LINE(j));
    if (bare_date || pm__line_header_key(LINE(j)) == PM__KEY_FROM ||
        pm__line_notes_from(LINE(j)) || pm__line_notes_respond(LINE(j)) ||
        (pm__line_notes_datetime(LINE(j)) &&
         pm__line_notes_name_len(LINE(j)) <= 120)) {
      s = j;
      header_above = true;
      after_bare_date = bare_date;
      continue;
    }
    if (pm__line_separator(LINE(j))) {
      s = j;
      break;
    }
    bool short_indented =
        pm__line_indented(LINE(j)) && pm__line_notes_name_len(LINE(j)) <= 60;
    /* Some Notes exports repeat the name and date lines. */
    pm__line lj = LINE(j);
    if ((after_bare_date && pm__line_notes_name(lj)) ||
        (name.s && lj.n == name.n && memcmp(lj.s, name.s, lj.n) == 0)) {
      s = j;
      name = lj;
      after_bare_date = false;
      continue;
    }
    if ((header_above && short_indented) ||
        (pm__line_indented(LINE(s)) && short_indented))
      s = j;
    break;
  }
  return s;
}

/* An attribution ending at line i: its level (0 none, 1 weak, 2 strong)
 * and in *start its first line, which is i - 1 when the attribution was
 * wrapped ("On Mon, 5 Jan 2015, Jane Doe <jane@example.com>" / "wrote:"). */
static int attribution_at(const pm__lines *T, size_t i, size_t *start) {
  int a = pm__line_attribution(LINE(i));
  *start = i;
  if (!a)
    return 0;
  if (i > 0 && !pm__line_attribution_self(LINE(i)) &&
      pm__line_attribution_head(LINE(i - 1))) {
    *start = i - 1;
    a = 2;
  }
  size_t m = prev_nonblank(T, *start, 1);
  if (m != SIZE_MAX && pm__line_mew_in(LINE(m)))
    *start = m;
  return a;
}

static size_t find_cut(const pm__lines *T, size_t n) {
  /* Lines inside a block that was already found not to be a reply header
   * start no block of their own: they would only see fewer of its fields.
   * This keeps the search linear on a mail of ten thousand "To:" lines. */
  size_t no_block_before = 0;
  for (size_t i = 0; i < n; i++) {
    if (pm__line_blank(LINE(i)) || pm__line_quote(LINE(i)))
      continue;
    if (pm__line_cut_marker(LINE(i)) || pm__line_notes_oneline(LINE(i)))
      return i;
    /* A lone Subject: left of a forwarded header, before the quoted mail. */
    if (pm__line_header_key(LINE(i)) == PM__KEY_SUBJECT) {
      size_t j = next_nonblank(T, i + 1, n);
      if (pm__line_subject_tab(LINE(i)) || (j < n && pm__line_quote(LINE(j))))
        return i;
    }
    if (i >= no_block_before && pm__line_header_key(LINE(i))) {
      if (header_block(T, n, i, &no_block_before))
        return block_start(T, i);
    }
    size_t start;
    if (attribution_at(T, i, &start) == 2) {
      size_t j = next_nonblank(T, i + 1, n);
      if (j == n || !pm__line_quote(LINE(j)))
        return start; /* unquoted original follows */
    }
  }
  return n;
}

static void mark_quotes(const pm__lines *T, size_t cut, unsigned char *drop) {
  for (size_t i = 0; i < cut; i++) {
    if (pm__line_quote(LINE(i))) {
      drop[i] = DROP_QUOTE;
      continue;
    }
    /* The tail of a quoted line that a client wrapped without its '>':
     * short, lower-case, between two quoted lines, the first one long. */
    if (i > 0 && i + 1 < cut && pm__line_quote(LINE(i - 1)) &&
        pm__line_quote(LINE(i + 1)) && LINE(i - 1).n >= 60 &&
        pm__line_notes_name_len(LINE(i)) <= 30 &&
        pm__line_lowercase_start(LINE(i))) {
      drop[i] = DROP_QUOTE;
      continue;
    }
    if (pm__line_placeholder(LINE(i))) {
      drop[i] = DROP_PLACEHOLDER;
      continue;
    }
    if (pm__line_blank(LINE(i)))
      continue;
    size_t j = next_nonblank(T, i + 1, cut), start = i;
    if (j < cut && pm__line_quote(LINE(j)) &&
        (attribution_at(T, i, &start) || pm__line_attribution_loose(LINE(i))))
      for (size_t k = start; k <= i; k++)
        drop[k] = DROP_QUOTE;
  }
}

static bool all_separators(const pm__lines *T, size_t a, size_t b) {
  for (size_t i = a; i < b; i++)
    if (!pm__line_separator(LINE(i)))
      return false;
  return b > a;
}

static bool mark_disclaimers(const pm__lines *T, size_t cut,
                             unsigned char *drop) {
  bool any = false, in_notice = false;
  size_t prev_a = SIZE_MAX, prev_b = 0; /* the paragraph before */
  size_t i = 0;
  while (i < cut) {
    if (drop[i] || pm__line_blank(LINE(i))) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < cut && !drop[j] && !pm__line_blank(LINE(j)))
      j++;
    bool hit = in_notice ? pm__para_disclaimer_tail(T, i, j) ||
                               pm__para_disclaimer(T, i, j)
                         : pm__para_disclaimer(T, i, j);
    if (hit) {
      memset(drop + i, DROP_DISCLAIMER, j - i);
      /* A lone row of stars or dashes above the notice goes with it. */
      if (!in_notice && prev_a != SIZE_MAX && all_separators(T, prev_a, prev_b))
        memset(drop + prev_a, DROP_DISCLAIMER, prev_b - prev_a);
      any = true;
    }
    in_notice = hit;
    prev_a = i;
    prev_b = j;
    i = j;
  }
  return any;
}

/* Copies utf8 into norm as valid UTF-8 with "\n" line ends. */
static bool normalise(const char *utf8, size_t len, pm__buf *norm) {
  if (!pm__utf8_sanitize(utf8, len, norm, NULL))
    return false;
  if (!norm->data && !pm__buf_reserve(norm, 0))
    return false;
  char *d = norm->data;
  size_t w = 0;
  for (size_t r = 0; r < norm->len; r++) {
    if (d[r] == '\r') {
      if (r + 1 < norm->len && d[r + 1] == '\n')
        continue;
      d[w++] = '\n';
    } else {
      d[w++] = d[r];
    }
  }
  norm->len = w;
  d[w] = '\0';
  return true;
}

/* Drops trailing whitespace, blank lines included, from out[from..). */
static void rstrip(pm__buf *out, size_t from) {
  for (;;) {
    size_t n = out->len;
    const char *s = out->data;
    if (n > from && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                     s[n - 1] == '\f' || s[n - 1] == '\v'))
      out->len--;
    else if (n >= from + 2 && (unsigned char)s[n - 2] == 0xC2 &&
             (unsigned char)s[n - 1] == 0xA0)
      out->len -= 2;
    else if (n >= from + 3 && memcmp(s + n - 3, "\xE3\x80\x80", 3) == 0)
      out->len -= 3;
    else
      break;
  }
  if (out->data)
    out->data[out->len] = '\0';
}

pm_status pm__own_text_buf(const char *utf8, size_t len, pm__buf *out,
                           unsigned *flags) {
  pm__buf norm = {0};
  uint32_t *off = NULL;
  unsigned char *drop = NULL;
  pm_status rc = PM_NOMEM;
  unsigned fl = 0;
  if (!utf8)
    len = 0;
  /* Line offsets are 32-bit (a quarter of the memory of pointers on a text
   * of blank lines); beyond that the text is cut, at a line end. */
  if (len > PM__OWN_TEXT_INPUT_MAX) {
    len = PM__OWN_TEXT_INPUT_MAX;
    while (len > 0 && utf8[len - 1] != '\n')
      len--;
    fl |= PM_MAIL_TRUNCATED;
  }
  if (!normalise(utf8 ? utf8 : "", len, &norm))
    goto done;
  size_t n = 1;
  for (const char *p = norm.data;
       (p = memchr(p, '\n', norm.len - (size_t)(p - norm.data))); p++)
    n++;
  off = malloc((n + 1) * sizeof *off);
  drop = calloc(n, 1);
  if (!off || !drop)
    goto done;
  {
    const char *p = norm.data, *end = norm.data + norm.len;
    for (size_t i = 0; i < n; i++) {
      off[i] = (uint32_t)(p - norm.data);
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      p = nl ? nl + 1 : end;
    }
    off[n] = (uint32_t)norm.len + 1; /* as if the text ended with "\n" */
  }
  const pm__lines text = {norm.data, off, n}, *T = &text;
  size_t cut = find_cut(T, n);
  mark_quotes(T, cut, drop);
  bool disclaimer = mark_disclaimers(T, cut, drop);
  bool quote = next_nonblank(T, cut, n) < n;
  size_t from = out->len;
  bool any = false, prev_blank = false, removed = false;
  for (size_t i = 0; i < cut; i++) {
    if (drop[i]) {
      quote |= drop[i] == DROP_QUOTE;
      removed = true;
      continue;
    }
    pm__line l = LINE(i);
    bool blank = pm__line_blank(l);
    if (blank && (!any || (prev_blank && removed)))
      continue;
    if (!pm__buf_append(out, l.s, l.n) || !pm__buf_putc(out, '\n'))
      goto done;
    any = true;
    prev_blank = blank;
    if (!blank)
      removed = false;
  }
  if (!pm__buf_reserve(out, 0))
    goto done;
  rstrip(out, from);
  fl |= (quote ? PM_MAIL_QUOTE_CUT : 0u) |
        (disclaimer ? PM_MAIL_DISCLAIMER_CUT : 0u);
  if (flags)
    *flags |= fl;
  rc = PM_OK;
done:
  free(off);
  free(drop);
  pm__buf_free(&norm);
  return rc;
}

pm_status pm_own_text(const char *utf8, size_t len, char **out, size_t *out_len,
                      unsigned *flags) {
  if (!out || (!utf8 && len))
    return PM_INVAL;
  *out = NULL;
  if (out_len)
    *out_len = 0;
  if (flags)
    *flags = 0;
  pm__buf b = {0};
  pm_status rc = pm__own_text_buf(utf8, len, &b, flags);
  if (rc != PM_OK) {
    pm__buf_free(&b);
    return rc;
  }
  size_t n = b.len;
  char *s = pm__buf_steal(&b);
  if (!s)
    return PM_NOMEM;
  *out = s;
  if (out_len)
    *out_len = n;
  return PM_OK;
}
