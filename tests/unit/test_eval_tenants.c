/* Small tenants (EVAL.md): the grouping rule, the groups of a corpus in
 * byte order, the pooled trials. Counts were computed with the rule of
 * EVAL.md ("a last group of fewer than N/2 senders joins the one before
 * it", N/2 as integer division) when these tests were written. */
#include "penmark/eval.h"

#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *tmp;

static void setup(void) {
  tmp = pm_test_tmpdir();
}

static void teardown(void) {
  pm_test_rmtree(tmp);
  free(tmp);
  tmp = NULL;
}

START_TEST(group_count_rule) {
  static const struct {
    size_t senders, size, want;
  } cases[] = {
      {0, 8, 0},   {5, 0, 0},  {1, 8, 1},  {8, 8, 1},
      {9, 8, 1},   /* a last group of 1 < 4 joins */
      {11, 8, 1},  /* 3 < 4 joins */
      {12, 8, 2},  /* 4 is not fewer than 8 / 2: stays */
      {16, 8, 2},  {17, 8, 2},  {20, 8, 3},
      {65, 8, 8},  /* enron-dev's 65 senders: 8 groups, the last of 9 */
      {214, 8, 27}, {6, 3, 2},  {7, 3, 3}, /* 1 is not fewer than 3 / 2 */
      {7, 2, 4},   {5, 1, 5},   {3, 100, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_assert_msg(pm_eval_tenant_count(cases[i].senders, cases[i].size) ==
                      cases[i].want,
                  "%zu senders in groups of %zu: %zu groups, want %zu",
                  cases[i].senders, cases[i].size,
                  pm_eval_tenant_count(cases[i].senders, cases[i].size),
                  cases[i].want);
}
END_TEST

/* Sender dir `s` under root with 25 files (20 for training: a profile
 * unless the sender is an outsider). */
static void sender(const char *root, const char *s) {
  char *d = pm_test_fmt("%s/%s", root, s);
  ck_assert_int_eq(mkdir(d, 0755), 0);
  for (int i = 1; i <= 25; i++) {
    char *f = pm_test_fmt("%s/%02d.txt", d, i);
    pm_test_write_file(f, "Fictional.\n", 11);
    free(f);
  }
  free(d);
}

/* Nine senders whose byte order differs from a dictionary's: capitals and
 * '_' before small letters, a non-ASCII first letter last. Outsiders (by
 * the protocol's hash): alice, frank. */
static char *nine_senders(void) {
  static const char *names[] = {"alice", "Zoe",  "frank", "\xc3\x89mile",
                                "bob",   "_x",   "dave",  "carol",
                                "erin"};
  char *root = pm_test_fmt("%s/corpus", tmp);
  ck_assert_int_eq(mkdir(root, 0755), 0);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    sender(root, names[i]);
  return root;
}

static pm_eval_corpus *open_ok(const char *dir) {
  pm_eval_corpus *c = NULL;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_msg(pm_eval_corpus_open(dir, &c, &err) == PM_OK, "%s",
                pm_error_message(&err));
  return c;
}

static void set_ok(pm_eval_corpus *c, size_t n) {
  pm_error err;
  pm_error_clear(&err);
  ck_assert_msg(pm_eval_corpus_set_tenants(c, n, &err) == PM_OK, "%s",
                pm_error_message(&err));
}

static const char *sender_name(const pm_eval_corpus *c, size_t i) {
  pm_eval_sender s;
  pm_eval_corpus_sender(c, i, &s);
  return s.name;
}

/* The group of the sender called name. */
static size_t group_of(const pm_eval_corpus *c, const char *name) {
  size_t ng = pm_eval_corpus_n_tenants(c);
  for (size_t g = 0; g < ng; g++) {
    pm_eval_tenant t;
    pm_eval_corpus_tenant(c, g, &t);
    for (size_t i = t.first_sender; i < t.first_sender + t.n_senders; i++)
      if (!strcmp(sender_name(c, i), name))
        return g;
  }
  ck_abort_msg("sender %s in no group", name);
  return ng;
}

START_TEST(groups_in_byte_order_last_joins) {
  char *root = nine_senders();
  pm_eval_corpus *c = open_ok(root);
  set_ok(c, 4);
  /* 9 senders in groups of 4: 4, 4 and 1; the 1 joins the second. */
  ck_assert_uint_eq(pm_eval_corpus_tenant_size(c), 4);
  ck_assert_uint_eq(pm_eval_corpus_n_tenants(c), 2);
  static const char *first[] = {"Zoe", "_x", "alice", "bob"};
  static const char *second[] = {"carol", "dave", "erin", "frank",
                                 "\xc3\x89mile"};
  pm_eval_tenant t0, t1;
  pm_eval_corpus_tenant(c, 0, &t0);
  pm_eval_corpus_tenant(c, 1, &t1);
  ck_assert_uint_eq(t0.first_sender, 0);
  ck_assert_uint_eq(t0.n_senders, 4);
  ck_assert_uint_eq(t1.first_sender, 4);
  ck_assert_uint_eq(t1.n_senders, 5);
  for (size_t i = 0; i < 4; i++)
    ck_assert_str_eq(sender_name(c, t0.first_sender + i), first[i]);
  for (size_t i = 0; i < 5; i++)
    ck_assert_str_eq(sender_name(c, t1.first_sender + i), second[i]);
  /* alice and frank are the outsiders: one in each group. */
  ck_assert_uint_eq(t0.n_outsiders, 1);
  ck_assert_uint_eq(t1.n_outsiders, 1);
  ck_assert_uint_eq(t0.n_profiled, 3);
  ck_assert_uint_eq(t1.n_profiled, 4);

  /* The pooled trials: each group's in turn, a mail only ever claimed as
   * a profiled sender of its own group, and the groups' slices covering
   * the list. 3 * 5 + 4 * 5 genuine. */
  size_t n;
  const pm_eval_trial *tr = pm_eval_corpus_trials(c, &n);
  ck_assert_uint_eq(t0.first_trial, 0);
  ck_assert_uint_eq(t1.first_trial, t0.n_trials);
  ck_assert_uint_eq(t0.n_trials + t1.n_trials, n);
  size_t genuine = 0, impostor = 0, insider = 0;
  for (size_t i = 0; i < n; i++) {
    char own[64];
    const char *slash = strchr(tr[i].mail, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(own, sizeof own, "%.*s", (int)(slash - tr[i].mail), tr[i].mail);
    ck_assert_str_eq(sender_name(c, tr[i].sender), own);
    size_t g = group_of(c, own);
    ck_assert_uint_eq(g, i < t0.n_trials ? 0 : 1);
    ck_assert_uint_eq(group_of(c, tr[i].claimed), g);
    ck_assert_str_ne(tr[i].claimed, "alice");
    ck_assert_str_ne(tr[i].claimed, "frank");
    genuine += tr[i].label == PM_EVAL_GENUINE;
    impostor += tr[i].label == PM_EVAL_IMPOSTOR;
    insider += tr[i].label == PM_EVAL_INSIDER;
    if (tr[i].label == PM_EVAL_GENUINE)
      ck_assert_str_eq(tr[i].claimed, own);
  }
  /* protocol.py's trials() with these groups: 35 genuine, 26 impostor,
   * 75 insider (the whole corpus as one tenant: 35, 33, 129). */
  ck_assert_uint_eq(genuine, 35);
  ck_assert_uint_eq(impostor, 26);
  ck_assert_uint_eq(insider, 75);
  pm_eval_corpus_free(c);
  free(root);
}
END_TEST

/* A group as large as the corpus or larger: one tenant, the trials of the
 * whole corpus, in the same order. */
START_TEST(size_over_corpus_is_whole_corpus) {
  char *root = nine_senders();
  pm_eval_corpus *whole = open_ok(root), *c = open_ok(root);
  static const size_t sizes[] = {9, 10, 1000};
  for (size_t k = 0; k < 3; k++) {
    set_ok(c, sizes[k]);
    ck_assert_uint_eq(pm_eval_corpus_n_tenants(c), 1);
    size_t nw, nc;
    const pm_eval_trial *tw = pm_eval_corpus_trials(whole, &nw);
    const pm_eval_trial *tc = pm_eval_corpus_trials(c, &nc);
    ck_assert_uint_eq(nc, nw);
    for (size_t i = 0; i < nw; i++) {
      ck_assert_str_eq(tc[i].mail, tw[i].mail);
      ck_assert_str_eq(tc[i].claimed, tw[i].claimed);
      ck_assert_int_eq(tc[i].label, tw[i].label);
      ck_assert_uint_eq(tc[i].sender, tw[i].sender);
    }
  }
  /* Groups of one: a sender alone can only be claimed by itself, so the
   * trials are the profiled senders' genuine ones. */
  set_ok(c, 1);
  ck_assert_uint_eq(pm_eval_corpus_n_tenants(c), 9);
  size_t n;
  const pm_eval_trial *t = pm_eval_corpus_trials(c, &n);
  ck_assert_uint_eq(n, 7 * 5);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(t[i].label, PM_EVAL_GENUINE);
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm_eval_corpus_set_tenants(c, 0, &err), PM_INVAL);
  ck_assert_ptr_nonnull(strstr(pm_error_message(&err), root));
  pm_eval_corpus_free(whole);
  pm_eval_corpus_free(c);
  free(root);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("eval_tenants");
  TCase *t = tcase_create("tenants");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, group_count_rule);
  tcase_add_test(t, groups_in_byte_order_last_joins);
  tcase_add_test(t, size_over_corpus_is_whole_corpus);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return pm_test_run_suite(suite()) != 0;
}
