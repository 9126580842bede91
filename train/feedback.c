/* pm_train_impostor: confirmed attacks into the tenant's moments and its
 * calibration (see train/feedback.h and include/penmark/train.h).
 *
 * Everything a run changes (fingerprints, moments, attack vectors and the
 * published model) is written in one transaction: a run that is killed
 * leaves the store as it was. */
#include "train/sample_cache.h"
#include "train/feedback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "penmark/features.h"
#include "penmark/model.h"
#include "penmark/train.h"
#include "train/finalize.h"
#include "train/gram.h"
#include "train/pipeline.h"
#include "train/source.h"

/* ---- reading the attacks back (for finalize) ---- */

typedef struct {
  uint32_t d;
  pm__sample *out;
  pm_error *err;
  pm_status rc;
} load_ctx;

static int load_one(int64_t owner, const void *data, size_t len, void *vctx) {
  load_ctx *c = vctx;
  (void)owner;
  pm__sample s;
  c->rc = pm__sample_decode(data, len, c->d, PM__ATTACK_K, &s, c->err);
  if (c->rc != PM_OK)
    return 1;
  pm__sample_entry *ne = realloc(c->out->e, (c->out->n + s.n + 1) * sizeof *ne);
  if (!ne) {
    pm__sample_free(&s);
    c->rc = pm_error_set(c->err, PM_NOMEM, "out of memory");
    return 1;
  }
  /* the entries move over: s keeps none of them */
  memcpy(ne + c->out->n, s.e, s.n * sizeof *ne);
  c->out->e = ne;
  c->out->n += s.n;
  c->out->k = c->out->n;
  free(s.e);
  return 0;
}

pm_status pm__attacks_load(pm_store *st, uint32_t d, pm__sample *out,
                           pm_error *err) {
  pm__sample_init(out, 0);
  load_ctx c = {.d = d, .out = out, .err = err, .rc = PM_OK};
  pm_status rc = pm_store_each(st, PM__KIND_ATTACK, load_one, &c, err);
  if (c.rc != PM_OK)
    return c.rc;
  return rc;
}

/* ---- recording attacks ---- */

/* The attack sample of one claimed sender, changed in this run. */
typedef struct {
  int64_t owner;
  pm__sample s;
} owner_sample;

typedef struct {
  pm_store *st;
  uint32_t d;
  pm__gram gram;
  owner_sample *owners;
  size_t n_owners;
} run;

static void run_free(run *r) {
  for (size_t i = 0; i < r->n_owners; i++)
    pm__sample_free(&r->owners[i].s);
  free(r->owners);
  pm__gram_free(&r->gram);
}

/* The attack sample of `owner`, loaded on first use. */
static pm_status owner_get(run *r, int64_t owner, pm__sample **out,
                           pm_error *err) {
  for (size_t i = 0; i < r->n_owners; i++)
    if (r->owners[i].owner == owner) {
      *out = &r->owners[i].s;
      return PM_OK;
    }
  owner_sample *no = realloc(r->owners, (r->n_owners + 1) * sizeof *no);
  if (!no)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  r->owners = no;
  owner_sample *o = &r->owners[r->n_owners];
  o->owner = owner;
  void *blob = NULL;
  size_t len = 0;
  pm_status rc = pm_store_get(r->st, PM__KIND_ATTACK, owner, &blob, &len, err);
  if (rc == PM_OK)
    rc = pm__sample_decode(blob, len, r->d, PM__ATTACK_K, &o->s, err);
  else if (rc == PM_NOTFOUND) {
    pm__sample_init(&o->s, PM__ATTACK_K);
    rc = PM_OK;
  }
  free(blob);
  if (rc != PM_OK)
    return rc;
  r->n_owners++;
  *out = &o->s;
  return PM_OK;
}

