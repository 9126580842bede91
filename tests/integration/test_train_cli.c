/* `penmark train`, `penmark score` and `penmark inspect`, the real command:
 * JSON output, exit codes and messages, and crash safety (a training run
 * killed with SIGKILL at several moments leaves a whole store, and the next
 * run ends where a clean run ends). No timing is asserted: the kill moments
 * only spread the kills over the run, whatever point each one reaches. */
#include "penmark/penmark.h"
#include "penmark/score.h"

#include "train/gram.h"
#include "penmark/model.h"

#include "tests/support.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Short hashed slices: cheap batches and profiles for the crash runs. */
#define SMALL_CONFIG                                                           \
  "{\"families\":{\"char_ngrams\":{\"dim\":256},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64}}}\n"

#define CRASH_SENDERS 20
#define CRASH_PER_SENDER 150 /* 3,000 mails */
#define CRASH_BATCH "60"

/* ---- helpers ---- */

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Runs a formatted command: exit status, stdout and stderr (malloc'd). */
static cJSON *parse_json(const char *text) {
  cJSON *j = cJSON_Parse(text);
  ck_assert_msg(j != NULL, "not JSON: %.400s", text);
  return j;
}

static double num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  ck_assert_msg(cJSON_IsNumber(v), "\"%s\" is not a number", key);
  return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  ck_assert_msg(cJSON_IsString(v), "\"%s\" is not a string", key);
  return v->valuestring;
}

static size_t corpus_files(void) {
  char *out = NULL;
  int rc = pm_test_runf(&out, NULL,
                        "find '%s/sample/corpus' -type f -name '*.eml' | wc -l",
                        pm_test_data_dir());
  ck_assert_int_eq(rc, 0);
  size_t n = (size_t)strtoul(out, NULL, 10);
  free(out);
  ck_assert_uint_gt(n, 200);
  return n;
}

/* ---- the sample tenant, trained once by the command (in the parent) ---- */

static char *root;  /* temporary */
static char *store; /* root/store */
static int train1_rc, train2_rc;
static char *train1_out, *train1_err, *train2_out, *train2_err;

static void suite_setup(void) {
  if (root)
    return;
  root = pm_test_tmpdir();
  store = pm_test_fmt("%s/store", root);
  train1_rc =
      pm_test_runf(&train1_out, &train1_err,
                   "'%s' train --tenant demo --store '%s' '%s/sample/corpus' "
                   "--json",
                   pm_test_penmark(), store, pm_test_data_dir());
  train2_rc =
      pm_test_runf(&train2_out, &train2_err,
                   "'%s' train --tenant demo --store '%s' '%s/sample/corpus' "
                   "--json",
                   pm_test_penmark(), store, pm_test_data_dir());
}

static void suite_teardown(void) {
  if (root)
    pm_test_rmtree(root);
  free(root);
  free(store);
  free(train1_out);
  free(train1_err);
  free(train2_out);
  free(train2_err);
}

START_TEST(train_json) {
  ck_assert_msg(train1_rc == 0, "train exited %d: %s", train1_rc, train1_err);
  size_t files = corpus_files();
  cJSON *j = parse_json(train1_out);
  ck_assert_str_eq(str(j, "tenant"), "demo");
  ck_assert_double_eq(num(j, "mails_read"), (double)files);
  ck_assert_double_eq(num(j, "mails_trained"), (double)files);
  ck_assert_double_eq(num(j, "mails_duplicate"), 0);
  ck_assert_double_eq(num(j, "mails_rejected"), 0);
  ck_assert_double_eq(num(j, "senders"), 6);
  ck_assert_double_eq(num(j, "senders_ready"), 6);
  cJSON_Delete(j);
  /* a terminal is not attached: no progress bar on stderr */
  ck_assert_msg(strchr(train1_err, '\r') == NULL, "progress on stderr: %s",
                train1_err);

  ck_assert_msg(train2_rc == 0, "second train exited %d: %s", train2_rc,
                train2_err);
  j = parse_json(train2_out);
  ck_assert_double_eq(num(j, "mails_read"), (double)files);
  ck_assert_double_eq(num(j, "mails_trained"), 0);
  ck_assert_double_eq(num(j, "mails_duplicate"), (double)files);
  ck_assert_double_eq(num(j, "mails_rejected"), 0);
  ck_assert_double_eq(num(j, "senders"), 6);
  ck_assert_double_eq(num(j, "senders_ready"), 6);
  cJSON_Delete(j);
}
END_TEST

