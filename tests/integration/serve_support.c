/* The helpers of the daemon's integration suites (see serve_support.h). */
#include "tests/integration/serve_support.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void srv_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs cmd; fails the test (with its stderr) unless it exits 0. stdout is
 * returned (malloc'd). */
char *srv_run_ok(const char *cmd) {
  char *out = NULL, *err = NULL;
  int rc = pm_test_run(cmd, &out, &err);
  need(rc == 0, "`%.300s` exited %d: %s", cmd, rc, err ? err : "");
  free(err);
  return out;
}

/* run_ok on a formatted command. */
char *srv_run_okf(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *cmd = NULL;
  int n = vasprintf(&cmd, f, ap);
  va_end(ap);
  need(n >= 0, "out of memory");
  char *out = srv_run_ok(cmd);
  free(cmd);
  return out;
}

bool srv_outcome_eq(const outcome *a, const outcome *b) {
  return strcmp(a->verdict, b->verdict) == 0 && strcmp(a->prob, b->prob) == 0 &&
         a->pmails == b->pmails;
}

/* The outcome in one JSON object (a line of `penmark score` or a daemon
 * answer); false when it is not a score result. */
bool srv_outcome_of(const char *json, size_t len, outcome *o) {
  memset(o, 0, sizeof *o);
  cJSON *j = cJSON_ParseWithLength(json, len);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "verdict");
  const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "profile");
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(pr, "mails");
  bool ok = cJSON_IsString(v) && cJSON_IsNumber(m);
  if (ok) {
    snprintf(o->verdict, sizeof o->verdict, "%s", v->valuestring);
    o->pmails = (long long)m->valuedouble;
  }
  cJSON_Delete(j);
  const char *p = ok ? memmem(json, len, "\"probability\":", 14) : NULL;
  if (!p)
    return false;
  p += 14;
  size_t n = strcspn(p, ",}");
  if (n == 0 || n >= sizeof o->prob)
    return false;
  memcpy(o->prob, p, n);
  o->prob[n] = '\0';
  return true;
}

/* ---- the inbound sample mail ---- */

mail_t *srv_mails;
size_t srv_n_mails;

static int srv_by_name(const void *a, const void *b) {
  return strcmp(((const mail_t *)a)->path, ((const mail_t *)b)->path);
}

void srv_load_mails(void) {
  char *dir = pm_test_fmt("%s/sample/inbound", pm_test_data_dir());
  DIR *d = opendir(dir);
  need(d != NULL, "%s: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
      continue;
    srv_mails = realloc(srv_mails, (srv_n_mails + 1) * sizeof *srv_mails);
    mail_t *m = &srv_mails[srv_n_mails++];
    m->path = pm_test_fmt("%s/%s", dir, e->d_name);
    FILE *f = fopen(m->path, "rb");
    need(f != NULL, "%s: %s", m->path, strerror(errno));
    fseek(f, 0, SEEK_END);
    m->len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    m->bytes = malloc(m->len + 1);
    need(fread(m->bytes, 1, m->len, f) == m->len, "%s: short read", m->path);
    fclose(f);
  }
  closedir(d);
  need(srv_n_mails >= 4, "%s: too few mails", dir);
  free(dir);
  qsort(srv_mails, srv_n_mails, sizeof *srv_mails, srv_by_name);
}

char *srv_all_mail_args(void) {
  size_t n = 1;
  for (size_t i = 0; i < srv_n_mails; i++)
    n += strlen(srv_mails[i].path) + 3;
  char *s = calloc(1, n);
  for (size_t i = 0; i < srv_n_mails; i++) {
    strcat(s, " '");
    strcat(s, srv_mails[i].path);
    strcat(s, "'");
  }
  return s;
}

/* In-process `penmark score` of every inbound mail: the outcomes (in
 * mails[] order) and the output lines (malloc'd array). */
void srv_score_in_process(const char *store_dir, const char *tenant,
                          const char *sender, outcome *out, char ***lines) {
  char *args = srv_all_mail_args();
  char *cmd = pm_test_fmt("'%s' score --tenant %s --store '%s' %s%s%s %s",
                          pm_test_penmark(), tenant, store_dir,
                          sender ? "--sender '" : "", sender ? sender : "",
                          sender ? "'" : "", args);
  char *text = srv_run_ok(cmd);
  free(cmd);
  free(args);
  char **ls = calloc(srv_n_mails, sizeof *ls);
  size_t i = 0;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save), i++) {
    need(i < srv_n_mails, "more lines than mails");
    need(srv_outcome_of(l, strlen(l), &out[i]), "not a result: %s", l);
    need(strstr(l, srv_mails[i].path) != NULL, "line %zu is not %s: %s", i,
         srv_mails[i].path, l);
    ls[i] = strdup(l);
  }
  need(i == srv_n_mails, "%zu lines for %zu mails", i, srv_n_mails);
  free(text);
  if (lines)
    *lines = ls;
  else {
    for (i = 0; i < srv_n_mails; i++)
      free(ls[i]);
    free(ls);
  }
}

