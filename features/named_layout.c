/* Named features, layout: greeting, sign-off, lines, blank lines, bullets,
 * signature block. */
#include <math.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "features/fctx.h"
#include "features/named.h"

/* A line without its leading and trailing white space (ASCII, NBSP and the
 * ideographic space). */
typedef struct {
  const char *s;
  size_t n;
} span;

static span trim(const pm__fctx *c, const pm__line *ln) {
  const char *s = c->text + ln->start;
  size_t n = ln->end - ln->start;
  for (;;) {
    if (n && (*s == ' ' || *s == '\t' || *s == '\r')) {
      s++, n--;
    } else if (n >= 3 && !memcmp(s, "\xe3\x80\x80", 3)) {
      s += 3, n -= 3;
    } else if (n >= 2 && !memcmp(s, "\xc2\xa0", 2)) {
      s += 2, n -= 2;
    } else {
      break;
    }
  }
  for (;;) {
    if (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
      n--;
    } else if (n >= 3 && !memcmp(s + n - 3, "\xe3\x80\x80", 3)) {
      n -= 3;
    } else if (n >= 2 && !memcmp(s + n - 2, "\xc2\xa0", 2)) {
      n -= 2;
    } else {
      break;
    }
  }
  return (span){s, n};
}

static bool is_word_char(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch >= 0x80 || ch == '\'' || ch == '.';
}

/* Lower-cased ASCII copy of up to cap-1 bytes. */
static size_t lower_copy(span sp, char *out, size_t cap) {
  size_t n = sp.n < cap - 1 ? sp.n : cap - 1;
  for (size_t i = 0; i < n; i++) {
    char ch = sp.s[i];
    out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
  }
  out[n] = '\0';
  return n;
}

/* Words in a short line: runs of word characters. */
static int count_words(span sp, bool *all_cap_start) {
  int words = 0;
  bool caps = true, in = false;
  for (size_t i = 0; i < sp.n; i++) {
    unsigned char ch = (unsigned char)sp.s[i];
    bool w = is_word_char(ch) || ch == '-';
    if (w && !in) {
      words++;
      if (!(ch >= 'A' && ch <= 'Z') && ch < 0x80)
        caps = false;
    }
    in = w;
  }
  if (all_cap_start)
    *all_cap_start = caps;
  return words;
}

static int category_index(const char *cat) {
  static const struct {
    const char *cat;
    int idx;
  } map[] = {
      {"hi", PM_NF_GREET_HI},
      {"hello", PM_NF_GREET_HELLO},
      {"hey", PM_NF_GREET_HEY},
      {"dear", PM_NF_GREET_DEAR},
      {"good_time", PM_NF_GREET_GOOD_TIME},
      {"all", PM_NF_GREET_ALL},
      {"ja_otsukare", PM_NF_GREET_JA_OTSUKARE},
      {"ja_osewa", PM_NF_GREET_JA_OSEWA},
      {"ja_hello", PM_NF_GREET_JA_HELLO},
      {"ja_hajimemashite", PM_NF_GREET_JA_HAJIMEMASHITE},
      {"thanks", PM_NF_SIGN_THANKS},
      {"thank_you", PM_NF_SIGN_THANK_YOU},
      {"regards", PM_NF_SIGN_REGARDS},
      {"best", PM_NF_SIGN_BEST},
      {"cheers", PM_NF_SIGN_CHEERS},
      {"sincerely", PM_NF_SIGN_SINCERELY},
      {"ja_yoroshiku", PM_NF_SIGN_JA_YOROSHIKU},
      {"ja_ijou", PM_NF_SIGN_JA_IJOU},
      {"ja_thanks", PM_NF_SIGN_JA_THANKS},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(map[i].cat, cat) == 0)
      return map[i].idx;
  return -1;
}

/* An English phrase matches a line's start when a non-word character (or
 * the end) follows it. */
static const pm__phrase *match_en(const pm__phrase *ph, size_t n,
                                  const char *low, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (ph[i].len <= len && !memcmp(low, ph[i].phrase, ph[i].len) &&
        (ph[i].len == len || !is_word_char((unsigned char)low[ph[i].len])))
      return &ph[i];
  return NULL;
}

