/* pm_train: the writer side of a training run (see include/penmark/train.h).
 *
 * One thread (the caller's) owns the store: it takes the workers' results in
 * input order, drops mails seen before, adds the rest to their senders'
 * statistics, the tenant's moments and the calibration samples, and commits
 * every batch_mails mails together with their fingerprints. At the end it
 * computes the published model in one more transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "penmark/features.h"
#include "penmark/model.h"
#include "penmark/store.h"
#include "penmark/train.h"
#include "train/background.h"
#include "train/finalize.h"
#include "train/gram.h"
#include "train/pipeline.h"
#include "train/sample.h"
#include "train/sample_cache.h"
#include "train/source.h"

/* A sender touched by this run: its row, statistics and sample. */
typedef struct sender_state {
  pm_store_sender row; /* row.address owned */
  pm__stats stats;
  pm__sample sample;
  bool dirty;
  struct sender_state *next; /* hash chain */
} sender_state;

typedef struct {
  const pm_train_opts *opts;
  pm_store *st;
  uint32_t d, nn;
  pm__gram gram;
  bool gram_dirty;
  sender_state **buckets;
  size_t nbuckets, nsenders;
  pm_train_summary *sum;
  int64_t now;
  struct timespec t0, last_progress;
} run;

static double since(const struct timespec *t) {
  struct timespec n;
  clock_gettime(CLOCK_MONOTONIC, &n);
  return (double)(n.tv_sec - t->tv_sec) +
         (double)(n.tv_nsec - t->tv_nsec) / 1e9;
}

const char *pm_reject_reason_name(pm_reject_reason r) {
  static const char *const names[PM_REJECT__COUNT] = {
      "unreadable", "too_big", "not_mail", "no_sender", "no_text"};
  return (unsigned)r < PM_REJECT__COUNT ? names[r] : "unknown";
}

void pm_train_opts_default(pm_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->min_mails = 20;
  o->batch_mails = 10000;
  pm_mail_limits_default(&o->limits);
}

void pm_train_summary_free(pm_train_summary *s) {
  for (size_t i = 0; i < s->n_examples; i++)
    free(s->examples[i]);
  for (size_t i = 0; i < s->n_input_error_examples; i++)
    free(s->input_error_examples[i]);
  s->n_examples = s->n_input_error_examples = 0;
}

static void free_senders(run *r) {
  for (size_t b = 0; b < r->nbuckets; b++)
    for (sender_state *s = r->buckets[b], *nx; s; s = nx) {
      nx = s->next;
      free(s->row.address);
      pm__stats_free(&s->stats);
      pm__sample_free(&s->sample);
      free(s);
    }
  free(r->buckets);
}

/* The sender's state, loaded from the store (or created) on first use. */
static pm_status sender_get(run *r, const char *addr, sender_state **out,
                            pm_error *err) {
  uint64_t h = XXH3_64bits(addr, strlen(addr));
  size_t b = h & (r->nbuckets - 1);
  for (sender_state *s = r->buckets[b]; s; s = s->next)
    if (strcmp(s->row.address, addr) == 0) {
      *out = s;
      return PM_OK;
    }
  sender_state *s = calloc(1, sizeof *s);
  if (!s)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm__sample_init(&s->sample, PM_SAMPLE_K);
  pm_status rc = pm_store_sender_get(r->st, addr, &s->row, err);
  if (rc == PM_NOTFOUND) {
    int64_t id;
    rc = pm_store_sender_id(r->st, addr, true, &id, err);
    s->row = (pm_store_sender){.id = id, .address = strdup(addr)};
    if (rc == PM_OK && !s->row.address)
      rc = pm_error_set(err, PM_NOMEM, "out of memory");
  }
  uint32_t sd = pm__sstat_dim(r->d, r->nn);
  void *blob = NULL;
  size_t len = 0;
  if (rc == PM_OK) {
    rc = pm_store_get(r->st, PM_KIND_SSTAT, s->row.id, &blob, &len, err);
    if (rc == PM_OK)
      rc = pm__stats_decode(blob, len, sd, r->d, &s->stats, err);
    else if (rc == PM_NOTFOUND)
      rc = pm__stats_init(&s->stats, sd, r->d)
               ? PM_OK
               : pm_error_set(err, PM_NOMEM, "out of memory");
    free(blob);
    blob = NULL;
  }
  if (rc == PM_OK) {
    rc = pm_store_get(r->st, PM_KIND_SAMPLE, s->row.id, &blob, &len, err);
    if (rc == PM_OK)
      rc = pm__sample_decode(blob, len, r->d, PM_SAMPLE_K, &s->sample, err);
    else if (rc == PM_NOTFOUND)
      rc = PM_OK;
    free(blob);
  }
  if (rc != PM_OK) {
    free(s->row.address);
    pm__stats_free(&s->stats);
    pm__sample_free(&s->sample);
    free(s);
    return rc;
  }
  s->next = r->buckets[b];
  r->buckets[b] = s;
  r->nsenders++;
  *out = s;
  return PM_OK;
}

