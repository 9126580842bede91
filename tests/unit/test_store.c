/* The per-tenant store: names, identity checks, rows, transactions, crash
 * safety, change detection and what the file may contain. */
#include "penmark/store.h"

#include "tests/support.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define CONFIG                                                                 \
  "{\"dim\":16384,\"families\":{\"word_ngrams\":true,\"char_ngrams\":[1,2,3,"  \
  "4]},\"seed\":7}"
#define HASH UINT64_C(0x1a2b3c4d5e6f7081)
#define CONFIG2                                                                \
  "{\"dim\":4096,\"families\":{\"word_ngrams\":false,\"char_ngrams\":[1,2,3,"  \
  "4]},\"lang\":\"ja\"}"
#define HASH2 UINT64_C(0x3c4d5e6f70819203)

static char *dir;

static void setup(void) {
  umask(022);
  dir = pm_test_tmpdir();
}

static void teardown(void) {
  pm_test_rmtree(dir);
  free(dir);
  dir = NULL;
}

/* dir/name, malloc'd. */
static char *in_dir(const char *d, const char *name) {
  size_t n = strlen(d) + strlen(name) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", d, name);
  return p;
}

static bool exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

static pm_store *open_ok(const char *d, unsigned mode) {
  pm_store *st = NULL;
  pm_error err;
  pm_status s = pm_store_open(d, "acme", mode, CONFIG, HASH, &st, &err);
  ck_assert_msg(s == PM_OK, "open: %s", pm_error_message(&err));
  return st;
}

static pm_store *create_ok(void) {
  return open_ok(dir, PM_STORE_WRITE | PM_STORE_CREATE);
}

/* Fingerprints are hashes: random-looking bytes (splitmix64 of i). */
static pm_fingerprint fp_of(unsigned i) {
  pm_fingerprint fp;
  uint64_t x = i;
  for (int k = 0; k < 16; k += 8) {
    uint64_t z = (x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    memcpy(fp.bytes + k, &z, 8);
  }
  return fp;
}

/* ---- tenant names ---- */

START_TEST(test_tenant_names) {
  char long64[65], long65[66];
  memset(long64, 'a', 64);
  long64[64] = '\0';
  memset(long65, 'b', 65);
  long65[65] = '\0';
  const char *good[] = {"acme", "a", "x-1.b_c", "0day", long64};
  const char *bad[] = {"",    "Acme", "../x", "a/b",         ".hidden",
                       "-x",  long65, "a b",  "caf\xc3\xa9", "_x",
                       "a\n", "..",   "a\\b", "x:y"};
  pm_error err;
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    ck_assert_msg(pm_tenant_check(good[i], &err) == PM_OK, "%s refused: %s",
                  good[i], pm_error_message(&err));
    char *p = pm_store_path("models/", good[i]), want[128];
    snprintf(want, sizeof want, "models/%s.db", good[i]);
    ck_assert_str_eq(p, want);
    free(p);
  }
  char *sub = in_dir(dir, "stores");
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_msg(pm_tenant_check(bad[i], &err) == PM_INVAL, "%s accepted",
                  bad[i]);
    ck_assert_ptr_null(pm_store_path(dir, bad[i]));
    pm_store *st = (pm_store *)1;
    ck_assert_int_eq(pm_store_open(sub, bad[i],
                                   PM_STORE_WRITE | PM_STORE_CREATE, CONFIG,
                                   HASH, &st, &err),
                     PM_INVAL);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(pm_store_open(dir, bad[i],
                                   PM_STORE_WRITE | PM_STORE_CREATE, CONFIG,
                                   HASH, &st, &err),
                     PM_INVAL);
  }
  /* Nothing made: neither the directory nor a file. */
  ck_assert(!exists(sub));
  ck_assert_int_eq(pm_test_count_entries(dir), 0);
  free(sub);

  pm_tenant_check("Acme", &err);
  ck_assert_ptr_nonnull(strstr(err.msg, "\"Acme\""));
  pm_tenant_check("a\nb", &err);
  ck_assert_ptr_nonnull(strstr(err.msg, "a\\x0ab")); /* escaped, not raw */
  pm_tenant_check(long65, &err);
  ck_assert_ptr_nonnull(strstr(err.msg, "64"));
  ck_assert_ptr_null(pm_store_path(NULL, "acme"));
  ck_assert_ptr_null(pm_store_path("", "acme"));
  char *p = pm_store_path("/", "acme");
  ck_assert_str_eq(p, "/acme.db");
  free(p);
}
END_TEST

/* ---- create, reopen, identity ---- */

