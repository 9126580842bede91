/* penmark milter: the command line of the milter (score/milter/ does the
 * work). Options are the policy file's keys; --policy FILE is read first,
 * whatever its place, and the other options override it. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "penmark/milter.h"

static void usage(FILE *out) {
  fputs(
      "usage: penmark milter [--policy FILE] --socket SPEC --store DIR\n"
      "                      (--tenant T | --tenant-map FILE)\n"
      "                      [--action report|tag|quarantine|reject]\n"
      "                      [--tag PREFIX] [--protected FILE]\n"
      "                      [--trusted-networks CIDR,...] "
      "[--skip-authenticated]\n"
      "                      [--time-limit MS] [--max-connections N]\n"
      "                      [--timeout S] [--log FILE]\n"
      "\n"
      "A libmilter filter: adds X-Penmark-Verdict and X-Penmark-Reasons\n"
      "(removing any that came with the mail) and acts on impersonations.\n"
      "Fails open: a mail that cannot be scored in time is accepted with\n"
      "'X-Penmark-Verdict: error; <why>'; one the policy leaves alone gets\n"
      "'X-Penmark-Verdict: not_judged; <why>'. Stores that training\n"
      "changes are read again by themselves; SIGUSR1 reads every tenant\n"
      "again. SIGTERM (or SIGHUP) stops it once the mails being decided\n"
      "are answered.\n"
      "\n"
      "  --policy FILE         key = value settings (docs/postfix.md); the\n"
      "                        options below override them\n"
      "  --socket SPEC         unix:/path or inet:PORT@127.0.0.1\n"
      "  --tenant T            every mail is the tenant T's\n"
      "  --tenant-map FILE     'domain tenant' lines: the tenant of the From:\n"
      "                        domain; other domains are not judged\n"
      "  --action A            report (default): headers only; tag: subject\n"
      "                        prefix; quarantine: hold queue; reject: 550 "
      "5.7.1\n"
      "  --tag PREFIX          the subject prefix of tag ('[penmark] ')\n"
      "  --protected FILE      judge claims of these senders only (one "
      "address\n"
      "                        a line); default: every profiled sender\n"
      "  --trusted-networks L  client networks not judged (IPv4, IPv6 CIDR)\n"
      "  --skip-authenticated  mail sent with SMTP AUTH is not judged\n"
      "  --time-limit MS       per mail, then fail open (5000)\n"
      "  --max-connections N   mails being scored at once, then fail open "
      "(32)\n"
      "  --timeout S           a connection silent that long within a "
      "command\n"
      "                        is closed, an idle one too (600; libmilter "
      "looks\n"
      "                        at idle ones every 10 minutes)\n"
      "  --log FILE            the log (default: standard error)\n",
      out);
}

/* Options in the policy's keys, kept until the policy file is read. */
typedef struct {
  const char *key, *value, *opt;
} setting;

static const struct option opts[] = {
    {"policy", required_argument, 0, 'p'},
    {"socket", required_argument, 0, 'u'},
    {"tenant", required_argument, 0, 't'},
    {"tenant-map", required_argument, 0, 'm'},
    {"store", required_argument, 0, 's'},
    {"action", required_argument, 0, 'a'},
    {"tag", required_argument, 0, 'T'},
    {"protected", required_argument, 0, 'P'},
    {"trusted-networks", required_argument, 0, 'n'},
    {"skip-authenticated", no_argument, 0, 'A'},
    {"time-limit", required_argument, 0, 'L'},
    {"max-connections", required_argument, 0, 'c'},
    {"timeout", required_argument, 0, 'o'},
    {"log", required_argument, 0, 'l'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* The policy key of an option; NULL for --policy and --help. */
static const char *key_of(int c) {
  switch (c) {
  case 'u':
    return "socket";
  case 't':
    return "tenant";
  case 'm':
    return "tenant_map";
  case 's':
    return "store";
  case 'a':
    return "action";
  case 'T':
    return "tag";
  case 'P':
    return "protected";
  case 'n':
    return "trusted_networks";
  case 'A':
    return "skip_authenticated";
  case 'L':
    return "time_limit_ms";
  case 'c':
    return "max_connections";
  case 'o':
    return "timeout_s";
  case 'l':
    return "log";
  default:
    return NULL;
  }
}

static const char *opt_name(int c) {
  for (const struct option *o = opts; o->name; o++)
    if (o->val == c)
      return o->name;
  return "?";
}

/* Reads the options into set (argc entries at most). -1: usage error,
 * 1: --help, 0: go on. */
static int parse(int argc, char **argv, setting *set, size_t *n,
                 const char **policy) {
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'h')
      return 1;
    if (c == 'p') {
      *policy = optarg;
      continue;
    }
    const char *key = key_of(c);
    if (!key)
      return -1;
    set[(*n)++] = (setting){key, c == 'A' ? "yes" : optarg, opt_name(c)};
  }
  if (optind < argc) {
    pm_cli_err("milter: unexpected argument '%s'", argv[optind]);
    return -1;
  }
  return 0;
}

int pm_cmd_milter(int argc, char **argv) {
  setting *set = calloc((size_t)argc + 1, sizeof *set);
  pm_milter_policy *pol = pm_milter_policy_new();
  if (!set || !pol) {
    free(set);
    pm_milter_policy_free(pol);
    pm_cli_err("milter: out of memory");
    return PM_EXIT_FAIL;
  }
  size_t n = 0;
  const char *policy = NULL;
  int rc = parse(argc, argv, set, &n, &policy);
  pm_error err;
  pm_error_clear(&err);
  if (rc != 0) {
    usage(rc > 0 ? stdout : stderr);
    rc = rc > 0 ? PM_EXIT_OK : PM_EXIT_USAGE;
    goto out;
  }
  rc = PM_EXIT_USAGE;
  if (policy && pm_milter_policy_load(pol, policy, &err) != PM_OK)
    goto fail;
  for (size_t i = 0; i < n; i++) {
    char origin[64];
    snprintf(origin, sizeof origin, "--%s", set[i].opt);
    if (pm_milter_policy_set(pol, set[i].key, set[i].value, origin, &err) !=
        PM_OK)
      goto fail;
  }
  if (pm_milter_policy_check(pol, &err) != PM_OK)
    goto fail;
  rc = pm_milter_run(pol, &err) == PM_OK ? PM_EXIT_OK : PM_EXIT_FAIL;
  if (rc != PM_EXIT_OK)
    goto fail;
  goto out;
fail:
  pm_cli_err("%s", pm_error_message(&err));
  if (err.code == PM_IO || err.code == PM_NOMEM)
    rc = PM_EXIT_FAIL; /* a file that cannot be read is not a usage error */
out:
  free(set);
  pm_milter_policy_free(pol);
  return rc;
}
