/* The milter's header values: ASCII only, RFC 2047 for other text. */
#include "penmark/milter.h"
#include "tests/support.h"

#include <stdio.h>
#include <string.h>

static bool all_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x7f || ((unsigned char)*s < 0x20 && *s != '\n'))
      return false;
  return true;
}

START_TEST(own_header_names) {
  ck_assert(pm_milter_is_own_header("X-Penmark-Verdict"));
  ck_assert(pm_milter_is_own_header("x-penmark-reasons"));
  ck_assert(!pm_milter_is_own_header("X-Penmar"));
  ck_assert(!pm_milter_is_own_header("Subject"));
  ck_assert(!pm_milter_is_own_header(NULL));
}
END_TEST

START_TEST(verdict_value) {
  pm_score_result r;
  memset(&r, 0, sizeof r);
  r.verdict = PM_VERDICT_IMPERSONATION;
  r.probability = 0.98765;
  r.threshold = 0.5;
  r.one_in = 400;
  char buf[256];
  pm_milter_verdict_value(&r, "acme", buf, sizeof buf);
  ck_assert_str_eq(buf, "impersonation; p=0.9877; threshold=0.5000; "
                        "rarity=1/400; tenant=acme");
  pm_milter_error_value("store \xe2\x80\x94 gone\n", buf, sizeof buf);
  ck_assert_str_eq(buf, "error; store ??? gone?");
  char small[8];
  pm_milter_verdict_value(&r, "acme", small, sizeof small);
  ck_assert_uint_eq(strlen(small), 7);
}
END_TEST

/* Found by tests/fuzz/fuzz_milter: a number wider than the scratch buffer
 * made the copy read past it (snprintf returns the length it wanted). */
START_TEST(verdict_value_huge_numbers) {
  pm_score_result r;
  memset(&r, 0, sizeof r);
  r.verdict = PM_VERDICT_GENUINE;
  r.probability = 1e300;
  r.threshold = -1e300;
  char buf[1024];
  pm_milter_verdict_value(&r, "acme", buf, sizeof buf);
  ck_assert(all_ascii(buf));
  ck_assert_msg(strncmp(buf, "genuine; p=1000", 15) == 0, "%s", buf);
  ck_assert_uint_lt(strlen(buf), 9 + 96 + 20);
}
END_TEST

START_TEST(reasons_encoded) {
  pm_score_result r;
  memset(&r, 0, sizeof r);
  r.n_reasons = 2;
  strcpy(r.reasons[0].text, "greeting Hello");
  /* 60 Japanese characters: several encoded words, none cut mid-character */
  char *p = r.reasons[1].text;
  for (int i = 0; i < 60; i++)
    p += sprintf(p, "\xe3\x81\x82"); /* あ */
  char buf[4096];
  pm_milter_reasons_value(&r, buf, sizeof buf);
  ck_assert(all_ascii(buf));
  ck_assert(!strncmp(buf, "greeting Hello;\n =?UTF-8?B?", 27));
  /* 45 bytes = 15 characters per word: 4 words; 44 would split one */
  size_t words = 0;
  for (const char *q = buf; (q = strstr(q, "=?UTF-8?B?")); q++)
    words++;
  ck_assert_uint_eq(words, 4);
  /* the first word is exactly 15 x "あ" = "44GC" x 15 */
  const char *w = strstr(buf, "=?UTF-8?B?") + 10;
  for (int i = 0; i < 15; i++)
    ck_assert(!strncmp(w + 4 * i, "44GC", 4));
  ck_assert(!strncmp(w + 60, "?=", 2));
}
END_TEST

static Suite *milter_header_suite(void) {
  Suite *s = suite_create("milter_header");
  TCase *tc = tcase_create("values");
  tcase_add_test(tc, own_header_names);
  tcase_add_test(tc, verdict_value);
  tcase_add_test(tc, verdict_value_huge_numbers);
  tcase_add_test(tc, reasons_encoded);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(milter_header_suite()) != 0;
}
