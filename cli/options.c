/* The options the commands share (see cli/options.h). */
#include "cli/options.h"

#include <string.h>

#include "cli/cli.h"
#include "penmark/store.h"

/* Codes of the shared long options: above any short letter, so that a
 * command's own codes never meet them. */
enum { OPT_TENANT = 256, OPT_STORE, OPT_CONFIG, OPT_THREADS, OPT_HELP };

static const struct option shared[] = {
    {"tenant", required_argument, 0, OPT_TENANT},
    {"store", required_argument, 0, OPT_STORE},
    {"config", required_argument, 0, OPT_CONFIG},
    {"threads", required_argument, 0, OPT_THREADS},
};
enum { N_SHARED = sizeof shared / sizeof shared[0] };

static const struct option help_opt = {"help", no_argument, 0, OPT_HELP};

/* Room for the long options of the command with the most (serve: 11). */
enum { MAX_OWN = 24 };

typedef struct {
  struct option lo[N_SHARED + MAX_OWN + 2];
  char shorts[2 * (N_SHARED + MAX_OWN) + 2];
} tables;

/* The long options (the shared ones the command takes, its own, --help)
 * and the short ones, in t; false when the command has too many. No
 * allocation: a command that is out of memory still parses its line. */
static bool build(const pm_cli_spec *spec, tables *t) {
  size_t n_own = 0;
  while (spec->own && spec->own[n_own].name)
    n_own++;
  size_t own_len = spec->shorts ? strlen(spec->shorts) : 0;
  if (n_own > MAX_OWN || own_len > 2 * MAX_OWN)
    return false;
  memcpy(t->shorts, spec->shorts ? spec->shorts : "", own_len);
  char *s = t->shorts + own_len;
  size_t k = 0;
  for (size_t i = 0; i < N_SHARED; i++) {
    char letter = spec->common[i];
    if (letter == '-')
      continue;
    t->lo[k++] = shared[i];
    if (letter != '+') {
      *s++ = letter;
      *s++ = ':';
    }
  }
  for (size_t i = 0; i < n_own; i++)
    t->lo[k++] = spec->own[i];
  t->lo[k++] = help_opt;
  memset(&t->lo[k], 0, sizeof t->lo[k]);
  *s++ = 'h';
  *s = '\0';
  return true;
}

/* A short letter of a shared option as the code of its long form. */
static int shared_code(const pm_cli_spec *spec, int c) {
  if (c == 'h')
    return OPT_HELP;
  for (size_t i = 0; i < N_SHARED; i++)
    if (spec->common[i] == c)
      return shared[i].val;
  return c;
}

static bool take_shared(const pm_cli_spec *spec, int code, const char *arg,
                        pm_cli_common *co) {
  long v;
  switch (code) {
  case OPT_TENANT:
    co->tenant = arg;
    return true;
  case OPT_STORE:
    co->store = arg;
    return true;
  case OPT_CONFIG:
    co->config = arg;
    return true;
  default: /* OPT_THREADS */
    if (!pm_cli_parse_count("--threads", arg, 1, spec->max_threads, &v))
      return false;
    co->threads = (unsigned)v;
    return true;
  }
}

pm_cli_parsed pm_cli_parse(const pm_cli_spec *spec, int argc, char **argv,
                           pm_cli_common *co, void *ctx) {
  memset(co, 0, sizeof *co);
  tables t;
  if (!build(spec, &t)) {
    pm_cli_err("too many options (cli/options.c: MAX_OWN)");
    return PM_CLI_USAGE;
  }
  pm_cli_parsed res = PM_CLI_GO;
  int c;
  optind = 1;
  while (res == PM_CLI_GO &&
         (c = getopt_long(argc, argv, t.shorts, t.lo, NULL)) != -1) {
    int code = shared_code(spec, c);
    if (code == OPT_HELP) {
      spec->usage(stdout);
      res = PM_CLI_HELP;
    } else if (code == '?' || code == ':') {
      spec->usage(stderr);
      res = PM_CLI_USAGE;
    } else if (code >= OPT_TENANT) {
      if (!take_shared(spec, code, optarg, co))
        res = PM_CLI_USAGE;
    } else if (!spec->own_fn(code, optarg, ctx)) {
      res = PM_CLI_USAGE;
    }
  }
  return res;
}

bool pm_cli_tenant_ok(const char *tenant) {
  pm_error err;
  pm_error_clear(&err);
  if (pm_tenant_check(tenant, &err) == PM_OK)
    return true;
  pm_cli_err("%s", pm_error_message(&err));
  return false;
}
