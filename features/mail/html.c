/* HTML to plain text (see features/mail/html.h).
 *
 * One pass over the bytes with a little state: where the output line
 * stands, whether collapsed whitespace is pending, how deep we are in
 * blockquote and pre. Not a conforming HTML parser: it only has to find the
 * text a reader sees and where the lines break, on whatever mail clients
 * and attackers send, in linear time. */
#include "features/mail/html.h"

#include <stdint.h>
#include <string.h>

#include "features/mail/charset.h"

typedef struct {
  pm__buf *out;
  bool ok;      /* false once an allocation failed */
  bool pending; /* collapsed whitespace waiting for the next word */
  unsigned bq;  /* blockquote depth */
  unsigned pre; /* pre depth: whitespace kept as is */
  size_t line0; /* offset in out where the current line starts */
} html_state;

static bool at_line_start(const html_state *st) {
  return st->out->len == st->line0;
}

static void put(html_state *st, const char *s, size_t n) {
  if (st->ok && !pm__buf_append(st->out, s, n))
    st->ok = false;
}

/* Starts a line's content: the quote prefix inside blockquote, then any
 * pending space. */
static void begin_text(html_state *st) {
  if (at_line_start(st)) {
    for (unsigned i = 0; i < st->bq && i < 32; i++)
      put(st, "> ", 2);
    st->pending = false;
    return;
  }
  if (st->pending)
    put(st, " ", 1);
  st->pending = false;
}

static void text(html_state *st, const char *s, size_t n) {
  begin_text(st);
  put(st, s, n);
}

/* Ends the current line: a blank line inside blockquote still gets its ">"
 * so that the quote stays one block; trailing spaces are dropped. */
static void newline(html_state *st) {
  pm__buf *o = st->out;
  if (at_line_start(st) && st->bq)
    put(st, ">", 1);
  if (!st->ok)
    return;
  while (o->len > st->line0 && (o->data[o->len - 1] == ' '))
    o->len--;
  put(st, "\n", 1);
  st->line0 = o->len;
  st->pending = false;
}

static void ensure_line_start(html_state *st) {
  if (!at_line_start(st))
    newline(st);
  st->pending = false;
}

/* ---- character references ---------------------------------------------- */

/* The Latin-1 names, U+00A0 to U+00FF in order. */
static const char *const LATIN1_NAMES[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar",
    "sect",   "uml",    "copy",   "ordf",   "laquo",  "not",    "shy",
    "reg",    "macr",   "deg",    "plusmn", "sup2",   "sup3",   "acute",
    "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",   "raquo",
    "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",
    "Atilde", "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute",
    "Ecirc",  "Euml",   "Igrave", "Iacute", "Icirc",  "Iuml",   "ETH",
    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",   "times",
    "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",
    "aelig",  "ccedil", "egrave", "eacute", "ecirc",  "euml",   "igrave",
    "iacute", "icirc",  "iuml",   "eth",    "ntilde", "ograve", "oacute",
    "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave", "uacute",
    "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};

static const struct {
  const char *name;
  uint32_t cp;
} OTHER_NAMES[] = {
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},
    {"quot", '"'},      {"apos", '\''},     {"rsquo", 0x2019},
    {"lsquo", 0x2018},  {"rdquo", 0x201D},  {"ldquo", 0x201C},
    {"ndash", 0x2013},  {"mdash", 0x2014},  {"hellip", 0x2026},
    {"bull", 0x2022},   {"euro", 0x20AC},   {"trade", 0x2122},
    {"sbquo", 0x201A},  {"bdquo", 0x201E},  {"dagger", 0x2020},
    {"Dagger", 0x2021}, {"permil", 0x2030}, {"lsaquo", 0x2039},
    {"rsaquo", 0x203A}, {"OElig", 0x0152},  {"oelig", 0x0153},
    {"Scaron", 0x0160}, {"scaron", 0x0161}, {"Yuml", 0x0178},
    {"fnof", 0x0192},   {"circ", 0x02C6},   {"tilde", 0x02DC},
    {"ensp", 0x2002},   {"emsp", 0x2003},   {"thinsp", 0x2009},
    {"zwnj", 0x200C},   {"zwj", 0x200D},    {"lrm", 0x200E},
    {"rlm", 0x200F},    {"prime", 0x2032},  {"Prime", 0x2033},
    {"oline", 0x203E},  {"frasl", 0x2044},  {"larr", 0x2190},
    {"uarr", 0x2191},   {"rarr", 0x2192},   {"darr", 0x2193},
    {"harr", 0x2194},   {"rArr", 0x21D2},   {"lArr", 0x21D0},
    {"hArr", 0x21D4},   {"minus", 0x2212},  {"infin", 0x221E},
    {"ne", 0x2260},     {"le", 0x2264},     {"ge", 0x2265},
    {"asymp", 0x2248},  {"loz", 0x25CA},    {"spades", 0x2660},
    {"clubs", 0x2663},  {"hearts", 0x2665}, {"diams", 0x2666},
    {"alpha", 0x03B1},  {"beta", 0x03B2},   {"gamma", 0x03B3},
    {"delta", 0x03B4},  {"mu", 0x03BC},     {"pi", 0x03C0},
    {"sigma", 0x03C3},  {"Omega", 0x03A9},  {"middot", 0x00B7},
};

