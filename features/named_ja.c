/* Named features, Japanese: character types, full/half width, punctuation
 * forms, politeness. */
#include <string.h>
#include <unicode/utf8.h>

#include "features/fctx.h"
#include "features/named.h"

static float per_k(const pm__fctx *c, size_t count) {
  return c->nonspace ? (float)(1000.0 * (double)count / (double)c->nonspace)
                     : 0.0f;
}

static float share(size_t part, size_t whole) {
  return whole ? (float)((double)part / (double)whole) : 0.0f;
}

static bool base_is(const pm__fctx *c, const pm__token *t,
                    const char *const *set, size_t n) {
  size_t len;
  const char *b = pm__token_base(c->seg, c->text, t, &len);
  for (size_t i = 0; i < n; i++)
    if (strlen(set[i]) == len && !memcmp(b, set[i], len))
      return true;
  return false;
}

static void characters(pm__fctx *c) {
  float *v = c->named;
  size_t fw_alnum = 0, alnum = 0;
  size_t cnt[PM_NF__FIXED_COUNT] = {0};
  for (size_t i = 0; i < c->ncp; i++) {
    int32_t at = (int32_t)c->cp_off[i];
    UChar32 cp;
    U8_NEXT((const uint8_t *)c->text, at, (int32_t)c->len, cp);
    if (cp < 0x80) {
      alnum += (cp >= '0' && cp <= '9') ||
               ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
      continue;
    }
    if ((cp >= 0xFF10 && cp <= 0xFF19) || (cp >= 0xFF21 && cp <= 0xFF3A) ||
        (cp >= 0xFF41 && cp <= 0xFF5A)) {
      fw_alnum++;
      alnum++;
      continue;
    }
    switch (cp) {
    case 0x3000:
      cnt[PM_NF_J_IDEO_SPACE]++;
      break;
    case 0x3001:
      cnt[PM_NF_J_TOUTEN]++;
      break;
    case 0x3002:
      cnt[PM_NF_J_KUTEN]++;
      break;
    case 0xFF0C:
      cnt[PM_NF_J_FW_COMMA]++;
      break;
    case 0xFF0E:
      cnt[PM_NF_J_FW_PERIOD]++;
      break;
    case 0xFF01:
      cnt[PM_NF_J_FW_EXCLAM]++;
      break;
    case 0xFF1F:
      cnt[PM_NF_J_FW_QUESTION]++;
      break;
    case 0x301C:
    case 0xFF5E:
      cnt[PM_NF_J_WAVE]++;
      break;
    case 0x266A:
    case 0x266B:
      cnt[PM_NF_J_NOTE]++;
      break;
    case 0x300C:
    case 0x300E:
      cnt[PM_NF_J_KAGI]++;
      break;
    case 0xFF08:
      cnt[PM_NF_J_FW_PAREN]++;
      break;
    default:
      if (cp >= 0xFF61 && cp <= 0xFF9F)
        cnt[PM_NF_J_HALFWIDTH_KANA]++;
      break;
    }
  }
  size_t ns = c->nonspace;
  v[PM_NF_J_KANJI] = share(c->kanji, ns);
  v[PM_NF_J_HIRAGANA] = share(c->hiragana, ns);
  v[PM_NF_J_KATAKANA] = share(c->katakana, ns);
  v[PM_NF_J_LATIN] = share(c->latin, c->letters);
  v[PM_NF_J_DIGITS] = share(c->digits, ns);
  v[PM_NF_J_FULLWIDTH_ALNUM] = share(fw_alnum, alnum);
  static const int rates[] = {
      PM_NF_J_HALFWIDTH_KANA, PM_NF_J_IDEO_SPACE,  PM_NF_J_TOUTEN,
      PM_NF_J_KUTEN,          PM_NF_J_FW_COMMA,    PM_NF_J_FW_PERIOD,
      PM_NF_J_FW_EXCLAM,      PM_NF_J_FW_QUESTION, PM_NF_J_WAVE,
      PM_NF_J_NOTE,           PM_NF_J_KAGI,        PM_NF_J_FW_PAREN};
  for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++)
    v[rates[k]] = per_k(c, cnt[rates[k]]);
}

