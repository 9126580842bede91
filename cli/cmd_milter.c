/* penmark milter: scores mail in the mail flow (Postfix, Sendmail) on
 * libmilter. In-process scoring from the store: one model load at start, no
 * extra hop per mail. Fails open: whatever goes wrong, the mail is accepted
 * with "X-Penmark-Verdict: error; <why>" and one log line (never mail text).
 */
#include <getopt.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "penmark/milter.h"
#include "penmark/score.h"
#include "penmark/store.h"

typedef enum { ACT_REPORT, ACT_TAG, ACT_QUARANTINE, ACT_REJECT } action;

static struct {
  const char *tenant;
  action act;
  const char *tag;
  FILE *log;
  pm_profiles *prof; /* NULL: store unavailable, every mail fails open */
  char load_error[256];
  pm_scorer *sc; /* one scorer, shared under the lock */
  pthread_mutex_t lock;
  size_t max_bytes;
} g = {.tag = "[penmark] ",
       .lock = PTHREAD_MUTEX_INITIALIZER,
       .max_bytes = 16u << 20};

/* One log line: time, then the message (no mail text ever). libmilter
 * itself logs only to syslog. */
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
  FILE *out = g.log ? g.log : stderr;
  char ts[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  va_list ap;
  va_start(ap, fmt);
  flockfile(out);
  fprintf(out, "%s penmark-milter: ", ts);
  vfprintf(out, fmt, ap);
  fputc('\n', out);
  fflush(out);
  funlockfile(out);
  va_end(ap);
}

/* Per-message state. */
typedef struct {
  pm__buf raw; /* the message as received: headers, blank line, body */
  char **own;  /* names of incoming X-Penmark-* headers, one each */
  size_t n_own;
  bool too_big;
} msg;

static void msg_free(msg *m) {
  if (!m)
    return;
  pm__buf_free(&m->raw);
  for (size_t i = 0; i < m->n_own; i++)
    free(m->own[i]);
  free(m->own);
  free(m);
}

static msg *get_msg(SMFICTX *ctx) {
  return smfi_getpriv(ctx);
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv) {
  msg_free(get_msg(ctx));
  msg *m = calloc(1, sizeof *m);
  smfi_setpriv(ctx, m);
  return SMFIS_CONTINUE;
}

static void append(msg *m, const char *s, size_t n) {
  if (m->too_big || m->raw.len + n > g.max_bytes) {
    m->too_big = true;
    return;
  }
  if (!pm__buf_append(&m->raw, s, n))
    m->too_big = true;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value) {
  msg *m = get_msg(ctx);
  if (!m)
    return SMFIS_CONTINUE;
  if (pm_milter_is_own_header(name)) {
    bool seen = false;
    for (size_t i = 0; i < m->n_own; i++)
      seen |= !strcasecmp(m->own[i], name);
    if (!seen) {
      char **grown = realloc(m->own, (m->n_own + 1) * sizeof *grown);
      if (grown) {
        m->own = grown;
        m->own[m->n_own++] = strdup(name);
      }
    }
    return SMFIS_CONTINUE; /* a forged verdict is not scored either */
  }
  append(m, name, strlen(name));
  append(m, ": ", 2);
  append(m, value, strlen(value));
  append(m, "\r\n", 2);
  return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *ctx) {
  msg *m = get_msg(ctx);
  if (m)
    append(m, "\r\n", 2);
  return SMFIS_CONTINUE;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len) {
  msg *m = get_msg(ctx);
  if (m)
    append(m, (const char *)chunk, len);
  return SMFIS_CONTINUE;
}

/* Removes every incoming X-Penmark-* header: each occurrence by index,
 * highest first so the remaining indexes stay valid. */
static void strip_own(SMFICTX *ctx, msg *m) {
  for (size_t i = 0; i < m->n_own; i++)
    for (int idx = 16; idx >= 1; idx--)
      smfi_chgheader(ctx, m->own[i], idx, NULL);
}