START_TEST(test_create_reopen) {
  char *sub = in_dir(dir, "stores");
  pm_error err;
  pm_store *st = NULL;
  /* Missing without CREATE: NOTFOUND, nothing made. */
  ck_assert_int_eq(
      pm_store_open(sub, "acme", PM_STORE_WRITE, CONFIG, HASH, &st, &err),
      PM_NOTFOUND);
  ck_assert_ptr_nonnull(strstr(err.msg, "stores/acme.db"));
  ck_assert_int_eq(
      pm_store_open(sub, "acme", PM_STORE_READ, CONFIG, HASH, &st, &err),
      PM_NOTFOUND);
  ck_assert(!exists(sub));
  /* CREATE without WRITE, unknown bits, CREATE without a configuration. */
  ck_assert_int_eq(
      pm_store_open(sub, "acme", PM_STORE_CREATE, CONFIG, HASH, &st, &err),
      PM_INVAL);
  ck_assert_int_eq(pm_store_open(sub, "acme", 0x80, CONFIG, HASH, &st, &err),
                   PM_INVAL);
  ck_assert_int_eq(pm_store_open(sub, "acme", PM_STORE_WRITE | PM_STORE_CREATE,
                                 NULL, 0, &st, &err),
                   PM_INVAL);

  st = open_ok(sub, PM_STORE_WRITE | PM_STORE_CREATE);
  char *path = in_dir(sub, "acme.db");
  ck_assert_str_eq(pm_store_file(st), path);
  ck_assert_str_eq(pm_store_tenant(st), "acme");
  ck_assert_str_eq(pm_store_config_json(st), CONFIG);
  ck_assert(pm_store_config_hash(st) == HASH);
  char *v = NULL;
  ck_assert_int_eq(pm_store_meta_get(st, "schema_version", &v, &err), PM_OK);
  ck_assert_str_eq(v, "1");
  free(v);
  ck_assert_int_eq(pm_store_meta_get(st, "config_hash", &v, &err), PM_OK);
  ck_assert_str_eq(v, "1a2b3c4d5e6f7081");
  free(v);
  ck_assert_int_eq(pm_store_meta_get(st, "created", &v, &err), PM_OK);
  long long created = atoll(v);
  ck_assert(created > 1600000000LL && created <= (long long)time(NULL));
  free(v);
  ck_assert_int_eq(pm_store_verify(st, &err), PM_OK);
  int64_t id = 0;
  ck_assert_int_eq(pm_store_sender_id(st, "ceo@acme.example", true, &id, &err),
                   PM_OK);
  pm_store_close(st);

  struct stat sb;
  ck_assert_int_eq(stat(sub, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0750);
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0640);
  /* No temporary file left behind; the WAL went with the last close. */
  ck_assert_int_eq(pm_test_count_entries(sub), 1);

  /* The file says what it is, to sqlite3 and to file(1). */
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  sqlite3_stmt *q = NULL;
  ck_assert_int_eq(
      sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &q, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
  ck_assert_int_eq(sqlite3_column_int64(q, 0), 0x504D524B);
  sqlite3_finalize(q);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
  ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
  sqlite3_finalize(q);
  sqlite3_close(db);

  /* Reopen, for writing (CREATE on an existing file just opens it) and for
   * reading. */
  st = open_ok(sub, PM_STORE_WRITE | PM_STORE_CREATE);
  ck_assert_int_eq(pm_store_sender_id(st, "ceo@acme.example", false, &id, &err),
                   PM_OK);
  ck_assert_int_eq(id, 1);
  pm_store_close(st);
  st = open_ok(sub, PM_STORE_READ);
  ck_assert_str_eq(pm_store_config_json(st), CONFIG);
  ck_assert_int_eq(pm_store_verify(st, &err), PM_OK);
  pm_store_close(st);
  pm_store_close(NULL);
  free(path);
  free(sub);
}
END_TEST

/* ---- rows ---- */

START_TEST(test_fingerprints) {
  pm_store *st = create_ok();
  pm_error err;
  pm_fingerprint a = fp_of(1), b = fp_of(2);
  bool seen = true;
  int64_t n = -1;
  ck_assert_int_eq(pm_store_seen(st, &a, &seen, &err), PM_OK);
  ck_assert(!seen);
  ck_assert_int_eq(pm_store_count_seen(st, &n, &err), PM_OK);
  ck_assert_int_eq(n, 0);
  ck_assert_int_eq(pm_store_mark_seen(st, &a, 1, 1700000000, &err), PM_OK);
  ck_assert_int_eq(pm_store_mark_seen(st, &a, 1, 1700000000, &err), PM_OK);
  ck_assert_int_eq(pm_store_seen(st, &a, &seen, &err), PM_OK);
  ck_assert(seen);
  ck_assert_int_eq(pm_store_seen(st, &b, &seen, &err), PM_OK);
  ck_assert(!seen);
  ck_assert_int_eq(pm_store_mark_seen(st, &b, 2, 0, &err), PM_OK);
  ck_assert_int_eq(pm_store_count_seen(st, &n, &err), PM_OK);
  ck_assert_int_eq(n, 2);
  pm_store_close(st);
}
END_TEST

START_TEST(test_senders) {
  pm_store *st = create_ok();
  pm_error err;
  const char *addrs[] = {"zed@x.example", "alice@x.example", "Bob@x.example",
                         "\xc3\xa9ve@x.example", "alice@x.example2"};
  int64_t ids[5];
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(pm_store_sender_id(st, addrs[i], true, &ids[i], &err),
                     PM_OK);
  int64_t again = 0;
  ck_assert_int_eq(pm_store_sender_id(st, "zed@x.example", true, &again, &err),
                   PM_OK);
  ck_assert_int_eq(again, ids[0]);
  ck_assert_int_ne(ids[0], ids[1]);
  ck_assert_int_eq(
      pm_store_sender_id(st, "nobody@x.example", false, &again, &err),
      PM_NOTFOUND);
  ck_assert_ptr_nonnull(strstr(err.msg, "acme.db"));
  ck_assert_int_eq(pm_store_sender_id(st, "", true, &again, &err), PM_INVAL);

  pm_store_sender s = {.id = ids[1],
                       .address = "ignored",
                       .mails = 42,
                       .first_date = 1600000000,
                       .last_date = 1700000000,
                       .last_trained = 1710000000,
                       .ready = true};
  ck_assert_int_eq(pm_store_sender_update(st, &s, &err), PM_OK);
  s.id = 9999;
  ck_assert_int_eq(pm_store_sender_update(st, &s, &err), PM_NOTFOUND);

  pm_store_sender got;
  ck_assert_int_eq(pm_store_sender_get(st, "alice@x.example", &got, &err),
                   PM_OK);
  ck_assert_int_eq(got.id, ids[1]);
  ck_assert_str_eq(got.address, "alice@x.example");
  ck_assert_int_eq(got.mails, 42);
  ck_assert_int_eq(got.first_date, 1600000000);
  ck_assert_int_eq(got.last_date, 1700000000);
  ck_assert_int_eq(got.last_trained, 1710000000);
  ck_assert(got.ready);
  free(got.address);
  ck_assert_int_eq(pm_store_sender_get(st, "nobody@x.example", &got, &err),
                   PM_NOTFOUND);
  ck_assert_ptr_null(got.address);

  pm_store_sender *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(pm_store_senders(st, &list, &n, &err), PM_OK);
  ck_assert_uint_eq(n, 5);
  /* Byte order: 'B' < 'a', and UTF-8 lead bytes after ASCII. */
  const char *want[] = {"Bob@x.example", "alice@x.example", "alice@x.example2",
                        "zed@x.example", "\xc3\xa9ve@x.example"};
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(list[i].address, want[i]);
  ck_assert_int_eq(list[1].mails, 42);
  ck_assert(!list[0].ready);
  pm_store_senders_free(list, n);
  pm_store_senders_free(NULL, 0);
  pm_store_close(st);
}
END_TEST

typedef struct {
  int64_t owners[8];
  size_t lens[8];
  int n, stop_at;
  pm_error *err; /* set by the callback when not NULL */
} walk_ctx;

static int collect(int64_t owner, const void *data, size_t len, void *ctx) {
  walk_ctx *w = ctx;
  ck_assert_ptr_nonnull(data);
  w->owners[w->n] = owner;
  w->lens[w->n] = len;
  if (++w->n == w->stop_at) {
    if (w->err)
      pm_error_set(w->err, PM_NOMEM, "callback ran out");
    return 7;
  }
  return 0;
}

START_TEST(test_blobs) {
  pm_store *st = create_ok();
  pm_error err;
  float one[4] = {1.0f, 2.0f, -3.5f, 1e-9f};
  unsigned char big[70000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (unsigned char)(i * 31 + 7);
  void *data = NULL;
  size_t len = 0;
  ck_assert_int_eq(pm_store_get(st, "stats", 3, &data, &len, &err),
                   PM_NOTFOUND);
  ck_assert_ptr_nonnull(strstr(err.msg, "acme.db"));
  ck_assert_int_eq(pm_store_put(st, "stats", 3, one, sizeof one, &err), PM_OK);
  ck_assert_int_eq(pm_store_get(st, "stats", 3, &data, &len, &err), PM_OK);
  ck_assert_uint_eq(len, sizeof one);
  ck_assert_int_eq(memcmp(data, one, len), 0);
  free(data);
  /* put replaces, whatever the size. */
  ck_assert_int_eq(pm_store_put(st, "stats", 3, big, sizeof big, &err), PM_OK);
  ck_assert_int_eq(pm_store_get(st, "stats", 3, &data, &len, &err), PM_OK);
  ck_assert_uint_eq(len, sizeof big);
  ck_assert_int_eq(memcmp(data, big, len), 0);
  free(data);
  /* Empty blobs are blobs. */
  ck_assert_int_eq(pm_store_put(st, "model", 0, NULL, 0, &err), PM_OK);
  ck_assert_int_eq(pm_store_get(st, "model", 0, &data, &len, &err), PM_OK);
  ck_assert_uint_eq(len, 0);
  ck_assert_ptr_nonnull(data);
  free(data);
  ck_assert_int_eq(pm_store_put(st, "model", 1, NULL, 4, &err), PM_INVAL);
  ck_assert_int_eq(pm_store_put(st, "", 1, one, 4, &err), PM_INVAL);
  ck_assert_int_eq(pm_store_put(st, "a b", 1, one, 4, &err), PM_INVAL);
  ck_assert_int_eq(pm_store_get(st, "x'y", 1, &data, &len, &err), PM_INVAL);

  ck_assert_int_eq(pm_store_delete(st, "stats", 3, &err), PM_OK);
  ck_assert_int_eq(pm_store_get(st, "stats", 3, &data, &len, &err),
                   PM_NOTFOUND);
  ck_assert_int_eq(pm_store_delete(st, "stats", 3, &err), PM_OK);

  /* each: owner order, one kind only. */
  int64_t owners[] = {5, -1, 3, 0};
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(
        pm_store_put(st, "stats", owners[i], one, (size_t)(i + 1), &err),
        PM_OK);
  walk_ctx w = {.stop_at = -1};
  ck_assert_int_eq(pm_store_each(st, "stats", collect, &w, &err), PM_OK);
  ck_assert_int_eq(w.n, 4);
  int64_t want[] = {-1, 0, 3, 5};
  size_t want_len[] = {2, 4, 3, 1};
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(w.owners[i], want[i]);
    ck_assert_uint_eq(w.lens[i], want_len[i]);
  }
  memset(&w, 0, sizeof w);
  w.stop_at = -1;
  ck_assert_int_eq(pm_store_each(st, "none", collect, &w, &err), PM_OK);
  ck_assert_int_eq(w.n, 0);
  /* A callback that stops: PM_INTERNAL, or its own error. */
  memset(&w, 0, sizeof w);
  w.stop_at = 2;
  ck_assert_int_eq(pm_store_each(st, "stats", collect, &w, &err), PM_INTERNAL);
  ck_assert_int_eq(w.n, 2);
  memset(&w, 0, sizeof w);
  w.stop_at = 1;
  w.err = &err;
  ck_assert_int_eq(pm_store_each(st, "stats", collect, &w, &err), PM_NOMEM);
  ck_assert_str_eq(err.msg, "callback ran out");
  /* The walk let go of its statement: writes still work. */
  ck_assert_int_eq(pm_store_put(st, "stats", 9, one, 4, &err), PM_OK);
  pm_store_close(st);
}
END_TEST

START_TEST(test_meta) {
  pm_store *st = create_ok();
  pm_error err;
  char *v = NULL;
  ck_assert_int_eq(pm_store_meta_get(st, "trained_until", &v, &err),
                   PM_NOTFOUND);
  ck_assert_ptr_null(v);
  ck_assert_int_eq(pm_store_meta_set(st, "trained_until", "1700000000", &err),
                   PM_OK);
  ck_assert_int_eq(pm_store_meta_set(st, "trained_until", "1800000000", &err),
                   PM_OK);
  ck_assert_int_eq(pm_store_meta_get(st, "trained_until", &v, &err), PM_OK);
  ck_assert_str_eq(v, "1800000000");
  free(v);
  /* What the file says about itself is written once. */
  ck_assert_int_eq(pm_store_meta_set(st, "config_hash", "0", &err), PM_INVAL);
  ck_assert_int_eq(pm_store_meta_set(st, "config_json", "{}", &err), PM_INVAL);
  ck_assert_int_eq(pm_store_meta_set(st, "", "x", &err), PM_INVAL);
  pm_store_close(st);
}
END_TEST

/* ---- refusing what is not ours ---- */

START_TEST(test_config_mismatch) {
  pm_store_close(create_ok());
  char *path = in_dir(dir, "acme.db");
  size_t n0, n1;
  char *before = pm_test_read_file(path, &n0);
  pm_store *st = (pm_store *)1;
  pm_error err;
  unsigned modes[] = {PM_STORE_READ, PM_STORE_WRITE,
                      PM_STORE_WRITE | PM_STORE_CREATE};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(
        pm_store_open(dir, "acme", modes[i], CONFIG2, HASH2, &st, &err),
        PM_MISMATCH);
    ck_assert_ptr_null(st);
    const char *m = err.msg;
    ck_assert_msg(strstr(m, path) && strstr(m, "1a2b3c4d5e6f7081 vs "
                                               "3c4d5e6f70819203"),
                  "%s", m);
    ck_assert_msg(strstr(m, "dim 16384 vs 4096"), "%s", m);
    ck_assert_msg(strstr(m, "families.word_ngrams true vs false"), "%s", m);
    ck_assert_msg(strstr(m, "seed 7 vs (absent)"), "%s", m);
    ck_assert_msg(strstr(m, "lang (absent) vs \"ja\""), "%s", m);
    ck_assert_msg(!strstr(m, "char_ngrams"), "%s", m);
  }
  char *after = pm_test_read_file(path, &n1);
  ck_assert_uint_eq(n0, n1);
  ck_assert_int_eq(memcmp(before, after, n0), 0);
  free(before);
  free(after);

  /* NULL accepts what the store holds; the hash decides, not the text. */
  st = NULL;
  ck_assert_int_eq(
      pm_store_open(dir, "acme", PM_STORE_READ, NULL, 0, &st, &err), PM_OK);
  ck_assert_str_eq(pm_store_config_json(st), CONFIG);
  ck_assert(pm_store_config_hash(st) == HASH);
  pm_store_close(st);
  ck_assert_int_eq(
      pm_store_open(dir, "acme", PM_STORE_WRITE, "{\"x\":1}", HASH, &st, &err),
      PM_OK);
  pm_store_close(st);
  /* Unparseable JSON still gives a message with both hashes. */
  ck_assert_int_eq(
      pm_store_open(dir, "acme", PM_STORE_READ, "{oops", HASH2, &st, &err),
      PM_MISMATCH);
  ck_assert_ptr_nonnull(strstr(err.msg, "could not be compared"));
  free(path);
}
END_TEST