static void politeness(pm__fctx *c) {
  static const char *const polite[] = {"です", "ます"};
  static const char *const plain[] = {"だ", "である"};
  static const char *const humble[] = {
      "いたす", "致す", "申す", "申し上げる", "伺う",     "参る",
      "存じる", "拝見", "拝受", "頂く",       "いただく", "承る"};
  static const char *const honor[] = {
      "いらっしゃる", "おっしゃる", "なさる", "くださる",
      "下さる",       "召し上がる", "ご覧"};
  static const char *const kudasai[] = {"ください", "下さい"};
  float *v = c->named;
  size_t humble_n = 0, honor_n = 0, kudasai_n = 0, laugh = 0;
  size_t ja_sents = 0, polite_s = 0, plain_s = 0, final_particle = 0;
  size_t morph_sum = 0;
  for (size_t s = 0; s < c->nsents; s++) {
    const pm__sentence *se = &c->sents[s];
    size_t morphs = 0;
    bool is_polite = false, is_plain = false, has_pred = false;
    const pm__token *last = NULL;
    for (uint32_t k = se->tok_start; k < se->tok_end; k++) {
      const pm__token *t = &c->toks[k];
      if (t->kind == PM_TOK_PUNCT) {
        if (pm__tok_is(c, t, "笑", 3))
          laugh++;
        continue;
      }
      if (!t->japanese)
        continue;
      if (t->kind == PM_TOK_JA) {
        morphs++;
        last = t;
        if (pm__tok_is(c, t, "笑", 3) && k > se->tok_start &&
            k + 1 < se->tok_end)
          laugh++;
      }
      if (t->posid == PM_POS_JODOUSHI) {
        if (base_is(c, t, polite, 2))
          is_polite = true;
        else if (base_is(c, t, plain, 2))
          is_plain = true;
        has_pred = true;
      } else if ((t->posid >= 31 && t->posid <= 33) ||
                 (t->posid >= 10 && t->posid <= 12)) {
        has_pred = true; /* verbs, adjectives */
      }
      if (base_is(c, t, humble, sizeof humble / sizeof humble[0]))
        humble_n++;
      if (base_is(c, t, honor, sizeof honor / sizeof honor[0]))
        honor_n++;
      if (base_is(c, t, kudasai, 2) || pm__tok_is(c, t, "ください", 12) ||
          pm__tok_is(c, t, "下さい", 9))
        kudasai_n++;
    }
    if (morphs < 2)
      continue;
    ja_sents++;
    morph_sum += morphs;
    polite_s += is_polite;
    plain_s += !is_polite && (is_plain || has_pred);
    if (last && last->posid == 17)
      final_particle++; /* 終助詞 at the end: ね, よ, な */
  }
  v[PM_NF_J_DESU_MASU] = share(polite_s, ja_sents);
  v[PM_NF_J_PLAIN] = share(plain_s, ja_sents);
  v[PM_NF_J_HUMBLE] = per_k(c, humble_n);
  v[PM_NF_J_HONORIFIC] = per_k(c, honor_n);
  v[PM_NF_J_KUDASAI] = per_k(c, kudasai_n);
  v[PM_NF_J_FINAL_PARTICLE] = share(final_particle, ja_sents);
  v[PM_NF_J_LAUGH] = per_k(c, laugh);
  v[PM_NF_J_TOKENS_PER_SENT] =
      ja_sents ? (float)((double)morph_sum / (double)ja_sents) : 0.0f;
}

void pm__named_japanese(pm__fctx *c) {
  characters(c);
  if (c->kanji + c->hiragana + c->katakana > 0)
    politeness(c);
}
