/* The evaluation protocol: split, outsiders, draws, trials, metrics and the
 * outputs, against values computed with shared/peers/protocol.py when these
 * tests were written (hard-coded: the tests never read shared/). */
#include "penmark/eval.h"

#include "eval/internal.h"
#include "tests/support.h"

#include <cJSON.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- helpers ---- */

static char *path2(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", a, b);
  return p;
}

static void mkdir_in(const char *root, const char *name) {
  char *p = path2(root, name);
  ck_assert_int_eq(mkdir(p, 0755), 0);
  free(p);
}

static void file_in(const char *root, const char *name) {
  static const char text[] = "Fictional text for the protocol tests.\n";
  char *p = path2(root, name);
  pm_test_write_file(p, text, sizeof text - 1);
  free(p);
}

/* Sender dir `s` with files 01.txt .. n.txt. */
static void sender(const char *root, const char *s, int n) {
  mkdir_in(root, s);
  for (int i = 1; i <= n; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s/%02d.txt", s, i);
    file_in(root, name);
  }
}

static pm_eval_corpus *open_ok(const char *dir) {
  pm_eval_corpus *c = NULL;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc = pm_eval_corpus_open(dir, &c, &err);
  ck_assert_msg(rc == PM_OK, "open %s: %s", dir, pm_error_message(&err));
  return c;
}

/* ---- split, outsiders, draws ---- */

START_TEST(split_sizes) {
  static const size_t n[] = {0, 1, 4, 5, 9, 10, 24, 25, 38, 40, 1001};
  static const size_t want[] = {0, 0, 3, 4, 7, 8, 19, 20, 30, 32, 800};
  for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
    ck_assert_uint_eq(pm_eval_train_count(n[i]), want[i]);
  /* (8 n) // 10 without the product overflowing. */
  ck_assert_uint_eq(pm_eval_train_count((size_t)1000000000000000000ULL),
                    (size_t)800000000000000000ULL);
}
END_TEST

START_TEST(outsider_rule) {
  /* First byte of SHA-256("outsider:<s>"), from hashlib: alice 32, frank 3,
   * dana.whitfield 0, sender180 76 (outsiders); sender751 77, bob 246,
   * shota.yamamoto 170, "" 146, 日本 110 (enrolled). */
  ck_assert(pm_eval_is_outsider("alice"));
  ck_assert(pm_eval_is_outsider("frank"));
  ck_assert(pm_eval_is_outsider("dana.whitfield"));
  ck_assert(pm_eval_is_outsider("sender180"));
  ck_assert(!pm_eval_is_outsider("sender751"));
  ck_assert(!pm_eval_is_outsider("bob"));
  ck_assert(!pm_eval_is_outsider("shota.yamamoto"));
  ck_assert(!pm_eval_is_outsider(""));
  ck_assert(!pm_eval_is_outsider("日本"));
}
END_TEST

START_TEST(draws) {
  /* int.from_bytes(sha256(f'{m}:{k}').digest()[:8], 'big'). */
  ck_assert_uint_eq(pm_eval_draw("erin/21.txt", 0), 0xd0aeebdeba63a7a0ULL);
  ck_assert_uint_eq(pm_eval_draw("erin/21.txt", 3), 0xd961ed983b90c19dULL);
  ck_assert_uint_eq(pm_eval_draw("bob/24.txt", 0), 0x08a9cda7f99c5f2fULL);
  ck_assert_uint_eq(pm_eval_draw("a/b", 4), 0xa703cf07670e0111ULL);
  ck_assert_uint_eq(pm_eval_draw("日本/メール.txt", 1), 0xa4ec48b15902fca1ULL);
}
END_TEST

/* ---- trials on a synthetic corpus ---- */

typedef struct {
  const char *mail, *claimed;
  pm_eval_label label;
} want_trial;

/* protocol.py trials of the corpus made by make_corpus(). P = bob, carol,
 * erin. Draws of a mail's own sender move on: erin is last in P, so hers
 * wrap to bob (erin/21.txt draws erin at k = 0 and 3: 0xd0ae... mod 3 = 2).
 * Repeated claims are listed once (bob's mails have two insider trials for
 * five draws). */
