/* penmark serve: the scoring daemon (HTTP/1.1 over a unix socket). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "penmark/serve.h"

static void usage(FILE *out) {
  fprintf(
      out,
      "usage: penmark serve --socket PATH --store DIR [--config FILE]\n"
      "                     [--threads N] [--max-bytes N] "
      "[--socket-mode MODE]\n"
      "                     [--max-connections N] [--timeout SECONDS]\n"
      "                     [--max-buffered-bytes N] [--max-memory BYTES]\n"
      "                     [--flag-rate R]\n"
      "\n"
      "Scores inbound mail for mail servers: HTTP/1.1 on a unix socket.\n"
      "\n"
      "  POST /v1/score?tenant=T[&sender=ADDR]  body: the raw message;\n"
      "       answer: the JSON of `penmark score` (verdict, probability,\n"
      "       threshold, reasons, profile, elapsed_us, tenant)\n"
      "  GET  /v1/health                        status, uptime, tenants\n"
      "  GET  /metrics                          OpenMetrics counters\n"
      "\n"
      "  --socket PATH        the unix socket (at most 107 bytes); a stale\n"
      "                       socket file is replaced, a live one refused\n"
      "  --store DIR          tenant stores, DIR/<tenant>.db, loaded on\n"
      "                       first use and reloaded when training changes\n"
      "                       them\n"
      "  --config FILE        feature configuration the stores must match\n"
      "                       (default: each store's own)\n"
      "  --threads N          worker threads (default: the cores, %ld)\n"
      "  --max-bytes N        largest mail accepted (default %zu): larger\n"
      "                       bodies get 413 without being read\n"
      "  --socket-mode MODE   octal permissions of the socket (default "
      "%04o)\n"
      "  --max-connections N  open connections at once (default %u)\n"
      "  --max-buffered-bytes N  request bodies held in memory at once, all\n"
      "                       connections together (default %zu); a request\n"
      "                       that would go over gets 503\n"
      "  --max-memory BYTES   tenant profiles held in memory at once (a K,\n"
      "                       M or G suffix multiplies by 1024s; default:\n"
      "                       no limit): past it the least recently used\n"
      "                       tenant not in use is let go, and loaded again\n"
      "                       on its next request\n"
      "  --flag-rate R        the false-alarm rate verdicts keep to: the "
      "share\n"
      "                       of each sender's own mail flagged (default\n"
      "                       0.01)\n"
      "  --timeout SECONDS    a connection idle or stalled this long is\n"
      "                       closed (default %u)\n"
      "\n"
      "Signals: SIGTERM/SIGINT stop gracefully (requests in flight are\n"
      "finished, the socket file is removed); SIGHUP reads --config again\n"
      "and reloads every tenant. Logs go to standard error.\n",
      sysconf(_SC_NPROCESSORS_ONLN), (size_t)PM_SERVE_MAX_BYTES_DEFAULT,
      PM_SERVE_SOCKET_MODE_DEFAULT, PM_SERVE_MAX_CONNECTIONS_DEFAULT,
      (size_t)PM_SERVE_MAX_BUFFERED_DEFAULT, PM_SERVE_TIMEOUT_DEFAULT);
}

/* A byte count with an optional K, M or G suffix (powers of 1024). */
static bool parse_bytes(const char *opt, const char *arg, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(arg, &end, 10);
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k')
    shift = 10;
  else if (*end == 'M' || *end == 'm')
    shift = 20;
  else if (*end == 'G' || *end == 'g')
    shift = 30;
  if (shift)
    end++;
  if (errno || end == arg || *end || arg[0] == '-' || v == 0 ||
      v > (1ull << 50) >> shift) {
    pm_cli_err("%s: \"%s\" is not a byte count (e.g. 536870912 or 512M)", opt,
               arg);
    return false;
  }
  *out = (size_t)(v << shift);
  return true;
}

/* An octal mode such as 0660 or 660. */
static bool parse_mode(const char *arg, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(arg, &end, 8);
  if (errno || end == arg || *end || v > 0777 || arg[0] == '-') {
    pm_cli_err("--socket-mode: expected octal permissions such as 0660, got "
               "\"%s\"",
               arg);
    return false;
  }
  *out = (unsigned)v;
  return true;
}

static bool own_option(int c, const char *arg, void *ctx) {
  pm_serve_opts *o = ctx;
  long v;
  switch (c) {
  case 's':
    o->socket_path = arg;
    return true;
  case 'b':
    if (!pm_cli_parse_count("--max-bytes", arg, 1, 1L << 40, &v))
      return false;
    o->max_bytes = (size_t)v;
    return true;
  case 'm':
    return parse_mode(arg, &o->socket_mode);
  case 'n':
    if (!pm_cli_parse_count("--max-connections", arg, 1, 1000000, &v))
      return false;
    o->max_connections = (unsigned)v;
    return true;
  case 'M':
    if (!pm_cli_parse_count("--max-buffered-bytes", arg, 1, 1L << 40, &v))
      return false;
    o->max_buffered = (size_t)v;
    return true;
  case 'R':
    return parse_bytes("--max-memory", arg, &o->max_memory);
  case 'F':
    return pm_cli_parse_flag_rate("serve: --flag-rate", arg, &o->flag_rate);
  default: /* 'T' */
    if (!pm_cli_parse_count("--timeout", arg, 1, 86400, &v))
      return false;
    o->timeout_s = (unsigned)v;
    return true;
  }
}

int pm_cmd_serve(int argc, char **argv) {
  static const struct option own[] = {
      {"socket", required_argument, 0, 's'},
      {"max-bytes", required_argument, 0, 'b'},
      {"socket-mode", required_argument, 0, 'm'},
      {"max-connections", required_argument, 0, 'n'},
      {"max-buffered-bytes", required_argument, 0, 'M'},
      {"timeout", required_argument, 0, 'T'},
      {"max-memory", required_argument, 0, 'R'},
      {"flag-rate", required_argument, 0, 'F'},
      {0, 0, 0, 0},
  };
  /* the daemon's own short letters: -s is the socket, -d the store */
  static const pm_cli_spec spec = {
      "-dct", 1024, "s:b:m:n:M:T:", own, own_option, usage};
  pm_serve_opts o;
  pm_serve_opts_default(&o);
  pm_cli_common co;
  pm_cli_parsed p = pm_cli_parse(&spec, argc, argv, &co, &o);
  if (p != PM_CLI_GO)
    return p == PM_CLI_HELP ? PM_EXIT_OK : PM_EXIT_USAGE;
  o.store_dir = co.store;
  o.config_path = co.config;
  o.threads = co.threads;
  if (optind < argc) {
    pm_cli_err("serve: unexpected argument '%s'", argv[optind]);
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  if (!o.socket_path || !o.store_dir) {
    pm_cli_err("serve: --socket and --store are required");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  /* The workers are the parallelism: a BLAS call that fanned out over
   * OpenBLAS's own threads would fight them for the cores. */
  pm_cli_blas_threads(1);
  pm_error err;
  pm_error_clear(&err);
  if (pm_serve_run(&o, &err) != PM_OK) {
    pm_cli_err("serve: %s", pm_error_message(&err));
    return PM_EXIT_FAIL;
  }
  return PM_EXIT_OK;
}
