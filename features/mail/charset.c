/* Charset decoding to UTF-8 (see features/mail/charset.h).
 *
 * Mail charset labels are often missing or wrong: Shift_JIS sent as
 * "utf-8", UTF-8 sent as "iso-8859-1", windows-1252 smart quotes sent as
 * "us-ascii". The decoder believes a label only when the bytes agree with
 * it, and otherwise guesses from the bytes, in the order real clients'
 * mail makes most likely. Conversions go through glibc iconv, except
 * windows-1252 and UTF-8 (a table and a validator are simpler and faster)
 * and ISO-2022-JP (see iso2022jp_to_euc). */
#include "features/mail/charset.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "penmark/mail.h"

/* How much of a long text the Japanese plausibility test looks at: enough
 * to tell Shift_JIS from EUC-JP, small enough to stay cheap on 30 MB. */
#define SAMPLE_BYTES (64u * 1024u)

/* ---- UTF-8 ------------------------------------------------------------ */

size_t pm__utf8_next(const unsigned char *s, size_t n, uint32_t *cp,
                     size_t *len_bad) {
  unsigned c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t need;
  uint32_t v;
  unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    v = c & 0x0F;
    if (c == 0xE0)
      lo = 0xA0; /* no overlongs */
    else if (c == 0xED)
      hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    v = c & 0x07;
    if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F; /* nothing over U+10FFFF */
  } else {
    *len_bad = 1;
    return 0;
  }
  size_t i = 1;
  for (; i <= need; i++) {
    if (i >= n) {
      *len_bad = i;
      return 0;
    }
    unsigned b = s[i];
    unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) {
      *len_bad = i;
      return 0;
    }
    v = (v << 6) | (b & 0x3F);
  }
  *cp = v;
  return need + 1;
}

bool pm__utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    if (p[i] >= 0x80) {
      uint32_t cp;
      size_t bad, k = pm__utf8_next(p + i, len - i, &cp, &bad);
      if (!k)
        return false;
      i += k;
    } else if (p[i] == 0) {
      return false;
    } else {
      i++;
    }
  }
  return true;
}