/* windows-1252 meanings of &#128; to &#159;, as browsers read them. */
static const uint16_t C1_REMAP[32] = {
    0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,   0x017D, 0x8F,
    0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};

static bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
static bool is_alnum(unsigned char c) {
  return is_alpha(c) || is_digit(c);
}
static bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
static unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool lookup_name(const char *name, size_t n, uint32_t *cp) {
  for (size_t i = 0; i < sizeof OTHER_NAMES / sizeof OTHER_NAMES[0]; i++)
    if (strlen(OTHER_NAMES[i].name) == n &&
        memcmp(OTHER_NAMES[i].name, name, n) == 0) {
      *cp = OTHER_NAMES[i].cp;
      return true;
    }
  for (unsigned i = 0; i < 96; i++)
    if (strlen(LATIN1_NAMES[i]) == n && memcmp(LATIN1_NAMES[i], name, n) == 0) {
      *cp = 0xA0 + i;
      return true;
    }
  return false;
}

/* Decodes the reference at s[0] == '&'. Returns the bytes consumed and sets
 * *cp, or 0 when this '&' is a literal ampersand. */
static size_t char_ref(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t i = 1;
  if (i < n && s[i] == '#') {
    i++;
    bool hex = i < n && (s[i] == 'x' || s[i] == 'X');
    if (hex)
      i++;
    size_t d0 = i;
    uint32_t v = 0;
    while (i < n && (hex ? is_hex(s[i]) : is_digit(s[i]))) {
      unsigned dv = is_digit(s[i]) ? s[i] - '0' : (lower(s[i]) - 'a' + 10);
      if (v <= 0x110000)
        v = v * (hex ? 16 : 10) + dv; /* clamps: anything bigger is bad */
      i++;
    }
    if (i == d0)
      return 0;
    if (i < n && s[i] == ';')
      i++;
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
      v = 0xFFFD;
    else if (v >= 0x80 && v <= 0x9F)
      v = C1_REMAP[v - 0x80];
    *cp = v;
    return i;
  }
  while (i < n && i < 33 && is_alnum(s[i]))
    i++;
  if (i == 1)
    return 0;
  if (i < n && s[i] == ';' && lookup_name((const char *)s + 1, i - 1, cp))
    return i + 1;
  /* A few names are honoured without the semicolon, as browsers do. */
  static const char *const legacy[] = {"amp",  "lt",   "gt", "quot",
                                       "nbsp", "copy", "reg"};
  for (size_t k = 0; k < sizeof legacy / sizeof legacy[0]; k++) {
    size_t ln = strlen(legacy[k]);
    if (i - 1 >= ln && memcmp(s + 1, legacy[k], ln) == 0 &&
        lookup_name(legacy[k], ln, cp))
      return 1 + ln;
  }
  return 0;
}

/* ---- tags -------------------------------------------------------------- */

static bool name_in(const char *name, const char *const *list) {
  for (; *list; list++)
    if (strcmp(name, *list) == 0)
      return true;
  return false;
}

static const char *const BLOCK_TAGS[] = {
    "p",          "div",     "li",       "tr",     "h1",         "h2",
    "h3",         "h4",      "h5",       "h6",     "ul",         "ol",
    "table",      "hr",      "dl",       "dt",     "dd",         "address",
    "center",     "section", "article",  "header", "footer",     "nav",
    "aside",      "form",    "fieldset", "figure", "figcaption", "main",
    "caption",    "details", "summary",  "body",   "html",       "pre",
    "blockquote", "tbody",   "thead",    "tfoot",  NULL};

/* Elements whose content is never shown. */
static const char *const HIDDEN_TAGS[] = {"script",   "style", "title",
                                          "template", "head",  NULL};

/* Finds "</name" (any case) from s[from], returns its offset or n. */
static size_t find_close(const unsigned char *s, size_t n, size_t from,
                         const char *name) {
  size_t ln = strlen(name);
  for (size_t i = from; i + 2 + ln <= n; i++) {
    const unsigned char *p = memchr(s + i, '<', n - i);
    if (!p)
      return n;
    i = (size_t)(p - s);
    if (i + 2 + ln > n)
      return n;
    if (s[i + 1] != '/')
      continue;
    size_t k = 0;
    while (k < ln && lower(s[i + 2 + k]) == (unsigned char)name[k])
      k++;
    if (k == ln && (i + 2 + ln == n || !is_alnum(s[i + 2 + ln])))
      return i;
  }
  return n;
}

/* The end of the tag that starts at s[i] == '<': the offset just past its
 * '>'. Quotes in attribute values may hold '>'; an unbalanced quote falls
 * back to the first '>' so that one stray quote does not eat the mail. */