/* ---- the daemon ---- */

int srv_http_once(const char *sock, const char *method, const char *target,
                  const char *body, size_t len, pm__http_response *r) {
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm__http_init(&c, sock, CLIENT_TIMEOUT_MS, &err), PM_OK);
  pm_status rc = pm__http_request(
      &c, method, target, body ? "message/rfc822" : NULL, body, len, r, &err);
  pm__http_free(&c);
  return rc == PM_OK ? r->status : -1;
}

int srv_health(const char *sock) {
  pm__http_response r;
  int st = srv_http_once(sock, "GET", "/v1/health", NULL, 0, &r);
  if (st >= 0)
    pm__http_response_free(&r);
  return st;
}

/* A daemon's log so far; "" before it has one. */
char *srv_slurp(const char *path) {
  char *s = pm_test_slurp(path, NULL);
  return s ? s : strdup("");
}

/* Waits up to timeout_s for the daemon to exit; its exit status, or -1 (and
 * a SIGKILL) when it did not. */
int srv_daemon_wait(daemon_t *d, int timeout_s) {
  for (int i = 0; i < timeout_s * 50; i++) {
    int st;
    pid_t p = waitpid(d->pid, &st, WNOHANG);
    if (p == d->pid) {
      d->pid = 0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    srv_sleep_ms(20);
  }
  kill(d->pid, SIGKILL);
  waitpid(d->pid, NULL, 0);
  d->pid = 0;
  return -1;
}

/* Starts `penmark serve` and waits (generously) until it answers. */
void srv_daemon_start(daemon_t *d, const char *sock, const char *store_dir,
                      const char *extra) {
  d->sock = strdup(sock);
  d->log = pm_test_fmt("%s.log", sock);
  char *cmd =
      pm_test_fmt("exec '%s' serve --socket '%s' --store '%s' --max-bytes %d "
                  "%s 2>>'%s'",
                  pm_test_penmark(), sock, store_dir, MAX_BYTES,
                  extra ? extra : "", d->log);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    /* Dies with the test, whatever happens to the test. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  d->pid = pid;
  for (int i = 0; i < 3000; i++) {
    if (srv_health(sock) == 200)
      return;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      d->pid = 0;
      char *log = srv_slurp(d->log);
      ck_abort_msg("penmark serve exited (%d) at start: %s", st, log);
    }
    srv_sleep_ms(20);
  }
  ck_abort_msg("penmark serve on %s never answered", sock);
}

int srv_daemon_stop(daemon_t *d) {
  if (d->pid <= 0)
    return -1;
  kill(d->pid, SIGTERM);
  return srv_daemon_wait(d, 120);
}

void srv_daemon_free(daemon_t *d) {
  if (d->pid > 0) {
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
  }
  free(d->sock);
  free(d->log);
  memset(d, 0, sizeof *d);
}

char *srv_score_target(const char *tenant) {
  return pm_test_fmt("/v1/score?tenant=%s", tenant);
}

/* ---- fixture: the sample tenant, its in-process results, one daemon ---- */

char *srv_root;      /* everything temporary */
char *srv_store;     /* root/store: tenant demo, the whole sample corpus */
outcome *srv_expect; /* in-process outcome of each inbound mail */
char **srv_expect_lines;
daemon_t srv_main_d;

/* Once, in the parent (from the first unchecked fixture): every forked
 * test inherits it. */
void srv_suite_setup(void) {
  if (srv_root)
    return;
  srv_root = pm_test_tmpdir();
  srv_store = pm_test_fmt("%s/store", srv_root);
  srv_load_mails();
  free(srv_run_okf("'%s' train --tenant demo --store '%s' '%s/sample/corpus'",
                   pm_test_penmark(), srv_store, pm_test_data_dir()));
  srv_expect = calloc(srv_n_mails, sizeof *srv_expect);
  srv_score_in_process(srv_store, "demo", NULL, srv_expect, &srv_expect_lines);
}

void srv_suite_teardown(void) {
  if (srv_root)
    pm_test_rmtree(srv_root);
}

void srv_main_setup(void) {
  srv_suite_setup();
  char *sock = pm_test_fmt("%s/main.sock", srv_root);
  srv_daemon_start(&srv_main_d, sock, srv_store,
                   "--threads 4 --max-buffered-bytes " PM_STR(MAX_BUFFERED));
  free(sock);
}

void srv_main_teardown(void) {
  ck_assert_int_eq(srv_daemon_stop(&srv_main_d), 0);
  srv_daemon_free(&srv_main_d);
}
