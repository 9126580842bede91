/* penmark serve end to end, under load: threads of keep-alive clients
 * while the tenant is trained again and its store file replaced; every
 * request is answered, from the old profiles or the new. No timing is
 * asserted. */
#include "tests/integration/serve_support.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOAD_REQUESTS 20000
#define LOAD_CLIENTS 16

/* ---- load, with a retrain in the middle ---- */

typedef struct {
  const char *sock;
  const char *target;
  int id;
  int n;                /* requests to send */
  unsigned short *mail; /* which mail each request sent */
  outcome *got;         /* what came back */
  int errors;
  char first_error[256];
  atomic_int *done; /* answered, across all clients */
} load_client;

static void *load_main(void *arg) {
  load_client *lc = arg;
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  pm__http_init(&c, lc->sock, CLIENT_TIMEOUT_MS, &err);
  for (int i = 0; i < lc->n; i++) {
    size_t m = ((size_t)lc->id * 7 + (size_t)i) % srv_n_mails;
    lc->mail[i] = (unsigned short)m;
    pm__http_response r;
    pm_status rc =
        pm__http_request(&c, "POST", lc->target, "message/rfc822",
                         srv_mails[m].bytes, srv_mails[m].len, &r, &err);
    if (rc != PM_OK || r.status != 200 ||
        !srv_outcome_of(r.body, r.body_len, &lc->got[i])) {
      if (!lc->errors++)
        snprintf(lc->first_error, sizeof lc->first_error, "%s",
                 rc != PM_OK ? pm_error_message(&err)
                 : r.body    ? r.body
                             : "no body");
      lc->got[i].verdict[0] = '\0';
    }
    if (rc == PM_OK)
      pm__http_response_free(&r);
    atomic_fetch_add(lc->done, 1);
  }
  pm__http_free(&c);
  return NULL;
}

/* Copies the first `keep` mails of each sender folder of the sample corpus
 * into dst. */
static void partial_corpus(const char *dst, int keep) {
  char *cmd = pm_test_fmt(
      "set -e; mkdir -p '%s'; cd '%s/sample/corpus'; for d in */; do "
      "mkdir -p '%s'/\"$d\"; ls \"$d\" | sort | head -n %d | while read "
      "f; do cp \"$d$f\" '%s'/\"$d\"; done; done",
      dst, pm_test_data_dir(), dst, keep, dst);
  free(srv_run_ok(cmd));
  free(cmd);
}

START_TEST(load_with_retrain) {
  char *lstore = pm_test_fmt("%s/load-store", srv_root);
  char *part = pm_test_fmt("%s/corpus-part", srv_root);
  partial_corpus(part, 28);
  free(srv_run_okf("'%s' train --tenant demo --store '%s' '%s'",
                   pm_test_penmark(), lstore, part));
  outcome *old = calloc(srv_n_mails, sizeof *old);
  srv_score_in_process(lstore, "demo", NULL, old, NULL);

  char *sock = pm_test_fmt("%s/load.sock", srv_root);
  daemon_t d = {0};
  srv_daemon_start(&d, sock, lstore, NULL);
  char *target = srv_score_target("demo");
  atomic_int done;
  atomic_init(&done, 0);
  load_client lc[LOAD_CLIENTS];
  pthread_t th[LOAD_CLIENTS];
  for (int i = 0; i < LOAD_CLIENTS; i++) {
    lc[i] = (load_client){.sock = sock,
                          .target = target,
                          .id = i,
                          .n = LOAD_REQUESTS / LOAD_CLIENTS,
                          .done = &done};
    lc[i].mail = calloc((size_t)lc[i].n, sizeof *lc[i].mail);
    lc[i].got = calloc((size_t)lc[i].n, sizeof *lc[i].got);
    ck_assert_int_eq(pthread_create(&th[i], NULL, load_main, &lc[i]), 0);
  }
  /* Retrain (the whole corpus: more mail per sender) while it runs. */
  while (atomic_load(&done) < LOAD_REQUESTS / 10)
    srv_sleep_ms(5);
  free(srv_run_okf("'%s' train --tenant demo --store '%s' '%s/sample/corpus'",
                   pm_test_penmark(), lstore, pm_test_data_dir()));
  int at_retrain_end = atomic_load(&done);
  for (int i = 0; i < LOAD_CLIENTS; i++)
    pthread_join(th[i], NULL);
  printf("load: %d requests, retrain finished after %d\n", LOAD_REQUESTS,
         at_retrain_end);

  outcome *now = calloc(srv_n_mails, sizeof *now);
  srv_score_in_process(lstore, "demo", NULL, now, NULL);
  bool differs = false;
  for (size_t i = 0; i < srv_n_mails; i++)
    differs |= old[i].pmails != now[i].pmails;
  ck_assert_msg(differs, "the retrain changed no profile");

  /* Every answer is whole and from one profiles object: the old one or the
   * new one, never a mix. */
  int errors = 0, from_old = 0, from_new = 0;
  for (int t = 0; t < LOAD_CLIENTS; t++) {
    ck_assert_msg(lc[t].errors == 0, "client %d: %d errors, first: %s", t,
                  lc[t].errors, lc[t].first_error);
    for (int i = 0; i < lc[t].n; i++) {
      size_t m = lc[t].mail[i];
      bool o = srv_outcome_eq(&lc[t].got[i], &old[m]);
      bool n = srv_outcome_eq(&lc[t].got[i], &now[m]);
      from_old += o;
      from_new += n && !o;
      if (!o && !n && errors++ < 5)
        fprintf(stderr, "answer %d of client %d (%s): %s %s %lld\n", i, t,
                srv_mails[m].path, lc[t].got[i].verdict, lc[t].got[i].prob,
                lc[t].got[i].pmails);
    }
    free(lc[t].mail);
    free(lc[t].got);
  }
  ck_assert_int_eq(errors, 0);
  printf("load: %d answers from the old profiles, %d from the new\n", from_old,
         from_new);

  /* Afterwards (the daemon looks every 250 ms): the new profiles. */
  bool all_new = false;
  for (int tries = 0; tries < 600 && !all_new; tries++) {
    all_new = true;
    for (size_t i = 0; i < srv_n_mails && all_new; i++) {
      pm__http_response r;
      ck_assert_int_eq(srv_http_once(sock, "POST", target, srv_mails[i].bytes,
                                     srv_mails[i].len, &r),
                       200);
      outcome o;
      ck_assert(srv_outcome_of(r.body, r.body_len, &o));
      all_new = srv_outcome_eq(&o, &now[i]);
      pm__http_response_free(&r);
    }
    if (!all_new)
      srv_sleep_ms(100);
  }
  ck_assert_msg(all_new, "the daemon never served the retrained profiles");
  char *log = srv_slurp(d.log);
  ck_assert_msg(strstr(log, "tenant demo reloaded") != NULL, "%s", log);
  free(log);
  ck_assert_int_eq(srv_daemon_stop(&d), 0);
  srv_daemon_free(&d);
  free(old);
  free(now);
  free(target);
  free(sock);
  free(part);
  free(lstore);
}
END_TEST