/* Japanese greetings and sign-offs often stand inside a longer line
 * ("いつも大変お世話になっております",
 * "ご確認のほど、よろしくお願いいたします。"): a phrase of four characters or
 * more counts anywhere in the line, a shorter one ("以上") only at its start.
 */
static const pm__phrase *find_ja(const pm__phrase *ph, size_t n, span sp) {
  for (size_t i = 0; i < n; i++) {
    if (ph[i].len > sp.n)
      continue;
    if (!memcmp(sp.s, ph[i].phrase, ph[i].len) ||
        (ph[i].len >= 12 && memmem(sp.s, sp.n, ph[i].phrase, ph[i].len)))
      return &ph[i];
  }
  return NULL;
}

static bool ends_with(span sp, const char *suffix) {
  size_t k = strlen(suffix);
  return sp.n >= k && !memcmp(sp.s + sp.n - k, suffix, k);
}

/* "田中さん", "山田様、", "各位": an addressee line. */
static bool ja_addressee(span sp) {
  static const char *const tails[] = {"、", "，", ",", ":", "：", " "};
  for (int pass = 0; pass < 2; pass++) {
    if (ends_with(sp, "さん") || ends_with(sp, "様") || ends_with(sp, "殿") ||
        ends_with(sp, "各位") || ends_with(sp, "さま") || ends_with(sp, "くん"))
      return sp.n <= 60;
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++)
      if (ends_with(sp, tails[i])) {
        sp.n -= strlen(tails[i]);
        break;
      }
  }
  return false;
}

/* "Tom," "Mr. Smith:" "Team -": a short name line ending the greeting. */
static bool name_line(span sp, bool need_mark) {
  if (sp.n == 0 || sp.n > 32)
    return false;
  char last = sp.s[sp.n - 1];
  bool mark = last == ',' || last == ':' || last == '-' || last == '!';
  if (need_mark && !mark)
    return false;
  span body = {sp.s, mark ? sp.n - 1 : sp.n};
  bool caps;
  int w = count_words(body, &caps);
  if (w < 1 || w > 3)
    return false;
  for (size_t i = 0; i < body.n; i++) {
    unsigned char ch = (unsigned char)body.s[i];
    if (ch == '?' || ch == '(' || ch == '@' || ch == '/' || ch == ':' ||
        (ch >= '0' && ch <= '9'))
      return false;
  }
  return need_mark ? caps : true;
}

static bool is_separator(span sp) {
  if (sp.n == 2 && !memcmp(sp.s, "--", 2))
    return true;
  if (sp.n < 4)
    return false;
  /* four or more of the same rule character, ASCII or not */
  int32_t i = 0, n = (int32_t)sp.n;
  UChar32 first = -1, cp;
  int count = 0;
  while (i < n) {
    U8_NEXT((const uint8_t *)sp.s, i, n, cp);
    if (first < 0)
      first = cp;
    if (cp != first && !(cp == ' ' && count > 0))
      return false;
    count++;
  }
  return first == '-' || first == '=' || first == '_' || first == '*' ||
         first == '~' || first == 0x2015 || first == 0x2500 ||
         first == 0x2501 || first == 0x30FC || first == 0xFF1D ||
         first == 0x2014 || first == 0x25A0 || first == 0x2606 ||
         first == 0x2605;
}