static sfsistat fail_open(SMFICTX *ctx, const char *why) {
  char v[300];
  pm_milter_error_value(why, v, sizeof v);
  smfi_addheader(ctx, "X-Penmark-Verdict", v);
  logf_("error: %s; accepted", why);
  return SMFIS_ACCEPT;
}

static sfsistat on_eom(SMFICTX *ctx) {
  msg *m = get_msg(ctx);
  if (!m)
    return SMFIS_ACCEPT;
  strip_own(ctx, m);
  if (!g.prof)
    return fail_open(ctx, g.load_error);
  if (m->too_big)
    return fail_open(ctx, "mail too big to score");
  pm_error err;
  pm_error_clear(&err);
  pm_mail *mail = NULL;
  if (pm_mail_parse(m->raw.data ? m->raw.data : "", m->raw.len, NULL, &mail,
                    &err) != PM_OK)
    return fail_open(ctx, "mail not parsed");
  pm_score_result r;
  pthread_mutex_lock(&g.lock);
  pm_status s = pm_score_mail(g.sc, g.prof, mail, NULL, &r, &err);
  pthread_mutex_unlock(&g.lock);
  pm_mail_free(mail);
  if (s != PM_OK)
    return fail_open(ctx, pm_error_message(&err));
  char v[512], reasons[4096];
  pm_milter_verdict_value(&r, g.tenant, v, sizeof v);
  pm_milter_reasons_value(&r, reasons, sizeof reasons);
  smfi_addheader(ctx, "X-Penmark-Verdict", v);
  if (reasons[0])
    smfi_addheader(ctx, "X-Penmark-Reasons", reasons);
  logf_("verdict=%s p=%.4f us=%lld", pm_verdict_name(r.verdict), r.probability,
        (long long)r.elapsed_us);
  if (r.verdict != PM_VERDICT_IMPERSONATION)
    return SMFIS_ACCEPT;
  switch (g.act) {
  case ACT_REPORT:
    break;
  case ACT_TAG: {
    char *subj = NULL;
    const char *old = "";
    /* the subject from the parsed copy is not kept: add the prefix to the
     * first Subject header as received */
    size_t n = strlen(g.tag) + 1024;
    subj = malloc(n);
    if (subj) {
      const char *h = m->raw.data ? strcasestr(m->raw.data, "\nSubject:") : 0;
      if (h) {
        old = h + 9;
        while (*old == ' ')
          old++;
      }
      const char *end = old[0] ? strstr(old, "\r\n") : old;
      int len = end ? (int)(end - old) : 0;
      if (len > 1000)
        len = 1000;
      snprintf(subj, n, "%s%.*s", g.tag, len, old);
      smfi_chgheader(ctx, "Subject", 1, subj);
      free(subj);
    }
    break;
  }
  case ACT_QUARANTINE:
    smfi_quarantine(ctx, "penmark: impersonation");
    break;
  case ACT_REJECT:
    smfi_setreply(ctx, "550", "5.7.1",
                  "Message looks like an impersonation of its sender");
    return SMFIS_REJECT;
  }
  return SMFIS_ACCEPT;
}

static sfsistat on_abort(SMFICTX *ctx) {
  msg_free(get_msg(ctx));
  smfi_setpriv(ctx, NULL);
  return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx) {
  msg_free(get_msg(ctx));
  smfi_setpriv(ctx, NULL);
  return SMFIS_CONTINUE;
}

static void usage(FILE *out) {
  fputs("usage: penmark milter --socket SPEC --tenant T --store DIR\n"
        "                      [--action report|tag|quarantine|reject]\n"
        "                      [--tag PREFIX] [--log FILE]\n"
        "\n"
        "A libmilter filter: adds X-Penmark-Verdict and X-Penmark-Reasons\n"
        "(removing any that came with the mail) and acts on impersonations.\n"
        "Fails open: a mail that cannot be scored is accepted with\n"
        "'X-Penmark-Verdict: error; <why>'. SIGTERM stops it.\n"
        "\n"
        "  --socket SPEC  unix:/path or inet:PORT@127.0.0.1\n"
        "  --action A     report (default): headers only; tag: subject\n"
        "                 prefix; quarantine: hold queue; reject: 550 5.7.1\n",
        out);
}

