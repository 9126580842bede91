/* senders: scoring cost against the size of the tenant (printed, never
 * asserted).
 *
 *   senders [N...]        (default: 10 100 1000 10000)
 *
 * Trains the sample tenant (data/sample/corpus, 6 senders; $PM_DATA for
 * another data directory), then for each N writes a store of N synthetic
 * senders: the published model (penmark/model.h) of N ready senders, each a
 * copy of one of the sample's senders (row, mean, habits, normalisation)
 * with its weights and mean perturbed by up to 1%, encoded by the library's
 * model codec into a store made by the library. Real training of 10,000
 * senders would take hours of profile solves (docs/scale.md); what scoring
 * reads is this blob, of the size a trained one has. The cohort of each
 * sender is PM_COHORT others drawn at random: a real cohort is spread over
 * the matrix just as much, and the cost does not depend on which rows they
 * are.
 *
 * Per N it prints: the store's size and the time to build it; the cold load
 * (pm_store_open + pm_profiles_load: time, the profiles' bytes, the RSS it
 * adds and its peak while loading); and scoring, one core, the sample's
 * mails (corpus and inbound, parsed once) each claimed as a sender drawn at
 * random among the N, over 9 passes taken for each N in turn (so that other
 * work on the machine falls on every N alike): per-mail p50 and mean of
 * pm_score_mail (medians over the passes), the mean of the fastest pass,
 * pm_extract_mail alone, and the difference (the profile's part: the
 * claimed row, the cohort, reasons). At the end the ratio of the largest N
 * to the smallest (issue target: within 1.3x). */
#include <cblas.h>
#include <glob.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/tmpdir.h"
#include "penmark/model.h"
#include "penmark/penmark.h"
#include "penmark/score.h"
#include "penmark/store.h"
#include "penmark/train.h"

#define MAX_N 16

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

static void die(const char *what, const pm_error *err) {
  fprintf(stderr, "senders: %s: %s\n", what, err ? pm_error_message(err) : "");
  exit(1);
}

typedef struct {
  char *raw;
  size_t len;
  pm_mail *mail;
} smail;

static smail *sample_mails(const char *data, size_t *n) {
  glob_t g;
  char *pat[2] = {pm_bench_join(data, "sample/corpus/*/*.eml"),
                  pm_bench_join(data, "sample/inbound/*.eml")};
  if (glob(pat[0], 0, NULL, &g) != 0 ||
      glob(pat[1], GLOB_APPEND, NULL, &g) != 0)
    die("no sample mail under the data directory", NULL);
  smail *m = calloc(g.gl_pathc, sizeof *m);
  size_t k = 0;
  for (size_t i = 0; m && i < g.gl_pathc; i++) {
    m[k].raw = pm_bench_read(g.gl_pathv[i], &m[k].len);
    if (pm_mail_parse(m[k].raw, m[k].len, NULL, &m[k].mail, NULL) == PM_OK)
      k++;
    else
      free(m[k].raw);
  }
  globfree(&g);
  free(pat[0]);
  free(pat[1]);
  if (!m)
    die("out of memory", NULL);
  *n = k;
  return m;
}

