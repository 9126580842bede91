/* No mail text in any log: a full run of train, serve and score over mails
 * whose subject, body and sender's display name carry a marker word, with
 * the failures that log a line (a binary body, a body over --max-bytes, an
 * unknown tenant, a mail that is not one in the training set), a SIGHUP
 * and a stop. The marker must appear in none of: the daemon's log, the
 * standard error (and summary) of `penmark train`, the standard error of
 * `penmark score`, in-process and through the daemon. */
#include "tests/integration/serve_support.h"

#include "tests/support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A word in no lexicon, no fixture and no message of penmark's. */
#define MARKER "Quillivantrope"
#define SMALL_CONFIG                                                           \
  "{\"families\":{\"char_ngrams\":{\"dim\":256},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64}}}\n"
#define BODY_LIMIT 20000

static char *root, *store, *sock, *corpus;
static daemon_t d; /* its log: d.log */

/* The marker may be nowhere in text (what names where it was looked). */
static void check_clean(const char *text, const char *what) {
  ck_assert_ptr_nonnull(text);
  const char *m = strcasestr(text, MARKER);
  ck_assert_msg(!m, "mail text in %s: ...%.200s", what,
                m > text + 100 ? m - 100 : text);
}

static void write_mail(const char *name, const char *from, const char *subject,
                       const char *body) {
  char *p = pm_test_fmt("%s/%s", corpus, name);
  char *m = pm_test_fmt("From: %s\nSubject: %s\nMessage-ID: <%s@x.example>\n"
                        "Date: Mon, 2 Nov 2026 09:00:00 +0000\n\n%s",
                        from, subject, name, body);
  pm_test_write_file(p, m, strlen(m));
  free(m);
  free(p);
}

/* Two senders of different habits, four mails each, the marker in every
 * subject and body and in the display names; and a file that is not a
 * mail (binary, with the marker), which training skips with a warning. */
static void write_corpus(void) {
  static const char *const topics[] = {"budget", "offsite", "vendor", "audit"};
  for (int i = 0; i < 4; i++) {
    char *subj = pm_test_fmt("%s %s", MARKER, topics[i]);
    char *a = pm_test_fmt(
        "Hi team,\n\nQuick note on the %s: the %s numbers need a review "
        "before Thursday. Let me know if anything looks off.\n\nThanks,\n"
        "Ann\n",
        topics[i], MARKER);
    char *b = pm_test_fmt(
        "Dear colleagues,\n\nPlease find attached the latest %s update "
        "regarding the %s. Kindly confirm receipt at your earliest "
        "convenience.\n\nBest regards,\nRobert Smith\n",
        MARKER, topics[i]);
    char *na = pm_test_fmt("ann%d.eml", i), *nb = pm_test_fmt("rob%d.eml", i);
    write_mail(na, "Ann " MARKER " <ann@x.example>", subj, a);
    write_mail(nb, "Robert " MARKER " <rob@x.example>", subj, b);
    free(subj);
    free(a);
    free(b);
    free(na);
    free(nb);
  }
  char bin[256];
  memset(bin, 0, sizeof bin);
  memcpy(bin + 40, MARKER, strlen(MARKER));
  char *p = pm_test_fmt("%s/blob.eml", corpus);
  pm_test_write_file(p, bin, sizeof bin);
  free(p);
}

static void setup(void) {
  root = pm_test_tmpdir();
  store = pm_test_fmt("%s/store", root);
  sock = pm_test_fmt("%s/s.sock", root);
  corpus = pm_test_fmt("%s/corpus", root);
  ck_assert_int_eq(mkdir(corpus, 0700), 0);
  write_corpus();
}

static void teardown(void) {
  srv_daemon_free(&d);
  pm_test_rmtree(root);
  free(root);
  free(store);
  free(sock);
  free(corpus);
}

/* One request of body to target; the status. */
static int post(const char *target, const char *body, size_t len) {
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm__http_init(&c, sock, 30000, &err), PM_OK);
  pm__http_response r;
  pm_status rc = pm__http_request(&c, "POST", target, "message/rfc822", body,
                                  len, &r, &err);
  pm__http_free(&c);
  ck_assert_msg(rc == PM_OK, "%s: %s", target, pm_error_message(&err));
  int st = r.status;
  pm__http_response_free(&r);
  return st;
}

