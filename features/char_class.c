/* Code point classes for the typed character n-grams. */
#include "features/char_class.h"

static uint32_t decode(const unsigned char *s, size_t n) {
  if (s[0] < 0x80 || n < 2)
    return s[0];
  if (s[0] < 0xE0)
    return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
  if (s[0] < 0xF0 || n < 4)
    return n < 3 ? 0xFFFD
                 : (uint32_t)(s[0] & 0x0F) << 12 |
                       (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
  return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
         (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

static pm__char_class ascii_class(uint32_t c) {
  if (c <= ' ' || c == 0x7F)
    return PM_CC_SPACE;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
    return PM_CC_LATIN;
  if (c >= '0' && c <= '9')
    return PM_CC_DIGIT;
  return PM_CC_PUNCT;
}

pm__char_class pm__char_class_of(const char *s, size_t n) {
  uint32_t c = decode((const unsigned char *)s, n);
  if (c < 0x80)
    return ascii_class(c);
  if (c >= 0xFF01 && c <= 0xFF5E) /* full-width ASCII */
    return ascii_class(c - 0xFEE0);
  if (c == 0x3000 || c == 0x00A0 || (c >= 0x2000 && c <= 0x200B))
    return PM_CC_SPACE;
  if (c >= 0x3041 && c <= 0x309F)
    return PM_CC_HIRAGANA;
  if ((c >= 0x30A0 && c <= 0x30FF) || (c >= 0xFF66 && c <= 0xFF9F))
    return PM_CC_KATAKANA;
  if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
      c == 0x3005 /* 々 */)
    return PM_CC_KANJI;
  if ((c >= 0x3001 && c <= 0x303F) || (c >= 0xFF5F && c <= 0xFF65) ||
      (c >= 0x2010 && c <= 0x2BFF) || (c >= 0x00A1 && c <= 0x00BF) ||
      c == 0x00D7 || c == 0x00F7)
    return PM_CC_PUNCT;
  if (c < 0x0250 || (c >= 0x1E00 && c <= 0x1EFF))
    return PM_CC_LATIN;
  return PM_CC_OTHER;
}