int pm_cmd_milter(int argc, char **argv) {
  static const struct option opts[] = {
      {"socket", required_argument, 0, 'u'},
      {"tenant", required_argument, 0, 't'},
      {"store", required_argument, 0, 's'},
      {"action", required_argument, 0, 'a'},
      {"tag", required_argument, 0, 'T'},
      {"log", required_argument, 0, 'l'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  const char *sock = NULL, *store_dir = NULL, *log_path = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "u:t:s:a:T:l:h", opts, NULL)) != -1) {
    switch (c) {
    case 'u':
      sock = optarg;
      break;
    case 't':
      g.tenant = optarg;
      break;
    case 's':
      store_dir = optarg;
      break;
    case 'a':
      if (!strcmp(optarg, "report"))
        g.act = ACT_REPORT;
      else if (!strcmp(optarg, "tag"))
        g.act = ACT_TAG;
      else if (!strcmp(optarg, "quarantine"))
        g.act = ACT_QUARANTINE;
      else if (!strcmp(optarg, "reject"))
        g.act = ACT_REJECT;
      else {
        pm_cli_err("milter: --action '%s': not report, tag, quarantine or "
                   "reject",
                   optarg);
        return PM_EXIT_USAGE;
      }
      break;
    case 'T':
      g.tag = optarg;
      break;
    case 'l':
      log_path = optarg;
      break;
    case 'h':
      usage(stdout);
      return PM_EXIT_OK;
    default:
      usage(stderr);
      return PM_EXIT_USAGE;
    }
  }
  if (!sock || !g.tenant || !store_dir) {
    pm_cli_err("milter: --socket, --tenant and --store are needed");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  pm_error err;
  pm_error_clear(&err);
  if (pm_tenant_check(g.tenant, &err) != PM_OK) {
    pm_cli_err("%s", pm_error_message(&err));
    return PM_EXIT_USAGE;
  }
  if (log_path && !(g.log = fopen(log_path, "a"))) {
    pm_cli_err("milter: --log %s: cannot open", log_path);
    return PM_EXIT_FAIL;
  }
  pm_store *st = NULL;
  if (pm_store_open(store_dir, g.tenant, PM_STORE_READ, NULL, 0, &st, &err) !=
          PM_OK ||
      pm_profiles_load(st, NULL, &g.prof, &err) != PM_OK ||
      pm_scorer_new(pm_profiles_config(g.prof), &g.sc, &err) != PM_OK) {
    /* fail open: the milter runs and accepts every mail with the reason */
    snprintf(g.load_error, sizeof g.load_error, "store unavailable: %s",
             pm_error_message(&err));
    logf_("%s", g.load_error);
    pm_profiles_free(g.prof);
    g.prof = NULL;
  }
  pm_store_close(st);
  struct smfiDesc desc = {
      .xxfi_name = "penmark",
      .xxfi_version = SMFI_VERSION,
      .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
      .xxfi_envfrom = on_envfrom,
      .xxfi_header = on_header,
      .xxfi_eoh = on_eoh,
      .xxfi_body = on_body,
      .xxfi_eom = on_eom,
      .xxfi_abort = on_abort,
      .xxfi_close = on_close,
  };
  int rc = PM_EXIT_FAIL;
  if (!strncmp(sock, "unix:", 5) || !strncmp(sock, "local:", 6))
    unlink(strchr(sock, ':') + 1);
  if (smfi_setconn((char *)sock) == MI_FAILURE ||
      smfi_register(desc) == MI_FAILURE) {
    pm_cli_err("milter: cannot use socket '%s'", sock);
    goto out;
  }
  logf_("listening on %s (tenant %s)", sock, g.tenant);
  rc = smfi_main() == MI_SUCCESS ? PM_EXIT_OK : PM_EXIT_FAIL;
  logf_("stopped");
out:
  pm_scorer_free(g.sc);
  pm_profiles_free(g.prof);
  if (g.log)
    fclose(g.log);
  return rc;
}
