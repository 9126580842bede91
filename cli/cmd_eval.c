/* penmark eval: the evaluation protocol of EVAL.md on a labeled corpus. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/tmp_guard.h"
#include "penmark/eval.h"

static void usage(FILE *out) {
  fputs("usage: penmark eval [OPTIONS] CORPUS\n"
        "\n"
        "Evaluates penmark on a labeled corpus (one directory per sender, "
        "files in\n"
        "date order), by the protocol of EVAL.md: trains a temporary store on "
        "the\n"
        "enrolled senders' first 80% of mail, scores every genuine, impostor "
        "and\n"
        "insider trial, and prints the report (JSON) on standard output and a "
        "summary\n"
        "on standard error.\n"
        "\n"
        "  --trials-out FILE  every trial with its score (TSV), for "
        "protocol.py\n"
        "  --report FILE      the report (JSON) into FILE as well\n"
        "  --plot FILE        the ROC curves as an SVG document\n"
        "  --config FILE      feature configuration (JSON)\n"
        "  --threads N        training and scoring threads (default: the "
        "cores)\n"
        "  --learning-curve   also train on 10, 20, 50, 100, 200 mails per "
        "sender\n"
        "  --ablation         also run once per feature family switched off\n"
        "  --mimicry          also a mimicry trial per impostor trial: the "
        "mail with\n"
        "                     the claimed sender's habitual greeting and "
        "closing block\n"
        "  --background FILE  train with this background (penmark "
        "background);\n"
        "                     refused when it holds any mail of CORPUS\n"
        "  --tenant-size N    small tenants: the senders (byte order) cut "
        "into groups of\n"
        "                     N, each trained and scored as a corpus of its "
        "own, the\n"
        "                     trials pooled (a last group under N/2 joins "
        "the one before)\n"
        "\n"
        "Exit status: 0 when the report was written, 1 on failure, 2 on a bad\n"
        "command line.\n",
        out);
}

typedef struct {
  const char *trials_out, *report, *plot, *config, *background;
  long threads, tenant_size;
  bool curve, ablation, mimicry;
  const char *corpus;
} args;

static bool own_option(int c, const char *arg, void *ctx) {
  args *a = ctx;
  switch (c) {
  case 't':
    a->trials_out = arg;
    return true;
  case 'r':
    a->report = arg;
    return true;
  case 'p':
    a->plot = arg;
    return true;
  case 'L':
    a->curve = true;
    return true;
  case 'A':
    a->ablation = true;
    return true;
  case 'M':
    a->mimicry = true;
    return true;
  case 'b':
    a->background = arg;
    return true;
  default: /* 'T' */
    return pm_cli_parse_count("--tenant-size", arg, 1, 1000000,
                              &a->tenant_size);
  }
}

