/* Small tenants (EVAL.md): the senders cut into groups, each group run
 * through the protocol as a corpus of its own, the trials pooled. A group
 * is a view of the whole corpus (its senders, its part of P), so the
 * protocol and the run are those of a whole corpus, not a copy of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"
#include "eval/run.h"

size_t pm_eval_tenant_count(size_t n_senders, size_t size) {
  if (!n_senders || !size)
    return 0;
  size_t n = n_senders / size + (n_senders % size != 0);
  /* protocol.py: a last group of fewer than n // 2 joins the one before */
  if (n > 1 && n_senders - (n - 1) * size < size / 2)
    n--;
  return n;
}

/* Group g of c as a corpus of its own. The view borrows everything from c
 * (senders, names, files, the mimicry habits); only its trials, made by
 * pm__eval_make_trials, are its own. c's P is in byte order as its senders
 * are, so the group's P is a contiguous part of it. */
static void view_of(const pm_eval_corpus *c, const pm_eval_tenant *g,
                    size_t first_profiled, pm_eval_corpus *v) {
  *v = *c;
  v->senders = c->senders + g->first_sender;
  v->n_senders = g->n_senders;
  v->profiled = c->profiled + first_profiled;
  v->n_profiled = g->n_profiled;
  v->n_outsiders = g->n_outsiders;
  v->n_mails = 0;
  for (size_t i = 0; i < v->n_senders; i++)
    v->n_mails += v->senders[i].n_train + v->senders[i].n_test;
  v->trials = NULL;
  v->n_trials = 0;
  v->tenant_size = 0;
  v->tenants = NULL;
  v->n_tenants = 0;
}

pm_status pm__eval_tenant_trials(pm_eval_corpus *c, pm_error *err) {
  free(c->trials);
  c->trials = NULL;
  c->n_trials = 0;
  free(c->tenants);
  c->n_tenants = pm_eval_tenant_count(c->n_senders, c->tenant_size);
  c->tenants = calloc(c->n_tenants ? c->n_tenants : 1, sizeof *c->tenants);
  if (!c->tenants)
    goto nomem;
  size_t cap = 0, pk = 0;
  for (size_t g = 0; g < c->n_tenants; g++) {
    pm_eval_tenant *t = &c->tenants[g];
    t->first_sender = g * c->tenant_size;
    t->n_senders = g + 1 < c->n_tenants ? c->tenant_size
                                        : c->n_senders - t->first_sender;
    for (size_t i = t->first_sender; i < t->first_sender + t->n_senders; i++) {
      t->n_profiled += c->senders[i].profiled;
      t->n_outsiders += c->senders[i].outsider;
    }
    pm_eval_corpus v;
    view_of(c, t, pk, &v);
    pk += t->n_profiled;
    pm_status rc = pm__eval_make_trials(&v, err);
    if (rc != PM_OK) {
      free(v.trials);
      return rc;
    }
    if (c->n_trials + v.n_trials > cap) {
      size_t ncap = cap ? cap : 256;
      while (ncap < c->n_trials + v.n_trials)
        ncap *= 2;
      pm_eval_trial *nt = realloc(c->trials, ncap * sizeof *nt);
      if (!nt) {
        free(v.trials);
        goto nomem;
      }
      c->trials = nt;
      cap = ncap;
    }
    t->first_trial = c->n_trials;
    t->n_trials = v.n_trials;
    /* The strings are c's already; the sender index becomes c's. */
    for (size_t i = 0; i < v.n_trials; i++) {
      pm_eval_trial tr = v.trials[i];
      tr.sender += t->first_sender;
      c->trials[c->n_trials++] = tr;
    }
    free(v.trials);
  }
  return PM_OK;
nomem:
  return pm_error_set(err, PM_NOMEM, "%s: out of memory listing the trials",
                      c->dir);
}

pm_status pm_eval_corpus_set_tenants(pm_eval_corpus *c, size_t size,
                                     pm_error *err) {
  if (size == 0)
    return pm_error_set(err, PM_INVAL,
                        "corpus %s: a tenant needs at least one sender",
                        c->dir);
  c->tenant_size = size;
  return pm__eval_make_trials(c, err);
}