/* Opening `path` (as tenant acme) in every mode fails with `want`, the
 * message holds `needle`, and the directory is byte-for-byte unchanged. */
static void refused_untouched(const char *path, pm_status want,
                              const char *needle) {
  size_t n0, n1;
  char *before = pm_test_read_file(path, &n0);
  int entries = pm_test_count_entries(dir);
  unsigned modes[] = {PM_STORE_READ, PM_STORE_WRITE,
                      PM_STORE_WRITE | PM_STORE_CREATE};
  for (int i = 0; i < 3; i++) {
    pm_store *st = (pm_store *)1;
    pm_error err;
    ck_assert_int_eq(
        pm_store_open(dir, "acme", modes[i], CONFIG, HASH, &st, &err), want);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, needle),
                  "message: %s", err.msg);
  }
  char *after = pm_test_read_file(path, &n1);
  ck_assert_uint_eq(n0, n1);
  ck_assert_int_eq(memcmp(before, after, n0), 0);
  ck_assert_int_eq(pm_test_count_entries(dir), entries);
  free(before);
  free(after);
}

START_TEST(test_not_sqlite) {
  char *path = in_dir(dir, "acme.db");
  unsigned char junk[8192];
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof junk; i++) {
    x = x * 1103515245u + 12345u;
    junk[i] = (unsigned char)(x >> 16);
  }
  pm_test_write_file(path, junk, sizeof junk);
  refused_untouched(path, PM_CORRUPT, "file is not a database");
  refused_untouched(path, PM_CORRUPT, "not a penmark store");
  /* An empty file is an empty SQLite database to SQLite: still not ours. */
  pm_test_write_file(path, "", 0);
  refused_untouched(path, PM_CORRUPT, "not a penmark store");
  /* Text, as a typo'd path might name. */
  const char *text = "From: ceo@acme.example\n\nPlease wire the money.\n";
  pm_test_write_file(path, text, strlen(text));
  refused_untouched(path, PM_CORRUPT, "not a penmark store");
  free(path);
}
END_TEST