static pm_status record(run *r, const pm__item *it, pm_error *err) {
  int64_t owner = 0;
  pm_status rc = pm_store_sender_id(r->st, it->sender, false, &owner, err);
  if (rc == PM_NOTFOUND) {
    owner = 0; /* a claim of a sender the tenant does not know */
    rc = PM_OK;
  }
  pm__sample *s = NULL;
  if (rc == PM_OK)
    rc = owner_get(r, owner, &s, err);
  if (rc != PM_OK)
    return rc;
  if (!pm__sample_offer(s, it->sample_key, it->vec, r->d, it->chars))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  /* mail of nobody in the tenant: every sender's target is 0 */
  if (!pm__gram_add(&r->gram, it->vec, 0, it->sample_key))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  /* fingerprints of nobody (sender 0): training or feedback of the same
   * mail again is a duplicate */
  rc = pm_store_mark_seen(r->st, &it->fp, 0, it->date, err);
  if (rc == PM_OK)
    rc = pm_store_mark_seen(r->st, &it->raw, 0, it->date, err);
  return rc;
}

static pm_status put_blob(pm_store *st, const char *kind, int64_t owner,
                          void *blob, size_t len, pm_error *err) {
  if (!blob)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm_status rc = pm_store_put(st, kind, owner, blob, len, err);
  free(blob);
  return rc;
}

/* Writes the moments and the attack samples, and computes the model again
 * (inside the open transaction). */
static pm_status publish(run *r, const pm_train_opts *o, pm_error *err) {
  size_t len;
  void *blob = pm__gram_encode(&r->gram, NULL, NULL, &len);
  pm_status rc = put_blob(r->st, PM_KIND_MOMENTS, 0, blob, len, err);
  for (size_t i = 0; rc == PM_OK && i < r->n_owners; i++) {
    blob = pm__sample_encode(&r->owners[i].s, r->d, &len);
    rc = put_blob(r->st, PM__KIND_ATTACK, r->owners[i].owner, blob, len, err);
  }
  if (rc != PM_OK)
    return rc;
  rc = pm__finalize(r->st, o->cfg, &r->gram, o->min_mails, NULL, err);
  char want[32];
  snprintf(want, sizeof want, "%u", o->min_mails);
  if (rc == PM_OK)
    rc = pm_store_meta_set(r->st, "model_current", want, err);
  return rc;
}

static void add_example(pm_train_summary *sum, const char *msg) {
  if (sum->n_examples < PM_TRAIN_EXAMPLES && msg)
    sum->examples[sum->n_examples++] = strdup(msg);
}

static unsigned cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

static pm_status count_senders(pm_store *st, pm_train_summary *sum,
                               pm_error *err) {
  pm_store_sender *list;
  size_t n;
  pm_status rc = pm_store_senders(st, &list, &n, err);
  if (rc != PM_OK)
    return rc;
  sum->senders = n;
  sum->senders_ready = 0;
  for (size_t i = 0; i < n; i++)
    sum->senders_ready += list[i].ready;
  pm_store_senders_free(list, n);
  return PM_OK;
}

static double since(const struct timespec *t) {
  struct timespec n;
  clock_gettime(CLOCK_MONOTONIC, &n);
  return (double)(n.tv_sec - t->tv_sec) +
         (double)(n.tv_nsec - t->tv_nsec) / 1e9;
}

/* The tenant's moments. They are read inside the write transaction: a
 * training batch committed meanwhile is in them, never overwritten with
 * older ones. */
static pm_status load_moments(run *r, pm_error *err) {
  void *blob = NULL;
  size_t len = 0;
  pm_status rc = pm_store_get(r->st, PM_KIND_MOMENTS, 0, &blob, &len, err);
  if (rc == PM_OK) {
    pm__sample_cache c = {.st = r->st, .d = r->d};
    rc = pm__gram_decode(blob, len, r->d, &r->gram, pm__sample_cache_row, &c,
                         err);
    pm__sample_cache_free(&c);
  } else if (rc == PM_NOTFOUND) {
    rc = pm_error_set(err, PM_NOTFOUND,
                      "store %s holds no trained mail: train it first",
                      pm_store_file(r->st));
  }
  free(blob);
  return rc;
}

