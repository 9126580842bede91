/* Check suite: configuration and feature extraction. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/char_class.h"
#include "penmark/config.h"
#include "penmark/features.h"
#include "penmark/penmark.h"
#include "support.h"

static pm_config *cfg;
static pm_extractor *ex;
static pm_features *fv;

static void setup(void) {
  cfg = pm_config_default();
  ck_assert_ptr_nonnull(cfg);
  pm_error err;
  ck_assert_msg(pm_extractor_new(cfg, &ex, &err) == PM_OK, "%s", err.msg);
  fv = pm_features_new();
  ck_assert_ptr_nonnull(fv);
}

static void teardown(void) {
  pm_features_free(fv);
  pm_extractor_free(ex);
  pm_config_free(cfg);
}

static void extract(const char *text) {
  pm_error err;
  ck_assert_msg(pm_extract_text(ex, text, strlen(text), fv, &err) == PM_OK,
                "%s", err.msg);
}

static float named(const char *name) {
  long i = pm_named_find(name);
  ck_assert_msg(i >= 0, "no named feature %s", name);
  return pm_features_named(fv)[i];
}

/* ---- configuration ---- */

START_TEST(config_defaults_and_roundtrip) {
  ck_assert(pm_config_hashed_enabled(cfg, PM_FAM_CHAR_NGRAMS));
  ck_assert_int_eq(pm_config_hashed_min_n(cfg, PM_FAM_CHAR_NGRAMS), 1);
  ck_assert_int_eq(pm_config_hashed_max_n(cfg, PM_FAM_CHAR_NGRAMS), 4);
  char *json = pm_config_to_json(cfg);
  ck_assert_ptr_nonnull(json);
  pm_config *back = NULL;
  pm_error err;
  ck_assert_int_eq(pm_config_parse(json, strlen(json), &back, &err), PM_OK);
  ck_assert(pm_config_hash(back) == pm_config_hash(cfg));
  char *json2 = pm_config_to_json(back);
  ck_assert_str_eq(json, json2);
  free(json);
  free(json2);
  pm_config_free(back);
}
END_TEST

START_TEST(config_overrides_change_hash_and_layout) {
  const char *j = "{\"families\":{\"char_ngrams\":{\"dim\":1024,\"max_n\":3},"
                  "\"words\":{\"enabled\":false}}}";
  pm_config *c = NULL;
  pm_error err;
  ck_assert_msg(pm_config_parse(j, strlen(j), &c, &err) == PM_OK, "%s",
                err.msg);
  ck_assert_uint_eq(pm_config_hashed_dim(c, PM_FAM_CHAR_NGRAMS), 1024);
  ck_assert_int_eq(pm_config_hashed_max_n(c, PM_FAM_CHAR_NGRAMS), 3);
  ck_assert_uint_eq(pm_config_hashed_dim(c, PM_FAM_WORDS), 0);
  ck_assert_uint_eq(pm_config_hashed_offset(c, PM_FAM_SYNTAX), 1024);
  ck_assert_uint_eq(pm_config_hashed_offset(c, PM_FAM_TYPED_NGRAMS),
                    1024 + pm_config_hashed_dim(c, PM_FAM_SYNTAX));
  ck_assert_uint_eq(pm_config_hashed_offset(c, PM_FAM_SURFACE),
                    1024 + pm_config_hashed_dim(c, PM_FAM_SYNTAX) +
                        pm_config_hashed_dim(c, PM_FAM_TYPED_NGRAMS));
  ck_assert_uint_eq(pm_config_named_offset(c),
                    pm_config_hashed_offset(c, PM_FAM_SURFACE) +
                        pm_config_hashed_dim(c, PM_FAM_SURFACE));
  ck_assert(pm_config_hash(c) != pm_config_hash(cfg));
  pm_config_free(c);
}
END_TEST