static void add_example(char **list, size_t *n, const char *msg) {
  if (*n < PM_TRAIN_EXAMPLES && msg)
    list[(*n)++] = strdup(msg);
}

/* Adds one mail to its sender and to the tenant. */
static pm_status train_one(run *r, const pm__item *it, pm_error *err) {
  sender_state *s = NULL;
  pm_status rc = sender_get(r, it->sender, &s, err);
  if (rc != PM_OK)
    return rc;
  for (uint32_t j = 0; j < r->d; j++)
    s->stats.sum[j] += it->vec[j];
  for (uint32_t j = 0; j < r->nn; j++) {
    double v = it->named[j];
    s->stats.sum[r->d + j] += v;
    s->stats.sumsq[j] += v * v;
  }
  s->stats.n++;
  if (!pm__sample_offer(&s->sample, it->sample_key, it->vec, r->d, it->chars))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  if (!pm__gram_add(&r->gram, it->vec, s->row.id, it->sample_key))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  r->gram_dirty = true;
  s->row.mails++;
  if (it->date > 0) {
    if (s->row.first_date == 0 || it->date < s->row.first_date)
      s->row.first_date = it->date;
    if (it->date > s->row.last_date)
      s->row.last_date = it->date;
  }
  s->row.last_trained = r->now;
  s->dirty = true;
  rc = pm_store_mark_seen(r->st, &it->fp, s->row.id, it->date, err);
  if (rc == PM_OK)
    rc = pm_store_mark_seen(r->st, &it->raw, s->row.id, it->date, err);
  return rc;
}

/* The senders of this run ordered by id, for the moments' references to
 * their samples. */
typedef struct {
  sender_state **v;
  size_t n;
} by_id;

static int cmp_sender_id(const void *a, const void *b) {
  int64_t x = (*(sender_state *const *)a)->row.id;
  int64_t y = (*(sender_state *const *)b)->row.id;
  return (x > y) - (x < y);
}

static bool by_id_make(run *r, by_id *o) {
  o->n = 0;
  o->v = malloc((r->nsenders ? r->nsenders : 1) * sizeof *o->v);
  if (!o->v)
    return false;
  for (size_t b = 0; b < r->nbuckets; b++)
    for (sender_state *s = r->buckets[b]; s; s = s->next)
      o->v[o->n++] = s;
  qsort(o->v, o->n, sizeof *o->v, cmp_sender_id);
  return true;
}

/* pm__gram_in_sample over the run's senders: a row is a reference when the
 * sample written in the same commit holds its very vector (two mails of one
 * sender may share a key). */
