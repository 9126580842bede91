/* Named features: punctuation and spacing, case habits, lengths, function
 * words. */
#include <math.h>
#include <string.h>
#include <unicode/utf8.h>

#include "features/fctx.h"
#include "features/named.h"

/* Occurrences per 1,000 characters of own text (non-space). */
static float per_k(const pm__fctx *c, size_t count) {
  return c->nonspace ? (float)(1000.0 * (double)count / (double)c->nonspace)
                     : 0.0f;
}

static float share(size_t part, size_t whole) {
  return whole ? (float)((double)part / (double)whole) : 0.0f;
}

static bool starts(const char *s, size_t left, const char *pat) {
  size_t n = strlen(pat);
  return n <= left && !memcmp(s, pat, n);
}

/* Emoticons that start at s (ASCII and Japanese ones); returns the length
 * matched, or 0. */
static size_t emoticon(const char *s, size_t left, bool word_before) {
  static const char *const faces[] = {
      ":-)",   ":)",   ";-)",  ";)",     ":-(",   ":(",  ":-D",    ":D",
      ":-P",   ":P",   ":p",   ":o",     "^^;",   "^_^", "^^",     "(^^)",
      "(^_^)", "(^^;", "(笑)", "（笑）", "(^o^)", "orz", "m(_ _)m"};
  for (size_t i = 0; i < sizeof faces / sizeof faces[0]; i++)
    if (starts(s, left, faces[i])) {
      /* ":P" inside "http://P..." or "e:D" is not a face */
      if (word_before && (faces[i][0] == ':' || faces[i][0] == ';'))
        return 0;
      size_t n = strlen(faces[i]);
      if ((faces[i][0] == ':' || faces[i][0] == ';') && n < left) {
        unsigned char nx = (unsigned char)s[n];
        if ((nx >= 'a' && nx <= 'z') || (nx >= 'A' && nx <= 'Z') ||
            (nx >= '0' && nx <= '9') || nx == '/')
          return 0;
      }
      return n;
    }
  return 0;
}

static bool is_alnum(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9');
}

/* A mark counted alone, whatever is around it. */
static void single_mark(size_t *cnt, char ch) {
  switch (ch) {
  case ';':
    cnt[PM_NF_P_SEMICOLON]++;
    break;
  case ':':
    cnt[PM_NF_P_COLON]++;
    break;
  case '\'':
    cnt[PM_NF_P_APOS]++;
    break;
  case '"':
    cnt[PM_NF_P_DQUOTE]++;
    break;
  case '(':
    cnt[PM_NF_P_PAREN]++;
    break;
  case '&':
    cnt[PM_NF_P_AMPERSAND]++;
    break;
  case '/':
    cnt[PM_NF_P_SLASH]++;
    break;
  default:
    break;
  }
}

/* The marks counted over one own text. */
typedef struct {
  size_t cnt[PM_NF__FIXED_COUNT];
  size_t commas, comma_nospace, after_period, double_space;
} marks;

/* Counts the ASCII mark t[i]. A run ("...", "!!", "?!", "--") is counted
 * once and skipped: returns the index after it; else returns i. */
static size_t ascii_mark(marks *m, const char *t, size_t n, size_t i,
                         bool word_before) {
  size_t *cnt = m->cnt, left = n - i;
  switch (t[i]) {
  case '.':
    if (starts(t + i, left, "...")) {
      cnt[PM_NF_P_DOTS]++;
      while (i < n && t[i] == '.')
        i++;
      return i;
    }
    cnt[PM_NF_P_PERIOD]++;
    /* spacing after a sentence: ". X" vs ".  X" */
    if (i + 2 < n && t[i + 1] == ' ' && word_before) {
      m->after_period++;
      if (t[i + 2] == ' ')
        m->double_space++;
    }
    break;
  case ',':
    cnt[PM_NF_P_COMMA]++;
    m->commas++;
    if (i + 1 < n && t[i + 1] != ' ' && t[i + 1] != '\n' &&
        !(t[i + 1] >= '0' && t[i + 1] <= '9'))
      m->comma_nospace++;
    break;
  case '!':
    cnt[PM_NF_P_EXCLAM]++;
    if (i + 1 < n && t[i + 1] == '!') {
      cnt[PM_NF_P_MULTI_EXCLAM]++;
      while (i < n && t[i] == '!')
        i++;
      return i;
    }
    break;
  case '?':
    cnt[PM_NF_P_QUESTION]++;
    if (i + 1 < n && (t[i + 1] == '?' || t[i + 1] == '!')) {
      cnt[PM_NF_P_MULTI_QUESTION]++;
      while (i < n && (t[i] == '?' || t[i] == '!'))
        i++;
      return i;
    }
    break;
  case '-':
    if (starts(t + i, left, "--")) {
      cnt[PM_NF_P_DOUBLE_HYPHEN]++;
      while (i < n && t[i] == '-')
        i++;
      return i;
    }
    if (i > 0 && t[i - 1] == ' ' && i + 1 < n && t[i + 1] == ' ')
      cnt[PM_NF_P_SPACED_HYPHEN]++;
    break;
  case ' ':
    if (i + 1 < n &&
        (t[i + 1] == ',' || t[i + 1] == '.' || t[i + 1] == '?' ||
         t[i + 1] == '!' || t[i + 1] == ':') &&
        i > 0 && t[i - 1] != ' ' && t[i - 1] != '\n' &&
        !(i + 2 < n && t[i + 1] == '.' && t[i + 2] == '.'))
      cnt[PM_NF_P_SPACE_BEFORE]++;
    break;
  default:
    single_mark(cnt, t[i]);
    break;
  }
  return i;
}