static const want_trial corpus_trials[] = {
    {"Zed/a.txt", "erin", PM_EVAL_INSIDER},
    {"Zed/a.txt", "bob", PM_EVAL_INSIDER},
    {"Zed/b.txt", "carol", PM_EVAL_INSIDER},
    {"Zed/b.txt", "bob", PM_EVAL_INSIDER},
    {"alice/05.txt", "bob", PM_EVAL_IMPOSTOR},
    {"alice/05.txt", "erin", PM_EVAL_IMPOSTOR},
    {"bob/21.txt", "bob", PM_EVAL_GENUINE},
    {"bob/21.txt", "carol", PM_EVAL_INSIDER},
    {"bob/21.txt", "erin", PM_EVAL_INSIDER},
    {"bob/22.txt", "bob", PM_EVAL_GENUINE},
    {"bob/22.txt", "erin", PM_EVAL_INSIDER},
    {"bob/22.txt", "carol", PM_EVAL_INSIDER},
    {"bob/23.txt", "bob", PM_EVAL_GENUINE},
    {"bob/23.txt", "carol", PM_EVAL_INSIDER},
    {"bob/23.txt", "erin", PM_EVAL_INSIDER},
    {"bob/24.txt", "bob", PM_EVAL_GENUINE},
    {"bob/24.txt", "carol", PM_EVAL_INSIDER},
    {"bob/24.txt", "erin", PM_EVAL_INSIDER},
    {"bob/25.txt", "bob", PM_EVAL_GENUINE},
    {"bob/25.txt", "carol", PM_EVAL_INSIDER},
    {"bob/25.txt", "erin", PM_EVAL_INSIDER},
    {"carol/21.txt", "carol", PM_EVAL_GENUINE},
    {"carol/21.txt", "erin", PM_EVAL_INSIDER},
    {"carol/21.txt", "bob", PM_EVAL_INSIDER},
    {"carol/22.txt", "carol", PM_EVAL_GENUINE},
    {"carol/22.txt", "erin", PM_EVAL_INSIDER},
    {"carol/22.txt", "bob", PM_EVAL_INSIDER},
    {"carol/23.txt", "carol", PM_EVAL_GENUINE},
    {"carol/23.txt", "erin", PM_EVAL_INSIDER},
    {"carol/23.txt", "bob", PM_EVAL_INSIDER},
    {"carol/24.txt", "carol", PM_EVAL_GENUINE},
    {"carol/24.txt", "bob", PM_EVAL_INSIDER},
    {"carol/24.txt", "erin", PM_EVAL_INSIDER},
    {"carol/25.txt", "carol", PM_EVAL_GENUINE},
    {"carol/25.txt", "erin", PM_EVAL_INSIDER},
    {"carol/25.txt", "bob", PM_EVAL_INSIDER},
    {"dave/09.txt", "carol", PM_EVAL_INSIDER},
    {"dave/09.txt", "erin", PM_EVAL_INSIDER},
    {"dave/09.txt", "bob", PM_EVAL_INSIDER},
    {"dave/10.txt", "erin", PM_EVAL_INSIDER},
    {"dave/10.txt", "bob", PM_EVAL_INSIDER},
    {"dave/10.txt", "carol", PM_EVAL_INSIDER},
    {"erin/21.txt", "erin", PM_EVAL_GENUINE},
    {"erin/21.txt", "bob", PM_EVAL_INSIDER},
    {"erin/22.txt", "erin", PM_EVAL_GENUINE},
    {"erin/22.txt", "bob", PM_EVAL_INSIDER},
    {"erin/22.txt", "carol", PM_EVAL_INSIDER},
    {"erin/23.txt", "erin", PM_EVAL_GENUINE},
    {"erin/23.txt", "bob", PM_EVAL_INSIDER},
    {"erin/24.txt", "erin", PM_EVAL_GENUINE},
    {"erin/24.txt", "carol", PM_EVAL_INSIDER},
    {"erin/24.txt", "bob", PM_EVAL_INSIDER},
    {"erin/25.txt", "erin", PM_EVAL_GENUINE},
    {"erin/25.txt", "bob", PM_EVAL_INSIDER},
    {"erin/25.txt", "carol", PM_EVAL_INSIDER},
    {"frank/03.txt", "carol", PM_EVAL_IMPOSTOR},
    {"frank/03.txt", "erin", PM_EVAL_IMPOSTOR},
};

