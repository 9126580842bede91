/* The command line of every penmark command but milter: the options they
 * share (--tenant, --store, --config, --threads, --help) are spelled,
 * checked and documented once here; a command adds its own. */
#ifndef PM_CLI_OPTIONS_H
#define PM_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* What the shared options gave; NULL / 0 when not given. Strings point
 * into argv. */
typedef struct {
  const char *tenant; /* --tenant T */
  const char *store;  /* --store DIR */
  const char *config; /* --config FILE */
  unsigned threads;   /* --threads N */
} pm_cli_common;

/* One of the command's own options: c is its code, arg its argument (NULL
 * for a flag). False after a message: the command line is bad. */
typedef bool (*pm_cli_own_fn)(int c, const char *arg, void *ctx);

typedef struct {
  /* The shared options the command takes, as the short letters of
   * --tenant, --store, --config and --threads in that order: a letter
   * where the command takes the option, '-' where it takes none, '+' where
   * it takes the long form only ("tscj" for train, "-dct" for serve).
   * --help (-h) every command takes. */
  const char *common;
  long max_threads;   /* --threads N: from 1 to max_threads */
  const char *shorts; /* the command's own short options (getopt) */
  /* its own long options, {0}-ended, or NULL; their codes are neither 'h'
   * nor a letter of common */
  const struct option *own;
  pm_cli_own_fn own_fn; /* called for each of them */
  void (*usage)(FILE *out);
} pm_cli_spec;

typedef enum {
  PM_CLI_GO,    /* parsed: optind is the first operand */
  PM_CLI_HELP,  /* --help: the usage is printed on standard output */
  PM_CLI_USAGE, /* bad command line: the message (and, for an unknown
                   option, the usage) is printed on standard error */
} pm_cli_parsed;

/* Parses argv by spec from its start (resets optind). */
pm_cli_parsed pm_cli_parse(const pm_cli_spec *spec, int argc, char **argv,
                           pm_cli_common *common, void *ctx);

/* True when tenant is a valid tenant name, else false after a message. */
bool pm_cli_tenant_ok(const char *tenant);

#endif
