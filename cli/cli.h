/* Shared pieces of the penmark command: messages, configuration loading,
 * reading mail files, JSON output. */
#ifndef PM_CLI_H
#define PM_CLI_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/buf.h"
#include "penmark/config.h"
#include "penmark/mail.h"
#include "penmark/error.h"

/* Exit codes of every subcommand. */
enum {
  PM_EXIT_OK = 0,
  PM_EXIT_FAIL = 1, /* the work failed, or some inputs could not be used */
  PM_EXIT_USAGE = 2 /* bad command line */
};

/* "penmark: <message>" on stderr. */
void pm_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads --config FILE, or the defaults when path is NULL. NULL (after a
 * message) on failure. Owned by the caller. */
pm_config *pm_cli_config(const char *path);

/* Prints one JSON object as a line on out and frees it. */
void pm_cli_print_json(FILE *out, cJSON *obj);

/* Adds a float rounded to 6 significant digits (short, stable output). */
cJSON *pm_cli_add_number(cJSON *obj, const char *key, double v);

/* Parses a non-negative integer option; false (after a message) when bad. */
bool pm_cli_parse_count(const char *opt, const char *arg, long min, long max,
                        long *out);

/* Parses --flag-rate: a share in (0, 0.5]; false (after a message) when
 * bad. */
bool pm_cli_parse_flag_rate(const char *opt, const char *arg, double *out);

/* What a command does with one parsed mail: true when it was handled; false
 * after a message naming the input (name) when it was not. The mail is
 * borrowed for the call. */
typedef bool (*pm_cli_mail_fn)(const char *path, const char *name,
                               const pm_mail *m, void *ctx);

/* Reads and parses each of the n mail files in turn ("-" = standard input,
 * default limits) and hands each mail to fn. A file that cannot be read or
 * is not a mail gets "penmark: NAME: problem" and the next file is taken.
 * Returns how many inputs failed, fn's refusals included. */
int pm_cli_each_mail(char *const *paths, int n, pm_cli_mail_fn fn, void *ctx);

/* Sets OpenBLAS's thread count for the whole process (0: the cores). The
 * library never changes it: the command decides, once, before the work.
 * Batch commands (train, feedback, background, eval) give it their
 * --threads; the daemon gives 1, its workers being the parallelism. */
void pm_cli_blas_threads(unsigned threads);

/* How messages name an input: "<stdin>" for "-", else the path. */
const char *pm_cli_input_name(const char *path);

int pm_cmd_features(int argc, char **argv);
int pm_cmd_train(int argc, char **argv);
int pm_cmd_background(int argc, char **argv);
int pm_cmd_score(int argc, char **argv);
int pm_cmd_inspect(int argc, char **argv);
int pm_cmd_eval(int argc, char **argv);
int pm_cmd_serve(int argc, char **argv);
int pm_cmd_milter(int argc, char **argv);
int pm_cmd_feedback(int argc, char **argv);
int pm_cmd_train_all(int argc, char **argv);

#endif