/* bob, carol, erin: 25 mails (20 training, profiled); dave: 10 (enrolled,
 * no profile); alice 5 and frank 3: outsiders; Zed: file names whose byte
 * order differs from a human order; empty: a sender with no mail; a stray
 * file at the top and a sub-directory in bob's folder (both ignored). */
static char *make_corpus(void) {
  char *root = pm_test_tmpdir();
  sender(root, "bob", 25);
  sender(root, "carol", 25);
  sender(root, "erin", 25);
  sender(root, "dave", 10);
  sender(root, "alice", 5);
  sender(root, "frank", 3);
  mkdir_in(root, "Zed");
  static const char *zed[] = {"b.txt", "10.txt", "a.txt",
                              ".x",    "9.txt",  "B.txt"};
  for (size_t i = 0; i < 6; i++) {
    char name[32];
    snprintf(name, sizeof name, "Zed/%s", zed[i]);
    file_in(root, name);
  }
  mkdir_in(root, "empty");
  file_in(root, "README");
  mkdir_in(root, "bob/sub");
  file_in(root, "bob/sub/x.txt");
  return root;
}

START_TEST(trials_match_protocol) {
  char *root = make_corpus();
  pm_eval_corpus *c = open_ok(root);
  size_t n;
  const pm_eval_trial *t = pm_eval_corpus_trials(c, &n);
  size_t nw = sizeof corpus_trials / sizeof corpus_trials[0];
  ck_assert_uint_eq(n, nw);
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(strcmp(t[i].mail, corpus_trials[i].mail) == 0 &&
                      strcmp(t[i].claimed, corpus_trials[i].claimed) == 0 &&
                      t[i].label == corpus_trials[i].label,
                  "trial %zu: got %s %s %s, want %s %s %s", i, t[i].mail,
                  t[i].claimed, pm_eval_label_name(t[i].label),
                  corpus_trials[i].mail, corpus_trials[i].claimed,
                  pm_eval_label_name(corpus_trials[i].label));
    /* sender and file point back at the mail. */
    pm_eval_sender s;
    pm_eval_corpus_sender(c, t[i].sender, &s);
    ck_assert_str_eq(s.files[t[i].file], t[i].mail);
    ck_assert_uint_ge(t[i].file, s.n_train);
  }
  pm_eval_corpus_free(c);
  pm_test_rmtree(root);
  free(root);
}
END_TEST

START_TEST(corpus_split) {
  char *root = make_corpus();
  pm_eval_corpus *c = open_ok(root);
  ck_assert_str_eq(pm_eval_corpus_dir(c), root);
  static const char *names[] = {"Zed",  "alice", "bob",  "carol",
                                "dave", "empty", "erin", "frank"};
  ck_assert_uint_eq(pm_eval_corpus_n_senders(c), 8);
  for (size_t i = 0; i < 8; i++) {
    pm_eval_sender s;
    pm_eval_corpus_sender(c, i, &s);
    ck_assert_str_eq(s.name, names[i]);
  }
  ck_assert_uint_eq(pm_eval_corpus_n_outsiders(c), 2);
  ck_assert_uint_eq(pm_eval_corpus_n_mails(c), 3 * 25 + 10 + 5 + 3 + 6);
  size_t np;
  const char *const *p = pm_eval_corpus_profiled(c, &np);
  ck_assert_uint_eq(np, 3);
  ck_assert_str_eq(p[0], "bob");
  ck_assert_str_eq(p[1], "carol");
  ck_assert_str_eq(p[2], "erin");

  pm_eval_sender s;
  pm_eval_corpus_sender(c, 0, &s); /* Zed: byte order of the names */
  static const char *zed[] = {"Zed/.x",    "Zed/10.txt", "Zed/9.txt",
                              "Zed/B.txt", "Zed/a.txt",  "Zed/b.txt"};
  ck_assert_uint_eq(s.n_train, 4);
  ck_assert_uint_eq(s.n_test, 2);
  for (size_t i = 0; i < 6; i++)
    ck_assert_str_eq(s.files[i], zed[i]);
  ck_assert(!s.outsider && !s.profiled);
  pm_eval_corpus_sender(c, 2, &s); /* bob: the sub-directory is no mail */
  ck_assert_uint_eq(s.n_train + s.n_test, 25);
  ck_assert(s.profiled);
  pm_eval_corpus_sender(c, 1, &s);
  ck_assert(s.outsider && !s.profiled);
  pm_eval_corpus_sender(c, 5, &s); /* empty */
  ck_assert_uint_eq(s.n_train + s.n_test, 0);
  pm_eval_corpus_free(c);
  pm_test_rmtree(root);
  free(root);
}
END_TEST

