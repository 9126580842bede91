/* score: per-mail scoring latency in-process, on one core.
 *
 *   score [CORPUS_NAME...]
 *
 * For each corpus (default: enron-dev, English, and asakusarb-ja-dev,
 * Japanese, under $PM_SHARED_DATA, default ../shared/data): trains a
 * temporary tenant on the training split of EVAL.md (the enrolled senders'
 * first 80% of mail, labelled by directory), then takes every test mail
 * once, claimed as the sender of its first trial (its own sender when it
 * has a profile, else a drawn one), parses them all into memory and times,
 * PM_BENCH_REPEAT times (median reported):
 *   - pm_mail_parse alone;
 *   - pm_extract_mail alone (features, no profile);
 *   - pm_score_mail (features + the profile matrix + reasons);
 * giving p50/p99 latency, mails/s and how much scoring adds to extraction
 * (target: under 20%). With PM_BENCH_PEERS=1, the best peer baseline
 * (shared/peers/peers.py --method logreg, about two minutes) is run on the
 * same corpus for its per-mail scoring time. A missing corpus is skipped.
 * Numbers only; nothing is asserted. */
#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/tmpdir.h"
#include "penmark/penmark.h"
#include "penmark/score.h"
#include "penmark/train.h"

typedef struct {
  char *raw; /* the file's bytes, for the parse stage */
  size_t len;
  pm_mail *mail;       /* parsed once, for the other stages */
  const char *claimed; /* borrowed from the corpus */
} tmail;

/* Per-mail microseconds of one stage, over one pass. */
typedef struct {
  double total_s, p50_us, p99_us;
} pass_stats;

static volatile double sink;

/* Trains tenant "bench" in store_dir on the corpus's training split. */
static bool train(const pm_eval_corpus *c, const pm_config *cfg,
                  const char *store_dir, pm_train_summary *sum) {
  size_t n = 0, cap = pm_eval_corpus_n_mails(c);
  char **inputs = calloc(cap ? cap : 1, sizeof *inputs);
  if (!inputs)
    return false;
  for (size_t s = 0; s < pm_eval_corpus_n_senders(c); s++) {
    pm_eval_sender snd;
    pm_eval_corpus_sender(c, s, &snd);
    if (snd.outsider)
      continue; /* an outsider's mail is never trained on (EVAL.md) */
    for (size_t j = 0; j < snd.n_train; j++)
      inputs[n++] = pm_bench_join(pm_eval_corpus_dir(c), snd.files[j]);
  }
  pm_train_opts o;
  pm_train_opts_default(&o);
  o.store_dir = store_dir;
  o.tenant = "bench";
  o.cfg = cfg;
  o.label_by_dir = true;
  pm_error err;
  pm_error_clear(&err);
  /* BLAS threads are the caller's: the cores, as `penmark train` sets */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  openblas_set_num_threads(cores > 0 ? (int)cores : 1);
  pm_status rc = pm_train(&o, (const char *const *)inputs, n, sum, &err);
  if (rc != PM_OK)
    fprintf(stderr, "score: training failed: %s\n", pm_error_message(&err));
  for (size_t i = 0; i < n; i++)
    free(inputs[i]);
  free(inputs);
  return rc == PM_OK;
}

/* The test mails, once each, parsed; *n gets their number. */
static tmail *test_mails(const pm_eval_corpus *c, size_t *n_out) {
  size_t nt;
  const pm_eval_trial *t = pm_eval_corpus_trials(c, &nt);
  tmail *m = calloc(nt ? nt : 1, sizeof *m);
  if (!m)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < nt; i++) {
    /* trials of one mail are consecutive: keep the first */
    if (i && !strcmp(t[i].mail, t[i - 1].mail))
      continue;
    char *path = pm_bench_join(pm_eval_corpus_dir(c), t[i].mail);
    m[n].raw = pm_bench_read(path, &m[n].len);
    free(path);
    if (pm_mail_parse(m[n].raw, m[n].len, NULL, &m[n].mail, NULL) != PM_OK) {
      free(m[n].raw); /* unscorable: not timed */
      continue;
    }
    m[n++].claimed = t[i].claimed;
  }
  *n_out = n;
  return m;
}

typedef enum { ST_PARSE, ST_EXTRACT, ST_SCORE, ST_PARSE_SCORE } stage;

/* What a pass needs; one extractor and one scorer, reused (one thread). */
typedef struct {
  pm_extractor *x;
  pm_features *f;
  pm_scorer *sc;
  const pm_profiles *p;
  const tmail *m;
  size_t n;
  double *lat; /* n latencies, microseconds */
} bctx;