/* 0 to go on, else the exit code. */
static int parse_args(int argc, char **argv, args *a) {
  static const struct option own[] = {
      {"trials-out", required_argument, 0, 't'},
      {"report", required_argument, 0, 'r'},
      {"plot", required_argument, 0, 'p'},
      {"learning-curve", no_argument, 0, 'L'},
      {"ablation", no_argument, 0, 'A'},
      {"mimicry", no_argument, 0, 'M'},
      {"background", required_argument, 0, 'b'},
      {"tenant-size", required_argument, 0, 'T'},
      {0, 0, 0, 0},
  };
  static const pm_cli_spec spec = {
      "--cj", 1024, "t:r:p:", own, own_option, usage};
  pm_cli_common co;
  pm_cli_parsed p = pm_cli_parse(&spec, argc, argv, &co, a);
  if (p != PM_CLI_GO)
    return p == PM_CLI_HELP ? -1 : PM_EXIT_USAGE;
  a->config = co.config;
  a->threads = co.threads;
  if (argc - optind != 1) {
    pm_cli_err(argc - optind ? "eval: one corpus directory expected"
                             : "eval: no corpus directory given");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  a->corpus = argv[optind];
  /* Refused before any work: the plot is drawn as SVG, and no converter is
   * a dependency of penmark. */
  size_t n = a->plot ? strlen(a->plot) : 0;
  if (n >= 4 && !strcasecmp(a->plot + n - 4, ".png")) {
    pm_cli_err("eval: --plot %s: only SVG is written; give a .svg file and "
               "convert it (e.g. rsvg-convert -o plot.png plot.svg)",
               a->plot);
    return PM_EXIT_USAGE;
  }
  return 0;
}

/* A progress line on a terminal, rewritten in place. */
static void progress(const pm_eval_progress *p, void *ctx) {
  (void)ctx;
  fprintf(stderr, "\r\033[K%s%s%s %llu/%llu mails, %.0f s", p->stage,
          p->step ? " " : "", p->step ? p->step : "",
          (unsigned long long)p->done, (unsigned long long)p->total,
          p->elapsed_s);
  fflush(stderr);
}

static void clear_progress(bool tty) {
  if (tty)
    fputs("\r\033[K", stderr);
}

/* A rate for the table: "-" when undefined. */
static void cell(double v) {
  if (isnan(v))
    fprintf(stderr, " %7s", "-");
  else
    fprintf(stderr, " %7.4f", v);
}

static void metrics_row(const char *name, const pm_eval_metrics *m) {
  fprintf(stderr, "  %-15s %7zu %7zu", name, m->n_positive, m->n_genuine);
  cell(m->auc);
  cell(m->eer);
  cell(m->tpr_1pct);
  cell(m->tpr_01pct);
  cell(m->brier);
  cell(m->abstain_rate);
  fputc('\n', stderr);
}

static void summary(const pm_eval_corpus *c, const pm_eval_run *r,
                    const pm_eval_group *all, const pm_eval_group *shrt) {
  const pm_eval_run_info *in = pm_eval_run_info_of(r);
  size_t np, nt;
  pm_eval_corpus_profiled(c, &np);
  pm_eval_corpus_trials(c, &nt);
  fprintf(stderr,
          "penmark eval: %s\n"
          "  %zu senders (%zu profiled, %zu outsiders), %zu mails, %zu "
          "trials\n"
          "  training: %zu mails (%llu trained, %llu rejected), %llu "
          "profiles ready, %.1f s\n"
          "  scoring: %zu mails on %u threads, %.1f s, %.0f us per mail\n",
          pm_eval_corpus_dir(c), pm_eval_corpus_n_senders(c), np,
          pm_eval_corpus_n_outsiders(c), pm_eval_corpus_n_mails(c), nt,
          in->train_mails, (unsigned long long)in->mails_trained,
          (unsigned long long)in->mails_rejected,
          (unsigned long long)in->senders_ready, in->train_s, in->test_mails,
          in->threads, in->score_s, in->us_per_mail);
  size_t ng = pm_eval_corpus_n_tenants(c);
  if (ng) {
    size_t few = 0;
    for (size_t g = 0; g < ng; g++) {
      pm_eval_tenant t;
      pm_eval_corpus_tenant(c, g, &t);
      few += t.n_profiled < 2;
    }
    fprintf(stderr,
            "  small tenants of %zu: %zu groups, each its own store, trials "
            "pooled; %zu with fewer than 2 profiled senders\n",
            pm_eval_corpus_tenant_size(c), ng, few);
  }
  if (in->unscorable_mails) {
    fprintf(stderr,
            "  unscorable: %zu mails (%zu trials, counted as abstentions), "
            "e.g.\n",
            in->unscorable_mails, in->unscorable_trials);
    for (size_t i = 0; i < in->n_examples; i++)
      fprintf(stderr, "    %s\n", in->examples[i]);
  }
  fprintf(stderr, "\n  %-15s %7s %7s %7s %7s %7s %7s %7s %7s\n", "", "trials",
          "genuine", "AUC", "EER", "TPR@1%", "TPR@.1%", "Brier", "abstain");
  metrics_row("impostor", &all->impostor);
  metrics_row("insider", &all->insider);
  if (all->mimicry.n_positive)
    metrics_row("mimicry", &all->mimicry);
  metrics_row("short impostor", &shrt->impostor);
  metrics_row("short insider", &shrt->insider);
  if (shrt->mimicry.n_positive)
    metrics_row("short mimicry", &shrt->mimicry);
  fprintf(stderr,
          "  (short: own text under %d characters, %zu trials; "
          "abstain rate over all trials %.4f)\n",
          PM_EVAL_SHORT_CHARS, shrt->n_trials, all->abstain_rate);
}

static void curve_table(const pm_eval_curve_point *p, size_t n) {
  fprintf(stderr, "\n  learning curve\n  %5s %8s %7s %7s %7s\n", "k", "senders",
          "AUC", "TPR@1%", "ins.AUC");
  for (size_t i = 0; i < n; i++) {
    fprintf(stderr, "  %5u %8zu", p[i].k, p[i].senders_with_k);
    cell(p[i].impostor.auc);
    cell(p[i].impostor.tpr_1pct);
    cell(p[i].insider.auc);
    fputc('\n', stderr);
  }
}

static void ablation_table(const pm_eval_ablation_row *r, size_t n,
                           const pm_eval_group *all) {
  fprintf(stderr, "\n  ablation\n  %-16s %7s %7s %7s %7s\n", "removed", "AUC",
          "TPR@1%", "ins.AUC", "dAUC");
  for (size_t i = 0; i < n; i++) {
    fprintf(stderr, "  %-16s", r[i].family);
    cell(r[i].impostor.auc);
    cell(r[i].impostor.tpr_1pct);
    cell(r[i].insider.auc);
    cell(r[i].impostor.auc - all->impostor.auc);
    fputc('\n', stderr);
  }
}

/* Writes text and a line end into path; false after a message. */
static bool write_text(const char *what, const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) {
    pm_cli_err("%s %s: %s", what, path, strerror(errno));
    return false;
  }
  size_t n = strlen(text);
  bool ok = fputs(text, f) != EOF &&
            (n && text[n - 1] == '\n' ? true : fputc('\n', f) != EOF);
  ok = (fclose(f) == 0) && ok;
  if (!ok)
    pm_cli_err("%s %s: write error: %s", what, path, strerror(errno));
  return ok;
}

