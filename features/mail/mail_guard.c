/* Bounds on what GMime sees (see pm__mime_guard in
 * features/mail/mail_internal.h).
 *
 * GMime's parser recurses once per multipart or message/rfc822 level and
 * tests every line against every open boundary; GMime 3.2 stops at depth
 * 1024 (multipart) and 512 (message), deep enough to exhaust a small
 * thread stack, and it builds an object for every part it finds. Measured
 * here, it also takes about 20 times its input in memory on a header block
 * of 30 MB. This scan follows the structure the way GMime's parser will,
 * so that the parser never sees more than max_depth levels, about
 * max_parts parts, or a header block over PM__HEADER_BLOCK_MAX bytes.
 *
 * The scan must never think the nesting shallower than GMime does, or the
 * bound would not hold. It errs the other way: a Content-Type line in a
 * body counts as a header, a boundary it cannot read (RFC 2231 encoded)
 * opens a level that only an enclosing delimiter closes, and delimiters
 * match exactly as GMime matches them ("--" boundary, optional "--",
 * trailing whitespace). */
#include <stdlib.h>
#include <string.h>

#include "features/mail/mail_internal.h"

typedef struct {
  const char *b; /* boundary (without "--"), NULL for a level without one */
  size_t n;
} level;

/* The edited copy, made only when something has to change: `done` is how
 * far the input has been copied (or skipped) so far. */
typedef struct {
  const char *data;
  size_t len;
  pm__buf out;
  bool editing;
  size_t done;
  bool ok;
} editor;

static void start_edit(editor *ed) {
  if (ed->editing)
    return;
  ed->editing = true;
  if (!pm__buf_reserve(&ed->out, ed->len))
    ed->ok = false;
}

/* Copies the input from where the copy stands up to `pos`. */
static void copy_to(editor *ed, size_t pos) {
  if (!ed->editing || !ed->ok || pos <= ed->done)
    return;
  if (!pm__buf_append(&ed->out, ed->data + ed->done, pos - ed->done))
    ed->ok = false;
  ed->done = pos;
}

static void replace_byte(editor *ed, size_t pos, char c) {
  start_edit(ed);
  copy_to(ed, pos);
  if (ed->ok && !pm__buf_putc(&ed->out, c))
    ed->ok = false;
  ed->done = pos + 1;
}

/* Leaves input[from..to) out of the copy. */
static void skip_range(editor *ed, size_t from, size_t to) {
  start_edit(ed);
  copy_to(ed, from);
  ed->done = to;
}

static char lc(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static bool ci_eq(const char *s, size_t n, const char *lit) {
  size_t m = strlen(lit);
  if (n < m)
    return false;
  for (size_t i = 0; i < m; i++)
    if (lc(s[i]) != lit[i])
      return false;
  return true;
}

static bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

/* Whether line s[0..n) is the delimiter of boundary lv; *closing tells
 * "--b--". */
static bool is_delimiter(const char *s, size_t n, const level *lv,
                         bool *closing) {
  if (!lv->b || n < lv->n + 2 || memcmp(s + 2, lv->b, lv->n) != 0)
    return false;
  size_t i = lv->n + 2;
  *closing = false;
  if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
    *closing = true;
    i += 2;
  }
  while (i < n && blank(s[i]))
    i++;
  return i == n;
}

/* The boundary parameter in a Content-Type value v[0..n): *b, *bn; false
 * when there is none that can be read plainly. */
static bool find_boundary(const char *v, size_t n, const char **b, size_t *bn) {
  for (size_t i = 0; i + 8 <= n; i++) {
    if (!ci_eq(v + i, n - i, "boundary"))
      continue;
    if (i > 0 && v[i - 1] != ';' && !blank(v[i - 1]) && v[i - 1] != '\n')
      continue;
    size_t k = i + 8;
    while (k < n && (blank(v[k]) || v[k] == '\n'))
      k++;
    if (k >= n || v[k] != '=')
      continue; /* "boundary*0=" and the like: not read here */
    k++;
    while (k < n && (blank(v[k]) || v[k] == '\n'))
      k++;
    if (k < n && v[k] == '"') {
      const char *q = memchr(v + k + 1, '"', n - k - 1);
      if (!q)
        return false;
      *b = v + k + 1;
      *bn = (size_t)(q - (v + k + 1));
    } else {
      size_t e = k;
      while (e < n && v[e] != ';' && !blank(v[e]) && v[e] != '\n')
        e++;
      *b = v + k;
      *bn = e - k;
    }
    return *bn > 0;
  }
  return false;
}