/* One stage of one mail; the verdict when it scored, else -1. */
static int one(const bctx *b, stage st, size_t i, pm_error *err) {
  const tmail *m = &b->m[i];
  pm_mail *parsed = NULL;
  const pm_mail *mail = m->mail;
  int verdict = -1;
  if (st == ST_PARSE || st == ST_PARSE_SCORE) {
    if (pm_mail_parse(m->raw, m->len, NULL, &parsed, err) != PM_OK)
      return -1;
    mail = parsed;
  }
  if (st == ST_EXTRACT) {
    if (pm_extract_mail(b->x, mail, b->f, err) == PM_OK)
      sink += (double)pm_features_nnz(b->f);
  } else if (st == ST_SCORE || st == ST_PARSE_SCORE) {
    pm_score_result r;
    if (pm_score_mail(b->sc, b->p, mail, m->claimed, &r, err) == PM_OK) {
      sink += r.probability;
      verdict = (int)r.verdict;
    }
  }
  pm_mail_free(parsed);
  return verdict;
}

static pass_stats run_pass(const bctx *b, stage st, size_t *verdicts) {
  pm_error err;
  pm_error_clear(&err);
  int64_t start = pm_bench_now_ns();
  for (size_t i = 0; i < b->n; i++) {
    int64_t t0 = pm_bench_now_ns();
    int v = one(b, st, i, &err);
    b->lat[i] = (double)(pm_bench_now_ns() - t0) / 1e3;
    if (verdicts && v >= 0)
      verdicts[v]++;
  }
  pass_stats s;
  s.total_s = (double)(pm_bench_now_ns() - start) / 1e9;
  s.p50_us = pm_bench_quantile(b->lat, b->n, 0.50);
  s.p99_us = pm_bench_quantile(b->lat, b->n, 0.99);
  return s;
}

/* The median, field by field, of PM_BENCH_REPEAT passes; verdicts (may be
 * NULL) are counted on the first. */
static pass_stats median_pass(const bctx *b, stage st, size_t *verdicts) {
  double tot[PM_BENCH_REPEAT], p50[PM_BENCH_REPEAT], p99[PM_BENCH_REPEAT];
  for (int r = 0; r < PM_BENCH_REPEAT; r++) {
    pass_stats s = run_pass(b, st, r == 0 ? verdicts : NULL);
    tot[r] = s.total_s;
    p50[r] = s.p50_us;
    p99[r] = s.p99_us;
  }
  pass_stats out = {pm_bench_median(tot, PM_BENCH_REPEAT),
                    pm_bench_median(p50, PM_BENCH_REPEAT),
                    pm_bench_median(p99, PM_BENCH_REPEAT)};
  return out;
}

static void row(const char *name, pass_stats s, size_t n) {
  double mean = n ? s.total_s * 1e6 / (double)n : 0;
  printf("  %-32s %8.0f %8.0f %8.0f %9.0f\n", name, s.p50_us, s.p99_us, mean,
         s.total_s > 0 ? (double)n / s.total_s : 0);
}

/* The best peer's scoring time per mail (peers.py prints "score N us/mail"
 * on standard error); 0 when it could not be run. */
static double peer_us(const char *corpus_dir) {
  char peers[4096], out[64], cmd[8192];
  snprintf(peers, sizeof peers, "%s/../peers/peers.py", pm_bench_shared_data());
  if (access(peers, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0) {
    printf("  peer logreg: %s or /usr/bin/python3 not found, skipped\n", peers);
    return 0;
  }
  if (strchr(peers, '\'') || strchr(corpus_dir, '\''))
    return 0; /* quoted below for the shell */
  snprintf(out, sizeof out, "/tmp/pm-bench-peer-%ld.tsv", (long)getpid());
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 '%s' '%s' --method logreg --out %s 2>&1 "
           ">/dev/null",
           peers, corpus_dir, out);
  FILE *p = popen(cmd, "r");
  if (!p)
    return 0;
  char line[1024];
  double us = 0;
  while (fgets(line, sizeof line, p)) {
    const char *s = strstr(line, "score ");
    double v;
    if (s && sscanf(s, "score %lf us/mail", &v) == 1)
      us = v;
  }
  int rc = pclose(p);
  remove(out);
  if (rc != 0 || us <= 0)
    printf("  peer logreg: peers.py failed or printed no timing (status "
           "%d)\n",
           rc);
  return rc == 0 ? us : 0;
}