START_TEST(no_mail_text_in_logs) {
  char *cfg = pm_test_fmt("%s/small.json", root);
  pm_test_write_file(cfg, SMALL_CONFIG, strlen(SMALL_CONFIG));
  char *out = NULL, *err = NULL;
  char *cmd = pm_test_fmt("'%s' train --tenant t --store '%s' --config '%s' "
                          "--min-mails 2 --threads 1 '%s'",
                          pm_test_penmark(), store, cfg, corpus);
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0, "train: %s", err);
  check_clean(err, "the standard error of penmark train");
  check_clean(out, "the summary of penmark train");
  /* the rejection was reported (a path that names the input) */
  ck_assert_msg(strstr(out, "blob.eml"), "no rejection reported: %s",
                out); /* the warning path was taken */
  free(cmd);
  free(out);
  free(err);

  srv_daemon_start(&d, sock, store,
                   "--threads 2 --max-bytes " PM_STR(BODY_LIMIT));
  /* scored: each mail of the corpus, one of Ann's under Robert's name (an
   * impostor), one from a sender without a profile */
  for (int i = 0; i < 4; i++) {
    char *p = pm_test_fmt("%s/ann%d.eml", corpus, i);
    size_t len;
    char *m = pm_test_read_file(p, &len);
    ck_assert_int_eq(post("/v1/score?tenant=t", m, len), 200);
    ck_assert_int_eq(post("/v1/score?tenant=t&sender=rob%40x.example", m, len),
                     200);
    ck_assert_int_eq(
        post("/v1/score?tenant=t&sender=nobody%40x.example", m, len), 200);
    /* logged failures: a tenant without a store, a body over the limit */
    ck_assert_int_eq(post("/v1/score?tenant=nosuch", m, len), 404);
    char *big = malloc(BODY_LIMIT + 1000);
    memcpy(big, m, len);
    for (size_t o = len; o + len < BODY_LIMIT + 1000; o += len)
      memcpy(big + o, m, len);
    ck_assert_int_eq(post("/v1/score?tenant=t", big, BODY_LIMIT + 500), 413);
    free(big);
    free(m);
    free(p);
  }
  char bin[256];
  memset(bin, 0, sizeof bin);
  memcpy(bin + 40, MARKER, strlen(MARKER));
  ck_assert_int_eq(post("/v1/score?tenant=t", bin, sizeof bin), 422);
  /* the marker in the MIME structure: boundary, unknown charset, transfer
   * encoding and type, a file name, an encoded word */
  static const char odd[] =
      "From: Ann <ann@x.example>\nSubject: =?" MARKER "?Q?abc?=\n"
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"" MARKER
      "\"\n\n--" MARKER "\nContent-Type: text/plain; charset=" MARKER
      "-9\nContent-Transfer-Encoding: " MARKER "\n\nHello there, the "
      "numbers look fine to me.\n--" MARKER "\nContent-Type: " MARKER
      "/x; name=\"" MARKER ".txt\"\n\n" MARKER "\n--" MARKER "--\n";
  ck_assert_int_eq(post("/v1/score?tenant=t", odd, sizeof odd - 1), 200);
  char *odd_path = pm_test_fmt("%s/odd.eml", root);
  pm_test_write_file(odd_path, odd, sizeof odd - 1);
  /* the command line, through the daemon and in-process */
  cmd = pm_test_fmt("'%s' score --socket '%s' --tenant t '%s/rob1.eml' "
                    "'%s/blob.eml' '%s'",
                    pm_test_penmark(), sock, corpus, corpus, odd_path);
  out = err = NULL;
  rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0 || rc == 1, "score --socket: %d %s", rc, err);
  check_clean(err, "the standard error of penmark score --socket");
  free(cmd);
  free(out);
  free(err);
  cmd = pm_test_fmt("'%s' score --store '%s' --tenant t '%s/rob2.eml' "
                    "'%s/blob.eml' '%s'",
                    pm_test_penmark(), store, corpus, corpus, odd_path);
  out = err = NULL;
  rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0 || rc == 1, "score: %d %s", rc, err);
  check_clean(err, "the standard error of penmark score");
  free(cmd);
  free(out);
  free(err);

  kill(d.pid, SIGHUP);
  srv_sleep_ms(300);
  ck_assert_int_eq(post("/v1/score?tenant=t", bin, sizeof bin), 422);
  ck_assert_int_eq(srv_daemon_stop(&d), 0);
  char *log = pm_test_slurp(d.log, NULL);
  ck_assert_ptr_nonnull(log);
  /* the paths that log were taken: a test that logged nothing would pass */
  ck_assert_msg(strstr(log, "request failed (413") &&
                    strstr(log, "request failed (422") &&
                    strstr(log, "tenant t loaded") && strstr(log, "reload"),
                "the log lacks an expected line:\n%s", log);
  check_clean(log, "the daemon's log");
  printf("no mail text in logs: %zu log lines of the daemon, marker "
         "\"%s\" in none\n",
         pm_test_count_lines(log), MARKER);
  free(log);
  free(cfg);
  free(odd_path);
}
END_TEST

static Suite *logs_suite(void) {
  Suite *s = suite_create("no_mail_in_logs");
  TCase *c = tcase_create("logs");
  tcase_add_checked_fixture(c, setup, teardown);
  tcase_set_timeout(c, 300);
  tcase_add_test(c, no_mail_text_in_logs);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  return pm_test_run_suite(logs_suite()) != 0;
}