/* The bytes of a tenant's store (the file and any WAL beside it). */
static long long store_bytes(const char *tenant) {
  char *db = pm_test_fmt("%s/%s.db", store, tenant);
  char *wal = pm_test_fmt("%s/%s.db-wal", store, tenant);
  struct stat a, b;
  ck_assert_int_eq(stat(db, &a), 0);
  long long size = (long long)a.st_size + (stat(wal, &b) == 0 ? b.st_size : 0);
  free(db);
  free(wal);
  return size;
}

/* The store grows with the tenant: the six senders' store stays under 3 MB,
 * a fixed part under 2 MB plus at most 150 KiB per sender (the dense d x d
 * moments alone would take 31 MB). Measured: about 147 KiB, of which the
 * typed n-grams' slice of the stored samples is about 23 kB. The cost of a sender is measured as the
 * growth from three of the senders to all six. */
START_TEST(store_size) {
  ck_assert_int_eq(train1_rc, 0);
  char *out = NULL, *err = NULL;
  const char *d = pm_test_data_dir();
  int rc =
      pm_test_runf(&out, &err,
                   "'%s' train --tenant three --store '%s' "
                   "'%s/sample/corpus/dana.whitfield@harborpine.example' "
                   "'%s/sample/corpus/makoto.takahashi@harborpine.example' "
                   "'%s/sample/corpus/margaret.osei@harborpine.example' --json",
                   pm_test_penmark(), store, d, d, d);
  ck_assert_msg(rc == 0, "train of three senders exited %d: %s", rc, err);
  cJSON *j = parse_json(out);
  ck_assert_double_eq(num(j, "senders_ready"), 3);
  cJSON_Delete(j);
  long long six = store_bytes("demo"), three = store_bytes("three");
  long long per_sender = (six - three) / 3, fixed = six - 6 * per_sender;
  ck_assert_msg(six < 3000000, "sample tenant store: %lld bytes", six);
  ck_assert_msg(per_sender > 0 && per_sender <= 150 * 1024,
                "%lld bytes per sender (6 senders %lld, 3 senders %lld)",
                per_sender, six, three);
  ck_assert_msg(fixed < 2000000, "fixed part %lld bytes", fixed);
  free(out);
  free(err);
}
END_TEST

static const char *const verdicts[] = {"genuine", "impersonation",
                                       "unknown_sender", "profile_not_ready",
                                       "too_little_text"};

/* Checks one line of `penmark score`; returns the parsed object. */
static cJSON *check_score_line(const char *line) {
  cJSON *j = parse_json(line);
  const char *file = str(j, "file");
  ck_assert_msg(strstr(file, ".eml"), "file \"%s\"", file);
  ck_assert_ptr_nonnull(strchr(str(j, "sender"), '@'));
  const char *v = str(j, "verdict");
  bool known = false;
  for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++)
    known |= strcmp(v, verdicts[i]) == 0;
  ck_assert_msg(known, "verdict \"%s\"", v);
  double p = num(j, "probability"), t = num(j, "threshold");
  ck_assert(p >= 0 && p <= 1);
  ck_assert(t > 0 && t < 1);
  ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "reasons")));
  const cJSON *prof = cJSON_GetObjectItemCaseSensitive(j, "profile");
  ck_assert(cJSON_IsObject(prof));
  ck_assert_double_ge(num(prof, "mails"), 38);
  ck_assert_double_gt(num(prof, "last_trained"), 0);
  ck_assert_double_ge(num(j, "elapsed_us"), 0);
  return j;
}

START_TEST(score_json_lines) {
  ck_assert_int_eq(train1_rc, 0);
  char *out = NULL, *err = NULL;
  int rc = pm_test_runf(
      &out, &err,
      "'%s' score --tenant demo --store '%s' '%s'/sample/inbound/*.eml",
      pm_test_penmark(), store, pm_test_data_dir());
  ck_assert_msg(rc == 0, "score exited %d: %s", rc, err);
  ck_assert_uint_eq(pm_test_count_lines(out), 24);
  size_t genuine = 0, flagged = 0;
  char *save = NULL;
  for (char *line = strtok_r(out, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    cJSON *j = check_score_line(line);
    const char *file = strrchr(str(j, "file"), '/') + 1;
    const char *v = str(j, "verdict");
    if (strncmp(file, "genuine-", 8) == 0) {
      ck_assert_msg(strcmp(v, "genuine") == 0, "%s: %s", file, v);
      genuine++;
    } else if (strcmp(v, "impersonation") == 0) {
      const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "reasons");
      ck_assert_int_gt(cJSON_GetArraySize(r), 0);
      const cJSON *first = cJSON_GetArrayItem(r, 0);
      ck_assert_uint_gt(strlen(str(first, "text")), 0);
      flagged++;
    }
    cJSON_Delete(j);
  }
  ck_assert_uint_eq(genuine, 12);
  ck_assert_uint_ge(flagged, 9);
  free(out);
  free(err);
}
END_TEST