static bool bench_corpus(const char *name, const char *lang) {
  char *dir = pm_bench_join(pm_bench_shared_data(), name);
  if (!pm_bench_is_dir(dir)) {
    printf("== score %s: %s not found, skipped\n", name, dir);
    free(dir);
    return true;
  }
  char store_dir[] = "/tmp/pm-bench-score-XXXXXX";
  pm_error err;
  pm_error_clear(&err);
  pm_eval_corpus *c = NULL;
  pm_config *cfg = pm_config_default();
  pm_store *st = NULL;
  pm_profiles *prof = NULL;
  pm_scorer *sc = NULL;
  pm_extractor *x = NULL;
  pm_features *f = pm_features_new();
  tmail *m = NULL;
  size_t n = 0;
  double *lat = NULL;
  bool ok = false, made = false;
  pm_train_summary sum;
  memset(&sum, 0, sizeof sum);
  if (!cfg || !f || pm_eval_corpus_open(dir, &c, &err) != PM_OK) {
    fprintf(stderr, "score %s: %s\n", name, pm_error_message(&err));
    goto out;
  }
  if (!mkdtemp(store_dir)) {
    perror("score: mkdtemp");
    goto out;
  }
  made = true;
  int64_t t0 = pm_bench_now_ns();
  if (!train(c, cfg, store_dir, &sum))
    goto out;
  double train_s = (double)(pm_bench_now_ns() - t0) / 1e9;
  /* one core: BLAS must not spread a mail over threads */
  openblas_set_num_threads(1);
  if (pm_store_open(store_dir, "bench", PM_STORE_READ, NULL, 0, &st, &err) !=
          PM_OK ||
      pm_profiles_load(st, NULL, &prof, &err) != PM_OK ||
      pm_scorer_new(pm_profiles_config(prof), &sc, &err) != PM_OK ||
      pm_extractor_new(pm_profiles_config(prof), &x, &err) != PM_OK) {
    fprintf(stderr, "score %s: %s\n", name, pm_error_message(&err));
    goto out;
  }
  m = test_mails(c, &n);
  lat = calloc(n ? n : 1, sizeof *lat);
  if (!m || !lat) {
    fputs("score: out of memory\n", stderr);
    goto out;
  }
  printf("== score %s (%s): trained %llu mails of %llu senders (%llu ready) "
         "in %.1f s; %zu test mails, %zu profiles\n",
         name, lang, (unsigned long long)sum.mails_trained,
         (unsigned long long)sum.senders, (unsigned long long)sum.senders_ready,
         train_s, n, pm_profiles_count(prof));
  size_t verdicts[PM_VERDICT_TOO_LITTLE_TEXT + 1] = {0};
  printf("  one core, median of %d runs; microseconds per mail\n",
         PM_BENCH_REPEAT);
  printf("  %-32s %8s %8s %8s %9s\n", "stage", "p50", "p99", "mean", "mails/s");
  bctx b = {x, f, sc, prof, m, n, lat};
  row("parse (MIME, own text)", median_pass(&b, ST_PARSE, NULL), n);
  pass_stats xs = median_pass(&b, ST_EXTRACT, NULL);
  row("features alone", xs, n);
  pass_stats ss = median_pass(&b, ST_SCORE, verdicts);
  row("score (features + profile)", ss, n);
  pass_stats all = median_pass(&b, ST_PARSE_SCORE, NULL);
  row("parse + score (end to end)", all, n);
  if (xs.total_s > 0)
    printf("  scoring adds %.1f%% to feature extraction (target: under "
           "20%%)\n",
           100.0 * (ss.total_s - xs.total_s) / xs.total_s);
  printf("  verdicts:");
  for (int v = 0; v <= PM_VERDICT_TOO_LITTLE_TEXT; v++)
    printf(" %s=%zu", pm_verdict_name((pm_verdict)v), verdicts[v]);
  printf("\n");
  if (getenv("PM_BENCH_PEERS") && !strcmp(getenv("PM_BENCH_PEERS"), "1")) {
    fflush(stdout);
    double us = peer_us(dir);
    double ours = n ? all.total_s * 1e6 / (double)n : 0;
    if (us > 0 && ours > 0)
      printf("  peer logreg (peers.py): %.0f us/mail; penmark parse + score "
             "%.0f us/mail: %.1fx %s\n",
             us, ours, us >= ours ? us / ours : ours / us,
             us >= ours ? "faster" : "slower");
  } else {
    printf("  peer logreg: not run (PM_BENCH_PEERS=1 runs it, ~2 min)\n");
  }
  ok = true;
out:
  for (size_t i = 0; m && i < n; i++) {
    pm_mail_free(m[i].mail);
    free(m[i].raw);
  }
  free(m);
  free(lat);
  pm_extractor_free(x);
  pm_features_free(f);
  pm_scorer_free(sc);
  pm_profiles_free(prof);
  pm_store_close(st);
  pm_train_summary_free(&sum);
  if (made)
    pm__rmtree(store_dir);
  pm_eval_corpus_free(c);
  pm_config_free(cfg);
  free(dir);
  return ok;
}

int main(int argc, char **argv) {
  int rc = 0;
  if (argc > 1) {
    for (int i = 1; i < argc; i++) {
      if (argv[i][0] == '-') {
        fprintf(stderr, "usage: score [CORPUS_NAME...]\n");
        return 2;
      }
      if (!bench_corpus(argv[i],
                        strstr(argv[i], "-ja") ? "Japanese" : "English"))
        rc = 1;
    }
  } else {
    if (!bench_corpus("enron-dev", "English"))
      rc = 1;
    if (!bench_corpus("asakusarb-ja-dev", "Japanese"))
      rc = 1;
  }
  pm_library_shutdown();
  return rc;
}