START_TEST(single_profile) {
  /* P = [bob]: bob's own mail has no one else to be claimed as (genuine
   * only); alice's five draws all give bob, listed once. */
  char *root = pm_test_tmpdir();
  sender(root, "bob", 25);
  sender(root, "alice", 5);
  pm_eval_corpus *c = open_ok(root);
  size_t n;
  const pm_eval_trial *t = pm_eval_corpus_trials(c, &n);
  ck_assert_uint_eq(n, 6);
  ck_assert_str_eq(t[0].mail, "alice/05.txt");
  ck_assert_str_eq(t[0].claimed, "bob");
  ck_assert_int_eq(t[0].label, PM_EVAL_IMPOSTOR);
  for (size_t i = 1; i < 6; i++) {
    char want[32];
    snprintf(want, sizeof want, "bob/%02zu.txt", 20 + i);
    ck_assert_str_eq(t[i].mail, want);
    ck_assert_str_eq(t[i].claimed, "bob");
    ck_assert_int_eq(t[i].label, PM_EVAL_GENUINE);
  }
  pm_eval_corpus_free(c);
  pm_test_rmtree(root);
  free(root);
}
END_TEST

START_TEST(corpus_errors) {
  char *root = pm_test_tmpdir();
  pm_eval_corpus *c = NULL;
  pm_error err;
  /* Missing. */
  char *missing = path2(root, "no-such-corpus");
  ck_assert_int_eq(pm_eval_corpus_open(missing, &c, &err), PM_NOTFOUND);
  ck_assert_ptr_null(c);
  ck_assert_ptr_nonnull(strstr(err.msg, "no-such-corpus"));
  free(missing);
  /* Files only: no sender directories. */
  file_in(root, "0001.eml");
  ck_assert_int_eq(pm_eval_corpus_open(root, &c, &err), PM_INVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "no sender directories"));
  /* A file, not a directory. */
  char *f = path2(root, "0001.eml");
  ck_assert_int_eq(pm_eval_corpus_open(f, &c, &err), PM_INVAL);
  free(f);
  /* No sender with a profile: opens, no trials. */
  sender(root, "dave", 10);
  c = open_ok(root);
  size_t n, np;
  pm_eval_corpus_trials(c, &n);
  pm_eval_corpus_profiled(c, &np);
  ck_assert_uint_eq(n, 0);
  ck_assert_uint_eq(np, 0);
  pm_eval_corpus_free(c);
  pm_eval_corpus_free(NULL);
  pm_test_rmtree(root);
  free(root);
}
END_TEST

/* ---- metrics ---- */

/* Case A: ties across classes, abstentions whose raw score is far from 0.5
 * (the metrics must use 0.5). */
static const struct {
  pm_eval_label l;
  double s;
  bool a;
} case_a[] = {
    {PM_EVAL_GENUINE, 0.1, 0},   {PM_EVAL_GENUINE, 0.2, 0},
    {PM_EVAL_GENUINE, 0.2, 0},   {PM_EVAL_GENUINE, 0.4, 0},
    {PM_EVAL_GENUINE, 0.9, 1},   {PM_EVAL_GENUINE, 0.05, 0},
    {PM_EVAL_IMPOSTOR, 0.2, 0},  {PM_EVAL_IMPOSTOR, 0.6, 0},
    {PM_EVAL_IMPOSTOR, 0.8, 0},  {PM_EVAL_IMPOSTOR, 0.1, 1},
    {PM_EVAL_IMPOSTOR, 0.95, 0}, {PM_EVAL_INSIDER, 0.3, 0},
    {PM_EVAL_INSIDER, 0.2, 0},   {PM_EVAL_INSIDER, 0.7, 0},
};
enum { NA = sizeof case_a / sizeof case_a[0], NB = 1500 };

static void fill_a(pm_eval_trial *t, pm_eval_score *s) {
  for (size_t i = 0; i < NA; i++) {
    t[i] = (pm_eval_trial){.label = case_a[i].l};
    s[i] = (pm_eval_score){.score = case_a[i].s, .abstained = case_a[i].a};
  }
}