START_TEST(score_missing_file) {
  ck_assert_int_eq(train1_rc, 0);
  char *out = NULL, *err = NULL;
  int rc = pm_test_runf(&out, &err,
                        "'%s' score --tenant demo --store '%s' "
                        "'%s/sample/inbound/genuine-dana.whitfield-1.eml' "
                        "'%s/no-such-mail.eml' "
                        "'%s/sample/inbound/impostor-tomas.reyes-1.eml'",
                        pm_test_penmark(), store, pm_test_data_dir(), root,
                        pm_test_data_dir());
  ck_assert_int_ne(rc, 0);
  ck_assert_int_lt(rc, 128); /* failed, not crashed */
  ck_assert_msg(strstr(err, "no-such-mail.eml"), "stderr: %s", err);
  ck_assert_uint_eq(pm_test_count_lines(out), 2);
  ck_assert_ptr_nonnull(strstr(out, "genuine-dana.whitfield-1.eml"));
  ck_assert_ptr_nonnull(strstr(out, "impostor-tomas.reyes-1.eml"));
  free(out);
  free(err);
}
END_TEST

START_TEST(score_sender_override) {
  ck_assert_int_eq(train1_rc, 0);
  char *out = NULL, *err = NULL;
  int rc = pm_test_runf(&out, &err,
                        "'%s' score --tenant demo --store '%s' "
                        "--sender someone@elsewhere.example "
                        "'%s/sample/inbound/genuine-dana.whitfield-1.eml'",
                        pm_test_penmark(), store, pm_test_data_dir());
  ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
  cJSON *j = parse_json(out);
  ck_assert_str_eq(str(j, "sender"), "someone@elsewhere.example");
  ck_assert_str_eq(str(j, "verdict"), "unknown_sender");
  ck_assert_double_eq(num(j, "probability"), 0.5);
  cJSON_Delete(j);
  free(out);
  free(err);
}
END_TEST

START_TEST(bad_tenant_usage) {
  char *out = NULL, *err = NULL;
  char *s = pm_test_fmt("%s/fresh", root);
  int rc =
      pm_test_runf(&out, &err, "'%s' train --tenant '../x' --store '%s' '%s'",
                   pm_test_penmark(), s, pm_test_data_dir());
  ck_assert_int_eq(rc, 2);
  ck_assert_msg(strstr(err, "../x") && strstr(err, "tenant"), "stderr: %s",
                err);
  ck_assert_str_eq(out, "");
  ck_assert(!exists(s));
  free(out);
  free(err);
  rc = pm_test_runf(&out, &err, "'%s' score --tenant Acme --store '%s' '%s'",
                    pm_test_penmark(), store, pm_test_data_dir());
  ck_assert_int_eq(rc, 2);
  ck_assert_msg(strstr(err, "Acme"), "stderr: %s", err);
  free(out);
  free(err);
  /* no tenant at all */
  rc = pm_test_runf(&out, &err, "'%s' train --store '%s' '%s'",
                    pm_test_penmark(), s, pm_test_data_dir());
  ck_assert_int_eq(rc, 2);
  ck_assert(!exists(s));
  free(out);
  free(err);
  free(s);
}
END_TEST