/* Counts the non-ASCII character at t[i]: typographic quotes and dashes,
 * the ellipsis, emoji. Returns the index after it. */
static size_t unicode_mark(size_t *cnt, const char *t, size_t n, size_t i) {
  int32_t k = (int32_t)i;
  UChar32 cp;
  U8_NEXT((const uint8_t *)t, k, (int32_t)n, cp);
  switch (cp) {
  case 0x2019:
    cnt[PM_NF_P_SMART_APOS]++;
    break;
  case 0x201C:
  case 0x201D:
    cnt[PM_NF_P_SMART_DQUOTE]++;
    break;
  case 0x2014:
    cnt[PM_NF_P_EM_DASH]++;
    break;
  case 0x2013:
    cnt[PM_NF_P_EN_DASH]++;
    break;
  case 0x2026:
    cnt[PM_NF_P_ELLIPSIS]++;
    break;
  default:
    if ((cp >= 0x1F300 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) ||
        (cp >= 0x1F000 && cp <= 0x1F2FF))
      cnt[PM_NF_P_EMOJI]++;
    break;
  }
  return (size_t)k;
}

/* One pass over the text: emoticons first (they are made of marks), then
 * each mark. */
static void count_marks(const char *t, size_t n, marks *m) {
  for (size_t i = 0; i < n;) {
    unsigned char ch = (unsigned char)t[i];
    bool word_before = i > 0 && is_alnum((unsigned char)t[i - 1]);
    size_t face = (ch == ':' || ch == ';' || ch == '^' || ch == '(' ||
                   ch == 'o' || ch == 'm' || ch == 0xEF)
                      ? emoticon(t + i, n - i, word_before)
                      : 0;
    if (face && !(ch == 'o' && word_before) && !(ch == 'm' && word_before)) {
      m->cnt[PM_NF_P_EMOTICON]++;
      i += face;
    } else if (ch >= 0x80) {
      i = unicode_mark(m->cnt, t, n, i);
    } else {
      size_t next = ascii_mark(m, t, n, i, word_before);
      i = next > i ? next : i + 1;
    }
  }
}

/* How the sentences of two words or more end: '!', '?' or no mark. */
static void sentence_ends(pm__fctx *c) {
  size_t excl = 0, quest = 0, none = 0, counted = 0;
  for (size_t s = 0; s < c->nsents; s++) {
    const pm__sentence *se = &c->sents[s];
    size_t words = 0;
    for (uint32_t k = se->tok_start; k < se->tok_end; k++)
      words += c->toks[k].kind == PM_TOK_WORD || c->toks[k].kind == PM_TOK_JA;
    if (words < 2)
      continue; /* greetings, names, bullets */
    counted++;
    excl += se->end_char == '!';
    quest += se->end_char == '?';
    none += se->end_char == 0;
  }
  c->named[PM_NF_P_EXCLAM_SENT] = share(excl, counted);
  c->named[PM_NF_P_QUESTION_SENT] = share(quest, counted);
  c->named[PM_NF_P_NO_FINAL] = share(none, counted);
}