/* Case B: 1,200 genuine (every 97th abstaining) and 300 impostor trials, so
 * that TPR at 0.1% FPR is defined. Scores are integers / 1000: the same
 * doubles in C and Python. */
static void fill_b(pm_eval_trial *t, pm_eval_score *s) {
  for (int i = 0; i < 1200; i++) {
    t[i] = (pm_eval_trial){.label = PM_EVAL_GENUINE};
    s[i] = (pm_eval_score){.score = ((i * 7919) % 1000) / 1000.0,
                           .abstained = i % 97 == 0};
  }
  for (int i = 0; i < 300; i++) {
    double v = i % 10 == 1 ? 1.0
               : i % 3     ? (500 + (i * 7907) % 500) / 1000.0
                           : ((i * 131) % 1000) / 1000.0;
    t[1200 + i] = (pm_eval_trial){.label = PM_EVAL_IMPOSTOR};
    s[1200 + i] = (pm_eval_score){.score = v};
  }
}

#define EQ(a, b) ck_assert_double_eq_tol((a), (b), 1e-12)

START_TEST(metrics_case_a) {
  pm_eval_trial t[NA];
  pm_eval_score s[NA];
  fill_a(t, s);
  pm_eval_metrics m;
  ck_assert_int_eq(
      pm_eval_metrics_compute(t, s, NA, PM_EVAL_IMPOSTOR, NULL, &m, NULL),
      PM_OK);
  ck_assert(m.defined);
  ck_assert_uint_eq(m.n_positive, 5);
  ck_assert_uint_eq(m.n_genuine, 6);
  EQ(m.auc, 0.8833333333333333);
  EQ(m.eer, 0.19999999999999996);
  EQ(m.tpr_1pct, 0.6);
  ck_assert(isnan(m.tpr_01pct)); /* fewer than 1,000 genuine */
  EQ(m.brier, 0.14500000000000002);
  EQ(m.abstain_rate, 2.0 / 11);

  ck_assert_int_eq(
      pm_eval_metrics_compute(t, s, NA, PM_EVAL_INSIDER, NULL, &m, NULL),
      PM_OK);
  ck_assert_uint_eq(m.n_positive, 3);
  EQ(m.auc, 0.7222222222222222);
  EQ(m.eer, 0.3333333333333333);
  EQ(m.tpr_1pct, 0.3333333333333333);
  EQ(m.brier, 0.19138888888888891);

  pm_eval_group g;
  ck_assert_int_eq(pm_eval_group_compute(t, s, NA, NULL, &g, NULL), PM_OK);
  ck_assert_uint_eq(g.n_trials, NA);
  EQ(g.abstain_rate, 0.14285714285714285);
  EQ(g.impostor.auc, 0.8833333333333333);
  EQ(g.insider.auc, 0.7222222222222222);

  pm_error err;
  ck_assert_int_eq(
      pm_eval_metrics_compute(t, s, NA, PM_EVAL_GENUINE, NULL, &m, &err),
      PM_INVAL);
}
END_TEST

START_TEST(metrics_case_b) {
  pm_eval_trial *t = calloc(NB, sizeof *t);
  pm_eval_score *s = calloc(NB, sizeof *s);
  ck_assert(t && s);
  fill_b(t, s);
  pm_eval_metrics m;
  ck_assert_int_eq(
      pm_eval_metrics_compute(t, s, NB, PM_EVAL_IMPOSTOR, NULL, &m, NULL),
      PM_OK);
  ck_assert_uint_eq(m.n_genuine, 1200);
  ck_assert_uint_eq(m.n_positive, 300);
  EQ(m.auc, 0.6989847222222222);
  EQ(m.eer, 0.3566666666666667);
  EQ(m.tpr_1pct, 0.11333333333333333);
  EQ(m.tpr_01pct, 0.1);
  EQ(m.brier, 0.2966786733333331);
  /* No insiders: undefined, not zero. */
  ck_assert_int_eq(
      pm_eval_metrics_compute(t, s, NB, PM_EVAL_INSIDER, NULL, &m, NULL),
      PM_OK);
  ck_assert(!m.defined);
  ck_assert_uint_eq(m.n_positive, 0);
  ck_assert(isnan(m.auc) && isnan(m.brier));
  free(t);
  free(s);
}
END_TEST