START_TEST(config_dicdir_not_in_hash) {
  const char *j = "{\"mecab_dicdir\":\"/elsewhere/ipadic\"}";
  pm_config *c = NULL;
  ck_assert_int_eq(pm_config_parse(j, strlen(j), &c, NULL), PM_OK);
  ck_assert_str_eq(pm_config_mecab_dicdir(c), "/elsewhere/ipadic");
  ck_assert(pm_config_hash(c) == pm_config_hash(cfg));
  pm_config_free(c);
}
END_TEST

START_TEST(config_refuses_bad_input) {
  static const struct {
    const char *json, *needle;
  } bad[] = {
      {"{\"famlies\":{}}", "unknown key \"famlies\""},
      {"{\"families\":{\"char_ngrams\":{\"dim\":1000}}}", "char_ngrams.dim"},
      {"{\"families\":{\"char_ngrams\":{\"min_n\":4,\"max_n\":2}}}", "min_n"},
      {"{\"families\":{\"words\":{\"weight\":-1}}}", "words.weight"},
      {"{\"families\":{\"layout\":{\"dim\":16}}}", "unknown key \"dim\""},
      {"{\"families\":{\"nope\":{}}}", "unknown family \"nope\""},
      {"[1,2]", "JSON object"},
      {"{\"families\":", "not valid JSON"},
      {"{\"version\":7}", "version"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pm_config *c = NULL;
    pm_error err;
    pm_error_clear(&err);
    ck_assert_int_eq(
        pm_config_parse(bad[i].json, strlen(bad[i].json), &c, &err), PM_CONFIG);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err.msg, bad[i].needle) != NULL,
                  "message \"%s\" lacks \"%s\"", err.msg, bad[i].needle);
  }
}
END_TEST

START_TEST(config_load_names_file) {
  char *dir = pm_test_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/c.json", dir);
  pm_test_write_file(path, "{\"x\":1}", 7);
  pm_config *c = NULL;
  pm_error err;
  ck_assert_int_eq(pm_config_load(path, &c, &err), PM_CONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, path));
  snprintf(path, sizeof path, "%s/missing.json", dir);
  ck_assert_int_eq(pm_config_load(path, &c, &err), PM_IO);
  ck_assert_ptr_nonnull(strstr(err.msg, "missing.json"));
  pm_test_rmtree(dir);
  free(dir);
}
END_TEST

/* ---- the vector ---- */

START_TEST(vector_is_sorted_bounded_normalised) {
  extract("Hi Dana,\n\nThe pallets left Rotterdam this morning.  They should "
          "reach the depot by Friday.\n\nThanks,\nMargaret\n");
  size_t nnz = pm_features_nnz(fv);
  const uint32_t *idx = pm_features_indices(fv);
  const float *val = pm_features_values(fv);
  ck_assert_uint_gt(nnz, 100);
  uint32_t limit = pm_config_named_offset(cfg);
  double norm[PM_FAM__HASHED_COUNT] = {0};
  for (size_t k = 0; k < nnz; k++) {
    if (k)
      ck_assert_uint_lt(idx[k - 1], idx[k]);
    ck_assert_uint_lt(idx[k], limit);
    ck_assert(isfinite(val[k]) && val[k] != 0);
    for (int f = PM_FAM__HASHED_COUNT - 1; f >= 0; f--)
      if (idx[k] >= pm_config_hashed_offset(cfg, (pm_hashed_family)f)) {
        norm[f] += (double)val[k] * val[k];
        break;
      }
  }
  /* each family is L2-normalised to its weight before the signed fold;
   * folding keeps the norm in expectation, collisions move it a little */
  for (int f = 0; f < PM_FAM__HASHED_COUNT; f++) {
    double w = pm_config_hashed_weight(cfg, (pm_hashed_family)f);
    ck_assert_msg(fabs(sqrt(norm[f]) - w) < 0.15 * w, "family %d norm %f", f,
                  sqrt(norm[f]));
  }
  ck_assert_uint_eq(pm_features_dim(fv), pm_config_vector_dim(cfg));
}
END_TEST

