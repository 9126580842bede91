/* Shared helpers for the Check suites: fixtures, temporary directories and
 * running the real command. Test code only: never linked into the library. */
#ifndef PM_TESTS_SUPPORT_H
#define PM_TESTS_SUPPORT_H

#include <cJSON.h>
#include <check.h>
#include <stddef.h>

#include "penmark/config.h"
#include "penmark/score.h"
#include "penmark/store.h"
#include "penmark/train.h"

/* Path of a fixture under tests/fixtures/ (static buffer per call site is not
 * used: the result is malloc'd; free it). Uses $PM_FIXTURES when set. */
char *pm_test_fixture_path(const char *name);

/* Reads a fixture whole; *len gets its length. malloc'd, NUL-terminated;
 * fails the test when missing. */
char *pm_test_read_fixture(const char *name, size_t *len);

/* The whole file, malloc'd and NUL-terminated; *len (when len is not NULL)
 * gets its length. NULL when the file does not exist; any other error
 * fails the test. */
char *pm_test_slurp(const char *path, size_t *len);

/* The same, failing the test when the file does not exist either. */
char *pm_test_read_file(const char *path, size_t *len);

/* Entries of a directory other than "." and ".."; -1 when it cannot be
 * opened. */
int pm_test_count_entries(const char *dir);

/* Newline characters in s. */
size_t pm_test_count_lines(const char *s);

/* Creates a fresh temporary directory (removed by pm_test_rmtree). */
char *pm_test_tmpdir(void);
void pm_test_rmtree(const char *path);

/* Writes len bytes to path; fails the test on error. */
void pm_test_write_file(const char *path, const void *data, size_t len);

/* printf into a malloc'd string (free it); aborts when out of memory. */
char *pm_test_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* The shipped data folder: $PM_DATA, or data. */
const char *pm_test_data_dir(void);

/* The command under test: $PENMARK_BIN, or bin/penmark. */
const char *pm_test_penmark(void);

/* Runs `sh -c cmd`, capturing stdout and stderr (malloc'd, NUL-terminated;
 * either pointer may be NULL when not wanted). Returns the exit status, or
 * 128 + signal when the command was killed by a signal. */
int pm_test_run(const char *cmd, char **out, char **err);

/* pm_test_run on a printf-formatted command line. */
int pm_test_runf(char **out, char **err, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

/* The number at j's member a, or a.b (b may be NULL); fails the test
 * (naming the path) when it is missing or not a number. */
double pm_test_json_number(const cJSON *j, const char *a, const char *b);

/* Runs a suite with the given name and returns the number of failures; the
 * summary line is printed by Check. */
int pm_test_run_suite(Suite *s);

/* ---- training and scoring through the library ---- */

/* A growable list of strings, owned by the list. */
typedef struct {
  char **v;
  size_t n, cap;
} pm_test_strlist;

void pm_test_strlist_push(pm_test_strlist *l, char *s); /* takes s */
void pm_test_strlist_free(pm_test_strlist *l);

/* Adds the visible entries of dir (names, not paths), sorted by name. */
void pm_test_list_dir(const char *dir, pm_test_strlist *out);

/* The 24 inbound sample mails (the .eml files in data/sample/inbound), full
 * paths, sorted. */
void pm_test_inbound_files(pm_test_strlist *out);

/* A configuration with short hashed slices: the model is cheap to compute
 * (d is about 800). Free it. */
#define PM_TEST_SMALL_CONFIG                                                   \
  "{\"families\":{\"char_ngrams\":{\"dim\":256},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64}}}"
pm_config *pm_test_small_config(void);

/* The default options for tenant in dir with cfg (borrowed), two threads. */
void pm_test_train_opts(pm_train_opts *o, const char *dir, const char *tenant,
                        const pm_config *cfg);

/* Trains the sample corpus (data/sample/corpus) as tenant "demo" into
 * store_dir, with the default configuration, or under valgrind the small
 * one (the default profile computation takes tens of minutes there, and
 * the small one separates the sample senders as well). Returns pm_train's
 * status, its message in msg; free the summary. */
pm_status pm_test_train_sample(const char *store_dir, pm_train_summary *sum,
                               char *msg, size_t cap);

/* The sample tenant, trained once per suite process by
 * pm_test_sample_setup (an unchecked fixture: every forked test inherits
 * it): pm_test_sample_root, a temporary directory, and in it
 * pm_test_sample_store with tenant "demo" (pm_test_train_sample), and the
 * training's summary. pm_test_sample_teardown removes it all. */
extern char *pm_test_sample_root, *pm_test_sample_store;
extern pm_train_summary pm_test_sample_sum;
void pm_test_sample_setup(void); /* later calls do nothing */
void pm_test_sample_teardown(void);
/* Fails the test, with the training's status and message, when the
 * sample's training failed. */
void pm_test_need_sample(void);

/* Opens a store read-only; fails the test when it cannot. */
pm_store *pm_test_open_read(const char *dir, const char *tenant);

/* A tenant's loaded profiles and a scorer for them. */
typedef struct {
  pm_profiles *p;
  pm_scorer *sc;
} pm_test_model;

void pm_test_model_open(const char *dir, const char *tenant, pm_test_model *m);
void pm_test_model_close(pm_test_model *m);

/* Parses and scores a mail as claimed (NULL: its From:); fails the test on
 * an error. */
void pm_test_score_bytes(pm_test_model *m, const char *data, size_t len,
                         const char *claimed, pm_score_result *res);
void pm_test_score_file(pm_test_model *m, const char *path, const char *claimed,
                        pm_score_result *res);

/* A fictional plain-text mail, malloc'd. */
char *pm_test_mail_text(const char *from, const char *msgid, const char *date,
                        const char *body);

#endif
