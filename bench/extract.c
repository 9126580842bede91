/* extract: feature extraction throughput on one core.
 *
 *   extract [--summary FILE] [CORPUS_NAME...]
 *
 * For each corpus (default: enron-dev and asakusarb-ja-dev under
 * $PM_SHARED_DATA, default ../shared/data), every file is read into memory
 * first, then timed, each stage PM_BENCH_REPEAT times (median reported):
 *   - full: raw mail -> pm_mail_parse -> pm_extract_mail;
 *   - features alone: pm_extract_text on each mail's own text;
 *   - the bare pass the features are built on, over the same own text: ICU
 *     word break for English, MeCab for Japanese (the floor: no feature can
 *     be computed faster than its tokens).
 * The ratios features / bare pass are the numbers to watch (targets: 3x for
 * English over ICU, 1.5x for Japanese over MeCab). --summary writes one
 * line per corpus, "NAME mails bytes full_s features_s", for bench/train.sh.
 * A corpus that is not there is skipped with a message. Numbers only;
 * nothing is asserted. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "features/segment.h"
#include "penmark/penmark.h"

typedef struct {
  char *raw;
  size_t raw_len;
  char *own; /* NULL when the mail did not parse */
  size_t own_len;
} bmail;

typedef enum { STAGE_FULL, STAGE_FEATURES, STAGE_ICU, STAGE_MECAB } stage;

/* Keeps results alive so that no pass is optimised away. */
static volatile size_t sink;

typedef struct {
  pm_extractor *x;
  pm_features *f;
  pm__segmenter *seg;
} tools;

/* One pass of a stage over every mail; seconds. */
static double run_stage(tools *t, stage s, const bmail *m, size_t n) {
  pm_error err;
  pm_error_clear(&err);
  size_t acc = 0;
  int64_t t0 = pm_bench_now_ns();
  for (size_t i = 0; i < n; i++) {
    if (s == STAGE_FULL) {
      pm_mail *mail = NULL;
      if (pm_mail_parse(m[i].raw, m[i].raw_len, NULL, &mail, &err) == PM_OK &&
          pm_extract_mail(t->x, mail, t->f, &err) == PM_OK)
        acc += pm_features_nnz(t->f);
      pm_mail_free(mail);
    } else if (!m[i].own) {
      continue;
    } else if (s == STAGE_FEATURES) {
      if (pm_extract_text(t->x, m[i].own, m[i].own_len, t->f, &err) == PM_OK)
        acc += pm_features_nnz(t->f);
    } else if (s == STAGE_ICU) {
      acc += pm__segment_bare_icu(t->seg, m[i].own, m[i].own_len);
    } else {
      acc += pm__segment_bare_mecab(t->seg, m[i].own, m[i].own_len);
    }
  }
  sink += acc;
  return (double)(pm_bench_now_ns() - t0) / 1e9;
}

static double median_stage(tools *t, stage s, const bmail *m, size_t n) {
  double v[PM_BENCH_REPEAT];
  for (int r = 0; r < PM_BENCH_REPEAT; r++)
    v[r] = run_stage(t, s, m, n);
  return pm_bench_median(v, PM_BENCH_REPEAT);
}

/* Reads every file of the corpus and the own text of each mail. */
static bmail *load(const pm_eval_corpus *c, size_t *n_out, size_t *raw_bytes,
                   size_t *own_bytes, size_t *unparsed) {
  size_t n = pm_eval_corpus_n_mails(c), k = 0;
  bmail *m = calloc(n ? n : 1, sizeof *m);
  if (!m) {
    fputs("extract: out of memory\n", stderr);
    exit(1);
  }
  *raw_bytes = *own_bytes = *unparsed = 0;
  for (size_t s = 0; s < pm_eval_corpus_n_senders(c); s++) {
    pm_eval_sender snd;
    pm_eval_corpus_sender(c, s, &snd);
    for (size_t j = 0; j < snd.n_train + snd.n_test; j++, k++) {
      char *path = pm_bench_join(pm_eval_corpus_dir(c), snd.files[j]);
      m[k].raw = pm_bench_read(path, &m[k].raw_len);
      free(path);
      *raw_bytes += m[k].raw_len;
      pm_mail *mail = NULL;
      if (pm_mail_parse(m[k].raw, m[k].raw_len, NULL, &mail, NULL) != PM_OK) {
        (*unparsed)++;
        continue;
      }
      const char *own = pm_mail_own_text(mail, &m[k].own_len);
      m[k].own = malloc(m[k].own_len + 1);
      if (!m[k].own) {
        fputs("extract: out of memory\n", stderr);
        exit(1);
      }
      memcpy(m[k].own, own, m[k].own_len + 1);
      *own_bytes += m[k].own_len;
      pm_mail_free(mail);
    }
  }
  *n_out = k;
  return m;
}