static void exec_ok(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}

START_TEST(test_foreign_sqlite) {
  char *path = in_dir(dir, "acme.db");
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  exec_ok(db, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hi')");
  sqlite3_close(db);
  refused_untouched(path, PM_CORRUPT, "not a penmark store");
  ck_assert_int_eq(unlink(path), 0);

  /* A foreign WAL database whose WAL still holds commits: a writable
   * connection would checkpoint them into the file on close. */
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  exec_ok(db, "PRAGMA journal_mode = WAL; CREATE TABLE t (x);"
              "PRAGMA wal_autocheckpoint = 0;"
              "INSERT INTO t VALUES (randomblob(10000))");
  int persist = 1;
  sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
  sqlite3_close(db);
  char *wal = in_dir(dir, "acme.db-wal");
  ck_assert(exists(wal));
  size_t n0, n1;
  char *before = pm_test_read_file(wal, &n0);
  ck_assert_uint_gt(n0, 0);
  refused_untouched(path, PM_CORRUPT, "application_id is 0x00000000");
  char *after = pm_test_read_file(wal, &n1);
  ck_assert_uint_eq(n0, n1);
  ck_assert_int_eq(memcmp(before, after, n0), 0);
  free(before);
  free(after);
  free(wal);
  pm_test_rmtree(dir);
  ck_assert_int_eq(mkdir(dir, 0700), 0);

  /* Our application id, but not our tables. */
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  exec_ok(db, "PRAGMA application_id = 1347244619; PRAGMA user_version = 1;"
              "CREATE TABLE meta (key, value)");
  sqlite3_close(db);
  refused_untouched(path, PM_CORRUPT, "table senders is missing");
  ck_assert_int_eq(unlink(path), 0);

  /* A store of a newer schema. */
  pm_store_close(create_ok());
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  exec_ok(db, "PRAGMA user_version = 2");
  sqlite3_close(db);
  refused_untouched(path, PM_MISMATCH, "schema version 2, newer");
  free(path);
}
END_TEST

START_TEST(test_verify_corrupt) {
  pm_store *st = create_ok();
  pm_error err;
  unsigned char blob[3000];
  memset(blob, 0x5a, sizeof blob);
  for (int i = 0; i < 100; i++)
    ck_assert_int_eq(pm_store_put(st, "stats", i, blob, sizeof blob, &err),
                     PM_OK);
  ck_assert_int_eq(pm_store_verify(st, &err), PM_OK);
  pm_store_close(st);
  /* Trash the pages after the schema, meta and senders roots. */
  char *path = in_dir(dir, "acme.db");
  size_t n;
  char *bytes = pm_test_read_file(path, &n);
  ck_assert_uint_gt(n, 40 * 4096);
  for (size_t i = 8 * 4096; i < n - 4096; i++)
    bytes[i] = (char)(i * 7 + 3);
  pm_test_write_file(path, bytes, n);
  free(bytes);
  pm_status s =
      pm_store_open(dir, "acme", PM_STORE_READ, CONFIG, HASH, &st, &err);
  if (s == PM_OK) {
    s = pm_store_verify(st, &err);
    pm_store_close(st);
  }
  ck_assert_int_eq(s, PM_CORRUPT);
  ck_assert_msg(strstr(err.msg, path) != NULL, "%s", err.msg);
  free(path);
}
END_TEST

/* ---- transactions and crashes ---- */

START_TEST(test_rollback) {
  pm_store *st = create_ok();
  pm_error err;
  pm_fingerprint fp = fp_of(7);
  float x = 1.5f;
  int64_t id;
  ck_assert_int_eq(pm_store_commit(st, &err), PM_INVAL);
  ck_assert_int_eq(pm_store_begin(st, &err), PM_OK);
  ck_assert_int_eq(pm_store_begin(st, &err), PM_INVAL);
  ck_assert_int_eq(pm_store_sender_id(st, "a@x.example", true, &id, &err),
                   PM_OK);
  ck_assert_int_eq(pm_store_mark_seen(st, &fp, id, 0, &err), PM_OK);
  ck_assert_int_eq(pm_store_put(st, "stats", id, &x, sizeof x, &err), PM_OK);
  ck_assert_int_eq(pm_store_meta_set(st, "k", "v", &err), PM_OK);
  pm_store_rollback(st);
  pm_store_rollback(st); /* no transaction: nothing to do */

  bool seen = true;
  int64_t n = -1;
  void *data;
  size_t len;
  char *v;
  ck_assert_int_eq(pm_store_sender_id(st, "a@x.example", false, &id, &err),
                   PM_NOTFOUND);
  ck_assert_int_eq(pm_store_seen(st, &fp, &seen, &err), PM_OK);
  ck_assert(!seen);
  ck_assert_int_eq(pm_store_count_seen(st, &n, &err), PM_OK);
  ck_assert_int_eq(n, 0);
  ck_assert_int_eq(pm_store_get(st, "stats", 1, &data, &len, &err),
                   PM_NOTFOUND);
  ck_assert_int_eq(pm_store_meta_get(st, "k", &v, &err), PM_NOTFOUND);

  /* Close with an open transaction rolls it back. */
  ck_assert_int_eq(pm_store_begin(st, &err), PM_OK);
  ck_assert_int_eq(pm_store_mark_seen(st, &fp, 1, 0, &err), PM_OK);
  pm_store_close(st);
  st = open_ok(dir, PM_STORE_READ);
  ck_assert_int_eq(pm_store_seen(st, &fp, &seen, &err), PM_OK);
  ck_assert(!seen);
  pm_store_close(st);
}
END_TEST

#define CRASH_ROWS 3000

enum { DIE_KILL, DIE_EXIT, COMMIT_THEN_KILL };

/* Exit or wait for the parent's SIGKILL. Under valgrind, _exit would run a
 * leak check over the connection this "crash" leaves open on purpose (and
 * so would raise(): valgrind intercepts it); a kill from outside ends the
 * child the same way for the store, with no cleanup, and no report. */
static bool child_exits(int how) {
  return how == DIE_EXIT && !RUNNING_ON_VALGRIND;
}

/* In a child process: writes CRASH_ROWS fingerprints and 4 KB blobs (more
 * than SQLite's page cache, so uncommitted pages reach the WAL), tells the
 * parent through fd, then dies as told. No Check calls: this is not the
 * test process. */
static void crash_child(int fd, int how, unsigned base, const char *kind) {
  pm_store *st = NULL;
  char ok = 'E';
  if (pm_store_open(dir, "acme", PM_STORE_WRITE, CONFIG, HASH, &st, NULL) !=
          PM_OK ||
      pm_store_begin(st, NULL) != PM_OK)
    goto tell;
  unsigned char blob[4096];
  for (unsigned i = 0; i < CRASH_ROWS; i++) {
    pm_fingerprint fp = fp_of(base + i);
    memset(blob, (int)(i & 0xff), sizeof blob);
    if (pm_store_mark_seen(st, &fp, 1, i, NULL) != PM_OK ||
        pm_store_put(st, kind, (int64_t)i, blob, sizeof blob, NULL) != PM_OK)
      goto tell;
  }
  if (how == COMMIT_THEN_KILL && pm_store_commit(st, NULL) != PM_OK)
    goto tell;
  ok = 'K';
tell:
  if (write(fd, &ok, 1) != 1 || child_exits(how))
    _exit(0);
  for (;;)
    pause();
}

static void run_crash(int how, unsigned base, const char *kind) {
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    crash_child(fds[1], how, base, kind);
  }
  close(fds[1]);
  char got = 0;
  ssize_t n = read(fds[0], &got, 1);
  close(fds[0]);
  if (!child_exits(how))
    kill(pid, SIGKILL);
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_int_eq(n, 1);
  ck_assert_int_eq(got, 'K');
  if (child_exits(how))
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  else
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

START_TEST(test_crash_safety) {
  pm_store *st = create_ok();
  pm_error err;
  ck_assert_int_eq(pm_store_put(st, "before", 1, "x", 1, &err), PM_OK);
  pm_store_close(st); /* never carry a connection across fork() */

  run_crash(DIE_KILL, 100000, "lost");
  run_crash(COMMIT_THEN_KILL, 200000, "kept");
  run_crash(DIE_EXIT, 300000, "lost2");

  st = open_ok(dir, PM_STORE_WRITE);
  ck_assert_int_eq(pm_store_verify(st, &err), PM_OK);
  int64_t n = 0;
  ck_assert_int_eq(pm_store_count_seen(st, &n, &err), PM_OK);
  ck_assert_int_eq(n, CRASH_ROWS);
  bool seen;
  pm_fingerprint fp = fp_of(100000 + 5);
  ck_assert_int_eq(pm_store_seen(st, &fp, &seen, &err), PM_OK);
  ck_assert(!seen);
  fp = fp_of(300000 + CRASH_ROWS - 1);
  ck_assert_int_eq(pm_store_seen(st, &fp, &seen, &err), PM_OK);
  ck_assert(!seen);
  fp = fp_of(200000 + CRASH_ROWS - 1);
  ck_assert_int_eq(pm_store_seen(st, &fp, &seen, &err), PM_OK);
  ck_assert(seen);
  void *data;
  size_t len;
  ck_assert_int_eq(pm_store_get(st, "lost", 0, &data, &len, &err), PM_NOTFOUND);
  ck_assert_int_eq(pm_store_get(st, "lost2", 7, &data, &len, &err),
                   PM_NOTFOUND);
  ck_assert_int_eq(pm_store_get(st, "kept", CRASH_ROWS - 1, &data, &len, &err),
                   PM_OK);
  ck_assert_uint_eq(len, 4096);
  ck_assert_int_eq(((unsigned char *)data)[4095], (CRASH_ROWS - 1) & 0xff);
  free(data);
  ck_assert_int_eq(pm_store_get(st, "before", 1, &data, &len, &err), PM_OK);
  free(data);
  /* And the store takes writes again. */
  ck_assert_int_eq(pm_store_begin(st, &err), PM_OK);
  ck_assert_int_eq(pm_store_put(st, "after", 1, "y", 1, &err), PM_OK);
  ck_assert_int_eq(pm_store_commit(st, &err), PM_OK);
  pm_store_close(st);
}
END_TEST

START_TEST(test_busy) {
  pm_store *a = create_ok(), *b = open_ok(dir, PM_STORE_WRITE);
  pm_error err;
  ck_assert_int_eq(pm_store_begin(a, &err), PM_OK);
  ck_assert_int_eq(pm_store_begin(b, &err), PM_BUSY);
  ck_assert_ptr_nonnull(strstr(err.msg, "acme.db"));
  ck_assert_ptr_nonnull(strstr(err.msg, "busy"));
  pm_store_close(a);
  ck_assert_int_eq(pm_store_begin(b, &err), PM_OK);
  pm_store_close(b);
}
END_TEST

/* ---- change detection ---- */

static bool changed(pm_store *st) {
  bool c = true;
  pm_error err;
  ck_assert_int_eq(pm_store_changed(st, &c, &err), PM_OK);
  return c;
}

START_TEST(test_changed) {
  pm_store *w = create_ok();
  pm_store *r = open_ok(dir, PM_STORE_READ);
  pm_error err;
  ck_assert(!changed(r));
  ck_assert(!changed(r));
  /* Uncommitted writes are not a change; the commit is, once. */
  ck_assert_int_eq(pm_store_begin(w, &err), PM_OK);
  ck_assert_int_eq(pm_store_put(w, "model", 0, "m", 1, &err), PM_OK);
  ck_assert(!changed(r));
  ck_assert_int_eq(pm_store_commit(w, &err), PM_OK);
  ck_assert(changed(r));
  ck_assert(!changed(r));
  ck_assert(!changed(w)); /* its own commit is not news to the writer */
  ck_assert_int_eq(pm_store_meta_set(w, "k", "v", &err), PM_OK);
  ck_assert(changed(r));
  pm_store_close(w);
  ck_assert(!changed(r));

  /* A new file renamed over the path. */
  char *other = in_dir(dir, "next");
  ck_assert_int_eq(mkdir(other, 0750), 0);
  pm_store *n = open_ok(other, PM_STORE_WRITE | PM_STORE_CREATE);
  pm_store_close(n);
  char *from = in_dir(other, "acme.db"), *to = in_dir(dir, "acme.db");
  ck_assert_int_eq(rename(from, to), 0);
  ck_assert(changed(r));
  ck_assert(changed(r)); /* stays true: r still reads the old file */
  pm_store_close(r);
  r = open_ok(dir, PM_STORE_READ);
  ck_assert(!changed(r));
  /* A removed file is a change too. */
  ck_assert_int_eq(unlink(to), 0);
  ck_assert(changed(r));
  pm_store_close(r);
  free(from);
  free(to);
  free(other);
}
END_TEST

START_TEST(test_read_only) {
  pm_store_close(create_ok());
  pm_store *st = open_ok(dir, PM_STORE_READ);
  pm_error err;
  pm_fingerprint fp = fp_of(1);
  pm_store_sender s = {.id = 1};
  int64_t id;
  ck_assert_int_eq(pm_store_put(st, "stats", 1, "x", 1, &err), PM_INVAL);
  ck_assert_msg(strstr(err.msg, "acme.db is open read-only: cannot write a "
                                "blob"),
                "%s", err.msg);
  ck_assert_int_eq(pm_store_begin(st, &err), PM_INVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "read-only"));
  ck_assert_int_eq(pm_store_mark_seen(st, &fp, 1, 0, &err), PM_INVAL);
  ck_assert_int_eq(pm_store_sender_id(st, "a@x.example", true, &id, &err),
                   PM_INVAL);
  ck_assert_int_eq(pm_store_sender_update(st, &s, &err), PM_INVAL);
  ck_assert_int_eq(pm_store_delete(st, "stats", 1, &err), PM_INVAL);
  ck_assert_int_eq(pm_store_meta_set(st, "k", "v", &err), PM_INVAL);
  /* Reads work. */
  bool seen = true;
  ck_assert_int_eq(pm_store_seen(st, &fp, &seen, &err), PM_OK);
  ck_assert(!seen);
  ck_assert_int_eq(pm_store_sender_id(st, "a@x.example", false, &id, &err),
                   PM_NOTFOUND);
  pm_store_close(st);
}
END_TEST