START_TEST(vector_is_deterministic) {
  const char *t = "お疲れ様です。\n資料を送付いたします。ご確認ください。\n";
  extract(t);
  size_t nnz = pm_features_nnz(fv);
  uint32_t *idx = malloc(nnz * sizeof *idx);
  float *val = malloc(nnz * sizeof *val);
  memcpy(idx, pm_features_indices(fv), nnz * sizeof *idx);
  memcpy(val, pm_features_values(fv), nnz * sizeof *val);
  extract("something else entirely, to dirty the buffers!");
  extract(t);
  ck_assert_uint_eq(pm_features_nnz(fv), nnz);
  ck_assert_mem_eq(pm_features_indices(fv), idx, nnz * sizeof *idx);
  ck_assert_mem_eq(pm_features_values(fv), val, nnz * sizeof *val);
  free(idx);
  free(val);
}
END_TEST

/* Cosine of two texts' vectors within hashed family f's slice. */
static double family_cosine(const char *a, const char *b, pm_hashed_family f) {
  uint32_t dim = pm_config_vector_dim(cfg);
  float *da = calloc(dim, sizeof *da), *db = calloc(dim, sizeof *db);
  extract(a);
  pm_features_to_dense(fv, da);
  extract(b);
  pm_features_to_dense(fv, db);
  uint32_t off = pm_config_hashed_offset(cfg, f);
  double ab = 0, aa = 0, bb = 0;
  for (uint32_t k = off; k < off + pm_config_hashed_dim(cfg, f); k++) {
    ab += (double)da[k] * db[k];
    aa += (double)da[k] * da[k];
    bb += (double)db[k] * db[k];
  }
  free(da);
  free(db);
  ck_assert(aa > 0 && bb > 0);
  return ab / sqrt(aa * bb);
}

/* "ing" as an ending and "ing" as a beginning: the same untyped n-grams,
 * nothing in common once typed (up to the fold's rare collisions). */
START_TEST(typed_ngrams_tell_prefix_from_suffix) {
  const char *endings = "going doing\n", *beginnings = "ingot ingle\n";
  double untyped = family_cosine(endings, beginnings, PM_FAM_CHAR_NGRAMS);
  double typed = family_cosine(endings, beginnings, PM_FAM_TYPED_NGRAMS);
  ck_assert_msg(untyped > 0.3, "untyped cosine %.3f", untyped);
  ck_assert_msg(fabs(typed) < 0.1, "typed cosine %.3f", typed);
  /* the same words in another order: the same typed n-grams inside them */
  double same =
      family_cosine("going doing\n", "doing going\n", PM_FAM_TYPED_NGRAMS);
  ck_assert_msg(same > 0.6, "typed cosine of a reordering %.3f", same);
}
END_TEST

