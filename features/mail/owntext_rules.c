/* Line-level rules of the own-text step (see features/mail/owntext_rules.h).
 *
 * The forms come from what real clients write: Outlook's
 * "-----Original Message-----" and From:/Sent:/To:/Subject: blocks (tabs
 * and leading spaces included), Lotus Notes' name line, date line and
 * indented To:/cc:/Subject:, Gmail's "On ... wrote:" (often wrapped), Apple
 * Mail's "Begin forwarded message:", and the Japanese forms of the same
 * (差出人:/送信日時:/宛先:/件名:, "...さんは書きました:", "...のメッセージ:").
 */
#include "features/mail/owntext_rules.h"

#include <string.h>

/* The longest prefix of a line any rule reads: a rule never needs more,
 * and a 30 MB single line must not cost 30 MB per rule. */
#define SCAN_CAP 512u

static size_t cap(size_t n) {
  return n < SCAN_CAP ? n : SCAN_CAP;
}

/* Length of the whitespace character at s (space, tab, U+00A0, U+3000). */
static size_t ws_at(const char *s, size_t n) {
  if (n >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\f' || s[0] == '\v'))
    return 1;
  if (n >= 2 && (unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA0)
    return 2;
  if (n >= 3 && memcmp(s, "\xE3\x80\x80", 3) == 0)
    return 3;
  return 0;
}

static pm__line ltrim(pm__line l) {
  size_t k;
  while (l.n && (k = ws_at(l.s, l.n)) > 0) {
    l.s += k;
    l.n -= k;
  }
  return l;
}

static pm__line trim(pm__line l) {
  l = ltrim(l);
  for (;;) {
    if (l.n && (l.s[l.n - 1] == ' ' || l.s[l.n - 1] == '\t' ||
                l.s[l.n - 1] == '\f' || l.s[l.n - 1] == '\v'))
      l.n--;
    else if (l.n >= 2 && (unsigned char)l.s[l.n - 2] == 0xC2 &&
             (unsigned char)l.s[l.n - 1] == 0xA0)
      l.n -= 2;
    else if (l.n >= 3 && memcmp(l.s + l.n - 3, "\xE3\x80\x80", 3) == 0)
      l.n -= 3;
    else
      return l;
  }
}

static char lc(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* ASCII case-insensitive prefix test; bytes >= 0x80 compare exactly. */
static bool ci_starts(const char *s, size_t n, const char *lit) {
  size_t m = strlen(lit);
  if (n < m)
    return false;
  for (size_t i = 0; i < m; i++)
    if (lc(s[i]) != lc(lit[i]))
      return false;
  return true;
}

static bool ci_ends(const char *s, size_t n, const char *lit) {
  size_t m = strlen(lit);
  return n >= m && ci_starts(s + n - m, m, lit);
}

static bool starts_any(const char *s, size_t n, const char *const *lits) {
  for (; *lits; lits++)
    if (ci_starts(s, n, *lits))
      return true;
  return false;
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* A digit, a date or time separator, a digit: "7/26", "12:06", "2013年",
 * "2015-05". Enough to tell an attribution from prose. */
static bool has_date_like(const char *s, size_t n) {
  n = cap(n);
  for (size_t i = 0; i + 2 < n; i++) {
    if (!is_digit(s[i]))
      continue;
    char c = s[i + 1];
    if ((c == '/' || c == ':' || c == '-' || c == '.') && is_digit(s[i + 2]))
      return true;
    /* 年 E5 B9 B4, 月 E6 9C 88 */
    if (i + 3 < n && (memcmp(s + i + 1, "\xE5\xB9\xB4", 3) == 0 ||
                      memcmp(s + i + 1, "\xE6\x9C\x88", 3) == 0))
      return true;
  }
  return false;
}

static bool has_byte(const char *s, size_t n, const char *set) {
  n = cap(n);
  for (; *set; set++)
    if (memchr(s, *set, n))
      return true;
  return false;
}

bool pm__line_blank(pm__line l) {
  return ltrim(l).n == 0;
}

bool pm__line_quote(pm__line l) {
  pm__line t = ltrim(l);
  return (t.n >= 1 && t.s[0] == '>') ||
         (t.n >= 3 && memcmp(t.s, "\xEF\xBC\x9E", 3) == 0); /* ＞ */
}

bool pm__line_separator(pm__line l) {
  pm__line t = trim(l);
  if (t.n < 5)
    return false;
  size_t marks = 0;
  for (size_t i = 0; i < t.n; i++) {
    char c = t.s[i];
    if (c == '-' || c == '_' || c == '=' || c == '*' || c == '~')
      marks++;
    else if (c != ' ')
      return false;
  }
  return marks >= 5;
}

bool pm__line_notes_date(pm__line l) {
  pm__line t = trim(l);
  const char *s = t.s;
  size_t n = t.n, i = 0;
  if (n > 40)
    return false;
#define DIGITS(lo, hi)                                                         \
  do {                                                                         \
    size_t d0 = i;                                                             \
    while (i < n && is_digit(s[i]))                                            \
      i++;                                                                     \
    if (i - d0 < (lo) || i - d0 > (hi))                                        \
      return false;                                                            \
  } while (0)
  DIGITS(1, 2);
  if (i >= n || s[i++] != '/')
    return false;
  DIGITS(1, 2);
  if (i >= n || s[i++] != '/')
    return false;
  DIGITS(2, 4);
  if (i >= n || (s[i] != ' ' && s[i] != '\t'))
    return false;
  while (i < n && (s[i] == ' ' || s[i] == '\t'))
    i++;
  DIGITS(1, 2);
  if (i >= n || s[i++] != ':')
    return false;
  DIGITS(2, 2);
  if (i < n && s[i] == ':') {
    i++;
    DIGITS(2, 2);
  }
#undef DIGITS
  while (i < n && (s[i] == ' ' || s[i] == '\t'))
    i++;
  if (i == n)
    return true;
  return n - i == 2 && (ci_starts(s + i, 2, "am") || ci_starts(s + i, 2, "pm"));
}

bool pm__line_cut_marker(pm__line l) {
  static const char *const after_dashes[] = {
      "original message",
      "original appointment",
      "forwarded message",
      "forwarded by",
      "forward message",
      "forwarded e-mail",
      "forwarded email",
      "reply separator",
      "message d'origine",
      "message transf\xC3\xA9r\xC3\xA9", /* message transféré
                                          */
      "urspr\xC3\xBCngliche nachricht",  /* ursprüngliche
                                            Nachricht */
      "\xE5\x85\x83\xE3\x81\xAE\xE3\x83\xA1\xE3\x83\x83\xE3"
      "\x82\xBB\xE3\x83"
      "\xBC\xE3\x82\xB8",         /* 元のメッセージ */
      "\xE8\xBB\xA2\xE9\x80\x81", /* 転送 */
      "\xE3\x82\xAA\xE3\x83\xAA\xE3\x82\xB8\xE3\x83\x8A\xE3"
      "\x83\xAB", /* オリジナル
                   */
      NULL};
  static const char *const bare[] = {"begin forwarded message",
                                     "\xE8\xBB\xA2\xE9\x80\x81\xE3\x81\x95\xE3"
                                     "\x82\x8C\xE3\x81\x9F\xE3\x83"
                                     "\xA1\xE3\x83\x83\xE3\x82\xBB\xE3\x83\xBC"
                                     "\xE3\x82\xB8", /* 転送されたメッセージ
                                                      */
                                     NULL};
  pm__line t = trim(l);
  size_t n = cap(t.n), k = 0, dashes = 0;
  while (k < n && (t.s[k] == '-' || t.s[k] == '_' || t.s[k] == ' ' ||
                   t.s[k] == '=' || t.s[k] == '*')) {
    if (t.s[k] != ' ')
      dashes++;
    k++;
  }
  if (dashes >= 2 && starts_any(t.s + k, n - k, after_dashes))
    return true;
  return dashes == 0 && starts_any(t.s, n, bare);
}

unsigned pm__line_header_key(pm__line l) {
  static const struct {
    const char *name;
    unsigned key;
  } keys[] = {
      {"from", PM__KEY_FROM},
      {"sent by", PM__KEY_SENTBY},
      {"sent", PM__KEY_SENT},
      {"date", PM__KEY_DATE},
      {"to", PM__KEY_TO},
      {"cc", PM__KEY_CC},
      {"bcc", PM__KEY_CC},
      {"subject", PM__KEY_SUBJECT},
      {"\xE5\xB7\xAE\xE5\x87\xBA\xE4\xBA\xBA", PM__KEY_FROM}, /* 差出人 */
      {"\xE9\x80\x81\xE4\xBF\xA1\xE8\x80\x85", PM__KEY_FROM}, /* 送信者 */
      {"\xE9\x80\x81\xE4\xBF\xA1\xE6\x97\xA5\xE6\x99\x82",
       PM__KEY_SENT},                                /* 送信日時 */
      {"\xE6\x97\xA5\xE4\xBB\x98", PM__KEY_DATE},    /* 日付 */
      {"\xE6\x97\xA5\xE6\x99\x82", PM__KEY_DATE},    /* 日時 */
      {"\xE5\xAE\x9B\xE5\x85\x88", PM__KEY_TO},      /* 宛先 */
      {"\xE4\xBB\xB6\xE5\x90\x8D", PM__KEY_SUBJECT}, /* 件名 */
  };
  pm__line t = ltrim(l);
  size_t n = cap(t.n), k = 0;
  while (k < n && k < 2 && t.s[k] == '*') /* Markdown bold: **From:** */
    k++;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (!ci_starts(t.s + k, n - k, keys[i].name))
      continue;
    size_t m = k + strlen(keys[i].name);
    while (m < n && (t.s[m] == ' ' || t.s[m] == '\t' || t.s[m] == '*'))
      m++;
    if (m < n && t.s[m] == ':')
      return keys[i].key;
    if (m + 3 <= n && memcmp(t.s + m, "\xEF\xBC\x9A", 3) == 0) /* ： */
      return keys[i].key;
  }
  return 0;
}

bool pm__line_notes_from(pm__line l) {
  if (!pm__line_indented(l))
    return false;
  pm__line t = trim(l);
  return memmem(t.s, cap(t.n), "From:", 5) != NULL;
}

size_t pm__line_notes_name_len(pm__line l) {
  return trim(l).n;
}

bool pm__line_notes_respond(pm__line l) {
  pm__line t = ltrim(l);
  return ci_starts(t.s, t.n, "please respond to ");
}

bool pm__line_indented(pm__line l) {
  return (l.n >= 1 && l.s[0] == '\t') ||
         (l.n >= 2 && l.s[0] == ' ' && l.s[1] == ' ');
}

bool pm__line_header_cont(pm__line l) {
  if (pm__line_blank(l))
    return false;
  return pm__line_indented(l) || has_byte(l.s, l.n, "@,;/<[") ||
         has_date_like(l.s, l.n);
}

/* A Notes date and time anywhere in the line: "06/01/2001 10:36 AM". */
static bool has_notes_datetime(const char *s, size_t n) {
  n = cap(n);
  for (size_t i = 0; i + 8 < n; i++) {
    if (!is_digit(s[i]) || (i > 0 && is_digit(s[i - 1])))
      continue;
    size_t k = i, slashes = 0;
    while (k < n && (is_digit(s[k]) || s[k] == '/'))
      slashes += s[k++] == '/';
    if (slashes != 2 || k >= n || s[k] != ' ')
      continue;
    while (k < n && s[k] == ' ')
      k++;
    size_t d = k;
    while (k < n && is_digit(s[k]))
      k++;
    if (k > d && k - d <= 2 && k + 2 < n && s[k] == ':' && is_digit(s[k + 1]))
      return true;
  }
  return false;
}

bool pm__line_notes_datetime(pm__line l) {
  return has_notes_datetime(l.s, l.n);
}

bool pm__line_notes_oneline(pm__line l) {
  size_t n = cap(l.n);
  return has_notes_datetime(l.s, n) && memmem(l.s, n, "To:", 3) &&
         (memmem(l.s, n, "cc:", 3) || memmem(l.s, n, "Subject:", 8));
}

bool pm__line_notes_name(pm__line l) {
  pm__line t = trim(l);
  if (t.n == 0 || t.n > 60 || pm__line_quote(t) || pm__line_separator(t))
    return false;
  static const char *const ends[] = {".",
                                     "!",
                                     "?",
                                     ":",
                                     ";",
                                     ",",
                                     "\xE3\x80\x82", /* 。 */
                                     "\xE3\x80\x81", /* 、 */
                                     "\xEF\xBC\x81", /* ！ */
                                     "\xEF\xBC\x9F", /* ？ */
                                     NULL};
  for (const char *const *e = ends; *e; e++)
    if (ci_ends(t.s, t.n, *e))
      return false;
  return true;
}

bool pm__line_attribution_self(pm__line l) {
  pm__line t = ltrim(l);
  return ci_starts(t.s, t.n, "on ") || ci_starts(t.s, t.n, "le ") ||
         ci_starts(t.s, t.n, "am ");
}

bool pm__line_attribution_head(pm__line l) {
  if (pm__line_blank(l) || pm__line_quote(l))
    return false;
  pm__line t = trim(l);
  /* A finished sentence is the author's, not half an attribution. */
  static const char *const ends[] = {".",
                                     "!",
                                     "?",
                                     "\xE3\x80\x82", /* 。 */
                                     "\xEF\xBC\x81",
                                     "\xEF\xBC\x9F",
                                     NULL};
  for (const char *const *e = ends; *e; e++)
    if (ci_ends(t.s, t.n, *e))
      return false;
  return pm__line_attribution_self(t) || has_byte(t.s, t.n, "@") ||
         has_date_like(t.s, t.n);
}

int pm__line_attribution(pm__line l) {
  static const char *const suffixes[] = {
      "wrote:",
      "wrote :",
      "writes:",
      /* wrote： */
      "wrote\xEF\xBC\x9A",
      /* a écrit : */
      "a \xC3\xA9\x63rit :",
      /* a écrit: */
      "a \xC3\xA9\x63rit:",
      "schrieb:",
      /* 書きました: */
      "\xE6\x9B\xB8\xE3\x81\x8D\xE3\x81\xBE\xE3\x81\x97\xE3\x81\x9F:",
      /* 書きました： */
      "\xE6\x9B\xB8\xE3\x81\x8D\xE3\x81\xBE\xE3\x81\x97\xE3\x81"
      "\x9F\xEF\xBC\x9A",
      NULL,
  };
  /* "...のメッセージ:" alone is too common in prose to trust without a date. */
  static const char *const weak_suffixes[] = {
      /* のメッセージ: */
      "\xE3\x81\xAE\xE3\x83\xA1\xE3\x83\x83\xE3\x82\xBB\xE3\x83"
      "\xBC\xE3\x82\xB8:",
      /* のメッセージ： */
      "\xE3\x81\xAE\xE3\x83\xA1\xE3\x83\x83\xE3\x82\xBB\xE3\x83"
      "\xBC\xE3\x82\xB8\xEF\xBC\x9A",
      NULL,
  };
  pm__line t = trim(l);
  /* Every form ends with a colon: the cheap test first. */
  if (t.n < 2 || (t.s[t.n - 1] != ':' && !ci_ends(t.s, t.n, "\xEF\xBC\x9A")) ||
      pm__line_quote(t))
    return 0;
  bool strong = pm__line_attribution_self(t) || has_byte(t.s, t.n, "@") ||
                has_date_like(t.s, t.n);
  for (const char *const *s = suffixes; *s; s++)
    if (ci_ends(t.s, t.n, *s)) {
      /* "さんは書きました" names a person: a reply header, not prose. */
      if (!strong &&
          memmem(t.s, cap(t.n), "\xE3\x81\x95\xE3\x82\x93\xE3\x81\xAF",
                 9)) /* さんは */
        strong = true;
      return strong ? 2 : 1;
    }
  for (const char *const *s = weak_suffixes; *s; s++)
    if (ci_ends(t.s, t.n, *s))
      return strong ? 2 : 0;
  /* Sparrow in Japanese:
   * "日付：2012年5月21日月曜日、時刻：14:37、差出人：Name：". */
  if (has_date_like(t.s, t.n) &&
      memmem(t.s, cap(t.n), "\xE5\xB7\xAE\xE5\x87\xBA\xE4\xBA\xBA", 9) &&
      (ci_ends(t.s, t.n, ":") || ci_ends(t.s, t.n, "\xEF\xBC\x9A")))
    return 2;
  /* Gmail in Japanese: "2014年1月29日 12:13 Name <addr>:", no verb at all.
   * Opening on a date and closing on an address and a colon, it is no
   * sentence. */
  if (is_digit(t.s[0]) && has_byte(t.s, t.n, "@") && has_date_like(t.s, t.n) &&
      (ci_ends(t.s, t.n, ">:") || ci_ends(t.s, t.n, ">\xEF\xBC\x9A")))
    return 2;
  return 0;
}

bool pm__line_mew_in(pm__line l) {
  pm__line t = trim(l);
  return (ci_starts(t.s, t.n, "In <") || ci_starts(t.s, t.n, "In \\<")) &&
         t.s[t.n - 1] == '>';
}

bool pm__line_attribution_loose(pm__line l) {
  pm__line t = trim(l);
  if (t.n == 0 || t.n > 200 || pm__line_quote(t))
    return false;
  return has_byte(t.s, t.n, "@") && has_date_like(t.s, t.n);
}

bool pm__line_placeholder(pm__line l) {
  pm__line t = trim(l);
  if (t.n < 4)
    return false;
  if (ci_starts(t.s, t.n, "<embedded ") && t.s[t.n - 1] == '>')
    return true;
  if (ci_starts(t.s, t.n, "<<") && ci_ends(t.s, t.n, ">>"))
    return true;
  static const char *const brackets[] = {
      "[image:",
      "[cid:",
      "[attachment",
      "[inline image",
      "[picture",
      "[\xE7\x94\xBB\xE5\x83\x8F", /* [画像 */
      "[\xE6\xB7\xBB\xE4\xBB\x98", /* [添付 */
      NULL};
  if (t.s[t.n - 1] == ']' && starts_any(t.s, t.n, brackets))
    return true;
  /* Outlook and Notes list attachments as " - name.ext". */
  static const char *const exts[] = {
      ".doc",  ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".pdf",
      ".txt",  ".rtf",  ".csv", ".zip",  ".htm", ".html", ".jpg",
      ".jpeg", ".gif",  ".png", ".bmp",  ".tif", ".wav",  ".mp3",
      ".mpg",  ".avi",  ".exe", ".msg",  ".eml", ".vcf",  NULL};
  if (t.n <= 100 && ci_starts(t.s, t.n, "- "))
    for (const char *const *e = exts; *e; e++)
      if (ci_ends(t.s, t.n, *e))
        return true;
  return false;
}

bool pm__line_subject_tab(pm__line l) {
  pm__line t = ltrim(l);
  return ci_starts(t.s, t.n, "subject:\t");
}

bool pm__line_lowercase_start(pm__line l) {
  pm__line t = trim(l);
  return t.n > 0 && t.s[0] >= 'a' && t.s[0] <= 'z';
}

/* ---- disclaimers ------------------------------------------------------- */

/* The words legal notices are made of; a paragraph needs some of them. */
static size_t disclaimer_words(const pm__lines *t, size_t a, size_t b) {
  static const char *const words[] = {
      "confidential",
      "intended recipient",
      "intended solely",
      "intended only",
      "intended for",
      "addressee",
      "unauthori",
      "prohibited",
      "strictly",
      "delete",
      "destroy",
      "notify the sender",
      "in error",
      "privilege",
      "legally",
      "disclos",
      "\xE6\xA9\x9F\xE5\xAF\x86",             /* 機密 */
      "\xE7\xA7\x98\xE5\xAF\x86",             /* 秘密 */
      "\xE8\xAA\xA4\xE3\x81\xA3\xE3\x81\xA6", /* 誤って */
      "\xE8\xAA\xA4\xE9\x80\x81\xE4\xBF\xA1", /* 誤送信 */
      "\xE5\x89\x8A\xE9\x99\xA4",             /* 削除 */
      "\xE7\xA0\xB4\xE6\xA3\x84",             /* 破棄 */
      "\xE7\xAC\xAC\xE4\xB8\x89\xE8\x80\x85", /* 第三者 */
      "\xE9\x96\x8B\xE7\xA4\xBA",             /* 開示 */
      "\xE5\x8F\x97\xE4\xBF\xA1\xE8\x80\x85", /* 受信者 */
      "\xE8\xA4\x87\xE8\xA3\xBD",             /* 複製 */
      "\xE7\xA6\x81\xE6\xAD\xA2",             /* 禁止 */
      NULL};
  /* Lower-cased text of the paragraph's first 2 KB: a notice shows its
   * vocabulary early, and the cost stays bounded. */
  char buf[2048];
  size_t len = 0;
  for (size_t i = a; i < b && len + 1 < sizeof buf; i++) {
    pm__line l = pm__lines_at(t, i);
    for (size_t k = 0; k < l.n && len + 1 < sizeof buf; k++)
      buf[len++] = lc(l.s[k]);
    if (len + 1 < sizeof buf)
      buf[len++] = ' ';
  }
  size_t hits = 0;
  for (const char *const *w = words; *w; w++)
    if (memmem(buf, len, *w, strlen(*w)))
      hits++;
  return hits;
}

/* Skips what decorates the start of a notice: separators, bullets,
 * brackets. */
static pm__line strip_decor(pm__line l) {
  static const char *const decor[] = {"\xE2\x80\xBB",
                                      /* ※ */ "\xE3\x80\x90", /* 【 */
                                      "\xE2\x96\xA0",
                                      /* ■ */ "\xE2\x97\x8F", /* ● */
                                      "\xE2\x97\x86",
                                      /* ◆ */ "\xEF\xBC\x8A", /* ＊ */
                                      NULL};
  for (;;) {
    l = ltrim(l);
    if (l.n && strchr("*-=_#[(~", l.s[0])) {
      l.s++;
      l.n--;
      continue;
    }
    bool hit = false;
    for (const char *const *d = decor; *d; d++)
      if (ci_starts(l.s, l.n, *d)) {
        l.s += strlen(*d);
        l.n -= strlen(*d);
        hit = true;
        break;
      }
    if (!hit)
      return l;
  }
}

/* The first words of a disclaimer's heading, and of its first sentence
 * when it has no heading (lower case; matched case-insensitively). */
static const char *const headings[] = {
    "confidentiality notice",
    "confidentiality note",
    "confidentiality statement",
    "confidentiality footer",
    "confidential notice",
    "notice of confidentiality",
    "disclaimer",
    "legal disclaimer",
    "legal notice",
    "privileged/confidential",
    "privileged and confidential",
    "privileged & confidential",
    "confidential:",
    "internet email confidentiality",
    /* 免責 */
    "\xE5\x85\x8D\xE8\xB2\xAC",
    NULL,
};
static const char *const openings[] = {
    "this e-mail",
    "this email",
    "this message",
    "this communication",
    "this transmission",
    "this electronic",
    "this mail",
    "the information contained",
    "the information in this",
    "the information transmitted",
    "the contents of this",
    "the content of this",
    "any views or opinions",
    "if you are not the intended",
    "if you have received this",
    /* 本メール */
    "\xE6\x9C\xAC\xE3\x83\xA1\xE3\x83\xBC\xE3\x83\xAB",
    /* このメール */
    "\xE3\x81\x93\xE3\x81\xAE\xE3\x83\xA1\xE3\x83\xBC\xE3\x83\xAB",
    /* 本電子メール */
    "\xE6\x9C\xAC\xE9\x9B\xBB\xE5\xAD\x90\xE3\x83\xA1\xE3\x83"
    "\xBC\xE3\x83\xAB",
    /* この電子メール */
    "\xE3\x81\x93\xE3\x81\xAE\xE9\x9B\xBB\xE5\xAD\x90\xE3\x83"
    "\xA1\xE3\x83\xBC\xE3\x83\xAB",
    /* 本eメール */
    "\xE6\x9C\xAC\x65\xE3\x83\xA1\xE3\x83\xBC\xE3\x83\xAB",
    /* 本メッセージ */
    "\xE6\x9C\xAC\xE3\x83\xA1\xE3\x83\x83\xE3\x82\xBB\xE3\x83"
    "\xBC\xE3\x82\xB8",
    /* このメッセージ */
    "\xE3\x81\x93\xE3\x81\xAE\xE3\x83\xA1\xE3\x83\x83\xE3\x82"
    "\xBB\xE3\x83\xBC\xE3\x82\xB8",
    /* 当メール */
    "\xE5\xBD\x93\xE3\x83\xA1\xE3\x83\xBC\xE3\x83\xAB",
    /* 本e-mail */
    "\xE6\x9C\xAC\x65-mail",
    /* このe-mail */
    "\xE3\x81\x93\xE3\x81\xAE\x65-mail",
    NULL,
};

bool pm__para_disclaimer(const pm__lines *t, size_t a, size_t b) {
  size_t first = a;
  while (first < b && pm__line_separator(pm__lines_at(t, first)))
    first++;
  if (first == b)
    return false;
  pm__line fl = pm__lines_at(t, first);
  bool heading = false, opening = false;
  /* A banner such as "*****Internet Email Confidentiality Footer*****". */
  pm__line f = strip_decor(fl);
  heading = starts_any(f.s, cap(f.n), headings);
  opening = starts_any(f.s, cap(f.n), openings);
  if (!heading && !opening)
    return false;
  size_t words = disclaimer_words(t, first, b);
  /* A heading on a line of its own ("CONFIDENTIALITY NOTICE", a starred
   * banner) is a notice by itself; in running text it needs the words. */
  size_t marks = 0;
  for (size_t i = 0; i < cap(fl.n); i++)
    marks += strchr("*=-_", fl.s[i]) && fl.s[i];
  bool banner = f.n <= 40 || marks >= 3;
  if (heading)
    return words >= (banner ? 1u : 2u);
  return opening && words >= 2;
}

bool pm__para_disclaimer_tail(const pm__lines *t, size_t a, size_t b) {
  size_t i = a;
  while (i < b && pm__line_separator(pm__lines_at(t, i)))
    i++;
  return i == b || disclaimer_words(t, a, b) >= 1;
}
