/* A code point's class, for the typed character n-grams: where a run of
 * one class ends is where an English word (or a Japanese script run: kanji
 * stem, kana ending, katakana loan word) ends. */
#ifndef PM_FEATURES_CHAR_CLASS_H
#define PM_FEATURES_CHAR_CLASS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  PM_CC_SPACE = 0, /* white space and control characters */
  PM_CC_LATIN,     /* ASCII and Latin letters, full-width ones too */
  PM_CC_DIGIT,     /* digits, ASCII or full-width */
  PM_CC_PUNCT,     /* punctuation and symbols, ASCII or CJK */
  PM_CC_HIRAGANA,
  PM_CC_KATAKANA, /* also the half-width forms and the long-vowel mark */
  PM_CC_KANJI,
  PM_CC_OTHER /* letters of other scripts */
} pm__char_class;

/* The class of the code point that starts at s (n bytes, n >= 1, valid
 * UTF-8 as the own text always is). */
pm__char_class pm__char_class_of(const char *s, size_t n);

#endif