/* ---- what the file holds ---- */

typedef struct {
  char **v;
  size_t n;
} strings;

static void strings_add(strings *l, const char *s) {
  l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
  ck_assert_ptr_nonnull(l->v);
  l->v[l->n] = strdup(s);
  ck_assert_ptr_nonnull(l->v[l->n]);
  l->n++;
}

static void strings_free(strings *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
}

/* Every text the file may legitimately hold: its schema, meta, addresses
 * and blob kinds, read back through SQLite. */
static strings allowed_text(const char *path) {
  strings l = {0};
  strings_add(&l, "SQLite format 3");
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  const char *q[] = {"SELECT type, name, tbl_name, sql FROM sqlite_schema",
                     "SELECT key, value FROM meta",
                     "SELECT address FROM senders",
                     "SELECT DISTINCT kind FROM blobs"};
  for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, q[i], -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW)
      for (int c = 0; c < sqlite3_column_count(s); c++)
        if (sqlite3_column_type(s, c) == SQLITE_TEXT)
          strings_add(&l, (const char *)sqlite3_column_text(s, c));
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return l;
}

static bool printable(unsigned char c) {
  return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t';
}

/* Runs of 12 or more printable bytes left in buf once every allowed text is
 * blanked out (longest first); what remains between them is SQLite's
 * record headers and numbers, never that long. */