bool pm__utf8_put(pm__buf *out, uint32_t cp) {
  char b[4];
  size_t n;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    cp = 0xFFFD;
  if (cp < 0x80) {
    b[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (char)(0xC0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return pm__buf_append(out, b, n);
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

bool pm__utf8_sanitize(const char *s, size_t len, pm__buf *out, size_t *nbad) {
  const unsigned char *p = (const unsigned char *)s;
  size_t bad = 0, i = 0, run = 0; /* run: start of the pending valid span */
  if (!pm__buf_reserve(out, len))
    return false;
  while (i < len) {
    if (p[i] >= 0x80) {
      uint32_t cp;
      size_t nb, k = pm__utf8_next(p + i, len - i, &cp, &nb);
      if (k) {
        i += k;
        continue;
      }
      if (!pm__buf_append(out, s + run, i - run) ||
          !pm__buf_append(out, REPLACEMENT, 3))
        return false;
      bad++;
      i += nb;
      run = i;
    } else if (p[i] == 0) {
      if (!pm__buf_append(out, s + run, i - run) ||
          !pm__buf_append(out, REPLACEMENT, 3))
        return false;
      bad++;
      run = ++i;
    } else {
      i++;
    }
  }
  if (!pm__buf_append(out, s + run, len - run))
    return false;
  if (nbad)
    *nbad = bad;
  return true;
}

/* Counts over the whole input, one pass each, so that the choice of
 * decoder never has to convert the text twice. */
typedef struct {
  bool has8bit, has_nul, has_jis_esc;
  size_t utf8_multi, utf8_bad; /* valid multibyte / invalid sequences */
  size_t sjis_bad, euc_bad;    /* sequences Shift_JIS / EUC-JP reject */
} byte_stats;

static void utf8_stats(const unsigned char *p, size_t len, byte_stats *st) {
  size_t i = 0;
  while (i < len) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    uint32_t cp;
    size_t nb, k = pm__utf8_next(p + i, len - i, &cp, &nb);
    if (k) {
      st->utf8_multi++;
      i += k;
    } else {
      st->utf8_bad++;
      i += nb;
    }
  }
}

/* Shift_JIS as CP932 (the Windows superset every Japanese client sends):
 * single bytes 00-7F and A1-DF (half-width katakana), pairs led by 81-9F or
 * E0-FC with a trail byte in 40-7E or 80-FC. */
static size_t sjis_bad(const unsigned char *p, size_t len) {
  size_t bad = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned c = p[i];
    if (c < 0x80 || (c >= 0xA1 && c <= 0xDF))
      continue;
    if ((c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xFC)) {
      if (i + 1 < len) {
        unsigned t = p[i + 1];
        if ((t >= 0x40 && t <= 0x7E) || (t >= 0x80 && t <= 0xFC)) {
          i++;
          continue;
        }
      }
    }
    bad++;
  }
  return bad;
}

/* EUC-JP: pairs of A1-FE, 8E + half-width katakana, 8F + a JIS X 0212
 * pair. */
static size_t euc_bad(const unsigned char *p, size_t len) {
  size_t bad = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned c = p[i];
    if (c < 0x80)
      continue;
    if (c >= 0xA1 && c <= 0xFE && i + 1 < len && p[i + 1] >= 0xA1 &&
        p[i + 1] <= 0xFE) {
      i++;
      continue;
    }
    if (c == 0x8E && i + 1 < len && p[i + 1] >= 0xA1 && p[i + 1] <= 0xDF) {
      i++;
      continue;
    }
    if (c == 0x8F && i + 2 < len && p[i + 1] >= 0xA1 && p[i + 1] <= 0xFE &&
        p[i + 2] >= 0xA1 && p[i + 2] <= 0xFE) {
      i += 2;
      continue;
    }
    bad++;
  }
  return bad;
}

static void collect_stats(const unsigned char *p, size_t len, byte_stats *st) {
  memset(st, 0, sizeof *st);
  for (size_t i = 0; i < len; i++) {
    if (p[i] >= 0x80)
      st->has8bit = true;
    else if (p[i] == 0)
      st->has_nul = true;
    else if (p[i] == 0x1B && i + 2 < len) {
      /* ESC $ B, ESC $ @, ESC $ ( D: a JIS X 0208/0212 designation. */
      if (p[i + 1] == '$' &&
          (p[i + 2] == 'B' || p[i + 2] == '@' || p[i + 2] == '('))
        st->has_jis_esc = true;
    }
  }
  if (!st->has8bit)
    return;
  utf8_stats(p, len, st);
  if (st->utf8_bad) {
    st->sjis_bad = sjis_bad(p, len);
    st->euc_bad = euc_bad(p, len);
  }
}

/* ---- decoders ---------------------------------------------------------- */

/* windows-1252 bytes 80-9F; 0 marks the five bytes it leaves undefined. */
static const uint16_t CP1252_C1[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

static bool decode_cp1252(const unsigned char *p, size_t len, pm__buf *out,
                          size_t *bad) {
  if (!pm__buf_reserve(out, len))
    return false;
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] < 0x80 && p[i] != 0)
      continue;
    if (!pm__buf_append(out, p + run, i - run))
      return false;
    uint32_t cp = p[i];
    if (cp >= 0x80 && cp <= 0x9F)
      cp = CP1252_C1[cp - 0x80];
    if (cp == 0) {
      cp = 0xFFFD;
      (*bad)++;
    }
    if (!pm__utf8_put(out, cp))
      return false;
    run = i + 1;
  }
  return pm__buf_append(out, p + run, len - run);
}

/* Converts with glibc iconv; every byte iconv rejects becomes U+FFFD and the
 * conversion goes on after it. Returns 1 done, 0 no memory, -1 when iconv
 * does not know the charset (nothing appended). */
static int decode_iconv(const char *from, const char *in, size_t len,
                        pm__buf *out, size_t *bad) {
  iconv_t cd = iconv_open("UTF-8", from);
  if (cd == (iconv_t)-1)
    return -1;
  char *ip = (char *)in;
  size_t ileft = len;
  int rc = 1;
  for (;;) {
    size_t chunk = ileft < (1u << 20) ? ileft : (1u << 20);
    if (!pm__buf_reserve(out, chunk * 3 + 16)) {
      rc = 0;
      break;
    }
    char *op = out->data + out->len;
    size_t oleft = out->cap - out->len - 1;
    size_t r = iconv(cd, &ip, &ileft, &op, &oleft);
    int e = errno;
    out->len = (size_t)(op - out->data);
    if (r != (size_t)-1)
      break; /* all input consumed */
    if (e == E2BIG)
      continue;
    if (!pm__buf_append(out, REPLACEMENT, 3)) {
      rc = 0;
      break;
    }
    (*bad)++;
    if (e != EILSEQ || ileft <= 1)
      break; /* EINVAL: a sequence cut short by the end of the input */
    ip++;
    ileft--;
  }
  /* Return a stateful charset to its initial state (may emit bytes). */
  if (rc == 1 && pm__buf_reserve(out, 16)) {
    char *op = out->data + out->len;
    size_t oleft = out->cap - out->len - 1;
    if (iconv(cd, NULL, NULL, &op, &oleft) != (size_t)-1)
      out->len = (size_t)(op - out->data);
  }
  if (out->data)
    out->data[out->len] = '\0';
  iconv_close(cd);
  return rc;
}

