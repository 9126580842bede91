/* penmark serve end to end, its answers: the real daemon on a temporary
 * socket and store, driven with curl and with `penmark score --socket`,
 * gives what in-process scoring gives; health, metrics, a second daemon on
 * a live socket, and a reload on SIGHUP. No timing is asserted: the
 * timeouts only keep a broken daemon from hanging the suite. */
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

/* ---- results match in-process scoring ---- */

START_TEST(curl_matches_in_process) {
  for (size_t i = 0; i < srv_n_mails; i++) {
    char *cmd = pm_test_fmt("curl -sS --unix-socket '%s' --data-binary @'%s' "
                            "'http://localhost/v1/score?tenant=demo'",
                            srv_main_d.sock, srv_mails[i].path);
    char *out = srv_run_ok(cmd);
    outcome o;
    ck_assert_msg(srv_outcome_of(out, strlen(out), &o), "%s: %s", cmd, out);
    ck_assert_msg(srv_outcome_eq(&o, &srv_expect[i]),
                  "%s: daemon %s %s %lld, in-process %s %s %lld",
                  srv_mails[i].path, o.verdict, o.prob, o.pmails,
                  srv_expect[i].verdict, srv_expect[i].prob,
                  srv_expect[i].pmails);
    ck_assert_ptr_nonnull(strstr(out, "\"tenant\":\"demo\""));
    ck_assert_ptr_null(strstr(out, "\"file\""));
    free(out);
    free(cmd);
  }
}
END_TEST

/* A line with its elapsed_us value blanked: the one field that differs
 * between two runs. */
static char *without_elapsed(const char *line) {
  char *s = strdup(line);
  char *p = strstr(s, "\"elapsed_us\":");
  if (p) {
    p += 13;
    size_t n = strspn(p, "0123456789");
    memmove(p, p + n, strlen(p + n) + 1);
  }
  return s;
}

START_TEST(client_matches_in_process) {
  char *args = srv_all_mail_args();
  char *cmd = pm_test_fmt("'%s' score --socket '%s' --tenant demo %s",
                          pm_test_penmark(), srv_main_d.sock, args);
  char *out = NULL, *err = NULL;
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0,
                "`penmark score --socket` exited %d: %s(cli/cmd_score.c "
                "calls pm_cli_score_remote, cli/score_remote.h, for "
                "--socket)",
                rc, err);
  free(err);
  size_t i = 0;
  for (char *save = NULL, *l = strtok_r(out, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save), i++) {
    ck_assert_uint_lt(i, srv_n_mails);
    char *a = without_elapsed(l), *b = without_elapsed(srv_expect_lines[i]);
    ck_assert_msg(strcmp(a, b) == 0, "client:     %s\nin-process: %s", a, b);
    free(a);
    free(b);
  }
  ck_assert_uint_eq(i, srv_n_mails);
  free(out);
  free(cmd);
  free(args);
}
END_TEST

START_TEST(claimed_sender_parameter) {
  /* Every mail scored as if it claimed to be the first mail's sender. */
  cJSON *j = cJSON_Parse(srv_expect_lines[0]);
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "sender");
  ck_assert(cJSON_IsString(s));
  char *sender = strdup(s->valuestring);
  cJSON_Delete(j);
  outcome *exp = calloc(srv_n_mails, sizeof *exp);
  char **lines = NULL;
  srv_score_in_process(srv_store, "demo", sender, exp, &lines);
  char *enc = pm__url_encode(sender);
  char *target = pm_test_fmt("/v1/score?tenant=demo&sender=%s", enc);
  for (size_t i = 0; i < srv_n_mails; i++) {
    pm__http_response r;
    ck_assert_int_eq(srv_http_once(srv_main_d.sock, "POST", target,
                                   srv_mails[i].bytes, srv_mails[i].len, &r),
                     200);
    outcome o;
    ck_assert(srv_outcome_of(r.body, r.body_len, &o));
    ck_assert_msg(srv_outcome_eq(&o, &exp[i]), "%s with sender=%s",
                  srv_mails[i].path, sender);
    pm__http_response_free(&r);
  }
  char *args = srv_all_mail_args();
  char *cmd =
      pm_test_fmt("'%s' score --socket '%s' --tenant demo --sender '%s' %s",
                  pm_test_penmark(), srv_main_d.sock, sender, args);
  char *out = srv_run_ok(cmd);
  size_t i = 0;
  for (char *save = NULL, *l = strtok_r(out, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save), i++) {
    char *a = without_elapsed(l), *b = without_elapsed(lines[i]);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
  }
  ck_assert_uint_eq(i, srv_n_mails);
  for (i = 0; i < srv_n_mails; i++)
    free(lines[i]);
  free(lines);
  free(out);
  free(cmd);
  free(args);
  free(target);
  free(enc);
  free(exp);
  free(sender);
}
END_TEST