static int unknown_text(const char *buf, size_t n, strings *allowed,
                        bool report) {
  char *copy = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(copy);
  memcpy(copy, buf, n);
  for (size_t pass = 0; pass < allowed->n; pass++) {
    size_t best = 0, blen = 0;
    for (size_t i = 0; i < allowed->n; i++)
      if (allowed->v[i] && strlen(allowed->v[i]) > blen)
        blen = strlen(allowed->v[best = i]);
    if (!blen)
      break;
    char *at;
    while ((at = memmem(copy, n, allowed->v[best], blen)))
      memset(at, 0, blen);
    free(allowed->v[best]);
    allowed->v[best] = NULL;
  }
  int bad = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && printable((unsigned char)copy[j]))
      j++;
    if (j - i >= 12 && report)
      fprintf(stderr, "unexpected text in store: %.*s\n", (int)(j - i),
              copy + i);
    bad += j - i >= 12;
    i = j + 1;
  }
  free(copy);
  return bad;
}

/* ---- copying and publishing (penmark train-all) ---- */

static char *journal_mode(const char *path) {
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  sqlite3_stmt *q = NULL;
  ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
  char *m = strdup((const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  sqlite3_close(db);
  return m;
}

START_TEST(test_copy_publish) {
  pm_error err;
  pm_store *st = create_ok();
  ck_assert_int_eq(pm_store_begin(st, &err), PM_OK);
  ck_assert_int_eq(pm_store_put(st, "model", 0, "version-1", 9, &err), PM_OK);
  ck_assert_int_eq(pm_store_commit(st, &err), PM_OK);
  /* a copy while the writer still holds the store open, WAL and all */
  char *scratch = in_dir(dir, "scratch"), *serve = in_dir(dir, "serve");
  ck_assert_int_eq(mkdir(scratch, 0700), 0);
  ck_assert_int_eq(pm_store_copy(dir, scratch, "acme", &err), PM_OK);
  ck_assert_int_eq(pm_store_copy(dir, scratch, "nobody", &err), PM_NOTFOUND);
  pm_store_close(st);
  /* the copy is a store of its own, with the committed blob */
  st = open_ok(scratch, PM_STORE_WRITE);
  void *blob = NULL;
  size_t len = 0;
  ck_assert_int_eq(pm_store_get(st, "model", 0, &blob, &len, &err), PM_OK);
  ck_assert(len == 9 && memcmp(blob, "version-1", 9) == 0);
  free(blob);
  ck_assert_int_eq(pm_store_begin(st, &err), PM_OK);
  ck_assert_int_eq(pm_store_put(st, "model", 0, "version-2", 9, &err), PM_OK);
  ck_assert_int_eq(pm_store_commit(st, &err), PM_OK);
  /* still open here: WAL mode cannot be left, nothing is published */
  uint64_t bytes = 0;
  ck_assert_int_ne(pm_store_publish(scratch, serve, "acme", &bytes, &err),
                   PM_OK);
  char *pub = in_dir(serve, "acme.db");
  ck_assert(!exists(pub));
  pm_store_close(st);
  ck_assert_int_eq(pm_store_publish(scratch, serve, "acme", &bytes, &err),
                   PM_OK);
  struct stat sb;
  ck_assert_int_eq(stat(pub, &sb), 0);
  ck_assert_uint_eq(bytes, (uint64_t)sb.st_size);
  ck_assert_int_eq(sb.st_mode & 0777, 0640);
  char *wal = in_dir(serve, "acme.db-wal");
  ck_assert(!exists(wal));
  char *mode = journal_mode(pub);
  ck_assert_str_eq(mode, "delete");
  free(mode);
  /* only the store is left in the serving directory */
  ck_assert_int_eq(pm_test_count_entries(serve), 1);
  st = open_ok(serve, PM_STORE_READ);
  ck_assert_int_eq(pm_store_get(st, "model", 0, &blob, &len, &err), PM_OK);
  ck_assert(len == 9 && memcmp(blob, "version-2", 9) == 0);
  free(blob);
  pm_store_close(st);
  /* a file that is not a store is never published */
  char *junk = in_dir(scratch, "junk.db");
  pm_test_write_file(junk, "not a database", 14);
  ck_assert_int_ne(pm_store_publish(scratch, serve, "junk", NULL, &err), PM_OK);
  char *pjunk = in_dir(serve, "junk.db");
  ck_assert(!exists(pjunk));
  free(pjunk);
  free(junk);
  free(wal);
  free(pub);
  free(scratch);
  free(serve);
}
END_TEST

START_TEST(test_no_text_leak) {
  pm_store *st = create_ok();
  pm_error err;
  const char *secret = "Dear Alice, please wire 250,000 EUR to the account "
                       "below before Friday. Regards, Bob";
  int64_t id = 0;
  ck_assert_int_eq(
      pm_store_sender_id(st, "bob.ceo@acme.example", true, &id, &err), PM_OK);
  ck_assert_int_eq(pm_store_begin(st, &err), PM_OK);
  /* Text that once was in a blob, then was replaced or deleted, must not be
   * readable from the file afterwards. */
  ck_assert_int_eq(pm_store_put(st, "draft", id, secret, strlen(secret), &err),
                   PM_OK);
  ck_assert_int_eq(pm_store_put(st, "old", id, secret, strlen(secret), &err),
                   PM_OK);
  ck_assert_int_eq(pm_store_commit(st, &err), PM_OK);
  float stats[4096];
  for (size_t i = 0; i < 4096; i++)
    stats[i] = (float)(i % 1000) * 0.25f;
  ck_assert_int_eq(pm_store_put(st, "draft", id, stats, sizeof stats, &err),
                   PM_OK);
  ck_assert_int_eq(pm_store_delete(st, "old", id, &err), PM_OK);
  for (unsigned i = 0; i < 200; i++) {
    pm_fingerprint fp = fp_of(i);
    ck_assert_int_eq(pm_store_mark_seen(st, &fp, id, 1700000000 + i, &err),
                     PM_OK);
  }
  pm_store_sender s = {.id = id, .mails = 200, .ready = true};
  ck_assert_int_eq(pm_store_sender_update(st, &s, &err), PM_OK);
  ck_assert_int_eq(pm_store_meta_set(st, "trained_until", "1700000199", &err),
                   PM_OK);
  pm_store_close(st);

  char *path = in_dir(dir, "acme.db"), *wal = in_dir(dir, "acme.db-wal");
  ck_assert(!exists(wal)); /* checkpointed into the file and removed */
  size_t n;
  char *bytes = pm_test_read_file(path, &n);
  ck_assert_ptr_null(memmem(bytes, n, "wire 250,000", 12));
  ck_assert_ptr_null(memmem(bytes, n, "Dear Alice", 10));
  strings allowed = allowed_text(path);
  ck_assert_int_eq(unknown_text(bytes, n, &allowed, true), 0);
  strings_free(&allowed);
  /* The checker itself sees text it was not told about. */
  allowed = allowed_text(path);
  ck_assert_int_eq(unknown_text(secret, strlen(secret), &allowed, false), 1);
  strings_free(&allowed);
  ck_assert_ptr_nonnull(memmem(bytes, n, "bob.ceo@acme.example", 20));
  free(bytes);
  free(path);
  free(wal);
}
END_TEST

/* DIR/NAME.db back into DIR and NAME, as pm_store_path joins them. */
static void expect_split(const char *path, const char *want_dir,
                         const char *want_name) {
  char *d = NULL, *n = NULL;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_msg(pm_store_path_split(path, &d, &n, &err) == PM_OK, "%s: %s",
                path, pm_error_message(&err));
  ck_assert_str_eq(d, want_dir);
  ck_assert_str_eq(n, want_name);
  free(d);
  free(n);
}

START_TEST(test_path_split) {
  expect_split("models/acme.db", "models", "acme");
  expect_split("/var/lib/penmark/bg.db", "/var/lib/penmark", "bg");
  expect_split("acme.db", ".", "acme");
  expect_split("/acme.db", "/", "acme");
  char *joined = pm_store_path("models", "acme");
  expect_split(joined, "models", "acme");
  free(joined);
  const char *bad[] = {"acme", "acme.sqlite", ".db", "models/.db", "models/"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *d = NULL, *n = NULL;
    pm_error err;
    pm_error_clear(&err);
    ck_assert_msg(pm_store_path_split(bad[i], &d, &n, &err) == PM_INVAL,
                  "%s accepted", bad[i]);
    ck_assert_msg(strstr(pm_error_message(&err), bad[i]) != NULL,
                  "the message does not name %s: %s", bad[i],
                  pm_error_message(&err));
    free(d);
    free(n);
  }
}
END_TEST

static Suite *store_suite(void) {
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("store");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_tenant_names);
  tcase_add_test(tc, test_path_split);
  tcase_add_test(tc, test_create_reopen);
  tcase_add_test(tc, test_fingerprints);
  tcase_add_test(tc, test_senders);
  tcase_add_test(tc, test_blobs);
  tcase_add_test(tc, test_meta);
  tcase_add_test(tc, test_config_mismatch);
  tcase_add_test(tc, test_not_sqlite);
  tcase_add_test(tc, test_foreign_sqlite);
  tcase_add_test(tc, test_verify_corrupt);
  tcase_add_test(tc, test_rollback);
  tcase_add_test(tc, test_crash_safety);
  tcase_add_test(tc, test_busy);
  tcase_add_test(tc, test_changed);
  tcase_add_test(tc, test_read_only);
  tcase_add_test(tc, test_no_text_leak);
  tcase_add_test(tc, test_copy_publish);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(store_suite()) != 0;
}