static void greeting(pm__fctx *c) {
  float *v = c->named;
  /* the first three non-blank lines: a Japanese mail often opens with an
   * addressee block (company, department, name) before the greeting */
  enum { GREET_WINDOW = 3 };
  size_t cand[GREET_WINDOW], nc = 0;
  for (size_t i = 0; i < c->nlines && nc < GREET_WINDOW; i++)
    if (!c->lines[i].blank)
      cand[nc++] = i;
  bool any = false;
  size_t greet_line = c->nlines;
  if (nc > 0) {
    span sp = trim(c, &c->lines[cand[0]]);
    char low[96];
    size_t ln = lower_copy(sp, low, sizeof low);
    const pm__phrase *p = match_en(c->lx->en_greet, c->lx->n_en_greet, low, ln);
    if (p) {
      v[category_index(p->category)] = 1.0f;
      any = true;
      greet_line = cand[0];
    } else if (name_line(sp, true)) {
      v[PM_NF_GREET_NAME] = 1.0f;
      any = true;
      greet_line = cand[0];
    }
  }
  for (size_t k = 0; k < nc; k++) {
    span s2 = trim(c, &c->lines[cand[k]]);
    const pm__phrase *q = find_ja(c->lx->ja_greet, c->lx->n_ja_greet, s2);
    if (q) {
      v[category_index(q->category)] = 1.0f;
      any = true;
      greet_line = cand[k];
      break;
    }
    if (ja_addressee(s2)) {
      v[PM_NF_GREET_JA_NAME] = 1.0f;
      any = true;
      greet_line = cand[k];
    }
  }
  v[PM_NF_GREET_NONE] = any ? 0.0f : 1.0f;
  c->greet_line = any ? greet_line : c->nlines;
  if (any && greet_line < c->nlines) {
    span sp = trim(c, &c->lines[greet_line]);
    bool caps;
    v[PM_NF_GREETING_OWN_LINE] = count_words(sp, &caps) <= 6 ? 1.0f : 0.0f;
    v[PM_NF_BLANK_AFTER_GREETING] =
        greet_line + 1 < c->nlines && c->lines[greet_line + 1].blank ? 1.0f
                                                                     : 0.0f;
  }
}

/* Strips trailing punctuation and spaces from a lower-cased line. */
static size_t strip_tail(char *low, size_t n) {
  while (n && (low[n - 1] == ',' || low[n - 1] == '.' || low[n - 1] == '!' ||
               low[n - 1] == ' ' || low[n - 1] == '-' || low[n - 1] == ':'))
    n--;
  low[n] = '\0';
  return n;
}

static void signoff(pm__fctx *c) {
  float *v = c->named;
  /* the last ten non-blank lines, from the end: a sign-off can stand above
   * a signature block of name, title, company and numbers */
  enum { SIGN_WINDOW = 10 };
  size_t idx[SIGN_WINDOW], k = 0;
  for (size_t i = c->nlines; i-- > 0 && k < SIGN_WINDOW;)
    if (!c->lines[i].blank)
      idx[k++] = i;
  bool any = false;
  size_t sign_at = 0;
  for (size_t j = 0; j < k && !any; j++) {
    span sp = trim(c, &c->lines[idx[j]]);
    if (sp.n == 0 || sp.n > 80)
      continue;
    char low[96];
    size_t n = strip_tail(low, lower_copy(sp, low, sizeof low));
    const pm__phrase *p =
        match_en(c->lx->en_signoff, c->lx->n_en_signoff, low, n);
    /* a sign-off is the whole line, or the phrase, a comma and a name */
    if (p && (p->len == n || (low[p->len] == ',' && n - p->len <= 24))) {
      v[category_index(p->category)] = 1.0f;
      any = true;
      sign_at = j;
      break;
    }
    const pm__phrase *q = find_ja(c->lx->ja_signoff, c->lx->n_ja_signoff, sp);
    if (q) {
      v[category_index(q->category)] = 1.0f;
      any = true;
      sign_at = j;
      break;
    }
  }
  /* How the mail ends, apart from any phrase: "-d", or a bare name. */
  bool name_end = false;
  if (k > 0) {
    span sp = trim(c, &c->lines[idx[0]]);
    if (sp.n >= 2 && sp.n <= 24 && sp.s[0] == '-' && sp.s[1] != '-' &&
        count_words((span){sp.s + 1, sp.n - 1}, NULL) <= 2) {
      v[PM_NF_SIGN_DASH_NAME] = 1.0f;
      name_end = true;
    } else if (k > 1 && (name_line(sp, false) ||
                         (sp.n <= 18 && (unsigned char)sp.s[0] >= 0xE3 &&
                          !ends_with(sp, "。")))) {
      v[PM_NF_SIGN_NAME] = 1.0f;
      name_end = true;
    }
  }
  /* The closing block starts at the sign-off line, or at the bare name
   * that ends the mail. */
  c->close_line = any ? idx[sign_at] : name_end ? idx[0] : c->nlines;
  any |= name_end;
  v[PM_NF_SIGN_NONE] = any ? 0.0f : 1.0f;
  v[PM_NF_SIG_LINES] = any ? (float)sign_at : 0.0f;
}