START_TEST(missing_input_path) {
  char *dir = pm_test_tmpdir();
  char *cfg = pm_test_fmt("%s/small.json", dir);
  pm_test_write_file(cfg, SMALL_CONFIG, strlen(SMALL_CONFIG));
  char *out = NULL, *err = NULL;
  int rc = pm_test_runf(
      &out, &err,
      "'%s' train --tenant t1 --store '%s/s' --config '%s' --json "
      "'%s/not-here' '%s/sample/corpus/dana.whitfield@harborpine.example'",
      pm_test_penmark(), dir, cfg, dir, pm_test_data_dir());
  ck_assert_int_eq(rc, 1);
  ck_assert_msg(strstr(err, "not-here"), "stderr: %s", err);
  cJSON *j = parse_json(out);
  ck_assert_double_eq(num(j, "mails_trained"), 40);
  ck_assert_double_eq(num(j, "input_errors"), 1);
  cJSON_Delete(j);
  free(out);
  free(err);
  /* the rest was trained: a second run finds it all */
  rc =
      pm_test_runf(&out, &err,
                   "'%s' train --tenant t1 --store '%s/s' --config '%s' --json "
                   "'%s/sample/corpus/dana.whitfield@harborpine.example'",
                   pm_test_penmark(), dir, cfg, pm_test_data_dir());
  ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
  j = parse_json(out);
  ck_assert_double_eq(num(j, "mails_duplicate"), 40);
  cJSON_Delete(j);
  free(out);
  free(err);
  /* the hidden batch option refuses nonsense */
  rc = pm_test_runf(
      &out, &err, "'%s' train --tenant t1 --store '%s/s' --batch-mails 0 '%s'",
      pm_test_penmark(), dir, cfg);
  ck_assert_int_eq(rc, 2);
  ck_assert_msg(strstr(err, "--batch-mails"), "stderr: %s", err);
  free(out);
  free(err);
  free(cfg);
  pm_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(paths_on_stdin) {
  char *dir = pm_test_tmpdir();
  char *cfg = pm_test_fmt("%s/small.json", dir);
  pm_test_write_file(cfg, SMALL_CONFIG, strlen(SMALL_CONFIG));
  char *out = NULL, *err = NULL;
  /* "-": one path a line on standard input (files and directories) */
  int rc = pm_test_runf(
      &out, &err,
      "{ find '%s/sample/corpus/dana.whitfield@harborpine.example' "
      "-name '*.eml'; "
      "echo '%s/sample/corpus/tomas.reyes@harborpine.example'; } | "
      "'%s' train --tenant t2 --store '%s/s' --config '%s' --json -",
      pm_test_data_dir(), pm_test_data_dir(), pm_test_penmark(), dir, cfg);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
  cJSON *j = parse_json(out);
  ck_assert_double_eq(num(j, "mails_read"), 40 + 38);
  ck_assert_double_eq(num(j, "mails_trained"), 40 + 38);
  ck_assert_double_eq(num(j, "senders"), 2);
  cJSON_Delete(j);
  free(out);
  free(err);
  free(cfg);
  pm_test_rmtree(dir);
  free(dir);
}
END_TEST

/* ---- inspect ---- */

/* The "habits" array of the object, or of the entry of `sender` in its
 * "senders" array. */
static const cJSON *find_habits(const cJSON *j, const char *sender) {
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "habits");
  if (h)
    return h;
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "senders");
  const cJSON *e;
  cJSON_ArrayForEach(e, list) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "sender");
    if (cJSON_IsString(s) && strcmp(s->valuestring, sender) == 0)
      return cJSON_GetObjectItemCaseSensitive(e, "habits");
  }
  return NULL;
}

static bool has_words(const char *s) {
  int run_len = 0, words = 0;
  for (; *s; s++) {
    if (isalpha((unsigned char)*s)) {
      run_len++;
    } else {
      words += run_len >= 2;
      run_len = 0;
    }
  }
  words += run_len >= 2;
  return words >= 3;
}

START_TEST(inspect_store) {
  ck_assert_int_eq(train1_rc, 0);
  char *out = NULL, *err = NULL;
  int rc = pm_test_runf(&out, &err, "'%s' inspect --tenant demo --store '%s'",
                        pm_test_penmark(), store);
  ck_assert_msg(rc == 0, "inspect exited %d: %s", rc, err);
  cJSON *j = parse_json(out);
  const cJSON *schema = cJSON_GetObjectItemCaseSensitive(j, "schema_version");
  if (!schema)
    schema = cJSON_GetObjectItemCaseSensitive(j, "schema");
  ck_assert_msg(schema != NULL, "no schema in %.300s", out);
  if (cJSON_IsNumber(schema))
    ck_assert_double_eq(schema->valuedouble, PM_STORE_SCHEMA_VERSION);
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
  ck_assert_msg(cJSON_IsObject(cfg) || cJSON_IsString(cfg), "no config");
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "senders");
  ck_assert(cJSON_IsArray(list));
  ck_assert_int_eq(cJSON_GetArraySize(list), 6);
  double total = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, list) {
    const char *s = str(e, "sender");
    ck_assert_msg(strstr(s, "@harborpine.example"), "sender %s", s);
    double mails = num(e, "mails");
    ck_assert_double_ge(mails, 38);
    total += mails;
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "ready")));
    const cJSON *fd = cJSON_GetObjectItemCaseSensitive(e, "first_date");
    const cJSON *ld = cJSON_GetObjectItemCaseSensitive(e, "last_date");
    ck_assert(fd && ld);
    if (cJSON_IsString(fd) && cJSON_IsString(ld)) {
      /* ISO 8601 in UTC compares as text */
      ck_assert_str_ne(fd->valuestring, "");
      ck_assert_int_le(strcmp(fd->valuestring, ld->valuestring), 0);
    } else {
      ck_assert(cJSON_IsNumber(fd) && cJSON_IsNumber(ld));
      ck_assert_double_gt(fd->valuedouble, 0);
      ck_assert_double_le(fd->valuedouble, ld->valuedouble);
    }
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(e, "habits"));
  }
  ck_assert_double_eq(total, (double)corpus_files());
  cJSON_Delete(j);
  free(out);
  free(err);

  rc = pm_test_runf(&out, &err,
                    "'%s' inspect --tenant demo --store '%s' "
                    "--sender dana.whitfield@harborpine.example",
                    pm_test_penmark(), store);
  ck_assert_msg(rc == 0, "inspect --sender exited %d: %s", rc, err);
  j = parse_json(out);
  const cJSON *habits = find_habits(j, "dana.whitfield@harborpine.example");
  ck_assert_msg(cJSON_IsArray(habits) && cJSON_GetArraySize(habits) > 0,
                "no habits in %.600s", out);
  cJSON_ArrayForEach(e, habits) {
    const char *text = cJSON_IsString(e) ? e->valuestring : str(e, "text");
    ck_assert_msg(has_words(text), "habit \"%s\"", text);
  }
  /* Dana writes no greeting and signs "-d": her strongest habits say so */
  ck_assert_msg(strstr(out, "-d"), "the sign-off is not among the habits");
  cJSON_Delete(j);
  free(out);
  free(err);

  /* an unknown sender and an unknown tenant fail with a message */
  rc = pm_test_runf(
      &out, &err,
      "'%s' inspect --tenant demo --store '%s' --sender nobody@x.example",
      pm_test_penmark(), store);
  ck_assert_int_eq(rc, 1);
  ck_assert_msg(strstr(err, "sender"), "stderr: %s", err);
  free(out);
  free(err);
  rc = pm_test_runf(&out, &err, "'%s' inspect --tenant nosuch --store '%s'",
                    pm_test_penmark(), store);
  ck_assert_int_eq(rc, 1);
  ck_assert_msg(strstr(err, "nosuch"), "stderr: %s", err);
  free(out);
  free(err);
}
END_TEST