static bool write_trials(const char *path, const pm_eval_corpus *c,
                         const pm_eval_run *r) {
  FILE *f = fopen(path, "w");
  if (!f) {
    pm_cli_err("--trials-out %s: %s", path, strerror(errno));
    return false;
  }
  pm_error err;
  pm_error_clear(&err);
  bool ok = pm_eval_write_trials(f, c, r, &err) == PM_OK;
  if (fclose(f) != 0 && ok) {
    pm_error_set(&err, PM_IO, "write error: %s", strerror(errno));
    ok = false;
  }
  if (!ok)
    pm_cli_err("--trials-out %s: %s", path, pm_error_message(&err));
  return ok;
}

/* The outputs of a finished run. */
static int outputs(const args *a, const pm_eval_corpus *c, const pm_eval_run *r,
                   const pm_eval_report *rep) {
  size_t nt;
  const pm_eval_trial *t = pm_eval_corpus_trials(c, &nt);
  int rc = PM_EXIT_OK;
  if (a->trials_out && !write_trials(a->trials_out, c, r))
    rc = PM_EXIT_FAIL;
  if (a->plot) {
    char *svg = pm_eval_roc_svg(t, pm_eval_run_scores(r), nt, a->corpus);
    if (!svg) {
      pm_cli_err("--plot: out of memory");
      rc = PM_EXIT_FAIL;
    } else if (!write_text("--plot", a->plot, svg)) {
      rc = PM_EXIT_FAIL;
    }
    free(svg);
  }
  char *json = pm_eval_report_json(rep, true);
  if (!json) {
    pm_cli_err("report: out of memory");
    return PM_EXIT_FAIL;
  }
  if (a->report && !write_text("--report", a->report, json))
    rc = PM_EXIT_FAIL;
  printf("%s\n", json);
  free(json);
  return rc;
}

/* The corpus, with its mimicry trials and small tenants when asked for;
 * false after a message. */