/* One attack from the workers, in input order: counted as rejected or
 * duplicate, or recorded. */
static pm_status take_item(run *r, const pm__item *it, pm_train_summary *sum,
                           pm_error *err) {
  if (it->kind == PM__ITEM_NOMEM) {
    /* nothing of it is recorded (the batch is rolled back): its
     * fingerprint and vector were never made */
    return pm_error_set(err, PM_NOMEM, "out of memory reading %s",
                        it->message ? it->message : "a mail");
  }
  sum->mails_read++;
  sum->bytes_read += it->bytes;
  if (it->kind == PM__ITEM_REJECT) {
    sum->mails_rejected++;
    sum->rejected[it->reason]++;
    add_example(sum, it->message);
    return PM_OK;
  }
  if (it->kind == PM__ITEM_SEEN) {
    sum->mails_duplicate++;
    return PM_OK;
  }
  bool seen = false;
  pm_status rc = pm_store_seen(r->st, &it->fp, &seen, err);
  if (rc == PM_OK && seen)
    sum->mails_duplicate++; /* the same mail in other bytes */
  else if (rc == PM_OK && (rc = record(r, it, err)) == PM_OK)
    sum->mails_trained++;
  return rc;
}

pm_status pm_train_impostor(const pm_train_opts *opts,
                            const char *const *inputs, size_t n_inputs,
                            pm_train_summary *sum, pm_error *err) {
  memset(sum, 0, sizeof *sum);
  if (!opts || !opts->cfg || !opts->store_dir || !opts->tenant)
    return pm_error_set(err, PM_INVAL,
                        "feedback needs a store, a tenant and a configuration");
  pm_status rc = pm_tenant_check(opts->tenant, err);
  if (rc != PM_OK)
    return rc;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  run r = {.d = pm_config_vector_dim(opts->cfg)};
  char *json = pm_config_to_json(opts->cfg);
  if (!json)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  /* no CREATE: an attack on a tenant without profiles teaches nothing */
  rc = pm_store_open(opts->store_dir, opts->tenant, PM_STORE_WRITE, json,
                     pm_config_hash(opts->cfg), &r.st, err);
  free(json);
  pm__source src = {0};
  pm__pipeline *pipe = NULL;
  unsigned threads = opts->threads ? opts->threads : cores();
  if (rc == PM_OK)
    rc = pm__source_open(inputs, n_inputs, &src, err);
  if (rc == PM_OK) {
    sum->input_errors = src.n_errors;
    for (size_t i = 0; i < src.n_errors && i < 4; i++)
      if (sum->n_input_error_examples < PM_TRAIN_EXAMPLES)
        sum->input_error_examples[sum->n_input_error_examples++] =
            strdup(src.first_errors[i]);
    rc = pm__pipeline_start(&src, opts, threads, &pipe, err);
  }
  if (rc == PM_OK)
    rc = pm_store_begin(r.st, err);
  if (rc == PM_OK)
    rc = load_moments(&r, err);
  for (size_t i = 0; rc == PM_OK && i < src.n; i++) {
    pm__item *it = pm__pipeline_next(pipe, i);
    rc = take_item(&r, it, sum, err);
    pm__pipeline_release(pipe, i);
  }
  if (pipe)
    pm__pipeline_stop(pipe);
  if (rc == PM_OK && sum->mails_trained > 0) {
    rc = publish(&r, opts, err);
    if (rc == PM_OK)
      rc = pm_store_commit(r.st, err);
  }
  /* nothing new (or a failure): the store stays exactly as it was */
  if (r.st && (rc != PM_OK || sum->mails_trained == 0))
    pm_store_rollback(r.st);
  if (rc == PM_OK)
    rc = count_senders(r.st, sum, err);
  sum->elapsed_s = since(&t0);
  pm__source_free(&src);
  run_free(&r);
  pm_store_close(r.st);
  return rc;
}