/* ISO-2022-JP as real clients send it carries NEC and IBM extension
 * characters (circled digits, roman numerals) that glibc's strict
 * ISO-2022-JP rejects. The 7-bit JIS pairs map one to one onto EUC-JP pairs
 * (each byte | 0x80), and glibc's EUC-JP-MS knows those extensions, so the
 * text is rewritten to EUC-JP and converted from there. 0xFF, never valid in
 * EUC-JP, stands in for anything broken so that it becomes U+FFFD. Line
 * ends return to ASCII: a mail that forgot ESC ( B loses one line, not the
 * rest of the text. */
static bool iso2022jp_to_euc(const unsigned char *p, size_t len, pm__buf *euc) {
  enum { ASCII, JIS0208, JIS0212, KANA } mode = ASCII;
  if (!pm__buf_reserve(euc, len + len / 2))
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned c = p[i];
    bool ok = true;
    if (c == 0x1B) {
      size_t rest = len - i - 1;
      const unsigned char *e = p + i + 1;
      if (rest >= 2 && e[0] == '$' && (e[1] == 'B' || e[1] == '@')) {
        mode = JIS0208;
        i += 2;
      } else if (rest >= 3 && e[0] == '$' && e[1] == '(' &&
                 (e[2] == 'D' || e[2] == 'Q' || e[2] == 'O')) {
        mode = e[2] == 'D' ? JIS0212 : JIS0208;
        i += 3;
      } else if (rest >= 2 && e[0] == '(' &&
                 (e[1] == 'B' || e[1] == 'J' || e[1] == 'H')) {
        mode = ASCII;
        i += 2;
      } else if (rest >= 2 && e[0] == '(' && e[1] == 'I') {
        mode = KANA;
        i += 2;
      } else {
        ok = pm__buf_putc(euc, (char)0xFF);
      }
    } else if (c == 0x0E) {
      mode = KANA;
    } else if (c == 0x0F) {
      mode = ASCII;
    } else if (c == '\n' || c == '\r') {
      mode = ASCII;
      ok = pm__buf_putc(euc, (char)c);
    } else if (c >= 0x80) {
      ok = pm__buf_putc(euc, (char)0xFF);
    } else if (mode == ASCII || c < 0x21 || c > 0x7E) {
      ok = pm__buf_putc(euc, (char)c);
    } else if (mode == KANA) {
      char k[2] = {(char)0x8E, (char)(c | 0x80)};
      ok = c <= 0x5F ? pm__buf_append(euc, k, 2) : pm__buf_putc(euc, (char)c);
    } else if (i + 1 < len && p[i + 1] >= 0x21 && p[i + 1] <= 0x7E) {
      char k[3] = {(char)0x8F, (char)(c | 0x80), (char)(p[i + 1] | 0x80)};
      ok = mode == JIS0212 ? pm__buf_append(euc, k, 3)
                           : pm__buf_append(euc, k + 1, 2);
      i++;
    } else {
      ok = pm__buf_putc(euc, (char)0xFF);
    }
    if (!ok)
      return false;
  }
  return true;
}

static int decode_iso2022jp(const unsigned char *p, size_t len, pm__buf *out,
                            size_t *bad) {
  pm__buf euc = {0};
  if (!iso2022jp_to_euc(p, len, &euc)) {
    pm__buf_free(&euc);
    return 0;
  }
  int rc =
      decode_iconv("EUC-JP-MS", euc.data ? euc.data : "", euc.len, out, bad);
  pm__buf_free(&euc);
  return rc;
}

/* ---- labels ------------------------------------------------------------ */