static bool open_corpus(const args *a, const pm_config *cfg,
                        pm_eval_corpus **c) {
  pm_error err;
  pm_error_clear(&err);
  if (pm_eval_corpus_open(a->corpus, c, &err) != PM_OK ||
      (a->mimicry && pm_eval_corpus_add_mimicry(*c, cfg, &err) != PM_OK) ||
      (a->tenant_size &&
       pm_eval_corpus_set_tenants(*c, (size_t)a->tenant_size, &err) != PM_OK)) {
    pm_cli_err("eval: %s", pm_error_message(&err));
    return false;
  }
  return true;
}

/* The metrics over all trials and over short mail; false after a
 * message. */
static bool compute_groups(const pm_eval_corpus *c, const pm_eval_run *r,
                           pm_eval_group *all, pm_eval_group *shrt) {
  size_t nt;
  const pm_eval_trial *t = pm_eval_corpus_trials(c, &nt);
  const pm_eval_score *s = pm_eval_run_scores(r);
  bool *is_short = calloc(nt ? nt : 1, sizeof *is_short);
  if (!is_short) {
    pm_cli_err("eval: out of memory");
    return false;
  }
  /* Short: the mail's own text is under 200 characters. An unscorable mail
   * has no known length and is left out. */
  for (size_t i = 0; i < nt; i++)
    is_short[i] = !s[i].unscorable && s[i].own_chars < PM_EVAL_SHORT_CHARS;
  pm_error err;
  pm_error_clear(&err);
  bool ok = pm_eval_group_compute(t, s, nt, NULL, all, &err) == PM_OK &&
            pm_eval_group_compute(t, s, nt, is_short, shrt, &err) == PM_OK;
  free(is_short);
  if (!ok)
    pm_cli_err("eval: %s", pm_error_message(&err));
  return ok;
}

int pm_cmd_eval(int argc, char **argv) {
  args a = {0};
  int rc = parse_args(argc, argv, &a);
  if (rc)
    return rc < 0 ? PM_EXIT_OK : rc;
  pm_config *cfg = pm_cli_config(a.config);
  if (!cfg)
    return PM_EXIT_FAIL;
  pm_error err;
  pm_error_clear(&err);
  pm_eval_corpus *c = NULL;
  pm_eval_run *r = NULL;
  pm_eval_curve_point *curve = NULL;
  pm_eval_ablation_row *abl = NULL;
  size_t n_curve = 0, n_abl = 0;
  pm_cli_tmp_guard *guard = NULL;
  bool tty = isatty(STDERR_FILENO);
  rc = PM_EXIT_FAIL;
  if (!open_corpus(&a, cfg, &c))
    goto out;
  /* The temporary stores go inside a directory that an interruption
   * removes too. */
  guard = pm_cli_tmp_guard_new("eval");
  if (!guard)
    goto out;
  pm_eval_opts o;
  pm_eval_opts_default(&o);
  o.tmp_dir = pm_cli_tmp_guard_dir(guard);
  o.cfg = cfg;
  o.threads = (unsigned)a.threads;
  o.background = a.background;
  if (tty)
    o.progress = progress;
  pm_cli_blas_threads(o.threads);
  pm_status st = pm_eval_run_new(c, &o, &r, &err);
  if (st == PM_OK && a.curve)
    st = pm_eval_learning_curve(c, &o, &curve, &n_curve, &err);
  if (st == PM_OK && a.ablation)
    st = pm_eval_ablation(c, &o, &abl, &n_abl, &err);
  clear_progress(tty);
  if (st != PM_OK) {
    pm_cli_err("eval: %s", pm_error_message(&err));
    goto out;
  }
  pm_eval_group all, shrt;
  if (!compute_groups(c, r, &all, &shrt))
    goto out;
  summary(c, r, &all, &shrt);
  if (curve)
    curve_table(curve, n_curve);
  if (abl)
    ablation_table(abl, n_abl, &all);
  pm_eval_report rep = {c, r, &all, &shrt, curve, n_curve, abl, n_abl};
  rc = outputs(&a, c, r, &rep);
out:
  pm_cli_tmp_guard_free(guard);
  free(curve);
  free(abl);
  pm_eval_run_free(r);
  pm_eval_corpus_free(c);
  pm_config_free(cfg);
  return rc;
}