/* The model of n synthetic senders made from the base's ready ones. */
static bool synthetic(const pm__model *b, uint32_t n, pm__model *m) {
  size_t d = b->d, nn = b->n_named;
  memset(m, 0, sizeof *m);
  m->d = b->d;
  m->n_named = b->n_named;
  m->config_hash = b->config_hash;
  m->mails = (uint64_t)n * 40;
  m->n_senders = m->n_ready = n;
  memcpy(m->calib, b->calib, sizeof m->calib);
  m->threshold = b->threshold;
  m->n_genuine = b->n_genuine;
  m->cohort_k = n - 1 < PM_COHORT ? n - 1 : PM_COHORT;
  m->senders = calloc(n, sizeof *m->senders);
  m->W = malloc((size_t)n * d * sizeof *m->W);
  m->mean = malloc((size_t)n * d * sizeof *m->mean);
  m->named_mean = malloc((size_t)n * nn * sizeof *m->named_mean);
  m->named_sd = malloc((size_t)n * nn * sizeof *m->named_sd);
  m->genuine = malloc((b->n_genuine + 1) * sizeof *m->genuine);
  m->cohort = malloc(((size_t)n * m->cohort_k + 1) * sizeof *m->cohort);
  if (!m->senders || !m->W || !m->mean || !m->named_mean || !m->named_sd ||
      !m->genuine || !m->cohort)
    return false;
  memcpy(m->genuine, b->genuine, b->n_genuine * sizeof *m->genuine);
  const pm__model_sender **ready = calloc(b->n_ready, sizeof *ready);
  if (!ready)
    return false;
  for (uint32_t i = 0; i < b->n_senders; i++)
    if (b->senders[i].row >= 0)
      ready[b->senders[i].row] = &b->senders[i];
  for (uint32_t i = 0; i < n; i++) {
    uint32_t r = i % b->n_ready;
    pm__model_sender *s = &m->senders[i];
    *s = *ready[r];
    char addr[64];
    snprintf(addr, sizeof addr, "s%06u@bench.example", i); /* byte order */
    s->address = strdup(addr);
    s->row = (int32_t)i;
    if (!s->address)
      return false;
    for (size_t j = 0; j < d; j++) {
      float e = 1.0f + ((float)(next() % 2001) - 1000.0f) * 1e-5f;
      m->W[i * d + j] = b->W[r * d + j] * e;
      m->mean[i * d + j] = b->mean[r * d + j] * e;
    }
    memcpy(m->named_mean + i * nn, b->named_mean + r * nn, nn * 4);
    memcpy(m->named_sd + i * nn, b->named_sd + r * nn, nn * 4);
    /* k distinct others: a partial shuffle would need n words per sender;
     * redraws are rare for n >> k, and for small n every other is taken */
    uint32_t *c = m->cohort + (size_t)i * m->cohort_k;
    for (uint32_t k = 0; k < m->cohort_k; k++) {
      if (n - 1 <= PM_COHORT) {
        c[k] = k < i ? k : k + 1;
        continue;
      }
      bool dup;
      do {
        c[k] = next() % n;
        dup = c[k] == i;
        for (uint32_t q = 0; q < k && !dup; q++)
          dup = c[q] == c[k];
      } while (dup);
    }
  }
  free(ready);
  return true;
}

static long proc_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, n) && line[n] == ':')
      v = strtol(line + n + 1, NULL, 10);
  if (f)
    fclose(f);
  return v;
}

/* Resets the peak RSS (VmHWM) to the current one; false when the kernel
 * does not let it. */
static bool reset_peak(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  bool ok = f && fputs("5", f) >= 0;
  if (f && fclose(f) != 0)
    ok = false;
  return ok;
}

/* Passes over the mails, each N's in turn so that what else runs on the
 * machine falls on every N alike; the median of PASSES is reported. */
#define PASSES 9

typedef struct {
  uint32_t n;
  double build_s, store_mb, load_ms, prof_mb, rss_mb, peak_mb;
  pm_profiles *p;
  char (*claimed)[32]; /* per mail, a sender drawn at random */
  size_t scored;       /* mails not abstained on, first pass */
  double mean[PASSES], p50[PASSES], feat[PASSES];
} result;

/* What a pass needs: one scorer and one extractor, on one thread. */
typedef struct {
  pm_scorer *sc;
  pm_extractor *x;
  pm_features *f;
  const smail *m;
  size_t nm;
  double *lat;
} bctx;

/* One pass over the mails: the mean of pm_score_mail (or pm_extract_mail
 * when feat) per mail, microseconds; b->lat gets each mail's. */
static double pass(const bctx *b, result *r, bool feat, size_t *scored) {
  int64_t t0 = pm_bench_now_ns();
  for (size_t i = 0; i < b->nm; i++) {
    int64_t a = pm_bench_now_ns();
    pm_score_result res;
    pm_error err;
    if (feat) {
      if (pm_extract_mail(b->x, b->m[i].mail, b->f, &err) != PM_OK)
        die("extract", &err);
    } else {
      if (pm_score_mail(b->sc, r->p, b->m[i].mail, r->claimed[i], &res, &err) !=
          PM_OK)
        die("score", &err);
      if (scored && !pm_verdict_abstains(res.verdict))
        (*scored)++;
    }
    b->lat[i] = (double)(pm_bench_now_ns() - a) / 1e3;
  }
  return (double)(pm_bench_now_ns() - t0) / 1e3 / (double)b->nm;
}

