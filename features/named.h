/* The named features: a dense block of style measures that keep their names,
 * so that a scorer can say which habit a mail breaks. The fixed ones are
 * listed here; the function words of the lexicons follow them
 * ("fw:<word>", "fwja:<form>"), in lexicon order. */
#ifndef PM_FEATURES_NAMED_H
#define PM_FEATURES_NAMED_H

#include <stddef.h>

#include "penmark/config.h"
#include "penmark/features.h"

/* X(family, id, name, kind, label). Kinds (pm_named_kind):
 *   SHARE: 1 or 0 per mail (a profile's mean is the share of its mails);
 *   RATE: occurrences per 1,000 characters of own text;
 *   FRACTION: a share within the mail, 0..1 (of lines, letters, words...);
 *   VALUE: a number (a mean length, a count). */
#define PM_NAMED_FIXED(X)                                                      \
  /* layout: greeting (first lines) */                                         \
  X(LAYOUT, GREET_NONE, "greeting:none", SHARE, "no greeting")                 \
  X(LAYOUT, GREET_HI, "greeting:hi", SHARE, "greeting \"Hi\"")                 \
  X(LAYOUT, GREET_HELLO, "greeting:hello", SHARE, "greeting \"Hello\"")        \
  X(LAYOUT, GREET_HEY, "greeting:hey", SHARE, "greeting \"Hey\"")              \
  X(LAYOUT, GREET_DEAR, "greeting:dear", SHARE, "greeting \"Dear\"")           \
  X(LAYOUT, GREET_GOOD_TIME, "greeting:good_time", SHARE,                      \
    "greeting \"Good morning\"")                                               \
  X(LAYOUT, GREET_ALL, "greeting:all", SHARE, "greeting \"All\" / \"Team\"")   \
  X(LAYOUT, GREET_NAME, "greeting:name", SHARE,                                \
    "a name alone as greeting (\"Tom,\")")                                     \
  X(LAYOUT, GREET_JA_OTSUKARE, "greeting:ja_otsukare", SHARE,                  \
    "greeting \"お疲れ様です\"")                                               \
  X(LAYOUT, GREET_JA_OSEWA, "greeting:ja_osewa", SHARE,                        \
    "greeting \"お世話になっております\"")                                     \
  X(LAYOUT, GREET_JA_HELLO, "greeting:ja_hello", SHARE,                        \
    "greeting \"こんにちは\"")                                                 \
  X(LAYOUT, GREET_JA_HAJIMEMASHITE, "greeting:ja_hajimemashite", SHARE,        \
    "greeting \"はじめまして\"")                                               \
  X(LAYOUT, GREET_JA_NAME, "greeting:ja_name", SHARE,                          \
    "an addressee line (\"〜さん\", \"〜様\")")                                \
  /* layout: sign-off (last lines) */                                          \
  X(LAYOUT, SIGN_NONE, "signoff:none", SHARE, "no sign-off")                   \
  X(LAYOUT, SIGN_THANKS, "signoff:thanks", SHARE, "sign-off \"Thanks\"")       \
  X(LAYOUT, SIGN_THANK_YOU, "signoff:thank_you", SHARE,                        \
    "sign-off \"Thank you\"")                                                  \
  X(LAYOUT, SIGN_REGARDS, "signoff:regards", SHARE, "sign-off \"Regards\"")    \
  X(LAYOUT, SIGN_BEST, "signoff:best", SHARE, "sign-off \"Best\"")             \
  X(LAYOUT, SIGN_CHEERS, "signoff:cheers", SHARE, "sign-off \"Cheers\"")       \
  X(LAYOUT, SIGN_SINCERELY, "signoff:sincerely", SHARE,                        \
    "sign-off \"Sincerely\"")                                                  \
  X(LAYOUT, SIGN_DASH_NAME, "signoff:dash_name", SHARE,                        \
    "a dash and a name as sign-off (\"-d\")")                                  \
  X(LAYOUT, SIGN_NAME, "signoff:name", SHARE, "a name alone as sign-off")      \
  X(LAYOUT, SIGN_JA_YOROSHIKU, "signoff:ja_yoroshiku", SHARE,                  \
    "sign-off \"よろしくお願いします\"")                                       \
  X(LAYOUT, SIGN_JA_IJOU, "signoff:ja_ijou", SHARE, "sign-off \"以上です\"")   \
  X(LAYOUT, SIGN_JA_THANKS, "signoff:ja_thanks", SHARE,                        \
    "sign-off \"ありがとうございます\"")                                       \
  /* layout: lines and blocks */                                               \
  X(LAYOUT, LINES, "lines", VALUE, "lines (square root)")                      \
  X(LAYOUT, LINE_LEN_MEAN, "line_length_mean", VALUE,                          \
    "mean line length (characters)")                                           \
  X(LAYOUT, LINE_LEN_MAX, "line_length_max", VALUE,                            \
    "longest line (characters, square root)")                                  \
  X(LAYOUT, LONG_LINES, "long_lines", FRACTION,                                \
    "share of lines over 78 characters")                                       \
  X(LAYOUT, WRAPPED_LINES, "wrapped_lines", FRACTION,                          \
    "share of lines hard-wrapped at 60-80 characters")                         \
  X(LAYOUT, BLANK_LINES, "blank_lines", FRACTION, "share of blank lines")      \
  X(LAYOUT, DOUBLE_BLANK, "double_blank_lines", FRACTION,                      \
    "share of blank lines that follow a blank line")                           \
  X(LAYOUT, PARAGRAPHS, "paragraphs", VALUE, "paragraphs")                     \
  X(LAYOUT, ONE_LINE_PARAS, "one_line_paragraphs", FRACTION,                   \
    "share of one-line paragraphs")                                            \
  X(LAYOUT, BULLET_DASH, "bullets:dash", FRACTION,                             \
    "share of lines bulleted with \"-\" or \"*\"")                             \
  X(LAYOUT, BULLET_DOT, "bullets:dot", FRACTION,                               \
    "share of lines bulleted with \"•\", \"・\" or \"●\"")                     \
  X(LAYOUT, BULLET_NUM, "bullets:number", FRACTION,                            \
    "share of numbered lines (\"1.\", \"1)\", \"(1)\")")                       \
  X(LAYOUT, INDENTED, "indented_lines", FRACTION,                              \
    "share of lines that start with a space")                                  \
  X(LAYOUT, TRAILING_SPACE, "trailing_space_lines", FRACTION,                  \
    "share of lines that end with a space")                                    \
  X(LAYOUT, SIG_SEPARATOR, "signature_separator", SHARE,                       \
    "a signature separator line (\"--\", \"――\")")                             \
  X(LAYOUT, SIG_LINES, "signature_lines", VALUE,                               \
    "lines after the sign-off (signature block)")                              \
  X(LAYOUT, GREETING_OWN_LINE, "greeting_own_line", SHARE,                     \
    "greeting on a line of its own")                                           \
  X(LAYOUT, BLANK_AFTER_GREETING, "blank_after_greeting", SHARE,               \
    "a blank line after the greeting")                                         \
  /* punctuation and spacing */                                                \
  X(PUNCTUATION, P_PERIOD, "period", RATE, "periods")                          \
  X(PUNCTUATION, P_COMMA, "comma", RATE, "commas")                             \
  X(PUNCTUATION, P_EXCLAM, "exclamation", RATE, "exclamation marks")           \
  X(PUNCTUATION, P_QUESTION, "question", RATE, "question marks")               \
  X(PUNCTUATION, P_SEMICOLON, "semicolon", RATE, "semicolons")                 \
  X(PUNCTUATION, P_COLON, "colon", RATE, "colons")                             \
  X(PUNCTUATION, P_APOS, "apostrophe", RATE, "straight apostrophes (')")       \
  X(PUNCTUATION, P_SMART_APOS, "smart_apostrophe", RATE,                       \
    "curly apostrophes (’)")                                                   \
  X(PUNCTUATION, P_DQUOTE, "double_quote", RATE, "straight double quotes")     \
  X(PUNCTUATION, P_SMART_DQUOTE, "smart_double_quote", RATE,                   \
    "curly double quotes (“”)")                                                \
  X(PUNCTUATION, P_PAREN, "parenthesis", RATE, "parentheses")                  \
  X(PUNCTUATION, P_SPACED_HYPHEN, "spaced_hyphen", RATE,                       \
    "spaced hyphens (\" - \")")                                                \
  X(PUNCTUATION, P_DOUBLE_HYPHEN, "double_hyphen", RATE,                       \
    "double hyphens (\"--\")")                                                 \
  X(PUNCTUATION, P_EM_DASH, "em_dash", RATE, "em dashes (—)")                  \
  X(PUNCTUATION, P_EN_DASH, "en_dash", RATE, "en dashes (–)")                  \
  X(PUNCTUATION, P_DOTS, "ellipsis_dots", RATE, "\"...\" ellipses")            \
  X(PUNCTUATION, P_ELLIPSIS, "ellipsis_char", RATE, "\"…\" ellipses")          \
  X(PUNCTUATION, P_MULTI_EXCLAM, "multi_exclamation", RATE, "\"!!\"")          \
  X(PUNCTUATION, P_MULTI_QUESTION, "multi_question", RATE, "\"??\" or \"?!\"") \
  X(PUNCTUATION, P_DOUBLE_SPACE, "double_space_after_period", FRACTION,        \
    "share of sentences followed by two spaces")                               \
  X(PUNCTUATION, P_SPACE_BEFORE, "space_before_punctuation", RATE,             \
    "spaces before , . ? ! :")                                                 \
  X(PUNCTUATION, P_NO_SPACE_AFTER, "no_space_after_comma", FRACTION,           \
    "share of commas not followed by a space")                                 \
  X(PUNCTUATION, P_EMOTICON, "emoticons", RATE, "emoticons (:) ;-) ^^ (笑))")  \
  X(PUNCTUATION, P_EMOJI, "emoji", RATE, "emoji")                              \
  X(PUNCTUATION, P_AMPERSAND, "ampersand", RATE, "ampersands")                 \
  X(PUNCTUATION, P_SLASH, "slash", RATE, "slashes")                            \
  X(PUNCTUATION, P_EXCLAM_SENT, "exclamation_sentences", FRACTION,             \
    "share of sentences ending with \"!\"")                                    \
  X(PUNCTUATION, P_QUESTION_SENT, "question_sentences", FRACTION,              \
    "share of sentences ending with \"?\"")                                    \
  X(PUNCTUATION, P_NO_FINAL, "unterminated_sentences", FRACTION,               \
    "share of sentences without final punctuation")                            \
  /* case habits */                                                            \
  X(CASE, C_UPPER, "uppercase_letters", FRACTION,                              \
    "share of uppercase letters")                                              \
  X(CASE, C_ALL_LOWER, "all_lowercase_mail", SHARE,                            \
    "a mail written all in lowercase")                                         \
  X(CASE, C_LOWER_I, "lowercase_i", FRACTION,                                  \
    "share of \"i\" written in lowercase")                                     \
  X(CASE, C_ALL_CAPS, "all_caps_words", FRACTION, "share of ALL-CAPS words")   \
  X(CASE, C_SENT_LOWER, "lowercase_sentence_start", FRACTION,                  \
    "share of sentences that start in lowercase")                              \
  X(CASE, C_CAPITALIZED, "capitalized_words", FRACTION,                        \
    "share of capitalised words")                                              \
  /* lengths */                                                                \
  X(LENGTHS, L_CHARS, "own_chars", VALUE, "characters (square root)")          \
  X(LENGTHS, L_WORDS, "words", VALUE, "words (square root)")                   \
  X(LENGTHS, L_WORD_LEN, "word_length_mean", VALUE, "mean word length")        \
  X(LENGTHS, L_WL_SHORT, "words_1_3", FRACTION,                                \
    "share of words of 1-3 letters")                                           \
  X(LENGTHS, L_WL_MID, "words_4_6", FRACTION, "share of words of 4-6 letters") \
  X(LENGTHS, L_WL_LONG, "words_7_9", FRACTION,                                 \
    "share of words of 7-9 letters")                                           \
  X(LENGTHS, L_WL_XLONG, "words_10_plus", FRACTION,                            \
    "share of words of 10+ letters")                                           \
  X(LENGTHS, L_SENT_MEAN, "sentence_length_mean", VALUE,                       \
    "mean sentence length (words)")                                            \
  X(LENGTHS, L_SENT_SD, "sentence_length_sd", VALUE,                           \
    "spread of sentence length (words)")                                       \
  X(LENGTHS, L_SENTENCES, "sentences", VALUE, "sentences (square root)")       \
  X(LENGTHS, L_PARA_MEAN, "paragraph_length_mean", VALUE,                      \
    "mean paragraph length (words)")                                           \
  X(LENGTHS, L_TTR, "type_token_ratio", FRACTION,                              \
    "vocabulary richness (type-token ratio over 50 words)")                    \
  /* Japanese */                                                               \
  X(JAPANESE, J_KANJI, "ja:kanji", FRACTION, "share of kanji")                 \
  X(JAPANESE, J_HIRAGANA, "ja:hiragana", FRACTION, "share of hiragana")        \
  X(JAPANESE, J_KATAKANA, "ja:katakana", FRACTION, "share of katakana")        \
  X(JAPANESE, J_LATIN, "ja:latin", FRACTION,                                   \
    "share of Latin letters among letters")                                    \
  X(JAPANESE, J_DIGITS, "ja:digits", FRACTION, "share of digits")              \
  X(JAPANESE, J_FULLWIDTH_ALNUM, "ja:fullwidth_alnum", FRACTION,               \
    "share of full-width letters and digits (Ａ１)")                           \
  X(JAPANESE, J_HALFWIDTH_KANA, "ja:halfwidth_kana", RATE,                     \
    "half-width katakana (ｶﾅ)")                                                \
  X(JAPANESE, J_IDEO_SPACE, "ja:ideographic_space", RATE, "full-width spaces") \
  X(JAPANESE, J_TOUTEN, "ja:touten", RATE, "Japanese commas (、)")             \
  X(JAPANESE, J_KUTEN, "ja:kuten", RATE, "Japanese periods (。)")              \
  X(JAPANESE, J_FW_COMMA, "ja:fullwidth_comma", RATE,                          \
    "full-width commas (，)")                                                  \
  X(JAPANESE, J_FW_PERIOD, "ja:fullwidth_period", RATE,                        \
    "full-width periods (．)")                                                 \
  X(JAPANESE, J_FW_EXCLAM, "ja:fullwidth_exclamation", RATE,                   \
    "full-width exclamation marks (！)")                                       \
  X(JAPANESE, J_FW_QUESTION, "ja:fullwidth_question", RATE,                    \
    "full-width question marks (？)")                                          \
  X(JAPANESE, J_WAVE, "ja:wave_dash", RATE, "wave dashes (〜)")                \
  X(JAPANESE, J_NOTE, "ja:music_note", RATE, "music notes (♪)")                \
  X(JAPANESE, J_KAGI, "ja:brackets", RATE, "Japanese quotes (「」『』)")       \
  X(JAPANESE, J_FW_PAREN, "ja:fullwidth_paren", RATE,                          \
    "full-width parentheses (（）)")                                           \
  X(JAPANESE, J_DESU_MASU, "ja:desu_masu", FRACTION,                           \
    "share of sentences in です/ます form")                                    \
  X(JAPANESE, J_PLAIN, "ja:plain_form", FRACTION,                              \
    "share of sentences in plain form (だ/である)")                            \
  X(JAPANESE, J_HUMBLE, "ja:humble", RATE,                                     \
    "humble forms (いたします, 申し上げます, 伺います)")                       \
  X(JAPANESE, J_HONORIFIC, "ja:honorific", RATE,                               \
    "honorific forms (いらっしゃる, おっしゃる, くださる)")                    \
  X(JAPANESE, J_KUDASAI, "ja:kudasai", RATE, "requests with ください")         \
  X(JAPANESE, J_FINAL_PARTICLE, "ja:final_particles", FRACTION,                \
    "share of sentences ending in ね/よ/な")                                   \
  X(JAPANESE, J_LAUGH, "ja:laugh", RATE, "(笑) or trailing w")                 \
  X(JAPANESE, J_TOKENS_PER_SENT, "ja:sentence_length", VALUE,                  \
    "mean sentence length (morphemes)")

typedef enum {
#define PM__NAMED_ENUM(fam, id, name, kind, label) PM_NF_##id,
  PM_NAMED_FIXED(PM__NAMED_ENUM)
#undef PM__NAMED_ENUM
      PM_NF__FIXED_COUNT
} pm__named_fixed;

/* Index of the first English function word, then of the first Japanese one. */
size_t pm__named_en_fw_base(void);
size_t pm__named_ja_fw_base(void);

/* Frees the table at process exit (pm_library_shutdown). */
void pm__named_release(void);

#endif
