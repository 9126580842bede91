/* penmark serve end to end, starting and stopping: SIGTERM under load,
 * SIGHUP rereading the configuration, a stale socket replaced, bad socket
 * paths refused. No timing is asserted. */
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

/* ---- stopping ---- */

typedef struct {
  const char *sock;
  const char *target;
  int id;
  atomic_int *ok;
  atomic_int *term_sent;
  int answered, unavailable, not_started, bad;
  long after_term;
  char first_bad[256];
} stop_client;

static void *stop_main(void *arg) {
  stop_client *sc = arg;
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  pm__http_init(&c, sc->sock, CLIENT_TIMEOUT_MS, &err);
  for (int i = 0;; i++) {
    if (atomic_load(sc->term_sent) && ++sc->after_term > 1000000) {
      snprintf(sc->first_bad, sizeof sc->first_bad,
               "still served long "
               "after SIGTERM");
      sc->bad++;
      break;
    }
    size_t m = ((size_t)sc->id * 5 + (size_t)i) % srv_n_mails;
    pm__http_response r;
    bool term = atomic_load(sc->term_sent);
    pm_status rc =
        pm__http_request(&c, "POST", sc->target, "message/rfc822",
                         srv_mails[m].bytes, srv_mails[m].len, &r, &err);
    if (rc == PM_OK) {
      outcome o;
      if (r.status == 200 && srv_outcome_of(r.body, r.body_len, &o) &&
          srv_outcome_eq(&o, &srv_expect[m])) {
        sc->answered++;
        atomic_fetch_add(sc->ok, 1);
      } else if (r.status == 503) {
        sc->unavailable++;
      } else if (!sc->bad++) {
        snprintf(sc->first_bad, sizeof sc->first_bad, "%d %s", r.status,
                 r.body);
      }
      pm__http_response_free(&r);
      continue;
    }
    /* No answer at all: fine only once the stop began, and only when no
     * byte of an answer came (a request the daemon never started, or no
     * daemon to connect to). */
    if (!(term || atomic_load(sc->term_sent)) || c.got_bytes) {
      if (!sc->bad++)
        snprintf(sc->first_bad, sizeof sc->first_bad, "%s",
                 pm_error_message(&err));
      break;
    }
    sc->not_started++;
    if (strstr(pm_error_message(&err), "cannot connect"))
      break; /* the socket is gone: the daemon has stopped accepting */
  }
  pm__http_free(&c);
  return NULL;
}

START_TEST(sigterm_during_load) {
  char *sock = pm_test_fmt("%s/stop.sock", srv_root);
  daemon_t d = {0};
  srv_daemon_start(&d, sock, srv_store, "--threads 4");
  char *target = srv_score_target("demo");
  atomic_int ok, term_sent;
  atomic_init(&ok, 0);
  atomic_init(&term_sent, 0);
  enum { N = 8 };
  stop_client sc[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    sc[i] = (stop_client){.sock = sock,
                          .target = target,
                          .id = i,
                          .ok = &ok,
                          .term_sent = &term_sent};
    ck_assert_int_eq(pthread_create(&th[i], NULL, stop_main, &sc[i]), 0);
  }
  while (atomic_load(&ok) < 500)
    srv_sleep_ms(5);
  atomic_store(&term_sent, 1);
  ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
  int rc = srv_daemon_wait(&d, 120);
  for (int i = 0; i < N; i++)
    pthread_join(th[i], NULL);
  char *log = srv_slurp(d.log);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, log);
  int answered = 0, unavailable = 0, not_started = 0;
  for (int i = 0; i < N; i++) {
    ck_assert_msg(sc[i].bad == 0, "client %d: %d bad, first: %s", i, sc[i].bad,
                  sc[i].first_bad);
    answered += sc[i].answered;
    unavailable += sc[i].unavailable;
    not_started += sc[i].not_started;
  }
  printf("stop: %d answered, %d got 503, %d never started\n", answered,
         unavailable, not_started);
  struct stat sb;
  ck_assert_msg(lstat(sock, &sb) != 0 && errno == ENOENT,
                "socket file left behind");
  ck_assert_msg(strstr(log, "stopped after") != NULL, "%s", log);
  free(log);
  srv_daemon_free(&d);
  free(target);
  free(sock);
}
END_TEST

START_TEST(stale_socket_replaced) {
  char *sock = pm_test_fmt("%s/stale.sock", srv_root);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  close(fd); /* the file stays; nobody listens: stale */
  daemon_t d = {0};
  srv_daemon_start(&d, sock, srv_store, "--threads 1 --socket-mode 0600");
  struct stat sb;
  ck_assert_int_eq(lstat(sock, &sb), 0);
  ck_assert_uint_eq(sb.st_mode & 0777, 0600);
  char *log = srv_slurp(d.log);
  ck_assert_msg(strstr(log, "stale socket") != NULL, "%s", log);
  free(log);
  ck_assert_int_eq(srv_daemon_stop(&d), 0);
  ck_assert_int_ne(lstat(sock, &sb), 0);
  srv_daemon_free(&d);
  free(sock);
}
END_TEST