void pm__named_punctuation(pm__fctx *c) {
  float *v = c->named;
  marks m;
  memset(&m, 0, sizeof m);
  count_marks(c->text, c->len, &m);
  static const int rate_ids[] = {
      PM_NF_P_PERIOD,         PM_NF_P_COMMA,        PM_NF_P_EXCLAM,
      PM_NF_P_QUESTION,       PM_NF_P_SEMICOLON,    PM_NF_P_COLON,
      PM_NF_P_APOS,           PM_NF_P_SMART_APOS,   PM_NF_P_DQUOTE,
      PM_NF_P_SMART_DQUOTE,   PM_NF_P_PAREN,        PM_NF_P_SPACED_HYPHEN,
      PM_NF_P_DOUBLE_HYPHEN,  PM_NF_P_EM_DASH,      PM_NF_P_EN_DASH,
      PM_NF_P_DOTS,           PM_NF_P_ELLIPSIS,     PM_NF_P_MULTI_EXCLAM,
      PM_NF_P_MULTI_QUESTION, PM_NF_P_SPACE_BEFORE, PM_NF_P_EMOTICON,
      PM_NF_P_EMOJI,          PM_NF_P_AMPERSAND,    PM_NF_P_SLASH};
  for (size_t k = 0; k < sizeof rate_ids / sizeof rate_ids[0]; k++)
    v[rate_ids[k]] = per_k(c, m.cnt[rate_ids[k]]);
  v[PM_NF_P_DOUBLE_SPACE] = share(m.double_space, m.after_period);
  v[PM_NF_P_NO_SPACE_AFTER] = share(m.comma_nospace, m.commas);
  sentence_ends(c);
}

/* Distinct words among the n hashes of a window. */
static size_t window_types(const uint64_t *window, size_t n) {
  size_t types = 0;
  for (size_t a = 0; a < n; a++) {
    bool seen = false;
    for (size_t b = 0; b < a && !seen; b++)
      seen = window[b] == window[a];
    types += !seen;
  }
  return types;
}

/* Latin words: case habits, lengths, and the type-token ratio over
 * consecutive windows of 50 words, averaged, so that it does not fall
 * with mail length. */
typedef struct {
  size_t words, lower_i, caps_words, capitalized, len_sum, bins[4];
  double ttr; /* 0 when there are no words */
} word_stats;

/* The lower-cased hash of a word, for the type count. */
static uint64_t word_hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    h = (h ^ (ch >= 'A' && ch <= 'Z' ? ch + 32u : ch)) * 1099511628211ULL;
  }
  return h;
}

static void count_words(const pm__fctx *c, word_stats *w) {
  enum { WIN = 50 };
  uint64_t window[WIN];
  size_t in_win = 0, windows = 0;
  double ttr_sum = 0.0;
  memset(w, 0, sizeof *w);
  for (size_t k = 0; k < c->ntoks; k++) {
    const pm__token *t = &c->toks[k];
    if (t->kind != PM_TOK_WORD)
      continue;
    const char *s = c->text + t->start;
    size_t n = t->end - t->start, up = 0, low = 0, chars = 0;
    for (size_t i = 0; i < n; i++) {
      unsigned char ch = (unsigned char)s[i];
      up += ch >= 'A' && ch <= 'Z';
      low += ch >= 'a' && ch <= 'z';
      chars += (ch & 0xC0) != 0x80;
    }
    w->words++;
    w->len_sum += chars;
    w->bins[chars <= 3 ? 0 : chars <= 6 ? 1 : chars <= 9 ? 2 : 3]++;
    if (n == 1 && s[0] == 'i')
      w->lower_i++;
    if (up >= 2 && low == 0)
      w->caps_words++;
    if (up == 1 && (s[0] >= 'A' && s[0] <= 'Z') && low > 0)
      w->capitalized++;
    window[in_win++] = word_hash(s, n);
    if (in_win == WIN) {
      ttr_sum += (double)window_types(window, WIN) / WIN;
      windows++;
      in_win = 0;
    }
  }
  if (windows == 0 && in_win > 0) {
    ttr_sum = (double)window_types(window, in_win) / (double)in_win;
    windows = 1;
  }
  w->ttr = windows ? ttr_sum / (double)windows : 0.0;
}

/* Sentences of two words or more: how many, their lengths in words, and
 * how many start in lower case. */
typedef struct {
  size_t counted, lower;
  double len_sum, len_sq;
} sent_stats;