static bool bullet(span sp, int *kind) {
  if (sp.n < 2)
    return false;
  unsigned char a = (unsigned char)sp.s[0], b = (unsigned char)sp.s[1];
  if ((a == '-' || a == '*' || a == '+') && b == ' ') {
    *kind = 0;
    return true;
  }
  if (sp.n >= 4 && (!memcmp(sp.s, "•", 3) || !memcmp(sp.s, "・", 3) ||
                    !memcmp(sp.s, "●", 3) || !memcmp(sp.s, "■", 3) ||
                    !memcmp(sp.s, "◆", 3))) {
    *kind = 1;
    return true;
  }
  size_t i = sp.s[0] == '(' ? 1 : 0;
  size_t d = i;
  while (d < sp.n && sp.s[d] >= '0' && sp.s[d] <= '9' && d - i < 3)
    d++;
  if (d > i && d + 1 < sp.n && (sp.s[d] == '.' || sp.s[d] == ')') &&
      sp.s[d + 1] == ' ') {
    *kind = 2;
    return true;
  }
  return false;
}

static void lines(pm__fctx *c) {
  float *v = c->named;
  size_t n = c->nlines, nonblank = 0, blank = 0, double_blank = 0;
  size_t long_lines = 0, wrapped = 0, indented = 0, trailing = 0;
  size_t bullets[3] = {0, 0, 0}, paras = 0, one_line_paras = 0;
  double len_sum = 0.0;
  uint32_t len_max = 0;
  size_t para_lines = 0;
  bool sep = false;
  for (size_t i = 0; i < n; i++) {
    const pm__line *ln = &c->lines[i];
    if (ln->blank) {
      blank++;
      if (i > 0 && c->lines[i - 1].blank)
        double_blank++;
      if (para_lines) {
        paras++;
        one_line_paras += para_lines == 1;
      }
      para_lines = 0;
      continue;
    }
    nonblank++;
    para_lines++;
    len_sum += ln->chars;
    if (ln->chars > len_max)
      len_max = ln->chars;
    if (ln->chars > 78)
      long_lines++;
    if (ln->chars >= 60 && ln->chars <= 80 && i + 1 < n &&
        !c->lines[i + 1].blank)
      wrapped++;
    char first = c->text[ln->start];
    if (first == ' ' || first == '\t' ||
        (ln->end - ln->start >= 3 &&
         !memcmp(c->text + ln->start, "\xe3\x80\x80", 3)))
      indented++;
    char lastc = ln->end > ln->start ? c->text[ln->end - 1] : 0;
    if (lastc == ' ' || lastc == '\t')
      trailing++;
    span sp = trim(c, ln);
    int kind;
    if (bullet(sp, &kind))
      bullets[kind]++;
    if (is_separator(sp))
      sep = true;
  }
  if (para_lines) {
    paras++;
    one_line_paras += para_lines == 1;
  }
  double nb = nonblank ? (double)nonblank : 1.0;
  v[PM_NF_LINES] = sqrtf((float)nonblank);
  v[PM_NF_LINE_LEN_MEAN] = (float)(len_sum / nb);
  v[PM_NF_LINE_LEN_MAX] = sqrtf((float)len_max);
  v[PM_NF_LONG_LINES] = (float)(long_lines / nb);
  v[PM_NF_WRAPPED_LINES] = (float)(wrapped / nb);
  v[PM_NF_BLANK_LINES] = n ? (float)((double)blank / (double)n) : 0.0f;
  v[PM_NF_DOUBLE_BLANK] =
      blank ? (float)((double)double_blank / (double)blank) : 0.0f;
  v[PM_NF_PARAGRAPHS] = (float)paras;
  v[PM_NF_ONE_LINE_PARAS] =
      paras ? (float)((double)one_line_paras / (double)paras) : 0.0f;
  v[PM_NF_BULLET_DASH] = (float)(bullets[0] / nb);
  v[PM_NF_BULLET_DOT] = (float)(bullets[1] / nb);
  v[PM_NF_BULLET_NUM] = (float)(bullets[2] / nb);
  v[PM_NF_INDENTED] = (float)(indented / nb);
  v[PM_NF_TRAILING_SPACE] = (float)(trailing / nb);
  v[PM_NF_SIG_SEPARATOR] = sep ? 1.0f : 0.0f;
}

void pm__named_surface(pm__fctx *c) {
  greeting(c);
  signoff(c);
}

void pm__named_lines(pm__fctx *c) {
  lines(c);
}
