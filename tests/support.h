/* Shared helpers for the Check suites: fixtures, temporary directories and
 * running the real command. Test code only: never linked into the library. */
#ifndef PM_TESTS_SUPPORT_H
#define PM_TESTS_SUPPORT_H

#include <check.h>
#include <stddef.h>

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

/* Runs a suite with the given name and returns the number of failures; the
 * summary line is printed by Check. */
int pm_test_run_suite(Suite *s);

#endif