START_TEST(store_file_replaced) {
  /* A tenant whose file is replaced by another (moved into place), as a
   * restore from backup does: the daemon reopens it. */
  char *sdir = pm_test_fmt("%s/swap-store", srv_root);
  char *other = pm_test_fmt("%s/swap-other", srv_root);
  char *part = pm_test_fmt("%s/corpus-swap", srv_root);
  partial_corpus(part, 25);
  free(srv_run_okf("'%s' train --tenant swap --store '%s' '%s'",
                   pm_test_penmark(), sdir, part));
  free(srv_run_okf("'%s' train --tenant swap --store '%s' '%s/sample/corpus'",
                   pm_test_penmark(), other, pm_test_data_dir()));
  outcome *before = calloc(srv_n_mails, sizeof *before);
  outcome *after = calloc(srv_n_mails, sizeof *after);
  srv_score_in_process(sdir, "swap", NULL, before, NULL);
  srv_score_in_process(other, "swap", NULL, after, NULL);
  char *sock = pm_test_fmt("%s/swap.sock", srv_root);
  daemon_t d = {0};
  srv_daemon_start(&d, sock, sdir, "--threads 2");
  char *target = srv_score_target("swap");
  pm__http_response r;
  outcome o;
  ck_assert_int_eq(srv_http_once(sock, "POST", target, srv_mails[0].bytes,
                                 srv_mails[0].len, &r),
                   200);
  ck_assert(srv_outcome_of(r.body, r.body_len, &o));
  ck_assert(srv_outcome_eq(&o, &before[0]));
  pm__http_response_free(&r);
  char *from = pm_test_fmt("%s/swap.db", other),
       *to = pm_test_fmt("%s/swap.db", sdir);
  ck_assert_int_eq(rename(from, to), 0);
  bool swapped = false;
  for (int tries = 0; tries < 600 && !swapped; tries++) {
    ck_assert_int_eq(srv_http_once(sock, "POST", target, srv_mails[0].bytes,
                                   srv_mails[0].len, &r),
                     200);
    ck_assert(srv_outcome_of(r.body, r.body_len, &o));
    pm__http_response_free(&r);
    swapped = srv_outcome_eq(&o, &after[0]);
    if (!swapped) {
      ck_assert(srv_outcome_eq(&o, &before[0]));
      srv_sleep_ms(50);
    }
  }
  ck_assert(swapped);
  char *log = srv_slurp(d.log);
  ck_assert_msg(strstr(log, "store file replaced") != NULL, "%s", log);
  free(log);
  /* Replaced by a file that is not a store: the reload fails, is logged,
   * and the loaded profiles go on serving. */
  char *junk = pm_test_fmt("%s/junk.db", other);
  pm_test_write_file(junk, "this is not an SQLite file", 26);
  ck_assert_int_eq(rename(junk, to), 0);
  log = NULL;
  for (int i = 0; i < 500; i++) {
    free(log);
    log = srv_slurp(d.log);
    if (strstr(log, "reload failed"))
      break;
    srv_sleep_ms(20);
  }
  ck_assert_msg(strstr(log, "reload failed, keeping the loaded profiles"), "%s",
                log);
  free(log);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(srv_http_once(sock, "POST", target, srv_mails[0].bytes,
                                   srv_mails[0].len, &r),
                     200);
    ck_assert(srv_outcome_of(r.body, r.body_len, &o));
    ck_assert(srv_outcome_eq(&o, &after[0]));
    pm__http_response_free(&r);
  }
  free(junk);
  ck_assert_int_eq(srv_daemon_stop(&d), 0);
  srv_daemon_free(&d);
  free(from);
  free(to);
  free(target);
  free(sock);
  free(before);
  free(after);
  free(part);
  free(other);
  free(sdir);
}
END_TEST

static Suite *serve_suite(void) {
  Suite *s = suite_create("serve_load");
  TCase *c = tcase_create("load");
  tcase_set_timeout(c, 3600);
  tcase_add_unchecked_fixture(c, srv_suite_setup, NULL);
  tcase_add_test(c, load_with_retrain);
  tcase_add_test(c, store_file_replaced);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(serve_suite());
  srv_suite_teardown();
  return failed != 0;
}
