/* Shared helpers for the Check suites (see tests/support.h). */
#include "support.h"

#include "common/tmpdir.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *pm_test_fixture_path(const char *name) {
  const char *dir = getenv("PM_FIXTURES");
  if (!dir)
    dir = "tests/fixtures";
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

char *pm_test_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    ck_assert_msg(errno == ENOENT, "%s: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0, got;
  char *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      cap *= 2;
      buf = realloc(buf, cap);
      ck_assert_ptr_nonnull(buf);
    }
  }
  ck_assert_msg(!ferror(f), "%s: read error", path);
  fclose(f);
  buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

char *pm_test_read_file(const char *path, size_t *len) {
  char *buf = pm_test_slurp(path, len);
  ck_assert_msg(buf != NULL, "%s: no such file", path);
  return buf;
}

char *pm_test_read_fixture(const char *name, size_t *len) {
  char *path = pm_test_fixture_path(name);
  char *buf = pm_test_read_file(path, len);
  free(path);
  return buf;
}

int pm_test_count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

size_t pm_test_count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

char *pm_test_tmpdir(void) {
  char *p = pm__make_tmpdir(NULL, "test", NULL);
  ck_assert_msg(p != NULL, "temporary directory: %s", strerror(errno));
  return p;
}

void pm_test_rmtree(const char *path) {
  pm__rmtree(path);
}

char *pm_test_fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = NULL;
  int n = vasprintf(&s, f, ap);
  va_end(ap);
  if (n < 0 || !s)
    abort(); /* out of memory in a test */
  return s;
}

const char *pm_test_data_dir(void) {
  const char *d = getenv("PM_DATA");
  return d ? d : "data";
}

void pm_test_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

const char *pm_test_penmark(void) {
  const char *p = getenv("PENMARK_BIN");
  return p ? p : "bin/penmark";
}

/* Reads a whole fd into a malloc'd string. */
static char *slurp_fd(int fd) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf)
    return NULL;
  for (;;) {
    if (cap - n < 2) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        return NULL;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t got = read(fd, buf + n, cap - n - 1);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    n += (size_t)got;
  }
  buf[n] = '\0';
  return buf;
}

int pm_test_run(const char *cmd, char **out, char **err) {
  char *dir = pm_test_tmpdir();
  size_t n = strlen(dir) + strlen(cmd) + 64;
  char *full = malloc(n), opath[4096], epath[4096];
  ck_assert_ptr_nonnull(full);
  snprintf(opath, sizeof opath, "%s/out", dir);
  snprintf(epath, sizeof epath, "%s/err", dir);
  snprintf(full, n, "(%s) >'%s' 2>'%s'", cmd, opath, epath);
  int st = system(full);
  free(full);
  if (out) {
    int fd = open(opath, O_RDONLY);
    *out = fd >= 0 ? slurp_fd(fd) : strdup("");
    if (fd >= 0)
      close(fd);
  }
  if (err) {
    int fd = open(epath, O_RDONLY);
    *err = fd >= 0 ? slurp_fd(fd) : strdup("");
    if (fd >= 0)
      close(fd);
  }
  pm_test_rmtree(dir);
  free(dir);
  if (st == -1)
    return -1;
  if (WIFEXITED(st)) {
    int code = WEXITSTATUS(st);
    return code;
  }
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

int pm_test_runf(char **out, char **err, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *cmd = NULL;
  int n = vasprintf(&cmd, f, ap);
  va_end(ap);
  ck_assert_int_ge(n, 0);
  int rc = pm_test_run(cmd, out, err);
  free(cmd);
  return rc;
}

int pm_test_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed;
}

/* ---- training and scoring through the library ---- */

void pm_test_strlist_push(pm_test_strlist *l, char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    ck_assert_ptr_nonnull(l->v);
  }
  l->v[l->n++] = s;
}