static int row_in_sample(void *ctx, const pm__gram_row *row) {
  const by_id *o = ctx;
  size_t lo = 0, hi = o->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (o->v[mid]->row.id < row->owner)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == o->n || o->v[lo]->row.id != row->owner)
    return -1;
  const pm__sample_entry *e = pm__sample_find(&o->v[lo]->sample, row->key);
  return e && e->nnz == row->nnz &&
         memcmp(e->idx, row->idx, row->nnz * sizeof *row->idx) == 0 &&
         memcmp(e->val, row->val, row->nnz * sizeof *row->val) == 0;
}

static pm_status put_encoded(run *r, const char *kind, int64_t owner,
                             void *blob, size_t len, pm_error *err) {
  if (!blob)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm_status rc = pm_store_put(r->st, kind, owner, blob, len, err);
  free(blob);
  return rc;
}

/* Writes what changed since the last commit and commits: every batch leaves
 * the store whole (statistics, samples, moments and fingerprints agree). */
static pm_status commit_batch(run *r, bool reopen, pm_error *err) {
  pm_status rc = PM_OK;
  for (size_t b = 0; rc == PM_OK && b < r->nbuckets; b++)
    for (sender_state *s = r->buckets[b]; rc == PM_OK && s; s = s->next) {
      if (!s->dirty)
        continue;
      size_t len;
      void *blob = pm__stats_encode(&s->stats, &len);
      rc = put_encoded(r, PM_KIND_SSTAT, s->row.id, blob, len, err);
      if (rc == PM_OK) {
        blob = pm__sample_encode(&s->sample, r->d, &len);
        rc = put_encoded(r, PM_KIND_SAMPLE, s->row.id, blob, len, err);
      }
      if (rc == PM_OK)
        rc = pm_store_sender_update(r->st, &s->row, err);
      s->dirty = false;
    }
  if (rc == PM_OK && r->gram_dirty) {
    size_t len = 0;
    by_id o;
    void *blob = NULL;
    if (by_id_make(r, &o))
      blob = pm__gram_encode(&r->gram, row_in_sample, &o, &len);
    free(o.v);
    rc = put_encoded(r, PM_KIND_MOMENTS, 0, blob, len, err);
    if (rc == PM_OK) {
      /* the statistics changed: the published model is out of date */
      rc = pm_store_meta_set(r->st, "model_current", "0", err);
    }
    r->gram_dirty = false;
  }
  if (rc == PM_OK)
    rc = pm_store_commit(r->st, err);
  if (rc == PM_OK && reopen)
    rc = pm_store_begin(r->st, err);
  return rc;
}

static void report(run *r, const pm__source *src, uint64_t done, uint64_t bytes,
                   bool finalizing, bool force) {
  const pm_train_opts *o = r->opts;
  if (!o->progress)
    return;
  if (!force && since(&r->last_progress) < 0.1)
    return;
  clock_gettime(CLOCK_MONOTONIC, &r->last_progress);
  pm_train_progress p = {done,          src->n,    bytes, src->total_bytes,
                         since(&r->t0), finalizing};
  o->progress(&p, o->progress_ctx);
}

static unsigned cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

/* Loads the tenant moments (or starts them). */
static pm_status load_moments(run *r, pm_error *err) {
  void *blob = NULL;
  size_t len = 0;
  pm_status rc = pm_store_get(r->st, PM_KIND_MOMENTS, 0, &blob, &len, err);
  if (rc == PM_OK) {
    pm__sample_cache c = {.st = r->st, .d = r->d};
    rc = pm__gram_decode(blob, len, r->d, &r->gram, pm__sample_cache_row, &c,
                         err);
    pm__sample_cache_free(&c);
  } else if (rc == PM_NOTFOUND)
    rc = pm__gram_init(&r->gram, r->d)
             ? PM_OK
             : pm_error_set(err, PM_NOMEM,
                            "out of memory for the tenant moments");
  free(blob);
  return rc;
}

/* Computes and publishes the model when the statistics, or the mails a
 * sender needs to be ready, changed since the last one: a run whose mail was
 * all seen before leaves it alone. "model_current" holds the min_mails the
 * published model was made with, "0" once the statistics moved on. */