START_TEST(bad_socket_paths_refused) {
  char *plain = pm_test_fmt("%s/plain.sock", srv_root);
  pm_test_write_file(plain, "not a socket", 12);
  char *out = NULL, *err = NULL;
  char *cmd = pm_test_fmt("timeout 60 '%s' serve --socket '%s' --store '%s'",
                          pm_test_penmark(), plain, srv_store);
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc != 0 && rc != 124, "exit %d", rc);
  ck_assert_msg(strstr(err, "not a socket") != NULL, "%s", err);
  struct stat sb;
  ck_assert_int_eq(stat(plain, &sb), 0);
  ck_assert_int_eq(sb.st_size, 12);
  free(out);
  free(err);
  free(cmd);
  char longp[200];
  memset(longp, 'x', sizeof longp);
  longp[sizeof longp - 1] = '\0';
  cmd = pm_test_fmt("timeout 60 '%s' serve --socket '%s/%s' --store '%s'",
                    pm_test_penmark(), srv_root, longp, srv_store);
  rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc != 0 && rc != 124, "exit %d", rc);
  ck_assert_msg(strstr(err, "too long") != NULL, "%s", err);
  free(out);
  free(err);
  free(cmd);
  free(plain);
}
END_TEST

START_TEST(sighup_rereads_config) {
  /* --config: the stores must match it. A changed file takes effect at
   * SIGHUP: a mismatching configuration gives 409 (with the store's
   * message), the matching one scores again. */
  char *cfg = pm_test_fmt("%s/config.json", srv_root);
  pm_test_write_file(cfg, "{}", 2); /* the defaults: what the store has */
  char *sock = pm_test_fmt("%s/cfg.sock", srv_root);
  char *extra = pm_test_fmt("--threads 2 --config '%s'", cfg);
  daemon_t d = {0};
  srv_daemon_start(&d, sock, srv_store, extra);
  char *t = srv_score_target("demo");
  pm__http_response r;
  ck_assert_int_eq(
      srv_http_once(sock, "POST", t, srv_mails[0].bytes, srv_mails[0].len, &r),
      200);
  outcome o;
  ck_assert(srv_outcome_of(r.body, r.body_len, &o));
  ck_assert(srv_outcome_eq(&o, &srv_expect[0]));
  pm__http_response_free(&r);
  const char *other = "{\"families\": {\"words\": {\"enabled\": false}}}";
  pm_test_write_file(cfg, other, strlen(other));
  ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
  int st = 200;
  for (int i = 0; i < 500 && st == 200; i++) {
    st = srv_http_once(sock, "POST", t, srv_mails[0].bytes, srv_mails[0].len,
                       &r);
    if (st == 409) {
      ck_assert_msg(strstr(r.body, "configuration") != NULL, "%s", r.body);
    }
    pm__http_response_free(&r);
    if (st == 200)
      srv_sleep_ms(20);
  }
  ck_assert_int_eq(st, 409);
  pm_test_write_file(cfg, "{}", 2);
  ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
  for (int i = 0; i < 500 && st != 200; i++) {
    st = srv_http_once(sock, "POST", t, srv_mails[0].bytes, srv_mails[0].len,
                       &r);
    if (st == 200) {
      ck_assert(srv_outcome_of(r.body, r.body_len, &o));
      ck_assert(srv_outcome_eq(&o, &srv_expect[0]));
    }
    pm__http_response_free(&r);
    if (st != 200)
      srv_sleep_ms(20);
  }
  ck_assert_int_eq(st, 200);
  /* A configuration file that does not parse is refused at SIGHUP: the
   * old one stays. */
  pm_test_write_file(cfg, "{not json", 9);
  ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
  char *log = NULL;
  for (int i = 0; i < 500; i++) {
    free(log);
    log = srv_slurp(d.log);
    if (strstr(log, "keeping the current configuration"))
      break;
    srv_sleep_ms(20);
  }
  ck_assert_msg(strstr(log, "keeping the current configuration") != NULL, "%s",
                log);
  free(log);
  ck_assert_int_eq(
      srv_http_once(sock, "POST", t, srv_mails[0].bytes, srv_mails[0].len, &r),
      200);
  pm__http_response_free(&r);
  ck_assert_int_eq(srv_daemon_stop(&d), 0);
  srv_daemon_free(&d);
  free(t);
  free(extra);
  free(sock);
  free(cfg);
}
END_TEST

static Suite *serve_suite(void) {
  Suite *s = suite_create("serve_stop");
  TCase *c = tcase_create("stop");
  tcase_set_timeout(c, 1200);
  tcase_add_unchecked_fixture(c, srv_suite_setup, NULL);
  tcase_add_test(c, sigterm_during_load);
  tcase_add_test(c, sighup_rereads_config);
  tcase_add_test(c, stale_socket_replaced);
  tcase_add_test(c, bad_socket_paths_refused);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(serve_suite());
  srv_suite_teardown();
  return failed != 0;
}