START_TEST(metrics_mask) {
  /* A and B side by side; the mask keeps A's trials only. */
  pm_eval_trial *t = calloc(NA + NB, sizeof *t);
  pm_eval_score *s = calloc(NA + NB, sizeof *s);
  bool *mask = calloc(NA + NB, sizeof *mask);
  ck_assert(t && s && mask);
  fill_b(t, s);
  fill_a(t + NB, s + NB);
  for (size_t i = NB; i < NB + NA; i++)
    mask[i] = true;
  pm_eval_group g;
  ck_assert_int_eq(pm_eval_group_compute(t, s, NA + NB, mask, &g, NULL), PM_OK);
  ck_assert_uint_eq(g.n_trials, NA);
  EQ(g.impostor.auc, 0.8833333333333333);
  EQ(g.impostor.brier, 0.14500000000000002);
  EQ(g.insider.eer, 0.3333333333333333);
  free(t);
  free(s);
  free(mask);
}
END_TEST

START_TEST(quantize) {
  ck_assert(pm__eval_quantize(0.1234564) == 0.123456);
  ck_assert(pm__eval_quantize(0.1234566) == 0.123457);
  ck_assert(pm__eval_quantize(1.0) == 1.0);
  ck_assert(pm__eval_quantize(0.0) == 0.0);
}
END_TEST

/* ---- outputs ---- */

START_TEST(report_json) {
  pm_eval_trial *t = calloc(NB, sizeof *t);
  pm_eval_score *s = calloc(NB, sizeof *s);
  ck_assert(t && s);
  fill_b(t, s);
  pm_eval_group all;
  ck_assert_int_eq(pm_eval_group_compute(t, s, NB, NULL, &all, NULL), PM_OK);
  pm_eval_report rep = {.all = &all, .short_text = &all};
  char *j = pm_eval_report_json(&rep, true);
  ck_assert_ptr_nonnull(j);
  cJSON *o = cJSON_Parse(j);
  ck_assert_ptr_nonnull(o);
  /* protocol.py metrics of the same rows: {'n_genuine': 1200, 'n_impostor':
   * 300, 'auc': 0.699, 'eer': 0.3567, 'tpr_at_fpr_1pct': 0.1133,
   * 'tpr_at_fpr_0.1pct': 0.1, 'brier': 0.2967, 'abstain_rate': 0.0087} */
  ck_assert_double_eq(cJSON_GetObjectItem(o, "n_genuine")->valuedouble, 1200);
  ck_assert_double_eq(cJSON_GetObjectItem(o, "n_impostor")->valuedouble, 300);
  ck_assert_double_eq(cJSON_GetObjectItem(o, "auc")->valuedouble, 0.699);
  ck_assert_double_eq(cJSON_GetObjectItem(o, "eer")->valuedouble, 0.3567);
  ck_assert_double_eq(cJSON_GetObjectItem(o, "tpr_at_fpr_1pct")->valuedouble,
                      0.1133);
  ck_assert_double_eq(cJSON_GetObjectItem(o, "tpr_at_fpr_0.1pct")->valuedouble,
                      0.1);
  ck_assert_double_eq(cJSON_GetObjectItem(o, "brier")->valuedouble, 0.2967);
  ck_assert_double_eq(cJSON_GetObjectItem(o, "abstain_rate")->valuedouble,
                      0.0087);
  cJSON *ins = cJSON_GetObjectItem(o, "insider");
  ck_assert(cJSON_IsObject(ins));
  ck_assert(cJSON_IsNull(cJSON_GetObjectItem(ins, "auc")));
  cJSON *sh = cJSON_GetObjectItem(o, "short");
  ck_assert(cJSON_IsObject(sh));
  ck_assert_double_eq(cJSON_GetObjectItem(sh, "auc")->valuedouble, 0.699);
  ck_assert_ptr_null(cJSON_GetObjectItem(o, "ablation"));
  cJSON_Delete(o);
  free(j);
  /* One line when not pretty. */
  j = pm_eval_report_json(&rep, false);
  ck_assert_ptr_nonnull(j);
  ck_assert_ptr_null(strchr(j, '\n'));
  free(j);
  free(t);
  free(s);
}
END_TEST