static pm_status publish(run *r, pm_error *err) {
  /* the model depends on min_mails and on the background it was made with */
  char *cur = NULL, want[160];
  snprintf(want, sizeof want, "%u", r->opts->min_mails);
  pm__background_peek_id(r->opts->background, want + strlen(want),
                         sizeof want - strlen(want));
  pm_status rc = pm_store_meta_get(r->st, "model_current", &cur, err);
  bool current = rc == PM_OK && strcmp(cur, want) == 0;
  free(cur);
  if (rc != PM_OK && rc != PM_NOTFOUND)
    return rc;
  void *old = NULL;
  size_t len;
  bool has_model =
      pm_store_get(r->st, PM_KIND_MODEL, 0, &old, &len, NULL) == PM_OK;
  free(old);
  if (current && has_model)
    return PM_OK;
  rc = pm_store_begin(r->st, err);
  if (rc != PM_OK)
    return rc;
  pm__background bg;
  bool with_bg = r->opts->background && r->opts->background[0];
  if (with_bg)
    rc = pm__background_load(r->opts->background, r->opts->cfg, &bg, err);
  if (rc == PM_OK)
    rc = pm__finalize(r->st, r->opts->cfg, &r->gram, r->opts->min_mails,
                      with_bg ? &bg : NULL, err);
  if (with_bg)
    pm__background_free(&bg);
  if (rc == PM_OK)
    rc = pm_store_meta_set(r->st, "model_current", want, err);
  if (rc == PM_OK)
    rc = pm_store_commit(r->st, err);
  else
    pm_store_rollback(r->st);
  return rc;
}

static pm_status count_senders(run *r, pm_error *err) {
  pm_store_sender *list;
  size_t n;
  pm_status rc = pm_store_senders(r->st, &list, &n, err);
  if (rc != PM_OK)
    return rc;
  r->sum->senders = n;
  r->sum->senders_ready = 0;
  for (size_t i = 0; i < n; i++)
    r->sum->senders_ready += list[i].ready;
  pm_store_senders_free(list, n);
  return PM_OK;
}

/* Opens the store, its moments and the inputs, starts the extraction
 * workers and the first batch's transaction. */
static pm_status open_run(run *r, const char *config_json,
                          const char *const *inputs, size_t n_inputs,
                          pm__source *src, pm__pipeline **pipe, pm_error *err) {
  const pm_train_opts *opts = r->opts;
  pm_status rc = pm_store_open(opts->store_dir, opts->tenant,
                               PM_STORE_WRITE | PM_STORE_CREATE, config_json,
                               pm_config_hash(opts->cfg), &r->st, err);
  unsigned threads = opts->threads ? opts->threads : cores();
  if (rc == PM_OK)
    rc = load_moments(r, err);
  if (rc == PM_OK)
    rc = pm__source_open(inputs, n_inputs, src, err);
  if (rc == PM_OK) {
    pm_train_summary *sum = r->sum;
    sum->input_errors = src->n_errors;
    for (size_t i = 0; i < src->n_errors && i < 4; i++)
      add_example(sum->input_error_examples, &sum->n_input_error_examples,
                  src->first_errors[i]);
    rc = pm__pipeline_start(src, opts, threads, pipe, err);
  }
  if (rc == PM_OK)
    rc = pm_store_begin(r->st, err);
  return rc;
}

/* One mail from the workers, in input order: counted as rejected or
 * duplicate, or trained (*trained tells). */