/* Where the scan stands. */
typedef struct {
  const char *data, *end;
  level *stack;
  size_t depth, max_depth, end_at;
  unsigned long parts, max_parts;
  bool opaque;       /* inside a renamed part: its inner headers are text */
  bool in_header;    /* in a header block (the input starts with one) */
  bool message_next; /* this header block opened a message/ part */
  size_t header_bytes;
  bool top_done;  /* the mail's own header block has ended */
  bool from_seen; /* the mail's own block kept a From: field */
  editor ed;
  unsigned *flags;
} scan;

static bool is_blank_line(const char *p, size_t n) {
  return n == 0 || (n == 1 && p[0] == '\r');
}

/* Whether line p[0..n) starts a From: field ("From" and optional blanks
 * before the colon, as GMime reads it; not the mbox "From " line). */
static bool is_from_field(const char *p, size_t n) {
  if (!ci_eq(p, n, "from"))
    return false;
  size_t k = 4;
  while (k < n && (p[k] == ' ' || p[k] == '\t'))
    k++;
  return k < n && p[k] == ':';
}

/* Where the field starting at the line before `next` ends: after its
 * folded continuation lines, at most PM__FIELD_KEEP_MAX bytes on. */
#define PM__FIELD_KEEP_MAX ((size_t)16 << 10)
static const char *field_end(const char *start, const char *next,
                             const char *end) {
  const char *e = next;
  while (e < end && (*e == ' ' || *e == '\t') &&
         (size_t)(e - start) < PM__FIELD_KEEP_MAX) {
    const char *nl = memchr(e, '\n', (size_t)(end - e));
    e = nl ? nl + 1 : end;
  }
  return e;
}

/* A line p[0..n) of a header block that ends it or makes it too big:
 * returns where the scan goes on, or NULL when the line is to be read as
 * any other. */
static const char *header_line(scan *g, const char *p, size_t n,
                               const char *next) {
  if (is_blank_line(p, n)) {
    /* The blank line ends the block; an attached message's own header
     * block follows at once. */
    g->top_done = true; /* the first block is the mail's own */
    g->in_header = g->message_next;
    g->message_next = false;
    g->header_bytes = 0;
    return next;
  }
  bool top = !g->top_done;
  g->header_bytes += (size_t)(next - p);
  if (g->header_bytes <= PM__HEADER_BLOCK_MAX) {
    if (top && is_from_field(p, n))
      g->from_seen = true;
    return NULL;
  }
  /* Drop the rest of this header block, up to its blank line, but keep
   * the mail's From: field when the kept part has none: the claimed
   * sender must not vanish behind padding, or an impostor could pad the
   * headers to be left unjudged. */
  const char *q = next, *fs = NULL, *fe = NULL;
  for (const char *l = p; l < g->end;) {
    const char *ln = memchr(l, '\n', (size_t)(g->end - l));
    const char *lnext = ln ? ln + 1 : g->end;
    size_t lsize = (size_t)((ln ? ln : g->end) - l);
    if (l != p && is_blank_line(l, lsize))
      break;
    if (top && !g->from_seen && !fs && is_from_field(l, lsize)) {
      fs = l;
      fe = field_end(l, lnext, g->end);
    }
    l = q = lnext;
  }
  size_t from = (size_t)(p - g->data), to = (size_t)(q - g->data);
  if (fs) {
    skip_range(&g->ed, from, (size_t)(fs - g->data));
    from = (size_t)(fe - g->data);
    g->from_seen = true;
  }
  skip_range(&g->ed, from, to);
  *g->flags |= PM_MAIL_PARTS_LIMIT;
  g->header_bytes = 0;
  return q;
}

/* A line that starts with "--": the delimiter of an open level closes the
 * levels inside it, and opens a part. False when that part is one too
 * many: the input is cut there. */