static size_t tag_end(const unsigned char *s, size_t n, size_t i) {
  unsigned char q = 0;
  for (size_t k = i + 1; k < n; k++) {
    unsigned char c = s[k];
    if (q) {
      if (c == q)
        q = 0;
    } else if (c == '"' || c == '\'') {
      if (k > i + 1 && s[k - 1] == '=')
        q = c;
      else if (k > i + 2 && s[k - 1] == ' ' && s[k - 2] == '=')
        q = c;
    } else if (c == '>') {
      return k + 1;
    }
  }
  const unsigned char *gt = memchr(s + i, '>', n - i);
  return gt ? (size_t)(gt - s) + 1 : n;
}

static void handle_tag(html_state *st, const char *name, bool closing) {
  if (strcmp(name, "br") == 0) {
    begin_text(st); /* a <br> on an empty quoted line keeps its "> " */
    newline(st);
    return;
  }
  if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
    if (!at_line_start(st))
      st->pending = true;
    return;
  }
  if (!name_in(name, BLOCK_TAGS))
    return;
  ensure_line_start(st);
  if (strcmp(name, "blockquote") == 0) {
    if (!closing)
      st->bq++;
    else if (st->bq)
      st->bq--;
  } else if (strcmp(name, "pre") == 0) {
    if (!closing)
      st->pre++;
    else if (st->pre)
      st->pre--;
  }
}

/* The markup that starts with '<' at s[i] (a comment, a declaration, a
 * tag and what a hiding tag hides, or a lone '<' as text): returns the
 * index after it. */
static size_t markup(html_state *st, const unsigned char *s, size_t n,
                     size_t i) {
  if (i + 3 < n && s[i + 1] == '!' && s[i + 2] == '-' && s[i + 3] == '-') {
    const char *end = memmem(s + i + 4, n - i - 4, "-->", 3);
    return end ? (size_t)((const unsigned char *)end - s) + 3 : n;
  }
  if (i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?'))
    return tag_end(s, n, i);
  if (!(i + 1 < n && (is_alpha(s[i + 1]) ||
                      (s[i + 1] == '/' && i + 2 < n && is_alpha(s[i + 2]))))) {
    text(st, "<", 1);
    return i + 1;
  }
  bool closing = s[i + 1] == '/';
  size_t k = i + 1 + closing;
  char name[16];
  size_t nl = 0;
  while (k < n && (is_alnum(s[k]) || s[k] == ':' || s[k] == '-')) {
    if (nl + 1 < sizeof name)
      name[nl++] = (char)lower(s[k]);
    k++;
  }
  name[nl] = '\0';
  i = tag_end(s, n, i);
  handle_tag(st, name, closing);
  if (!closing && name_in(name, HIDDEN_TAGS)) {
    size_t close = find_close(s, n, i, name);
    /* An unclosed <head> is ignored, not taken as hiding the mail. */
    if (close < n)
      i = tag_end(s, n, close);
    else if (strcmp(name, "head") != 0)
      i = n;
  }
  return i;
}

/* The character reference that starts with '&' at s[i] (or a lone '&'):
 * returns the index after it. */
static size_t reference(html_state *st, const unsigned char *s, size_t n,
                        size_t i) {
  uint32_t cp;
  size_t k = char_ref(s + i, n - i, &cp);
  if (k == 0) {
    text(st, "&", 1);
    return i + 1;
  }
  if (cp == 0xA0) {
    text(st, " ", 1); /* real, uncollapsed space */
  } else {
    begin_text(st);
    if (st->ok && !pm__utf8_put(st->out, cp))
      st->ok = false;
  }
  return i + k;
}

/* White space s[i]: kept in <pre>, else one pending space. */
static void space(html_state *st, const unsigned char *s, size_t i) {
  unsigned char c = s[i];
  if (st->pre) {
    if (c == '\n')
      newline(st);
    else if (c != '\r')
      text(st, (const char *)s + i, 1);
  } else if (!at_line_start(st)) {
    st->pending = true;
  }
}

bool pm__html_to_text(const char *html, size_t len, pm__buf *out) {
  /* Work on valid UTF-8 so that nothing below can split a character. */
  pm__buf clean = {0};
  if (!pm__utf8_sanitize(html, len, &clean, NULL)) {
    pm__buf_free(&clean);
    return false;
  }
  const unsigned char *s =
      (const unsigned char *)(clean.data ? clean.data : "");
  size_t n = clean.len;
  html_state st = {.out = out, .ok = true, .line0 = out->len};
  /* If out already holds text, start on a fresh line. */
  if (out->len && out->data[out->len - 1] != '\n')
    newline(&st);
  size_t i = 0, run = 0; /* run: start of pending plain text */
  while (i < n && st.ok) {
    unsigned char c = s[i];
    if (c != '<' && c != '&' && !is_space(c)) {
      i++;
      continue;
    }
    if (i > run) /* the plain text before */
      text(&st, (const char *)s + run, i - run);
    if (c == '<') {
      i = markup(&st, s, n, i);
    } else if (c == '&') {
      i = reference(&st, s, n, i);
    } else {
      space(&st, s, i);
      i++;
    }
    run = i;
  }
  if (st.ok && i > run)
    text(&st, (const char *)s + run, i - run);
  if (st.ok && !at_line_start(&st))
    newline(&st);
  pm__buf_free(&clean);
  return st.ok;
}