static pm_status take_item(run *r, const pm__item *it, bool *trained,
                           pm_error *err) {
  pm_train_summary *sum = r->sum;
  if (it->kind == PM__ITEM_NOMEM) {
    /* the batch so far is rolled back; the next run redoes it */
    return pm_error_set(err, PM_NOMEM, "out of memory reading %s",
                        it->message ? it->message : "a mail");
  }
  if (it->kind == PM__ITEM_REJECT) {
    sum->mails_rejected++;
    sum->rejected[it->reason]++;
    add_example(sum->examples, &sum->n_examples, it->message);
    return PM_OK;
  }
  if (it->kind == PM__ITEM_SEEN) {
    sum->mails_duplicate++;
    return PM_OK;
  }
  bool seen = false;
  pm_status rc = pm_store_seen(r->st, &it->fp, &seen, err);
  if (rc != PM_OK)
    return rc;
  if (seen) {
    sum->mails_duplicate++;
    /* the same mail in other bytes: remember these bytes too */
    return pm_store_mark_seen(r->st, &it->raw, 0, it->date, err);
  }
  rc = train_one(r, it, err);
  if (rc == PM_OK) {
    sum->mails_trained++;
    *trained = true;
  }
  return rc;
}

pm_status pm_train(const pm_train_opts *opts, const char *const *inputs,
                   size_t n_inputs, pm_train_summary *sum, pm_error *err) {
  memset(sum, 0, sizeof *sum);
  if (!opts || !opts->cfg || !opts->store_dir || !opts->tenant)
    return pm_error_set(err, PM_INVAL,
                        "training needs a store, a tenant and "
                        "a configuration");
  pm_status rc = pm_tenant_check(opts->tenant, err);
  if (rc != PM_OK)
    return rc;
  /* No named features means the shipped lexicons could not be built (out
   * of memory at their first use): every dimension computed from them
   * would be wrong, and a new store would be made with them. */
  if (pm_named_count() == 0)
    return pm_error_set(err, PM_DICT,
                        "the shipped lexicons could not be loaded (out of "
                        "memory?): store %s/%s.db not touched",
                        opts->store_dir, opts->tenant);
  run r = {.opts = opts, .sum = sum, .now = (int64_t)time(NULL)};
  clock_gettime(CLOCK_MONOTONIC, &r.t0);
  r.d = pm_config_vector_dim(opts->cfg);
  r.nn = (uint32_t)pm_named_count();
  r.nbuckets = 1024;
  r.buckets = calloc(r.nbuckets, sizeof *r.buckets);
  char *json = pm_config_to_json(opts->cfg);
  if (!r.buckets || !json) {
    free(json);
    free(r.buckets);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  pm__source src = {0};
  pm__pipeline *pipe = NULL;
  rc = open_run(&r, json, inputs, n_inputs, &src, &pipe, err);
  free(json);
  size_t batch = opts->batch_mails ? opts->batch_mails : 10000;
  uint64_t in_batch = 0, bytes = 0;
  for (size_t i = 0; rc == PM_OK && i < src.n; i++) {
    pm__item *it = pm__pipeline_next(pipe, i);
    sum->mails_read++;
    bytes += it->bytes;
    bool trained = false;
    rc = take_item(&r, it, &trained, err);
    if (rc == PM_OK && trained && ++in_batch >= batch) {
      rc = commit_batch(&r, true, err);
      in_batch = 0;
    }
    pm__pipeline_release(pipe, i);
    report(&r, &src, i + 1, bytes, false, false);
  }
  sum->bytes_read = bytes;
  pm__pipeline_stop(pipe);
  if (rc == PM_OK)
    rc = commit_batch(&r, false, err);
  else if (r.st)
    pm_store_rollback(r.st);
  if (rc == PM_OK) {
    report(&r, &src, src.n, bytes, true, true);
    rc = publish(&r, err);
  }
  for (size_t b = 0; b < r.nbuckets; b++)
    for (sender_state *s = r.buckets[b]; s; s = s->next)
      sum->senders_updated += s->row.mails > 0 && s->row.last_trained == r.now;
  if (rc == PM_OK)
    rc = count_senders(&r, err);
  sum->elapsed_s = since(&r.t0);
  pm__source_free(&src);
  free_senders(&r);
  pm__gram_free(&r.gram);
  pm_store_close(r.st);
  return rc;
}