START_TEST(client_reports_daemon_errors) {
  char *out = NULL, *err = NULL;
  char *cmd =
      pm_test_fmt("'%s' score --socket '%s' --tenant nosuchtenant '%s'",
                  pm_test_penmark(), srv_main_d.sock, srv_mails[0].path);
  ck_assert_int_eq(pm_test_run(cmd, &out, &err), 1);
  ck_assert_msg(strstr(err, "404") && strstr(err, "nosuchtenant"), "%s", err);
  ck_assert_str_eq(out, "");
  free(out);
  free(err);
  free(cmd);
  cmd = pm_test_fmt("'%s' score --socket '%s/absent.sock' --tenant demo '%s'",
                    pm_test_penmark(), srv_root, srv_mails[0].path);
  ck_assert_int_eq(pm_test_run(cmd, &out, &err), 1);
  ck_assert_msg(strstr(err, "absent.sock") != NULL, "%s", err);
  free(out);
  free(err);
  free(cmd);
}
END_TEST

START_TEST(health_and_metrics) {
  pm__http_response r;
  ck_assert_int_eq(
      srv_http_once(srv_main_d.sock, "GET", "/v1/health", NULL, 0, &r), 200);
  cJSON *j = cJSON_ParseWithLength(r.body, r.body_len);
  ck_assert_str_eq(cJSON_GetObjectItem(j, "status")->valuestring, "ok");
  ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "uptime_s")));
  ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "tenants_loaded")));
  ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "version")));
  cJSON_Delete(j);
  pm__http_response_free(&r);
  /* One scored mail, so that the counters have something. */
  char *t = srv_score_target("demo");
  ck_assert_int_eq(srv_http_once(srv_main_d.sock, "POST", t, srv_mails[0].bytes,
                                 srv_mails[0].len, &r),
                   200);
  pm__http_response_free(&r);
  free(t);
  ck_assert_int_eq(
      srv_http_once(srv_main_d.sock, "GET", "/metrics", NULL, 0, &r), 200);
  char ct[128];
  ck_assert(pm__http_header(&r, "Content-Type", ct, sizeof ct));
  ck_assert_msg(
      strncmp(ct, "application/openmetrics-text; version=1.0.0", 43) == 0, "%s",
      ct);
  ck_assert_uint_ge(r.body_len, 6);
  ck_assert_str_eq(r.body + r.body_len - 6, "# EOF\n");
  ck_assert_ptr_nonnull(strstr(r.body, "# TYPE penmark_http_requests counter"));
  ck_assert_ptr_nonnull(
      strstr(r.body, "# TYPE penmark_request_duration_seconds histogram"));
  ck_assert_ptr_nonnull(strstr(r.body, "penmark_tenants_loaded 1\n"));
  ck_assert_ptr_nonnull(strstr(r.body, "penmark_score_verdicts_total{"));
  ck_assert_ptr_null(
      strstr(r.body, "penmark_http_requests_total{code=\"200\"} 0\n"));
  pm__http_response_free(&r);
}
END_TEST

START_TEST(second_daemon_on_live_socket_refused) {
  char *out = NULL, *err = NULL;
  char *cmd = pm_test_fmt("timeout 60 '%s' serve --socket '%s' --store '%s'",
                          pm_test_penmark(), srv_main_d.sock, srv_store);
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc != 0 && rc != 124, "exit %d", rc);
  ck_assert_msg(strstr(err, "another daemon") != NULL, "%s", err);
  ck_assert_int_eq(srv_health(srv_main_d.sock), 200);
  struct stat sb;
  ck_assert_int_eq(lstat(srv_main_d.sock, &sb), 0);
  ck_assert(S_ISSOCK(sb.st_mode));
  ck_assert_uint_eq(sb.st_mode & 0777, 0660); /* the default mode */
  free(out);
  free(err);
  free(cmd);
}
END_TEST