static void build_store(const char *dir, const char *tenant,
                        const pm__model *base, const char *cfg_json,
                        uint64_t hash, uint32_t n, result *res) {
  int64_t t0 = pm_bench_now_ns();
  pm__model m;
  size_t len;
  void *blob = NULL;
  if (!synthetic(base, n, &m) || !(blob = pm__model_encode(&m, &len)))
    die("out of memory", NULL);
  pm__model_free(&m);
  pm_store *st;
  pm_error err;
  if (pm_store_open(dir, tenant, PM_STORE_WRITE | PM_STORE_CREATE, cfg_json,
                    hash, &st, &err) != PM_OK ||
      pm_store_put(st, PM_KIND_MODEL, 0, blob, len, &err) != PM_OK)
    die(tenant, &err);
  pm_store_close(st);
  free(blob);
  res->build_s = (double)(pm_bench_now_ns() - t0) / 1e9;
  char *path = pm_store_path(dir, tenant);
  struct stat sb;
  res->store_mb = path && stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
  free(path);
}

/* Builds the store of n senders, loads it cold (timed, its memory) and
 * removes the file (10,000 senders take 390 MB of disk). */
static void load_n(const char *dir, const pm__model *base, const char *cfg_json,
                   uint64_t hash, uint32_t n, size_t nm, result *res) {
  char tenant[32];
  snprintf(tenant, sizeof tenant, "syn%u", n);
  res->n = n;
  build_store(dir, tenant, base, cfg_json, hash, n, res);
  /* cold: a first load in this process (the file is in the page cache, as
   * on a scoring host that just received it) */
  long rss0 = proc_kb("VmRSS");
  bool peak = reset_peak();
  int64_t t0 = pm_bench_now_ns();
  pm_store *st;
  pm_error err;
  if (pm_store_open(dir, tenant, PM_STORE_READ, NULL, 0, &st, &err) != PM_OK ||
      pm_profiles_load(st, NULL, &res->p, &err) != PM_OK)
    die(tenant, &err);
  res->load_ms = (double)(pm_bench_now_ns() - t0) / 1e6;
  res->rss_mb = (double)(proc_kb("VmRSS") - rss0) / 1024.0;
  res->peak_mb = peak ? (double)(proc_kb("VmHWM") - rss0) / 1024.0 : NAN;
  res->prof_mb = (double)pm_profiles_memory(res->p) / 1e6;
  pm_store_close(st);
  char *db = pm_store_path(dir, tenant);
  if (db)
    remove(db);
  free(db);
  res->claimed = malloc(nm * sizeof *res->claimed);
  if (!res->claimed)
    die("out of memory", NULL);
  for (size_t i = 0; i < nm; i++)
    snprintf(res->claimed[i], sizeof res->claimed[i], "s%06u@bench.example",
             next() % n);
}

static void run_passes(const bctx *b, result *res, size_t k) {
  for (int r = 0; r < PASSES; r++)
    for (size_t i = 0; i < k; i++) {
      res[i].mean[r] = pass(b, &res[i], false, r == 0 ? &res[i].scored : NULL);
      res[i].p50[r] = pm_bench_quantile(b->lat, b->nm, 0.5);
      res[i].feat[r] = pass(b, &res[i], true, NULL);
    }
}

/* Trains the sample tenant and reads back its model, configuration and
 * hash. */
static void base_model(const char *dir, const char *data, pm__model *m,
                       char **cfg_json, uint64_t *hash) {
  pm_config *cfg = pm_config_default();
  char *corpus = pm_bench_join(data, "sample/corpus");
  const char *in[] = {corpus};
  pm_train_opts o;
  pm_train_opts_default(&o);
  o.store_dir = dir;
  o.tenant = "base";
  o.cfg = cfg;
  o.label_by_dir = true;
  pm_train_summary sum;
  memset(&sum, 0, sizeof sum);
  pm_error err;
  if (!cfg || pm_train(&o, in, 1, &sum, &err) != PM_OK)
    die("training the sample tenant", &err);
  pm_train_summary_free(&sum);
  pm_store *st;
  void *blob;
  size_t len;
  if (pm_store_open(dir, "base", PM_STORE_READ, NULL, 0, &st, &err) != PM_OK ||
      pm_store_get(st, PM_KIND_MODEL, 0, &blob, &len, &err) != PM_OK ||
      pm__model_decode(blob, len, m, &err) != PM_OK)
    die("the sample tenant's model", &err);
  if (m->n_ready == 0)
    die("the sample tenant has no ready sender", NULL);
  *cfg_json = strdup(pm_store_config_json(st));
  *hash = pm_store_config_hash(st);
  free(blob);
  pm_store_close(st);
  pm_config_free(cfg);
  free(corpus);
}