static void row(const char *name, double s, double mb, size_t mails,
                const char *of) {
  printf("  %-30s %8.2f %9.2f %9.0f   %s\n", name, s, s > 0 ? mb / s : 0,
         s > 0 ? (double)mails / s : 0, of);
}

/* Benchmarks one corpus; false when it could not be run at all. */
static bool bench_corpus(const char *name, bool japanese, FILE *summary) {
  char *dir = pm_bench_join(pm_bench_shared_data(), name);
  if (!pm_bench_is_dir(dir)) {
    printf("== extract %s: %s not found, skipped\n", name, dir);
    free(dir);
    return true;
  }
  pm_error err;
  pm_error_clear(&err);
  pm_eval_corpus *c = NULL;
  pm_config *cfg = pm_config_default();
  tools t = {0};
  bool ok = false;
  if (!cfg || pm_eval_corpus_open(dir, &c, &err) != PM_OK ||
      pm_extractor_new(cfg, &t.x, &err) != PM_OK ||
      !(t.f = pm_features_new()) ||
      pm__segmenter_new(pm_config_mecab_dicdir(cfg), &t.seg, &err) != PM_OK) {
    fprintf(stderr, "extract %s: %s\n", name, pm_error_message(&err));
    goto out;
  }
  size_t n, raw, own, unparsed;
  int64_t t0 = pm_bench_now_ns();
  bmail *m = load(c, &n, &raw, &own, &unparsed);
  double load_s = (double)(pm_bench_now_ns() - t0) / 1e9;
  double raw_mb = (double)raw / 1e6, own_mb = (double)own / 1e6;
  printf("== extract %s (%s): %zu mails, %.1f MB raw, %.1f MB own text "
         "(%zu unparsed); read and parsed in %.1f s\n",
         name, japanese ? "Japanese" : "English", n, raw_mb, own_mb, unparsed,
         load_s);
  printf("  one core, median of %d runs\n", PM_BENCH_REPEAT);
  printf("  %-30s %8s %9s %9s\n", "stage", "seconds", "MB/s", "mails/s");
  double full = median_stage(&t, STAGE_FULL, m, n);
  row("full: parse + features", full, raw_mb, n, "(MB of raw mail)");
  double feat = median_stage(&t, STAGE_FEATURES, m, n);
  row("features alone (own text)", feat, own_mb, n - unparsed,
      "(MB of own text)");
  row("parse alone (full - features)", full - feat, raw_mb, n, "(derived)");
  stage bare = japanese ? STAGE_MECAB : STAGE_ICU;
  const char *bare_name = japanese ? "MeCab" : "ICU word break";
  double b = median_stage(&t, bare, m, n);
  char label[64];
  snprintf(label, sizeof label, "bare %s (own text)", bare_name);
  row(label, b, own_mb, n - unparsed, "(MB of own text)");
  if (b > 0) {
    printf("  ratio features / bare %s: %.2fx (target <= %s)\n", bare_name,
           feat / b, japanese ? "1.5x" : "3x");
    printf("  ratio full pipeline / bare %s: %.2fx (includes MIME parsing)\n",
           bare_name, full / b);
  }
  if (summary)
    fprintf(summary, "%s %zu %zu %.6f %.6f\n", name, n, raw, full, feat);
  for (size_t i = 0; i < n; i++) {
    free(m[i].raw);
    free(m[i].own);
  }
  free(m);
  ok = true;
out:
  pm__segmenter_free(t.seg);
  pm_features_free(t.f);
  pm_extractor_free(t.x);
  pm_eval_corpus_free(c);
  pm_config_free(cfg);
  free(dir);
  return ok;
}

int main(int argc, char **argv) {
  const char *summary_path = NULL;
  const char *names[16];
  int n_names = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--summary") && i + 1 < argc)
      summary_path = argv[++i];
    else if (argv[i][0] != '-' && n_names < 16)
      names[n_names++] = argv[i];
    else {
      fprintf(stderr, "usage: extract [--summary FILE] [CORPUS_NAME...]\n");
      return 2;
    }
  }
  if (!n_names) {
    names[n_names++] = "enron-dev";
    names[n_names++] = "asakusarb-ja-dev";
  }
  FILE *summary = summary_path ? fopen(summary_path, "w") : NULL;
  if (summary_path && !summary) {
    perror(summary_path);
    return 1;
  }
  int rc = 0;
  for (int i = 0; i < n_names; i++)
    if (!bench_corpus(names[i], strstr(names[i], "-ja") != NULL, summary))
      rc = 1;
  if (summary)
    fclose(summary);
  pm_library_shutdown();
  return rc;
}