void pm_test_strlist_free(pm_test_strlist *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void pm_test_list_dir(const char *dir, pm_test_strlist *out) {
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      pm_test_strlist_push(out, strdup(e->d_name));
  closedir(d);
  if (out->n > 1)
    qsort(out->v, out->n, sizeof *out->v, cmp_str);
}

void pm_test_inbound_files(pm_test_strlist *out) {
  char *dir = pm_test_fmt("%s/sample/inbound", pm_test_data_dir());
  pm_test_strlist names = {0};
  pm_test_list_dir(dir, &names);
  for (size_t i = 0; i < names.n; i++) {
    size_t n = strlen(names.v[i]);
    if (n > 4 && strcmp(names.v[i] + n - 4, ".eml") == 0)
      pm_test_strlist_push(out, pm_test_fmt("%s/%s", dir, names.v[i]));
  }
  pm_test_strlist_free(&names);
  free(dir);
  ck_assert_uint_eq(out->n, 24);
}

pm_config *pm_test_small_config(void) {
  pm_config *cfg = NULL;
  pm_error err;
  pm_status rc = pm_config_parse(PM_TEST_SMALL_CONFIG,
                                 strlen(PM_TEST_SMALL_CONFIG), &cfg, &err);
  ck_assert_msg(rc == PM_OK, "%s", pm_error_message(&err));
  return cfg;
}

void pm_test_train_opts(pm_train_opts *o, const char *dir, const char *tenant,
                        const pm_config *cfg) {
  pm_train_opts_default(o);
  o->store_dir = dir;
  o->tenant = tenant;
  o->cfg = cfg;
  o->threads = 2;
}

pm_status pm_test_train_sample(const char *store_dir, pm_train_summary *sum,
                               char *msg, size_t cap) {
  pm_config *cfg =
      RUNNING_ON_VALGRIND ? pm_test_small_config() : pm_config_default();
  pm_train_opts o;
  pm_test_train_opts(&o, store_dir, "demo", cfg);
  char *in = pm_test_fmt("%s/sample/corpus", pm_test_data_dir());
  const char *inputs[] = {in};
  pm_error err;
  pm_error_clear(&err);
  pm_status rc = pm_train(&o, inputs, 1, sum, &err);
  snprintf(msg, cap, "%s", pm_error_message(&err));
  free(in);
  pm_config_free(cfg);
  return rc;
}

pm_store *pm_test_open_read(const char *dir, const char *tenant) {
  pm_store *st = NULL;
  pm_error err;
  pm_status rc = pm_store_open(dir, tenant, PM_STORE_READ, NULL, 0, &st, &err);
  ck_assert_msg(rc == PM_OK, "open %s/%s: %s", dir, tenant,
                pm_error_message(&err));
  return st;
}

void pm_test_model_open(const char *dir, const char *tenant, pm_test_model *m) {
  pm_store *st = pm_test_open_read(dir, tenant);
  pm_error err;
  pm_status rc = pm_profiles_load(st, NULL, &m->p, &err);
  ck_assert_msg(rc == PM_OK, "profiles: %s", pm_error_message(&err));
  pm_store_close(st);
  rc = pm_scorer_new(pm_profiles_config(m->p), &m->sc, &err);
  ck_assert_msg(rc == PM_OK, "scorer: %s", pm_error_message(&err));
}

void pm_test_model_close(pm_test_model *m) {
  pm_scorer_free(m->sc);
  pm_profiles_free(m->p);
}

void pm_test_score_bytes(pm_test_model *m, const char *data, size_t len,
                         const char *claimed, pm_score_result *res) {
  pm_mail *mail = NULL;
  pm_error err;
  pm_status rc = pm_mail_parse(data, len, NULL, &mail, &err);
  ck_assert_msg(rc == PM_OK, "parse: %s", pm_error_message(&err));
  rc = pm_score_mail(m->sc, m->p, mail, claimed, res, &err);
  ck_assert_msg(rc == PM_OK, "score: %s", pm_error_message(&err));
  pm_mail_free(mail);
}

void pm_test_score_file(pm_test_model *m, const char *path, const char *claimed,
                        pm_score_result *res) {
  size_t len;
  char *data = pm_test_slurp(path, &len);
  ck_assert_msg(data != NULL, "%s missing", path);
  pm_test_score_bytes(m, data, len, claimed, res);
  free(data);
}

char *pm_test_mail_text(const char *from, const char *msgid, const char *date,
                        const char *body) {
  return pm_test_fmt("From: %s\nTo: team@example.org\nSubject: note\nDate: %s\n"
                     "Message-ID: <%s>\nMIME-Version: 1.0\n"
                     "Content-Type: text/plain; charset=utf-8\n\n%s",
                     from, date, msgid, body);
}

char *pm_test_sample_root, *pm_test_sample_store;
pm_train_summary pm_test_sample_sum;
static pm_status sample_rc;
static char sample_msg[512];

void pm_test_sample_setup(void) {
  if (pm_test_sample_root)
    return;
  pm_test_sample_root = pm_test_tmpdir();
  pm_test_sample_store = pm_test_fmt("%s/store", pm_test_sample_root);
  sample_rc = pm_test_train_sample(pm_test_sample_store, &pm_test_sample_sum,
                                   sample_msg, sizeof sample_msg);
}

void pm_test_sample_teardown(void) {
  pm_train_summary_free(&pm_test_sample_sum);
  if (pm_test_sample_root)
    pm_test_rmtree(pm_test_sample_root);
  free(pm_test_sample_root);
  free(pm_test_sample_store);
  pm_test_sample_root = pm_test_sample_store = NULL;
}

void pm_test_need_sample(void) {
  ck_assert_msg(sample_rc == PM_OK,
                "training the sample corpus failed: %s (%s)",
                pm_strerror(sample_rc), sample_msg);
}

double pm_test_json_number(const cJSON *j, const char *a, const char *b) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
  if (b)
    v = cJSON_GetObjectItemCaseSensitive(v, b);
  ck_assert_msg(cJSON_IsNumber(v), "%s%s%s missing", a, b ? "." : "",
                b ? b : "");
  return v->valuedouble;
}