static bool delimiter_line(scan *g, const char *p, size_t n, const char *next) {
  for (size_t k = g->depth; k-- > 0;) {
    bool closing;
    if (!is_delimiter(p, n, &g->stack[k], &closing))
      continue;
    g->opaque = false;
    if (closing) {
      g->depth = k;
    } else {
      g->depth = k + 1;
      g->in_header = true;
      g->message_next = false;
      g->header_bytes = (size_t)(next - p);
      if (++g->parts > g->max_parts) {
        g->end_at = (size_t)(p - g->data);
        *g->flags |= PM_MAIL_PARTS_LIMIT;
        return false;
      }
    }
    break;
  }
  return true;
}

/* A Content-Type line p[0..n) (eol its end): a multipart or message/ type
 * opens a level, or, past max_depth, is renamed so that GMime reads the
 * part as opaque. */
static void content_type_line(scan *g, const char *p, size_t n,
                              const char *eol) {
  size_t k = 12;
  while (k < n && blank(p[k]))
    k++;
  if (k >= n || p[k] != ':')
    return;
  /* The value, with its folded continuation lines (bounded: a header block
   * is at most PM__HEADER_BLOCK_MAX when in_header). */
  const char *vend = eol, *end = g->end;
  while (vend + 1 < end && (vend[1] == ' ' || vend[1] == '\t') &&
         (size_t)(vend - p) < PM__HEADER_BLOCK_MAX) {
    const char *more = memchr(vend + 1, '\n', (size_t)(end - vend - 1));
    vend = more ? more : end;
  }
  const char *v = p + k + 1;
  size_t vn = (size_t)(vend - v);
  size_t t = 0;
  while (t < vn && (blank(v[t]) || v[t] == '\n'))
    t++;
  bool multi = ci_eq(v + t, vn - t, "multipart");
  bool message = !multi && ci_eq(v + t, vn - t, "message");
  if (!multi && !message)
    return;
  if (g->depth >= g->max_depth) {
    replace_byte(&g->ed, (size_t)((v + t) - g->data), 'x');
    *g->flags |= PM_MAIL_PARTS_LIMIT;
    g->opaque = true;
    return;
  }
  level lv = {NULL, 0};
  if (multi)
    find_boundary(v + t, vn - t, &lv.b, &lv.n);
  g->stack[g->depth++] = lv;
  g->message_next = message && g->in_header;
}

/* Follows the structure line by line, up to the end or the part that is
 * one too many. */
static void scan_lines(scan *g) {
  const char *p = g->data, *end = g->end;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl ? nl : end;
    const char *next = nl ? nl + 1 : end;
    size_t n = (size_t)(eol - p);
    if (g->in_header) {
      const char *go_on = header_line(g, p, n, next);
      if (go_on) {
        p = go_on;
        continue;
      }
    }
    if (n >= 2 && p[0] == '-' && p[1] == '-') {
      if (!delimiter_line(g, p, n, next))
        return;
    } else if (!g->opaque && (p[0] == 'C' || p[0] == 'c') &&
               ci_eq(p, n, "content-type")) {
      content_type_line(g, p, n, eol);
    }
    p = next;
  }
}

bool pm__mime_guard(const char *data, size_t len, unsigned max_depth,
                    unsigned max_parts, char **copy, const char **view,
                    size_t *view_len, unsigned *flags) {
  *copy = NULL;
  *view = data;
  *view_len = len;
  scan g = {.data = data,
            .end = data + len,
            .max_depth = max_depth,
            .max_parts = max_parts,
            .end_at = len,
            .in_header = true,
            .ed = {.data = data, .len = len, .ok = true},
            .flags = flags};
  g.stack = malloc(((size_t)max_depth + 1) * sizeof *g.stack);
  if (!g.stack)
    return false;
  scan_lines(&g);
  free(g.stack);
  editor *ed = &g.ed;
  if (ed->editing) {
    copy_to(ed, g.end_at);
    if (!ed->ok) {
      pm__buf_free(&ed->out);
      return false;
    }
    *view_len = ed->out.len;
    *copy = pm__buf_steal(&ed->out);
    if (!*copy)
      return false;
    *view = *copy;
  } else {
    *view_len = g.end_at;
  }
  return ed->ok;
}