START_TEST(trials_tsv) {
  /* A corpus's trials with hand-made scores, written out. */
  char *root = pm_test_tmpdir();
  sender(root, "bob", 25);
  sender(root, "alice", 5);
  pm_eval_corpus *c = open_ok(root);
  size_t n;
  pm_eval_corpus_trials(c, &n);
  pm_eval_run *r = calloc(1, sizeof *r);
  ck_assert_ptr_nonnull(r);
  r->scores = calloc(n, sizeof *r->scores);
  r->n_scores = n;
  ck_assert_ptr_nonnull(r->scores);
  r->scores[0] = (pm_eval_score){.score = 0.25};
  r->scores[1] = (pm_eval_score){.score = 0.9, .abstained = true};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(pm_eval_write_trials(f, c, r, NULL), PM_OK);
  fclose(f);
  ck_assert_str_eq(buf, "mail\tclaimed\tlabel\tscore\tabstained\n"
                        "alice/05.txt\tbob\timpostor\t0.250000\t0\n"
                        "bob/21.txt\tbob\tgenuine\t0.500000\t1\n"
                        "bob/22.txt\tbob\tgenuine\t0.000000\t0\n"
                        "bob/23.txt\tbob\tgenuine\t0.000000\t0\n"
                        "bob/24.txt\tbob\tgenuine\t0.000000\t0\n"
                        "bob/25.txt\tbob\tgenuine\t0.000000\t0\n");
  free(buf);
  pm_eval_run_free(r);
  pm_eval_corpus_free(c);
  pm_test_rmtree(root);
  free(root);
}
END_TEST

/* GMarkup refuses what is not well-formed XML. */
static void parse_xml(const char *doc) {
  GMarkupParser p = {0};
  GError *e = NULL;
  GMarkupParseContext *ctx = g_markup_parse_context_new(&p, 0, NULL, NULL);
  gboolean ok = g_markup_parse_context_parse(ctx, doc, -1, &e) &&
                g_markup_parse_context_end_parse(ctx, &e);
  ck_assert_msg(ok, "SVG not well-formed: %s", e ? e->message : "?");
  g_markup_parse_context_free(ctx);
}

START_TEST(svg_plot) {
  pm_eval_trial t[NA];
  pm_eval_score s[NA];
  fill_a(t, s);
  char *svg = pm_eval_roc_svg(t, s, NA, "dev <corpus> & co");
  ck_assert_ptr_nonnull(svg);
  ck_assert_int_eq(strncmp(svg, "<svg", 4), 0);
  size_t len = strlen(svg);
  while (len && svg[len - 1] == '\n')
    len--;
  ck_assert(len > 6 && memcmp(svg + len - 6, "</svg>", 6) == 0);
  ck_assert_ptr_nonnull(strstr(svg, "impostor vs genuine (AUC 0.8833"));
  ck_assert_ptr_nonnull(strstr(svg, "insider vs genuine (AUC 0.7222"));
  ck_assert_ptr_nonnull(strstr(svg, "1% FPR"));
  ck_assert_ptr_nonnull(strstr(svg, "dev &lt;corpus&gt; &amp; co"));
  parse_xml(svg);
  free(svg);
  /* Impostors only: one curve, still a document. */
  svg = pm_eval_roc_svg(t, s, 11, NULL);
  ck_assert_ptr_nonnull(svg);
  ck_assert_ptr_null(strstr(svg, "insider vs genuine"));
  parse_xml(svg);
  free(svg);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("eval");
  TCase *p = tcase_create("protocol");
  tcase_add_test(p, split_sizes);
  tcase_add_test(p, outsider_rule);
  tcase_add_test(p, draws);
  tcase_add_test(p, trials_match_protocol);
  tcase_add_test(p, corpus_split);
  tcase_add_test(p, single_profile);
  tcase_add_test(p, corpus_errors);
  suite_add_tcase(s, p);
  TCase *m = tcase_create("metrics");
  tcase_add_test(m, metrics_case_a);
  tcase_add_test(m, metrics_case_b);
  tcase_add_test(m, metrics_mask);
  tcase_add_test(m, quantize);
  suite_add_tcase(s, m);
  TCase *o = tcase_create("outputs");
  tcase_add_test(o, report_json);
  tcase_add_test(o, trials_tsv);
  tcase_add_test(o, svg_plot);
  suite_add_tcase(s, o);
  return s;
}

int main(void) {
  return pm_test_run_suite(suite()) != 0;
}
