/* Header values for the milter: ASCII only, RFC 2047 where needed. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "penmark/milter.h"

bool pm_milter_is_own_header(const char *name) {
  size_t n = strlen(PM_MILTER_HEADER_PREFIX);
  return name && strncasecmp(name, PM_MILTER_HEADER_PREFIX, n) == 0;
}

/* Appends text to buf at *len, never past cap - 1. */
static void put(char *buf, size_t cap, size_t *len, const char *s, size_t n) {
  if (*len + 1 >= cap)
    return;
  size_t room = cap - 1 - *len;
  if (n > room)
    n = room;
  memcpy(buf + *len, s, n);
  *len += n;
  buf[*len] = '\0';
}

static void put_ascii_clean(char *buf, size_t cap, size_t *len, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char ch = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    put(buf, cap, len, &ch, 1);
  }
}

void pm_milter_verdict_value(const pm_score_result *r, const char *tenant,
                             char *buf, size_t cap) {
  size_t len = 0;
  char tmp[96];
  buf[0] = '\0';
  put_ascii_clean(buf, cap, &len, pm_verdict_name(r->verdict));
  int n = snprintf(tmp, sizeof tmp, "; p=%.4f; threshold=%.4f; rarity=1/%llu",
                   r->probability, r->threshold, (unsigned long long)r->one_in);
  /* snprintf returns the length it wanted: a number too large for tmp
   * (a probability of 1e300 from a broken caller) must not read past it */
  if (n < 0)
    n = 0;
  if ((size_t)n >= sizeof tmp)
    n = (int)sizeof tmp - 1;
  put(buf, cap, &len, tmp, (size_t)n);
  if (tenant) {
    put(buf, cap, &len, "; tenant=", 9);
    put_ascii_clean(buf, cap, &len, tenant);
  }
}

void pm_milter_error_value(const char *why, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  put(buf, cap, &len, "error; ", 7);
  put_ascii_clean(buf, cap, &len, why ? why : "unknown");
}

static bool is_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
      return false;
  return true;
}

/* One RFC 2047 encoded word per chunk of at most 45 bytes of UTF-8 (60
 * base64 characters: words stay under the 75-character limit), cut on a
 * character boundary, folded with LF + space (libmilter takes LF) between
 * words. */
static void put_encoded(char *buf, size_t cap, size_t *len, const char *s) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(s), at = 0;
  bool first = true;
  while (at < n) {
    size_t chunk = n - at > 45 ? 45 : n - at;
    while (at + chunk < n && chunk > 0 &&
           ((unsigned char)s[at + chunk] & 0xC0) == 0x80)
      chunk--; /* never split a UTF-8 sequence */
    if (chunk == 0)
      chunk = n - at > 45 ? 45 : n - at;
    if (!first)
      put(buf, cap, len, "\n ", 2);
    first = false;
    put(buf, cap, len, "=?UTF-8?B?", 10);
    const unsigned char *p = (const unsigned char *)s + at;
    for (size_t i = 0; i < chunk; i += 3) {
      unsigned v = (unsigned)p[i] << 16;
      if (i + 1 < chunk)
        v |= (unsigned)p[i + 1] << 8;
      if (i + 2 < chunk)
        v |= p[i + 2];
      char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
                   i + 1 < chunk ? b64[(v >> 6) & 63] : '=',
                   i + 2 < chunk ? b64[v & 63] : '='};
      put(buf, cap, len, q, 4);
    }
    put(buf, cap, len, "?=", 2);
    at += chunk;
  }
}

void pm_milter_reasons_value(const pm_score_result *r, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < r->n_reasons; i++) {
    const char *t = r->reasons[i].text;
    if (i)
      put(buf, cap, &len, ";\n ", 3);
    if (is_ascii(t))
      put(buf, cap, &len, t, strlen(t));
    else
      put_encoded(buf, cap, &len, t);
  }
}

void pm_milter_skip_value(const char *why, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  put(buf, cap, &len, "not_judged; ", 12);
  put_ascii_clean(buf, cap, &len, why ? why : "policy");
}
