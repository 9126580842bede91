/* Check suite: every numeric field of the configuration JSON is range-checked
 * before it is converted. A value outside the target type's range (-1,
 * 1e30, 2^32, 1e400 which parses as inf) used to be cast to uint32_t first,
 * which is undefined behaviour (UBSan: "outside the range of representable
 * values"); the configuration comes from --config and from stores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/config.h"
#include "support.h"

/* Parses json and expects a PM_CONFIG error whose message names field. */
static void expect_refused(const char *json, const char *field) {
  pm_config *c = (pm_config *)1;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc = pm_config_parse(json, strlen(json), &c, &err);
  ck_assert_msg(rc == PM_CONFIG, "%s: status %d, wanted PM_CONFIG", json,
                (int)rc);
  ck_assert_ptr_null(c);
  ck_assert_msg(strstr(pm_error_message(&err), field),
                "%s: message \"%s\" does not name %s", json,
                pm_error_message(&err), field);
}

static const char *const bad_numbers[] = {"-1",
                                          "-0.5",
                                          "0",
                                          "1e30",
                                          "-1e30",
                                          "4294967296",
                                          "4294967312",
                                          "1e400",
                                          "-1e400",
                                          "65536.5",
                                          "3.5",
                                          "1e-300",
                                          "18446744073709551616"};

START_TEST(dim_out_of_range_refused) {
  for (size_t i = 0; i < sizeof bad_numbers / sizeof *bad_numbers; i++) {
    char json[160];
    snprintf(json, sizeof json, "{\"families\":{\"words\":{\"dim\":%s}}}",
             bad_numbers[i]);
    expect_refused(json, "families.words.dim");
  }
  /* In range but not a power of two, or past the limit. */
  expect_refused("{\"families\":{\"syntax\":{\"dim\":1000}}}", "dim");
  expect_refused("{\"families\":{\"syntax\":{\"dim\":8}}}", "dim");
  expect_refused("{\"families\":{\"syntax\":{\"dim\":131072}}}", "dim");
}
END_TEST

START_TEST(ngram_bounds_out_of_range_refused) {
  static const char *const keys[] = {"min_n", "max_n"};
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < sizeof bad_numbers / sizeof *bad_numbers; i++) {
      char json[160];
      snprintf(json, sizeof json,
               "{\"families\":{\"char_ngrams\":{\"%s\":%s}}}", keys[k],
               bad_numbers[i]);
      expect_refused(json, keys[k]);
    }
  expect_refused("{\"families\":{\"char_ngrams\":{\"max_n\":6}}}", "max_n");
}
END_TEST

START_TEST(weight_out_of_range_refused) {
  expect_refused("{\"families\":{\"words\":{\"weight\":-1}}}", "weight");
  expect_refused("{\"families\":{\"words\":{\"weight\":1e400}}}", "weight");
  expect_refused("{\"families\":{\"words\":{\"weight\":-1e400}}}", "weight");
  expect_refused("{\"families\":{\"words\":{\"weight\":1e30}}}", "weight");
  expect_refused("{\"families\":{\"words\":{\"weight\":100.5}}}", "weight");
}
END_TEST

START_TEST(version_out_of_range_refused) {
  expect_refused("{\"version\":1e400}", "version");
  expect_refused("{\"version\":-1e30}", "version");
  expect_refused("{\"version\":4294967297}", "version");
}
END_TEST

START_TEST(limits_accepted) {
  const char *json = "{\"families\":{\"words\":{\"dim\":65536,\"min_n\":1,"
                     "\"max_n\":5,\"weight\":100},\"syntax\":{\"dim\":16,"
                     "\"weight\":0}}}";
  pm_config *c = NULL;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm_config_parse(json, strlen(json), &c, &err), PM_OK);
  ck_assert_uint_eq(pm_config_hashed_dim(c, PM_FAM_WORDS), 65536);
  ck_assert_uint_eq(pm_config_hashed_dim(c, PM_FAM_SYNTAX), 16);
  ck_assert_int_eq(pm_config_hashed_max_n(c, PM_FAM_WORDS), 5);
  ck_assert(pm_config_hashed_weight(c, PM_FAM_WORDS) == 100.0f);
  pm_config_free(c);
}
END_TEST

static Suite *config_ranges_suite(void) {
  Suite *s = suite_create("config_ranges");
  TCase *c = tcase_create("core");
  tcase_add_test(c, dim_out_of_range_refused);
  tcase_add_test(c, ngram_bounds_out_of_range_refused);
  tcase_add_test(c, weight_out_of_range_refused);
  tcase_add_test(c, version_out_of_range_refused);
  tcase_add_test(c, limits_accepted);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(config_ranges_suite()) != 0;
}