START_TEST(sighup_reloads_and_keeps_serving) {
  ck_assert_int_eq(kill(srv_main_d.pid, SIGHUP), 0);
  char *t = srv_score_target("demo");
  /* Served throughout; the tenant loads again on its next request. */
  for (size_t i = 0; i < srv_n_mails; i++) {
    pm__http_response r;
    ck_assert_int_eq(srv_http_once(srv_main_d.sock, "POST", t,
                                   srv_mails[i].bytes, srv_mails[i].len, &r),
                     200);
    outcome o;
    ck_assert(srv_outcome_of(r.body, r.body_len, &o));
    ck_assert(srv_outcome_eq(&o, &srv_expect[i]));
    pm__http_response_free(&r);
  }
  free(t);
  char *log = NULL;
  for (int i = 0; i < 500; i++) {
    free(log);
    log = srv_slurp(srv_main_d.log);
    if (strstr(log, "reload:"))
      break;
    srv_sleep_ms(20);
  }
  ck_assert_msg(strstr(log, "reload:") != NULL, "%s", log);
  free(log);
}
END_TEST

/* --flag-rate reaches every verdict the daemon gives: the same threshold
 * and verdict as `penmark score --flag-rate` in-process; a rate out of
 * (0, 0.5] is a usage error before anything starts. */
START_TEST(flag_rate_reaches_the_verdicts) {
  char *sock = pm_test_fmt("%s/rate.sock", srv_root);
  daemon_t d = {0};
  srv_daemon_start(&d, sock, srv_store, "--threads 1 --flag-rate 0.3");
  for (size_t i = 0; i < srv_n_mails; i++) {
    char *local = srv_run_okf("'%s' score --tenant demo --store '%s' "
                              "--flag-rate 0.3 '%s'",
                              pm_test_penmark(), srv_store, srv_mails[i].path);
    char *target = srv_score_target("demo");
    pm__http_response r;
    ck_assert_int_eq(srv_http_once(sock, "POST", target, srv_mails[i].bytes,
                                   srv_mails[i].len, &r),
                     200);
    cJSON *a = cJSON_ParseWithLength(r.body, r.body_len);
    cJSON *b = cJSON_Parse(local);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert(pm_test_json_number(a, "rarity", "flag_rate") == 0.3);
    ck_assert(pm_test_json_number(a, "threshold", NULL) ==
              pm_test_json_number(b, "threshold", NULL));
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "verdict")),
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "verdict")));
    cJSON_Delete(a);
    cJSON_Delete(b);
    pm__http_response_free(&r);
    free(target);
    free(local);
  }
  ck_assert_int_eq(srv_daemon_stop(&d), 0);
  srv_daemon_free(&d);
  char *out = NULL, *err = NULL;
  char *cmd = pm_test_fmt("timeout 60 '%s' serve --socket '%s' --store '%s' "
                          "--flag-rate 0.9",
                          pm_test_penmark(), sock, srv_store);
  ck_assert_int_eq(pm_test_run(cmd, &out, &err), 2);
  ck_assert_msg(strstr(err, "--flag-rate") != NULL, "%s", err);
  free(out);
  free(err);
  free(cmd);
  free(sock);
}
END_TEST

static Suite *serve_suite(void) {
  Suite *s = suite_create("serve_results");
  TCase *c = tcase_create("results");
  tcase_set_timeout(c, 1200);
  tcase_add_unchecked_fixture(c, srv_main_setup, srv_main_teardown);
  tcase_add_test(c, curl_matches_in_process);
  tcase_add_test(c, client_matches_in_process);
  tcase_add_test(c, claimed_sender_parameter);
  tcase_add_test(c, client_reports_daemon_errors);
  tcase_add_test(c, health_and_metrics);
  tcase_add_test(c, second_daemon_on_live_socket_refused);
  tcase_add_test(c, sighup_reloads_and_keeps_serving);
  tcase_add_test(c, flag_rate_reaches_the_verdicts);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(serve_suite());
  srv_suite_teardown();
  return failed != 0;
}