/* ---- crash safety ---- */

/* A small deterministic generator. */
static uint32_t rng_next(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*s >> 33);
}

static const char *const vocab[] = {
    "budget",   "meeting", "report",   "client",   "invoice",  "schedule",
    "review",   "office",  "supplier", "forecast", "contract", "team",
    "deadline", "project", "draft",    "numbers",  "order",    "warehouse",
    "delivery", "quarter", "update",   "call",     "agenda",   "training",
    "audit",    "payment", "figures",  "plan",     "slides",   "room",
    "the",      "a",       "we",       "our",      "this",     "next",
    "week",     "today",   "please",   "can",      "will",     "should",
    "check",    "send",    "move",     "book",     "confirm",  "share"};

/* Sender k's mail i: each sender has its own greeting, sign-off, case and
 * punctuation habits; the words vary by mail. */
static char *crash_mail(int k, int i) {
  static const char *const greet[] = {"Hi all,",   "Hello,",   "Dear team,",
                                      "Morning!",  "hey",      "",
                                      "Good day,", "Hi there,"};
  static const char *const sign[] = {
      "Thanks,\n%s",  "Best,\n%s", "-- %s",  "Cheers!\n%s",
      "Regards,\n%s", "%s",        "ta\n%s", "Kind regards,\n%s\nOperations"};
  uint64_t s = (uint64_t)(k * 100003 + i) * 2654435761ULL + 1;
  char body[2048];
  size_t n = 0;
  const char *g = greet[k % 8];
  if (*g)
    n += (size_t)snprintf(body + n, sizeof body - n, "%s\n\n", g);
  int sentences = 2 + (int)(rng_next(&s) % 4);
  for (int t = 0; t < sentences; t++) {
    int words = 4 + (int)(rng_next(&s) % (k % 3 == 0 ? 6 : 12));
    for (int w = 0; w < words; w++) {
      const char *word = vocab[rng_next(&s) % (sizeof vocab / sizeof *vocab)];
      char cap[32];
      snprintf(cap, sizeof cap, "%s", word);
      if (w == 0 && k % 5 != 0)
        cap[0] = (char)toupper((unsigned char)cap[0]);
      n += (size_t)snprintf(body + n, sizeof body - n, "%s%s",
                            w ? (k % 7 == 3 && w == 3 ? ", " : " ") : "", cap);
    }
    const char *end = k % 4 == 1 ? "!" : (k % 6 == 2 ? "..." : ".");
    n += (size_t)snprintf(body + n, sizeof body - n, "%s%s", end,
                          k % 3 == 0 ? "  " : " ");
  }
  char name[32];
  snprintf(name, sizeof name, "Writer %02d", k);
  n += (size_t)snprintf(body + n, sizeof body - n, "\n\n");
  n += (size_t)snprintf(body + n, sizeof body - n, sign[(k / 2) % 8], name);
  return pm_test_fmt("From: Writer %02d <writer%02d@example.net>\n"
                     "To: desk@example.net\nSubject: note %d\n"
                     "Date: %02d %s 2025 %02d:%02d:00 +0000\n"
                     "Message-ID: <crash.%d.%d@example.net>\n\n%s\n",
                     k, k, i, 1 + i % 28,
                     (const char *[]){"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov",
                                      "Dec"}[i % 12],
                     8 + i % 10, i % 60, k, i, body);
}