static void count_sentences(const pm__fctx *c, sent_stats *st) {
  memset(st, 0, sizeof *st);
  for (size_t s = 0; s < c->nsents; s++) {
    const pm__sentence *se = &c->sents[s];
    size_t w = 0;
    const pm__token *first = NULL;
    for (uint32_t k = se->tok_start; k < se->tok_end; k++) {
      const pm__token *t = &c->toks[k];
      if (t->kind == PM_TOK_WORD || t->kind == PM_TOK_JA) {
        w++;
        if (!first)
          first = t;
      }
    }
    if (w < 2)
      continue;
    st->counted++;
    st->len_sum += (double)w;
    st->len_sq += (double)w * (double)w;
    if (first && first->kind == PM_TOK_WORD) {
      unsigned char ch = (unsigned char)c->text[first->start];
      st->lower += ch >= 'a' && ch <= 'z';
    }
  }
}

void pm__named_case_lengths(pm__fctx *c) {
  float *v = c->named;
  word_stats w;
  count_words(c, &w);
  size_t words = w.words;
  v[PM_NF_C_UPPER] = share(c->upper, c->latin);
  v[PM_NF_C_ALL_LOWER] = c->latin >= 20 && c->upper == 0 ? 1.0f : 0.0f;
  v[PM_NF_C_LOWER_I] = share(w.lower_i, words);
  v[PM_NF_C_ALL_CAPS] = share(w.caps_words, words);
  v[PM_NF_C_CAPITALIZED] = share(w.capitalized, words);

  sent_stats st;
  count_sentences(c, &st);
  v[PM_NF_C_SENT_LOWER] = share(st.lower, st.counted);

  v[PM_NF_L_CHARS] = sqrtf((float)c->ncp);
  v[PM_NF_L_WORDS] = sqrtf((float)(words + c->ja_morphemes));
  v[PM_NF_L_WORD_LEN] = words ? (float)((double)w.len_sum / (double)words) : 0;
  v[PM_NF_L_WL_SHORT] = share(w.bins[0], words);
  v[PM_NF_L_WL_MID] = share(w.bins[1], words);
  v[PM_NF_L_WL_LONG] = share(w.bins[2], words);
  v[PM_NF_L_WL_XLONG] = share(w.bins[3], words);
  if (st.counted) {
    double mean = st.len_sum / (double)st.counted;
    double var = st.len_sq / (double)st.counted - mean * mean;
    v[PM_NF_L_SENT_MEAN] = (float)mean;
    v[PM_NF_L_SENT_SD] = var > 0 ? (float)sqrt(var) : 0.0f;
  }
  v[PM_NF_L_SENTENCES] = sqrtf((float)st.counted);
  float paras = v[PM_NF_PARAGRAPHS];
  v[PM_NF_L_PARA_MEAN] =
      paras > 0 ? (float)(words + c->ja_morphemes) / paras : 0.0f;
  v[PM_NF_L_TTR] = (float)w.ttr;
}

void pm__named_function_words(pm__fctx *c) {
  float *v = c->named;
  size_t en_base = pm__named_en_fw_base(), ja_base = pm__named_ja_fw_base();
  size_t words = 0, ja = 0;
  char low[16];
  for (size_t k = 0; k < c->ntoks; k++) {
    const pm__token *t = &c->toks[k];
    size_t n = t->end - t->start;
    const char *s = c->text + t->start;
    if (t->kind == PM_TOK_WORD) {
      words++;
      if (n >= sizeof low)
        continue;
      for (size_t i = 0; i < n; i++)
        low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
      int w = pm__lexicon_en_fw(c->lx, low, n);
      if (w >= 0)
        v[en_base + (size_t)w] += 1.0f;
    } else if (t->kind == PM_TOK_JA) {
      ja++;
      if (t->posid < PM_POS_JOSHI_FIRST || t->posid > PM_POS_JODOUSHI)
        continue;
      int w = pm__lexicon_ja_fw(c->lx, s, n);
      if (w >= 0)
        v[ja_base + (size_t)w] += 1.0f;
    }
  }
  /* per 100 words (resp. morphemes) */
  for (size_t i = 0; i < c->lx->n_en_fw; i++)
    v[en_base + i] = words ? 100.0f * v[en_base + i] / (float)words : 0.0f;
  for (size_t i = 0; i < c->lx->n_ja_fw; i++)
    v[ja_base + i] = ja ? 100.0f * v[ja_base + i] / (float)ja : 0.0f;
}