START_TEST(char_classes) {
  static const struct {
    const char *s;
    pm__char_class c;
  } cases[] = {{"a", PM_CC_LATIN},     {"Z", PM_CC_LATIN},
               {"7", PM_CC_DIGIT},     {" ", PM_CC_SPACE},
               {"\t", PM_CC_SPACE},    {",", PM_CC_PUNCT},
               {"é", PM_CC_LATIN},     {"あ", PM_CC_HIRAGANA},
               {"ア", PM_CC_KATAKANA}, {"ー", PM_CC_KATAKANA},
               {"ｱ", PM_CC_KATAKANA},  {"漢", PM_CC_KANJI},
               {"々", PM_CC_KANJI},    {"、", PM_CC_PUNCT},
               {"。", PM_CC_PUNCT},    {"「", PM_CC_PUNCT},
               {"Ａ", PM_CC_LATIN},    {"１", PM_CC_DIGIT},
               {"！", PM_CC_PUNCT},    {"\xe3\x80\x80", PM_CC_SPACE},
               {"—", PM_CC_PUNCT},     {"Ж", PM_CC_OTHER}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_assert_msg(
        pm__char_class_of(cases[i].s, strlen(cases[i].s)) == cases[i].c,
        "class of \"%s\": %d, expected %d", cases[i].s,
        pm__char_class_of(cases[i].s, strlen(cases[i].s)), cases[i].c);
}
END_TEST

START_TEST(dense_matches_sparse) {
  extract("ok. see you at 3.\n-d\n");
  uint32_t dim = pm_features_dim(fv);
  float *d = malloc(dim * sizeof *d);
  pm_features_to_dense(fv, d);
  for (size_t k = 0; k < pm_features_nnz(fv); k++)
    ck_assert(d[pm_features_indices(fv)[k]] == pm_features_values(fv)[k]);
  uint32_t off = pm_config_named_offset(cfg);
  ck_assert_mem_eq(d + off, pm_features_named(fv),
                   pm_named_count() * sizeof(float));
  free(d);
}
END_TEST

/* ---- English habits ---- */

START_TEST(english_greeting_signoff_spacing) {
  extract("Hi Tom,\n\nThe numbers are in.  I will send the deck tonight.  "
          "Let me know if you need more.\n\nThanks,\nMargaret\n");
  ck_assert_str_eq(pm_language_name(pm_features_language(fv)), "en");
  ck_assert(named("greeting:hi") == 1.0f);
  ck_assert(named("greeting:none") == 0.0f);
  ck_assert(named("signoff:thanks") == 1.0f);
  ck_assert(named("signature_lines") == 1.0f);
  ck_assert(named("double_space_after_period") == 1.0f);
  ck_assert(named("blank_after_greeting") == 1.0f);
  ck_assert(named("all_lowercase_mail") == 0.0f);
  ck_assert(named("fw:the") > 0.0f);
}
END_TEST

START_TEST(english_terse_lowercase) {
  extract("pls send me the q3 numbers before the board call. i need them by "
          "noon\nthx\n-d\n");
  ck_assert(named("greeting:none") == 1.0f);
  ck_assert(named("signoff:dash_name") == 1.0f);
  ck_assert(named("all_lowercase_mail") == 1.0f);
  ck_assert(named("lowercase_i") > 0.0f);
  ck_assert(named("lowercase_sentence_start") == 1.0f);
  ck_assert(named("double_space_after_period") == 0.0f);
}
END_TEST

START_TEST(english_punctuation_counts) {
  /* the greeting "Hey team!!" is surface; the body has 2 "!!" runs, one
   * "...", one ":)" and two of its three sentences end with "!" */
  extract("Hey team!! Great news!! we won the deal... :) Party on "
          "Friday!!\n");
  ck_assert(named("greeting:hey") == 1.0f);
  ck_assert(named("multi_exclamation") > 0.0f);
  ck_assert(named("ellipsis_dots") > 0.0f);
  ck_assert(named("emoticons") > 0.0f);
  ck_assert(named("exclamation_sentences") > 0.5f);
  ck_assert(named("ellipsis_char") == 0.0f);
}
END_TEST

START_TEST(english_layout_bullets) {
  extract("Dear Mr. Patel,\n\nPlease find the plan below:\n\n1. Review the "
          "contract\n2. Sign the annex\n3. Return both copies\n\nKind "
          "regards,\nMargaret Osei\nFinancial Controller\n");
  ck_assert(named("greeting:dear") == 1.0f);
  ck_assert(named("signoff:regards") == 1.0f);
  ck_assert(named("signature_lines") == 2.0f);
  ck_assert(named("bullets:number") > 0.3f);
  ck_assert(named("bullets:dash") == 0.0f);
}
END_TEST

/* ---- Japanese habits ---- */

START_TEST(japanese_polite) {
  extract("山田様\n\nお世話になっております。\n本日の会議の資料を送付いたします"
          "。\nご確認のほど、よろしくお願いいたします。\n");
  ck_assert_str_eq(pm_language_name(pm_features_language(fv)), "ja");
  ck_assert(named("greeting:ja_osewa") == 1.0f);
  ck_assert(named("greeting:ja_name") == 1.0f);
  ck_assert(named("signoff:ja_yoroshiku") == 1.0f);
  /* the style families read the body: the line between greeting and
   * sign-off, which has no 読点 */
  ck_assert(named("ja:desu_masu") > 0.5f);
  ck_assert(named("ja:humble") > 0.0f);
  ck_assert(named("ja:kuten") > 0.0f);
  ck_assert(named("ja:touten") == 0.0f);
  ck_assert(named("fwja:を") > 0.0f);
  ck_assert(named("ja:kanji") > 0.1f);
}
END_TEST

START_TEST(japanese_casual_width) {
  extract("おつかれです!\nＡＰＩのテスト、終わったよ(笑)\nあとでｼｮｳｶｲするね\n");
  ck_assert(named("ja:fullwidth_alnum") > 0.5f);
  ck_assert(named("ja:halfwidth_kana") > 0.0f);
  ck_assert(named("ja:laugh") > 0.0f);
  ck_assert(named("ja:desu_masu") < 0.5f);
  ck_assert(named("ja:katakana") > 0.0f);
}
END_TEST

START_TEST(mixed_language) {
  extract("Rubyの新しいversionをtestしました。\nThe upgrade went fine and "
          "everything passes now, see the report.\n");
  ck_assert_str_eq(pm_language_name(pm_features_language(fv)), "mixed");
}
END_TEST

/* ---- bad input ---- */

START_TEST(empty_and_junk_text) {
  extract("");
  ck_assert_uint_eq(pm_features_own_chars(fv), 0);
  ck_assert_uint_eq(pm_features_nnz(fv), 0);
  ck_assert_str_eq(pm_language_name(pm_features_language(fv)), "other");
  const char junk[] = "\xff\xfe\x80 abc \xc3\x28 \xe3\x81 \x00 tail";
  pm_error err;
  ck_assert_int_eq(pm_extract_text(ex, junk, sizeof junk - 1, fv, &err), PM_OK);
  ck_assert_uint_gt(pm_features_nnz(fv), 0);
  extract("\n\n\n   \n");
  extract("!!!???...---");
}
END_TEST

START_TEST(huge_text_is_bounded) {
  size_t n = 8u << 20;
  char *t = malloc(n + 1);
  for (size_t i = 0; i < n; i++)
    t[i] = (i % 61 == 60) ? '\n' : "abcde fghij. "[i % 13];
  t[n] = '\0';
  pm_error err;
  ck_assert_int_eq(pm_extract_text(ex, t, n, fv, &err), PM_OK);
  /* cut at 256 KiB of text, at a line end */
  ck_assert_uint_le(pm_features_own_chars(fv), 256u * 1024u);
  ck_assert_uint_gt(pm_features_own_chars(fv), 200u * 1024u);
  free(t);
}
END_TEST

/* ---- threads ---- */

static const char *thread_texts[] = {
    "Hi all,\nQuick update: the shipment is delayed.\nBest,\nTomás\n",
    "お疲れ様です。\n明日の打ち合わせは15時からです。\n佐藤\n",
    "pls call me\n-d\n",
    "Dear Board,\n\nAttached is the report.  Questions welcome.\n\nRegards\n"};
enum { NTEXT = 4, ROUNDS = 50 };

typedef struct {
  uint64_t digest[NTEXT];
  int ok;
} thread_result;

static uint64_t digest(const pm_features *f) {
  uint64_t h = 1469598103934665603ULL;
  const unsigned char *p = (const unsigned char *)pm_features_values(f);
  for (size_t i = 0; i < pm_features_nnz(f) * sizeof(float); i++)
    h = (h ^ p[i]) * 1099511628211ULL;
  p = (const unsigned char *)pm_features_indices(f);
  for (size_t i = 0; i < pm_features_nnz(f) * sizeof(uint32_t); i++)
    h = (h ^ p[i]) * 1099511628211ULL;
  p = (const unsigned char *)pm_features_named(f);
  for (size_t i = 0; i < pm_named_count() * sizeof(float); i++)
    h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

static void *worker(void *arg) {
  thread_result *r = arg;
  pm_extractor *x = NULL;
  pm_features *f = pm_features_new();
  if (pm_extractor_new(cfg, &x, NULL) != PM_OK || !f)
    return NULL;
  r->ok = 1;
  for (int round = 0; round < ROUNDS; round++)
    for (int i = 0; i < NTEXT; i++) {
      if (pm_extract_text(x, thread_texts[i], strlen(thread_texts[i]), f,
                          NULL) != PM_OK) {
        r->ok = 0;
        continue;
      }
      uint64_t d = digest(f);
      if (round == 0)
        r->digest[i] = d;
      else if (r->digest[i] != d)
        r->ok = 0;
    }
  pm_features_free(f);
  pm_extractor_free(x);
  return NULL;
}

START_TEST(two_threads_match_one) {
  uint64_t want[NTEXT];
  for (int i = 0; i < NTEXT; i++) {
    extract(thread_texts[i]);
    want[i] = digest(fv);
  }
  pthread_t t[2];
  thread_result r[2];
  memset(r, 0, sizeof r);
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &r[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  for (int k = 0; k < 2; k++) {
    ck_assert(r[k].ok);
    for (int i = 0; i < NTEXT; i++)
      ck_assert(r[k].digest[i] == want[i]);
  }
}
END_TEST

START_TEST(bad_dictionary_is_reported) {
  const char *j = "{\"mecab_dicdir\":\"/nonexistent/dic\"}";
  pm_config *c = NULL;
  ck_assert_int_eq(pm_config_parse(j, strlen(j), &c, NULL), PM_OK);
  pm_extractor *x = NULL;
  pm_error err;
  ck_assert_int_eq(pm_extractor_new(c, &x, &err), PM_DICT);
  ck_assert_ptr_null(x);
  ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/dic"));
  pm_config_free(c);
}
END_TEST

START_TEST(named_table_is_consistent) {
  size_t n = pm_named_count();
  ck_assert_uint_gt(n, 200);
  for (size_t i = 0; i < n; i++) {
    ck_assert(pm_named_name(i)[0] != '\0');
    ck_assert(pm_named_label(i)[0] != '\0');
    ck_assert_int_eq(pm_named_find(pm_named_name(i)), (long)i);
  }
  ck_assert_int_eq(pm_named_find("no-such-feature"), -1);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("features");
  TCase *tc = tcase_create("config");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, config_defaults_and_roundtrip);
  tcase_add_test(tc, config_overrides_change_hash_and_layout);
  tcase_add_test(tc, config_dicdir_not_in_hash);
  tcase_add_test(tc, config_refuses_bad_input);
  tcase_add_test(tc, config_load_names_file);
  suite_add_tcase(s, tc);
  tc = tcase_create("vector");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, vector_is_sorted_bounded_normalised);
  tcase_add_test(tc, vector_is_deterministic);
  tcase_add_test(tc, dense_matches_sparse);
  tcase_add_test(tc, named_table_is_consistent);
  suite_add_tcase(s, tc);
  tc = tcase_create("habits");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, english_greeting_signoff_spacing);
  tcase_add_test(tc, english_terse_lowercase);
  tcase_add_test(tc, english_punctuation_counts);
  tcase_add_test(tc, english_layout_bullets);
  tcase_add_test(tc, japanese_polite);
  tcase_add_test(tc, japanese_casual_width);
  tcase_add_test(tc, mixed_language);
  tcase_add_test(tc, typed_ngrams_tell_prefix_from_suffix);
  tcase_add_test(tc, char_classes);
  suite_add_tcase(s, tc);
  tc = tcase_create("robustness");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, empty_and_junk_text);
  tcase_add_test(tc, huge_text_is_bounded);
  tcase_add_test(tc, two_threads_match_one);
  tcase_add_test(tc, bad_dictionary_is_reported);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(suite());
  pm_library_shutdown();
  return failed ? 1 : 0;
}