static void write_crash_corpus(const char *in) {
  ck_assert_int_eq(mkdir(in, 0755), 0);
  for (int k = 0; k < CRASH_SENDERS; k++) {
    char *d = pm_test_fmt("%s/w%02d", in, k);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    for (int i = 0; i < CRASH_PER_SENDER; i++) {
      char *p = pm_test_fmt("%s/%04d.eml", d, i);
      char *m = crash_mail(k, i);
      pm_test_write_file(p, m, strlen(m));
      free(m);
      free(p);
    }
    free(d);
  }
}

/* Starts `penmark train` on the crash corpus; its output goes to
 * /dev/null. */
static pid_t start_train(const char *store_dir, const char *cfg,
                         const char *in) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(pm_test_penmark(), pm_test_penmark(), "train", "--tenant", "crash",
          "--store", store_dir, "--config", cfg, "--threads", "1",
          "--batch-mails", CRASH_BATCH, in, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* One sender's counts, by address. */
typedef struct {
  char address[64];
  int64_t mails, first_date, last_date;
} sender_row;

typedef struct {
  sender_row rows[CRASH_SENDERS + 1];
  size_t n;
  int64_t mails; /* sum over senders */
} store_state;

static int64_t sql_int(sqlite3 *db, const char *sql, int64_t bind) {
  sqlite3_stmt *s = NULL;
  ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK,
                "%s: %s", sql, sqlite3_errmsg(db));
  if (strchr(sql, '?'))
    sqlite3_bind_int64(s, 1, bind);
  ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

/* Checks that a store left by a (possibly killed) run is whole: it opens
 * and verifies, and every sender's mail count agrees with its statistics
 * and with the content fingerprints recorded for it. Returns false when
 * the run was killed before it created the store. */
static bool check_whole(const char *store_dir, const pm_config *cfg,
                        store_state *out) {
  memset(out, 0, sizeof *out);
  pm_store *st = NULL;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc =
      pm_store_open(store_dir, "crash", PM_STORE_READ, NULL, 0, &st, &err);
  if (rc == PM_NOTFOUND)
    return false;
  ck_assert_msg(rc == PM_OK, "open after a kill: %s (%s)", pm_strerror(rc),
                pm_error_message(&err));
  ck_assert_msg(pm_store_verify(st, &err) == PM_OK, "verify: %s",
                pm_error_message(&err));
  pm_store_sender *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(pm_store_senders(st, &list, &n, &err), PM_OK);
  ck_assert_uint_le(n, CRASH_SENDERS);
  uint32_t d = pm_config_vector_dim(cfg);
  uint32_t dim = d + (uint32_t)pm_named_count();

  char *path = pm_test_fmt("%s/crash.db", store_dir);
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  for (size_t i = 0; i < n; i++) {
    const pm_store_sender *s = &list[i];
    snprintf(out->rows[i].address, sizeof out->rows[i].address, "%s",
             s->address);
    out->rows[i].mails = s->mails;
    out->rows[i].first_date = s->first_date;
    out->rows[i].last_date = s->last_date;
    out->mails += s->mails;
    /* content fingerprints (top bit of the first byte clear) of the
     * sender: one per trained mail */
    int64_t fps = sql_int(db,
                          "SELECT count(*) FROM fingerprints "
                          "WHERE fp < x'80' AND sender_id = ?",
                          s->id);
    ck_assert_msg(fps == s->mails, "%s: %lld mails, %lld fingerprints",
                  s->address, (long long)s->mails, (long long)fps);
    void *blob = NULL;
    size_t len = 0;
    rc = pm_store_get(st, "sstat", s->id, &blob, &len, &err);
    if (s->mails == 0) {
      ck_assert(rc == PM_NOTFOUND || rc == PM_OK);
    } else {
      ck_assert_msg(rc == PM_OK, "%s: statistics: %s", s->address,
                    pm_error_message(&err));
      pm__stats stats;
      ck_assert_int_eq(pm__stats_decode(blob, len, dim, d, &stats, &err),
                       PM_OK);
      ck_assert_msg(stats.n == (uint64_t)s->mails,
                    "%s: %lld mails, statistics of %llu", s->address,
                    (long long)s->mails, (unsigned long long)stats.n);
      pm__stats_free(&stats);
    }
    free(blob);
  }
  out->n = n;
  /* the tenant's moments were committed with the same batches */
  void *blob = NULL;
  size_t len = 0;
  rc = pm_store_get(st, "moments", 0, &blob, &len, &err);
  if (out->mails == 0) {
    ck_assert(rc == PM_NOTFOUND || rc == PM_OK);
  } else {
    ck_assert_msg(rc == PM_OK, "moments: %s", pm_error_message(&err));
    uint64_t gn = 0;
    ck_assert_int_eq(pm__gram_blob_count(blob, len, &gn, &err), PM_OK);
    ck_assert_msg(gn == (uint64_t)out->mails,
                  "tenant moments of %llu mails, senders hold %lld",
                  (unsigned long long)gn, (long long)out->mails);
  }
  free(blob);
  /* what a scorer would load now: the last published model, or none */
  pm_profiles *prof = NULL;
  rc = pm_profiles_load(st, NULL, &prof, &err);
  ck_assert_msg(rc == PM_OK, "profiles after a kill: %s",
                pm_error_message(&err));
  ck_assert_uint_le(pm_profiles_count(prof), n);
  pm_profiles_free(prof);
  int64_t all =
      sql_int(db, "SELECT count(*) FROM fingerprints WHERE fp < x'80'", 0);
  ck_assert_int_eq(all, out->mails);
  sqlite3_close(db);
  free(path);
  pm_store_senders_free(list, n);
  pm_store_close(st);
  return true;
}

/* Probability and normalised score of a few mails, each scored against its
 * own sender and against another one (the probabilities of such clear
 * cases sit near 0 and 1; the scores show a changed model too). */
#define N_PROBES 6
static void probe_scores(const char *store_dir, const char *in,
                         double out[2 * N_PROBES][2]) {
  pm_store *st = NULL;
  pm_error err;
  ck_assert_int_eq(
      pm_store_open(store_dir, "crash", PM_STORE_READ, NULL, 0, &st, &err),
      PM_OK);
  pm_profiles *p = NULL;
  ck_assert_msg(pm_profiles_load(st, NULL, &p, &err) == PM_OK, "%s",
                pm_error_message(&err));
  pm_store_close(st);
  pm_scorer *sc = NULL;
  ck_assert_int_eq(pm_scorer_new(pm_profiles_config(p), &sc, &err), PM_OK);
  for (int k = 0; k < N_PROBES; k++) {
    char *path = pm_test_fmt("%s/w%02d/%04d.eml", in, k * 3, k * 7);
    size_t len = 0;
    char *raw = NULL;
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    raw = malloc(65536);
    ck_assert_ptr_nonnull(raw);
    len = fread(raw, 1, 65536, f);
    ck_assert(len > 0 && len < 65536);
    fclose(f);
    pm_mail *m = NULL;
    ck_assert_int_eq(pm_mail_parse(raw, len, NULL, &m, &err), PM_OK);
    char other[64];
    snprintf(other, sizeof other, "writer%02d@example.net", (k * 3 + 1) % 20);
    pm_score_result r;
    ck_assert_int_eq(pm_score_mail(sc, p, m, NULL, &r, &err), PM_OK);
    ck_assert_msg(!pm_verdict_abstains(r.verdict), "%s: %s", path,
                  pm_verdict_name(r.verdict));
    out[2 * k][0] = r.probability;
    out[2 * k][1] = r.score;
    ck_assert_int_eq(pm_score_mail(sc, p, m, other, &r, &err), PM_OK);
    out[2 * k + 1][0] = r.probability;
    out[2 * k + 1][1] = r.score;
    pm_mail_free(m);
    free(raw);
    free(path);
  }
  pm_scorer_free(sc);
  pm_profiles_free(p);
}

static cJSON *train_to_end(const char *store_dir, const char *cfg,
                           const char *in) {
  char *out = NULL, *err = NULL;
  int rc = pm_test_runf(&out, &err,
                        "'%s' train --tenant crash --store '%s' --config '%s' "
                        "--threads 1 --batch-mails " CRASH_BATCH " --json '%s'",
                        pm_test_penmark(), store_dir, cfg, in);
  ck_assert_msg(rc == 0, "train exited %d: %s", rc, err);
  cJSON *j = parse_json(out);
  free(out);
  free(err);
  return j;
}

START_TEST(killed_runs_resume) {
  char *dir = pm_test_tmpdir();
  char *in = pm_test_fmt("%s/in", dir),
       *cfgpath = pm_test_fmt("%s/small.json", dir);
  pm_test_write_file(cfgpath, SMALL_CONFIG, strlen(SMALL_CONFIG));
  pm_config *cfg = NULL;
  pm_error err;
  ck_assert_int_eq(pm_config_load(cfgpath, &cfg, &err), PM_OK);
  write_crash_corpus(in);
  const int64_t total = CRASH_SENDERS * CRASH_PER_SENDER;

  /* the reference: one clean run */
  char *clean = pm_test_fmt("%s/clean", dir);
  cJSON *j = train_to_end(clean, cfgpath, in);
  ck_assert_double_eq(num(j, "mails_trained"), (double)total);
  ck_assert_double_eq(num(j, "senders_ready"), CRASH_SENDERS);
  cJSON_Delete(j);
  store_state ref;
  ck_assert(check_whole(clean, cfg, &ref));
  ck_assert_uint_eq(ref.n, CRASH_SENDERS);
  ck_assert_int_eq(ref.mails, total);
  double ref_p[2 * N_PROBES][2];
  probe_scores(clean, in, ref_p);

  /* kill moments per store: once early, mid-way, late; and twice, the
   * second time while the run resumes what the first left */
  static const double kill_at[][2] = {{0.3, 0}, {1.0, 0}, {2.0, 0}, {0.6, 0.6}};
  for (size_t t = 0; t < sizeof kill_at / sizeof kill_at[0]; t++) {
    char *s = pm_test_fmt("%s/killed%zu", dir, t);
    int64_t committed = 0;
    for (int k = 0; k < 2 && kill_at[t][k] > 0; k++) {
      pid_t pid = start_train(s, cfgpath, in);
      sleep_s(kill_at[t][k]);
      kill(pid, SIGKILL);
      int status = 0;
      ck_assert_int_eq(waitpid(pid, &status, 0), pid);
      /* killed, or done already: either way, never failed on its own */
      ck_assert(WIFSIGNALED(status) ||
                (WIFEXITED(status) && WEXITSTATUS(status) == 0));
      store_state mid;
      if (check_whole(s, cfg, &mid)) {
        ck_assert_int_ge(mid.mails, committed);
        committed = mid.mails;
        ck_assert_int_le(committed, total);
      }
    }
    /* the next run trains exactly what the killed one had not committed */
    j = train_to_end(s, cfgpath, in);
    ck_assert_double_eq(num(j, "mails_read"), (double)total);
    ck_assert_msg(num(j, "mails_trained") == (double)(total - committed),
                  "kill at %.1f s: %lld committed, then %.0f trained",
                  kill_at[t][0], (long long)committed, num(j, "mails_trained"));
    ck_assert_double_eq(num(j, "mails_duplicate"), (double)committed);
    ck_assert_double_eq(num(j, "senders_ready"), CRASH_SENDERS);
    cJSON_Delete(j);
    store_state end;
    ck_assert(check_whole(s, cfg, &end));
    ck_assert_uint_eq(end.n, ref.n);
    for (size_t i = 0; i < end.n; i++) {
      ck_assert_str_eq(end.rows[i].address, ref.rows[i].address);
      ck_assert_int_eq(end.rows[i].mails, ref.rows[i].mails);
      ck_assert_int_eq(end.rows[i].first_date, ref.rows[i].first_date);
      ck_assert_int_eq(end.rows[i].last_date, ref.rows[i].last_date);
    }
    double p[2 * N_PROBES][2];
    probe_scores(s, in, p);
    for (int k = 0; k < 2 * N_PROBES; k++)
      for (int v = 0; v < 2; v++)
        ck_assert_msg(fabs(p[k][v] - ref_p[k][v]) <= 1e-3,
                      "kill at %.1f s: probe %d: %s %.6f vs %.6f clean",
                      kill_at[t][0], k, v ? "score" : "probability", p[k][v],
                      ref_p[k][v]);
    free(s);
  }
  free(clean);
  pm_config_free(cfg);
  free(cfgpath);
  free(in);
  pm_test_rmtree(dir);
  free(dir);
}
END_TEST

static Suite *train_cli_suite(void) {
  Suite *s = suite_create("train_cli");
  TCase *tc = tcase_create("sample");
  tcase_set_timeout(tc, 600);
  tcase_add_unchecked_fixture(tc, suite_setup, NULL);
  tcase_add_test(tc, train_json);
  tcase_add_test(tc, store_size);
  tcase_add_test(tc, score_json_lines);
  tcase_add_test(tc, score_missing_file);
  tcase_add_test(tc, score_sender_override);
  tcase_add_test(tc, bad_tenant_usage);
  tcase_add_test(tc, missing_input_path);
  tcase_add_test(tc, paths_on_stdin);
  suite_add_tcase(s, tc);
  tc = tcase_create("inspect");
  tcase_set_timeout(tc, 600);
  tcase_add_unchecked_fixture(tc, suite_setup, NULL);
  tcase_add_test(tc, inspect_store);
  suite_add_tcase(s, tc);
  tc = tcase_create("crash");
  tcase_set_timeout(tc, 1200);
  tcase_add_test(tc, killed_runs_resume);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(train_cli_suite());
  suite_teardown();
  pm_library_shutdown();
  return failed != 0;
}