size_t pm_eval_corpus_tenant_size(const pm_eval_corpus *c) {
  return c->tenant_size;
}

size_t pm_eval_corpus_n_tenants(const pm_eval_corpus *c) {
  return c->tenant_size ? c->n_tenants : 0;
}

void pm_eval_corpus_tenant(const pm_eval_corpus *c, size_t g,
                           pm_eval_tenant *out) {
  *out = c->tenants[g];
}

/* Adds what group run gr did to the pooled info. The per-mail and
 * per-trial times are means: summed here weighted, divided at the end. */
static void add_info(pm_eval_run *r, pm_eval_run *gr, size_t n_trials) {
  pm_eval_run_info *a = &r->info;
  const pm_eval_run_info *b = &gr->info;
  a->train_mails += b->train_mails;
  a->mails_trained += b->mails_trained;
  a->mails_rejected += b->mails_rejected;
  a->senders_ready += b->senders_ready;
  a->test_mails += b->test_mails;
  a->unscorable_mails += b->unscorable_mails;
  a->unscorable_trials += b->unscorable_trials;
  a->threads = b->threads;
  a->train_s += b->train_s;
  a->score_s += b->score_s;
  a->us_per_mail += b->us_per_mail * (double)b->test_mails;
  a->us_per_trial += b->us_per_trial * (double)n_trials;
  /* The first examples of all groups; the pooled run takes them over. */
  for (size_t i = 0; i < b->n_examples && a->n_examples < PM_EVAL_EXAMPLES;
       i++) {
    r->examples[a->n_examples] = gr->examples[i];
    a->examples[a->n_examples++] = gr->examples[i];
    gr->examples[i] = NULL;
  }
}

pm_status pm__eval_tenants_run(const pm_eval_corpus *c, const pm_eval_opts *o,
                               const char *step, pm_eval_run **out,
                               pm_error *err) {
  *out = NULL;
  pm_eval_run *r = calloc(1, sizeof *r);
  if (!r ||
      !(r->scores = calloc(c->n_trials ? c->n_trials : 1, sizeof *r->scores))) {
    free(r);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  r->n_scores = c->n_trials;
  size_t scored_trials = 0, pk = 0;
  pm_status rc = PM_OK;
  for (size_t g = 0; g < c->n_tenants && rc == PM_OK; g++) {
    const pm_eval_tenant *t = &c->tenants[g];
    size_t first_profiled = pk;
    pk += t->n_profiled;
    if (t->n_profiled == 0) /* no trials: nothing to train for */
      continue;
    pm_eval_corpus v;
    view_of(c, t, first_profiled, &v);
    if ((rc = pm__eval_make_trials(&v, err)) != PM_OK) {
      free(v.trials);
      break;
    }
    if (v.n_trials != t->n_trials) {
      free(v.trials);
      rc = pm_error_set(err, PM_INTERNAL,
                        "corpus %s: tenant %zu has %zu trials, listed %zu",
                        c->dir, g + 1, v.n_trials, t->n_trials);
      break;
    }
    char name[96];
    snprintf(name, sizeof name, "%s%stenant %zu/%zu", step ? step : "",
             step ? " " : "", g + 1, c->n_tenants);
    pm_eval_run *gr = NULL;
    rc = pm__eval_run_step(&v, o, name, &gr, err);
    free(v.trials);
    if (rc != PM_OK)
      break;
    memcpy(r->scores + t->first_trial, gr->scores,
           t->n_trials * sizeof *r->scores);
    add_info(r, gr, t->n_trials);
    scored_trials += t->n_trials;
    pm_eval_run_free(gr);
  }
  if (rc != PM_OK) {
    pm_eval_run_free(r);
    return rc;
  }
  if (r->info.test_mails)
    r->info.us_per_mail /= (double)r->info.test_mails;
  if (scored_trials)
    r->info.us_per_trial /= (double)scored_trials;
  *out = r;
  return PM_OK;
}