static void report(result *r, size_t k, size_t nm) {
  printf("  %7s %9s %8s %9s %9s %8s %8s %8s %8s %8s %8s %8s\n", "senders",
         "store MB", "build s", "load ms", "prof MB", "+RSS MB", "peak MB",
         "p50 us", "mean us", "min us", "feat us", "prof us");
  double mean[MAX_N], p50[MAX_N], part[MAX_N], low[MAX_N];
  for (size_t i = 0; i < k; i++) {
    low[i] = r[i].mean[0];
    for (int q = 1; q < PASSES; q++)
      low[i] = r[i].mean[q] < low[i] ? r[i].mean[q] : low[i];
    mean[i] = pm_bench_median(r[i].mean, PASSES);
    p50[i] = pm_bench_median(r[i].p50, PASSES);
    part[i] = mean[i] - pm_bench_median(r[i].feat, PASSES);
    printf("  %7u %9.1f %8.2f %9.1f %9.1f %8.1f %8.1f %8.0f %8.0f %8.0f "
           "%8.0f %8.1f\n",
           r[i].n, r[i].store_mb, r[i].build_s, r[i].load_ms, r[i].prof_mb,
           r[i].rss_mb, r[i].peak_mb, p50[i], mean[i], low[i],
           mean[i] - part[i], part[i]);
    if (r[i].scored < nm / 2)
      printf("  (%u senders: only %zu of %zu mails scored)\n", r[i].n,
             r[i].scored, nm);
  }
  size_t a = 0, b = k - 1;
  printf("  per mail, %u senders / %u: %.2fx (mean), %.2fx (p50), %.2fx "
         "(fastest pass); the profile's part %.1f / %.1f us: %.2fx (target: "
         "the mail within 1.3x)\n",
         r[b].n, r[a].n, mean[b] / mean[a], p50[b] / p50[a], low[b] / low[a],
         part[b], part[a], part[a] > 0 ? part[b] / part[a] : NAN);
}

int main(int argc, char **argv) {
  uint32_t ns[MAX_N] = {10, 100, 1000, 10000};
  size_t k = 4;
  if (argc > 1) {
    k = 0;
    for (int i = 1; i < argc && k < MAX_N; i++) {
      long v = strtol(argv[i], NULL, 10);
      if (v < 2 || v > 1000000) {
        fputs("usage: senders [N...] (each N from 2 to 1000000)\n", stderr);
        return 2;
      }
      ns[k++] = (uint32_t)v;
    }
  }
  const char *data =
      getenv("PM_DATA") && *getenv("PM_DATA") ? getenv("PM_DATA") : "data";
  char dir[] = "/tmp/pm-bench-senders-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("senders: mkdtemp");
    return 1;
  }
  pm__model base;
  char *cfg_json;
  uint64_t hash;
  base_model(dir, data, &base, &cfg_json, &hash);
  openblas_set_num_threads(1); /* one core per mail, as the daemon's */
  size_t nm;
  smail *mails = sample_mails(data, &nm);
  printf("== senders: %zu sample mails, each claimed as a synthetic sender "
         "drawn at random; d = %u, cohort %u; one core, median of %d "
         "passes\n",
         nm, base.d, PM_COHORT, PASSES);
  result res[MAX_N];
  memset(res, 0, sizeof res);
  for (size_t i = 0; i < k; i++)
    load_n(dir, &base, cfg_json, hash, ns[i], nm, &res[i]);
  bctx b = {.m = mails, .nm = nm, .lat = malloc(nm * sizeof *b.lat)};
  pm_error err;
  b.f = pm_features_new();
  if (!b.lat || !b.f ||
      pm_scorer_new(pm_profiles_config(res[0].p), &b.sc, &err) != PM_OK ||
      pm_extractor_new(pm_profiles_config(res[0].p), &b.x, &err) != PM_OK)
    die("scorer", &err);
  run_passes(&b, res, k);
  report(res, k, nm);
  for (size_t i = 0; i < k; i++) {
    pm_profiles_free(res[i].p);
    free(res[i].claimed);
  }
  free(b.lat);
  pm_features_free(b.f);
  pm_extractor_free(b.x);
  pm_scorer_free(b.sc);
  for (size_t i = 0; i < nm; i++) {
    pm_mail_free(mails[i].mail);
    free(mails[i].raw);
  }
  free(mails);
  pm__model_free(&base);
  free(cfg_json);
  pm__rmtree(dir);
  pm_library_shutdown();
  return 0;
}