typedef enum {
  CS_NONE,    /* no label */
  CS_UNKNOWN, /* a label iconv does not know */
  CS_UTF8,
  CS_LATIN, /* us-ascii, iso-8859-1, windows-1252: read as windows-1252 */
  CS_SJIS,
  CS_EUCJP,
  CS_ISO2022JP,
  CS_WIDE,  /* UTF-16/32: bytes are never ASCII-compatible */
  CS_ICONV, /* any other label iconv knows */
} cs_kind;

static bool label_is(const char *l, const char *const *names) {
  for (; *names; names++)
    if (strcmp(l, *names) == 0)
      return true;
  return false;
}

/* Classifies a label; `name` gets the iconv name for CS_ICONV/CS_WIDE (a
 * cleaned copy of the label: only [A-Za-z0-9._:-], so that nothing a mail
 * says reaches iconv_open's option syntax). */
static cs_kind classify(const char *label, char *name, size_t cap) {
  static const char *const utf8[] = {"utf-8", "utf8", "unicode-1-1-utf-8",
                                     "x-unicode20utf8", NULL};
  static const char *const latin[] = {
      "us-ascii",  "ascii",      "ansi_x3.4-1968",  "iso-8859-1",
      "iso8859-1", "iso_8859-1", "latin1",          "latin-1",
      "l1",        "cp819",      "iso-ir-100",      "windows-1252",
      "cp1252",    "x-cp1252",   "cp-1252",         "ibm819",
      "csascii",   "us",         "iso_8859-1:1987", NULL};
  static const char *const sjis[] = {
      "shift_jis",      "shift-jis",   "sjis",  "x-sjis", "ms_kanji",
      "csshiftjis",     "windows-31j", "cp932", "ms932",  "x-ms-cp932",
      "shift_jisx0213", "x-shift_jis", NULL};
  static const char *const euc[] = {
      "euc-jp",    "eucjp", "x-euc-jp", "cseucpkdfmtjapanese",
      "euc-jp-ms", "x-euc", "ujis",     NULL};
  static const char *const jis[] = {"iso-2022-jp",   "csiso2022jp",   "jis",
                                    "iso-2022-jp-1", "x-iso-2022-jp", NULL};
  if (!label)
    return CS_NONE;
  char l[48];
  size_t n = 0;
  const char *s = label;
  while (*s == ' ' || *s == '\t' || *s == '"' || *s == '\'')
    s++;
  for (; *s && n + 1 < sizeof l; s++) {
    char c = *s;
    if (c == '"' || c == '\'' || c == ' ' || c == '\t' || c == ';')
      break;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              c == ':';
    if (!ok)
      return CS_UNKNOWN;
    l[n++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  l[n] = '\0';
  if (*s && *s != '"' && *s != '\'' && *s != ' ' && *s != '\t' && *s != ';')
    return CS_UNKNOWN; /* too long to be a charset name */
  if (n == 0)
    return CS_NONE;
  if (label_is(l, utf8))
    return CS_UTF8;
  if (label_is(l, latin))
    return CS_LATIN;
  if (label_is(l, sjis))
    return CS_SJIS;
  if (label_is(l, euc))
    return CS_EUCJP;
  if (label_is(l, jis))
    return CS_ISO2022JP;
  if (n + 1 > cap)
    return CS_UNKNOWN;
  memcpy(name, l, n + 1);
  iconv_t cd = iconv_open("UTF-8", name);
  if (cd == (iconv_t)-1)
    return CS_UNKNOWN;
  iconv_close(cd);
  if (strncmp(l, "utf-16", 6) == 0 || strncmp(l, "utf-32", 6) == 0 ||
      strncmp(l, "ucs-", 4) == 0 || strncmp(l, "ucs2", 4) == 0 ||
      strncmp(l, "ucs4", 4) == 0 || strncmp(l, "unicode", 7) == 0)
    return CS_WIDE;
  return CS_ICONV;
}

/* ---- Japanese plausibility --------------------------------------------- */

/* How Japanese a decoded sample reads: kana and Japanese punctuation count
 * for, half-width katakana and non-Japanese letters against. Latin-1 text
 * read as Shift_JIS gives scattered kanji and half-width katakana but
 * almost never hiragana, which is what tells the two apart. */
static long japanese_score(const char *s, size_t len, bool *plausible) {
  const unsigned char *p = (const unsigned char *)s;
  long kana = 0, kanji = 0, other = 0, half = 0;
  size_t i = 0;
  while (i < len) {
    uint32_t cp;
    size_t nb, k = pm__utf8_next(p + i, len - i, &cp, &nb);
    if (!k) {
      other++;
      i += nb;
      continue;
    }
    i += k;
    if (cp < 0x80)
      continue;
    if ((cp >= 0x3000 && cp <= 0x30FF) || (cp >= 0xFF01 && cp <= 0xFF60))
      kana++;
    else if (cp >= 0x4E00 && cp <= 0x9FFF)
      kanji++;
    else if (cp >= 0xFF61 && cp <= 0xFF9F)
      half++;
    else
      other++;
  }
  *plausible = kana > 0 && (kana + kanji) * 2 >= (kana + kanji + half + other);
  return 2 * kana + kanji - 2 * half - 3 * other;
}

/* The sample: the first SAMPLE_BYTES, cut after a line end when one is
 * near, so that a character is rarely split. */
static size_t sample_len(const char *s, size_t len) {
  if (len <= SAMPLE_BYTES)
    return len;
  for (size_t i = SAMPLE_BYTES; i > SAMPLE_BYTES - 4096; i--)
    if (s[i - 1] == '\n')
      return i;
  return SAMPLE_BYTES;
}

typedef enum {
  DEC_UTF8,
  DEC_CP1252,
  DEC_SJIS,
  DEC_EUC,
  DEC_JIS,
  DEC_ICONV
} dec;

static int run_decoder(dec d, const char *name, const char *s, size_t len,
                       pm__buf *out, size_t *bad) {
  const unsigned char *p = (const unsigned char *)s;
  switch (d) {
  case DEC_UTF8:
    return pm__utf8_sanitize(s, len, out, bad) ? 1 : 0;
  case DEC_CP1252:
    return decode_cp1252(p, len, out, bad) ? 1 : 0;
  case DEC_SJIS:
    return decode_iconv("CP932", s, len, out, bad);
  case DEC_EUC:
    return decode_iconv("EUC-JP-MS", s, len, out, bad);
  case DEC_JIS:
    return decode_iso2022jp(p, len, out, bad);
  case DEC_ICONV:
    return decode_iconv(name, s, len, out, bad);
  }
  return -1;
}

/* Picks Shift_JIS or EUC-JP when the bytes are valid in one of them and the
 * result reads as Japanese. Returns false when neither does. */
static bool guess_japanese(const char *s, size_t len, const byte_stats *st,
                           dec *pick, bool *nomem) {
  size_t n = sample_len(s, len);
  long best = 0;
  bool found = false;
  const dec cands[2] = {DEC_SJIS, DEC_EUC};
  const size_t bads[2] = {st->sjis_bad, st->euc_bad};
  for (int i = 0; i < 2; i++) {
    if (bads[i] != 0)
      continue;
    pm__buf tmp = {0};
    size_t bad = 0;
    int rc = run_decoder(cands[i], NULL, s, n, &tmp, &bad);
    if (rc == 0) {
      pm__buf_free(&tmp);
      *nomem = true;
      return false;
    }
    bool plausible = false;
    long score =
        rc > 0 ? japanese_score(tmp.data ? tmp.data : "", tmp.len, &plausible)
               : 0;
    pm__buf_free(&tmp);
    if (rc > 0 && plausible && (!found || score > best)) {
      best = score;
      *pick = cands[i];
      found = true;
    }
  }
  return found;
}

/* Replaces NUL bytes that iconv passed through with U+FFFD, from `from` on.
 */
static bool fix_nuls(pm__buf *out, size_t from, size_t *bad) {
  if (out->len <= from || !memchr(out->data + from, 0, out->len - from))
    return true;
  pm__buf tmp = {0};
  size_t nuls = 0;
  if (!pm__utf8_sanitize(out->data + from, out->len - from, &tmp, &nuls)) {
    pm__buf_free(&tmp);
    return false;
  }
  *bad += nuls;
  out->len = from;
  bool ok = pm__buf_append(out, tmp.data, tmp.len);
  pm__buf_free(&tmp);
  return ok;
}

/* 8-bit text that is not UTF-8: the decoder the label names, in *d.
 * Returns 1 when the bytes fit it, 0 when they do not, -1 when out of
 * memory. */
static int label_decoder(cs_kind k, const char *name, const char *data,
                         size_t len, const byte_stats *st, dec *d) {
  bool fits = false;
  switch (k) {
  case CS_LATIN:
    *d = DEC_CP1252, fits = true;
    break;
  case CS_SJIS:
    *d = DEC_SJIS, fits = st->sjis_bad == 0;
    break;
  case CS_EUCJP:
    *d = DEC_EUC, fits = st->euc_bad == 0;
    break;
  case CS_ICONV:
    *d = DEC_ICONV, fits = true; /* checked below by its error count */
    break;
  default:
    *d = DEC_CP1252;
    break;
  }
  if (k == CS_ICONV) {
    pm__buf tmp = {0};
    size_t tb = 0;
    int rc =
        run_decoder(DEC_ICONV, name, data, sample_len(data, len), &tmp, &tb);
    pm__buf_free(&tmp);
    if (rc == 0)
      return -1;
    fits = rc > 0 && tb == 0;
  }
  return fits ? 1 : 0;
}

/* 8-bit text that does not fit its label: Japanese when it reads as such,
 * UTF-8 when it mostly is, else the label kept or cp1252. False when out
 * of memory. */
static bool guess_decoder(cs_kind k, const char *data, size_t len,
                          const byte_stats *st, dec *d, bool *guessed) {
  bool nomem = false;
  dec jp;
  *guessed = true;
  if (guess_japanese(data, len, st, &jp, &nomem))
    *d = jp;
  else if (nomem)
    return false;
  else if (k == CS_UTF8 ? st->utf8_multi > 0 : st->utf8_multi > st->utf8_bad)
    *d = DEC_UTF8, *guessed = k != CS_UTF8; /* UTF-8 with some bad bytes */
  else if (k == CS_SJIS || k == CS_EUCJP || k == CS_ICONV)
    *guessed = false; /* keep the label, with U+FFFD where it fails */
  else if (k == CS_ISO2022JP && st->has_jis_esc)
    *d = DEC_JIS, *guessed = false; /* stray 8-bit bytes in JIS text */
  else
    *d = DEC_CP1252;
  return true;
}

/* The decoder for the bytes and their label, and whether it was guessed
 * against (or without) the label. False when out of memory. */
static bool choose_decoder(cs_kind k, const char *name, const char *data,
                           size_t len, const byte_stats *st, dec *d,
                           bool *guessed) {
  *guessed = false;
  if (k == CS_WIDE) {
    *d = DEC_ICONV;
  } else if (!st->has8bit && !st->has_jis_esc) {
    *d = DEC_UTF8; /* plain ASCII: every label agrees */
  } else if (st->has8bit && st->utf8_bad == 0) {
    /* Valid UTF-8 with multibyte sequences is almost never an accident,
     * whatever the label says: "utf-8 labelled iso-8859-1". */
    *d = DEC_UTF8;
    *guessed = k != CS_UTF8;
  } else if (!st->has8bit) {
    *d = DEC_JIS; /* 7-bit with JIS escapes: ISO-2022-JP */
    *guessed = k != CS_ISO2022JP;
  } else {
    /* 8-bit and not UTF-8: believe the label when the bytes fit it. */
    int fits = label_decoder(k, name, data, len, st, d);
    if (fits < 0)
      return false;
    if (!fits && !guess_decoder(k, data, len, st, d, guessed))
      return false;
  }
  if (k == CS_NONE || k == CS_UNKNOWN)
    *guessed = st->has8bit || st->has_jis_esc;
  return true;
}

bool pm__charset_decode(const char *data, size_t len, const char *label,
                        pm__buf *out, unsigned *flags) {
  unsigned fl = 0;
  char name[48] = "";
  cs_kind k = classify(label, name, sizeof name);
  byte_stats st;
  collect_stats((const unsigned char *)data, len, &st);
  size_t start = out->len, bad = 0;
  dec d;
  bool guessed;
  if (!choose_decoder(k, name, data, len, &st, &d, &guessed))
    return false;
  int rc = run_decoder(d, name, data, len, out, &bad);
  if (rc < 0) { /* cannot happen: the name was checked; degrade anyway */
    guessed = true;
    rc = decode_cp1252((const unsigned char *)data, len, out, &bad) ? 1 : 0;
  }
  if (rc == 0 || !fix_nuls(out, start, &bad))
    return false;
  if (guessed)
    fl |= PM_MAIL_CHARSET_GUESSED;
  if (bad)
    fl |= PM_MAIL_INVALID_UTF8;
  if (flags)
    *flags |= fl;
  return true;
}
