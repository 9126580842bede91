/* The report: protocol.py's metrics at the top level (same keys, same
 * rounding, so that the two can be compared as they are), then penmark's
 * own additions. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval/internal.h"

/* A number printed with fmt and read back (short, stable output); null
 * when not finite. "%.4f" gives protocol.py's round(x, 4): both round the
 * exact binary value to nearest, ties to even. */
static void add_num(cJSON *o, const char *key, double v, const char *fmt) {
  if (!isfinite(v)) {
    cJSON_AddNullToObject(o, key);
    return;
  }
  char buf[64];
  snprintf(buf, sizeof buf, fmt, v);
  cJSON_AddNumberToObject(o, key, strtod(buf, NULL));
}

static void add_r4(cJSON *o, const char *key, double v) {
  add_num(o, key, v, "%.4f");
}

static void add_count(cJSON *o, const char *key, double v) {
  cJSON_AddNumberToObject(o, key, v);
}

static void add_metrics(cJSON *o, const pm_eval_metrics *m,
                        const char *pos_key) {
  add_count(o, "n_genuine", (double)m->n_genuine);
  add_count(o, pos_key, (double)m->n_positive);
  add_r4(o, "auc", m->auc);
  add_r4(o, "eer", m->eer);
  add_r4(o, "tpr_at_fpr_1pct", m->tpr_1pct);
  add_r4(o, "tpr_at_fpr_0.1pct", m->tpr_01pct);
  add_r4(o, "brier", m->brier);
}

/* A group: impostor metrics at its level, abstain_rate over all of its
 * trials, insider metrics in "insider". */
static void add_group(cJSON *o, const pm_eval_group *g) {
  add_metrics(o, &g->impostor, "n_impostor");
  add_r4(o, "abstain_rate", g->abstain_rate);
  cJSON *ins = cJSON_AddObjectToObject(o, "insider");
  if (ins) {
    add_metrics(ins, &g->insider, "n_insider");
    add_r4(ins, "abstain_rate", g->insider.abstain_rate);
  }
  if (g->mimicry.n_positive) {
    cJSON *mim = cJSON_AddObjectToObject(o, "mimicry");
    if (mim) {
      add_metrics(mim, &g->mimicry, "n_mimicry");
      add_r4(mim, "abstain_rate", g->mimicry.abstain_rate);
    }
  }
}

static void add_corpus(cJSON *o, const pm_eval_corpus *c) {
  cJSON_AddStringToObject(o, "corpus", c->dir);
  add_count(o, "senders", (double)c->n_senders);
  add_count(o, "profiled", (double)c->n_profiled);
  add_count(o, "outsiders", (double)c->n_outsiders);
  add_count(o, "mails", (double)c->n_mails);
  add_count(o, "trials", (double)c->n_trials);
  if (c->tenant_size) {
    /* Small tenants: how many, and how many had fewer than two profiles
     * (the tenants where a colleague's mail can never be claimed). */
    size_t few = 0;
    for (size_t g = 0; g < c->n_tenants; g++)
      few += c->tenants[g].n_profiled < 2;
    add_count(o, "tenant_size", (double)c->tenant_size);
    add_count(o, "tenants", (double)c->n_tenants);
    add_count(o, "tenants_under_2_profiled", (double)few);
  }
}

static void add_run(cJSON *o, const pm_eval_run_info *in) {
  cJSON *u = cJSON_AddObjectToObject(o, "unscorable");
  if (u) {
    add_count(u, "mails", (double)in->unscorable_mails);
    add_count(u, "trials", (double)in->unscorable_trials);
    cJSON *ex = cJSON_AddArrayToObject(u, "examples");
    for (size_t i = 0; ex && i < in->n_examples; i++)
      cJSON_AddItemToArray(ex, cJSON_CreateString(in->examples[i]));
  }
  cJSON *t = cJSON_AddObjectToObject(o, "training");
  if (t) {
    add_count(t, "mails", (double)in->train_mails);
    add_count(t, "trained", (double)in->mails_trained);
    add_count(t, "rejected", (double)in->mails_rejected);
    add_count(t, "senders_ready", (double)in->senders_ready);
    add_num(t, "elapsed_s", in->train_s, "%.3f");
  }
  cJSON *s = cJSON_AddObjectToObject(o, "scoring");
  if (s) {
    add_count(s, "mails", (double)in->test_mails);
    add_count(s, "threads", in->threads);
    add_num(s, "elapsed_s", in->score_s, "%.3f");
    add_num(s, "us_per_mail", in->us_per_mail, "%.1f");
    add_num(s, "us_per_trial", in->us_per_trial, "%.1f");
  }
}

static void add_curve(cJSON *o, const pm_eval_curve_point *p, size_t n) {
  cJSON *a = cJSON_AddArrayToObject(o, "learning_curve");
  for (size_t i = 0; a && i < n; i++) {
    cJSON *e = cJSON_CreateObject();
    if (!e)
      return;
    add_count(e, "k", p[i].k);
    add_count(e, "senders_with_k", (double)p[i].senders_with_k);
    add_r4(e, "auc", p[i].impostor.auc);
    add_r4(e, "eer", p[i].impostor.eer);
    add_r4(e, "tpr_at_fpr_1pct", p[i].impostor.tpr_1pct);
    add_r4(e, "insider_auc", p[i].insider.auc);
    add_r4(e, "insider_tpr_at_fpr_1pct", p[i].insider.tpr_1pct);
    add_num(e, "train_s", p[i].train_s, "%.3f");
    add_num(e, "score_s", p[i].score_s, "%.3f");
    cJSON_AddItemToArray(a, e);
  }
}

static void add_ablation(cJSON *o, const pm_eval_ablation_row *r, size_t n,
                         const pm_eval_group *base) {
  cJSON *a = cJSON_AddArrayToObject(o, "ablation");
  for (size_t i = 0; a && i < n; i++) {
    cJSON *e = cJSON_CreateObject();
    if (!e)
      return;
    cJSON_AddStringToObject(e, "family_removed", r[i].family);
    cJSON_AddStringToObject(e, "kind", r[i].hashed ? "hashed" : "named");
    add_r4(e, "auc", r[i].impostor.auc);
    add_r4(e, "eer", r[i].impostor.eer);
    add_r4(e, "tpr_at_fpr_1pct", r[i].impostor.tpr_1pct);
    add_r4(e, "insider_auc", r[i].insider.auc);
    add_r4(e, "insider_tpr_at_fpr_1pct", r[i].insider.tpr_1pct);
    /* What removing the family cost (negative: it helped). */
    if (base)
      add_r4(e, "auc_change", r[i].impostor.auc - base->impostor.auc);
    add_num(e, "train_s", r[i].train_s, "%.3f");
    add_num(e, "score_s", r[i].score_s, "%.3f");
    cJSON_AddItemToArray(a, e);
  }
}

char *pm_eval_report_json(const pm_eval_report *rep, bool pretty) {
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  if (rep->all)
    add_group(o, rep->all);
  if (rep->short_text) {
    cJSON *s = cJSON_AddObjectToObject(o, "short");
    if (s) {
      add_count(s, "max_chars", PM_EVAL_SHORT_CHARS);
      add_count(s, "n_trials", (double)rep->short_text->n_trials);
      add_group(s, rep->short_text);
    }
  }
  if (rep->corpus)
    add_corpus(o, rep->corpus);
  if (rep->run)
    add_run(o, &rep->run->info);
  if (rep->curve)
    add_curve(o, rep->curve, rep->n_curve);
  if (rep->ablation)
    add_ablation(o, rep->ablation, rep->n_ablation, rep->all);
  char *s = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}
