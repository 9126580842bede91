/* Scoring every trial on worker threads. The unit of work is one test mail:
 * read and parsed once, then scored against each sender it is claimed as
 * (its trials are consecutive in protocol order). Workers take the next
 * mail from a shared counter and write the scores of its trials into their
 * slots, so the result does not depend on the number of threads or on
 * which thread did what. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "eval/score_pool.h"

typedef struct {
  size_t first, n; /* the mail's trials */
} unit;

typedef struct {
  const pm__score_job *job;
  pm_eval_run *run;
  unit *units;
  size_t n_units;
  char **problems; /* per unit: why it was unscorable, or NULL */
  atomic_size_t next, done;
  atomic_uint exited;
  atomic_bool failed;
  pthread_mutex_t mu; /* guards rc and err */
  pm_status rc;
  pm_error err;
} pool;

typedef struct {
  pool *p;
  double busy_s, score_s; /* time on mails, time in pm_score_mail */
  size_t trials;
  /* mimicry: the layout reading of the current mail */
  pm_extractor *x;
  pm_features *f;
  pm_layout_surface surf;
  bool surf_valid;
} worker;

static void fail(pool *p, pm_status rc, const pm_error *err) {
  pthread_mutex_lock(&p->mu);
  if (p->rc == PM_OK) {
    p->rc = rc;
    p->err = *err;
  }
  pthread_mutex_unlock(&p->mu);
  atomic_store(&p->failed, true);
}

/* The unit's trials abstain: the mail is unreadable or unparseable. The
 * protocol needs every trial, so they stay, at 0.5. */
static void unscorable(pool *p, size_t u, const char *relpath,
                       const pm_error *why) {
  for (size_t i = 0; i < p->units[u].n; i++) {
    pm_eval_score *s = &p->run->scores[p->units[u].first + i];
    *s = (pm_eval_score){.score = 0.5, .abstained = true, .unscorable = true};
  }
  size_t n = strlen(relpath) + strlen(pm_error_message(why)) + 3;
  char *msg = malloc(n);
  if (msg)
    snprintf(msg, n, "%s: %s", relpath, pm_error_message(why));
  p->problems[u] = msg; /* NULL when out of memory: still counted */
}

/* The mail of a mimicry trial: the raw mail in buf rewritten with the
 * claimed sender's habits, parsed. A rewrite that does not parse (it
 * should) is an internal error. */
static pm_status mimicry_mail(worker *w, const pm__buf *buf,
                              const pm_mail *mail, const pm_mail_limits *lim,
                              const char *claimed, pm_mail **out,
                              pm_error *err) {
  const pm_eval_corpus *c = w->p->job->corpus;
  const pm__eval_sender *cs = &c->senders[pm__eval_sender_index(c, claimed)];
  if (!w->surf_valid) {
    pm_status rc = pm_extract_mail(w->x, mail, w->f, err);
    if (rc != PM_OK)
      return rc;
    pm_features_surface(w->f, &w->surf);
    w->surf_valid = true;
  }
  size_t own_len, len;
  const char *own = pm_mail_own_text(mail, &own_len);
  char *raw = NULL;
  unsigned replaced;
  pm_status rc = pm_eval_mimicry_rewrite(
      buf->data ? buf->data : "", buf->len, own, own_len, &w->surf,
      cs->greeting, cs->closing, &raw, &len, &replaced, err);
  if (rc == PM_OK) {
    rc = pm_mail_parse(raw, len, lim, out, err);
    if (rc != PM_OK && rc != PM_NOMEM)
      rc = pm_error_set(err, PM_INTERNAL,
                        "%s: its mimicry rewrite does not parse", claimed);
  }
  free(raw);
  return rc;
}

/* The message of pm__read_file / pm_mail_parse may name the full path; the
 * report names the mail by its relative path in front. */
static void score_unit(worker *w, pm_scorer *sc, pm__buf *buf, size_t u,
                       const pm_mail_limits *lim) {
  pool *p = w->p;
  const pm_eval_corpus *c = p->job->corpus;
  const pm_eval_trial *t = &c->trials[p->units[u].first];
  pm_error err;
  pm_error_clear(&err);
  size_t n = strlen(c->dir) + strlen(t->mail) + 2;
  char *path = malloc(n);
  if (!path) {
    pm_error_set(&err, PM_NOMEM, "out of memory");
    fail(p, PM_NOMEM, &err);
    return;
  }
  snprintf(path, n, "%s/%s", c->dir, t->mail);
  pm_mail *mail = NULL;
  pm_status rc = pm__read_file(path, lim->max_bytes, buf, &err);
  free(path);
  if (rc == PM_OK)
    rc = pm_mail_parse(buf->data ? buf->data : "", buf->len, lim, &mail, &err);
  if (rc == PM_NOMEM) {
    fail(p, rc, &err);
    return;
  }
  if (rc != PM_OK) {
    unscorable(p, u, t->mail, &err);
    return;
  }
  w->surf_valid = false;
  for (size_t i = 0; i < p->units[u].n; i++) {
    pm_score_result res;
    pm_mail *mimic = NULL;
    if (t[i].label == PM_EVAL_MIMICRY) {
      rc = mimicry_mail(w, buf, mail, lim, t[i].claimed, &mimic, &err);
      if (rc != PM_OK) {
        fail(p, rc, &err);
        break;
      }
    }
    double t0 = pm__eval_now();
    rc = pm_score_mail(sc, p->job->profiles, mimic ? mimic : mail, t[i].claimed,
                       &res, &err);
    pm_mail_free(mimic);
    w->score_s += pm__eval_now() - t0;
    w->trials++;
    if (rc != PM_OK) {
      pm_error e2;
      pm_error_set(&e2, rc, "%s claimed as %s: %s", t[i].mail, t[i].claimed,
                   pm_error_message(&err));
      fail(p, rc, &e2);
      break;
    }
    pm_eval_score *s = &p->run->scores[p->units[u].first + i];
    s->own_chars = res.own_chars;
    if (pm_verdict_abstains(res.verdict)) {
      s->score = 0.5;
      s->abstained = true;
    } else if (!(res.probability >= 0.0 && res.probability <= 1.0)) {
      /* A probability outside [0, 1] (or NaN) is a scorer bug: refused
       * rather than hidden in the metrics. */
      pm_error_set(&err, PM_INTERNAL,
                   "%s claimed as %s: probability %g outside [0, 1]", t[i].mail,
                   t[i].claimed, res.probability);
      fail(p, PM_INTERNAL, &err);
      break;
    } else {
      s->score = pm__eval_quantize(res.probability);
    }
  }
  pm_mail_free(mail);
}

static void *work(void *arg) {
  worker *w = arg;
  pool *p = w->p;
  pm_scorer *sc = NULL;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc = pm_scorer_new(p->job->cfg, &sc, &err);
  if (rc == PM_OK && p->job->corpus->mimicry) {
    rc = pm_extractor_new(p->job->cfg, &w->x, &err);
    if (rc == PM_OK && !(w->f = pm_features_new()))
      rc = pm_error_set(&err, PM_NOMEM, "out of memory");
  }
  if (rc != PM_OK) {
    fail(p, rc, &err);
  } else {
    pm_mail_limits lim;
    pm_mail_limits_default(&lim);
    pm__buf buf = {0};
    while (!atomic_load(&p->failed)) {
      size_t u = atomic_fetch_add(&p->next, 1);
      if (u >= p->n_units)
        break;
      double t0 = pm__eval_now();
      score_unit(w, sc, &buf, u, &lim);
      w->busy_s += pm__eval_now() - t0;
      atomic_fetch_add(&p->done, 1);
    }
    pm__buf_free(&buf);
  }
  pm_scorer_free(sc);
  pm_features_free(w->f);
  pm_extractor_free(w->x);
  atomic_fetch_add(&p->exited, 1);
  return NULL;
}

/* The units: runs of consecutive trials of the same mail. */
static bool make_units(pool *p, const pm_eval_corpus *c) {
  p->units = malloc((c->n_trials ? c->n_trials : 1) * sizeof *p->units);
  if (!p->units)
    return false;
  for (size_t i = 0; i < c->n_trials; i++) {
    if (p->n_units && c->trials[i].mail == c->trials[i - 1].mail)
      p->units[p->n_units - 1].n++;
    else
      p->units[p->n_units++] = (unit){i, 1};
  }
  p->problems = calloc(p->n_units ? p->n_units : 1, sizeof *p->problems);
  return p->problems != NULL;
}

/* Calls the progress callback about ten times a second until every worker
 * has exited. */
static void watch(pool *p, unsigned threads, double t0) {
  const pm__score_job *job = p->job;
  struct timespec tick = {0, 100 * 1000 * 1000};
  while (atomic_load(&p->exited) < threads) {
    nanosleep(&tick, NULL);
    pm_eval_progress pr = {"score", job->step, atomic_load(&p->done),
                           p->n_units, pm__eval_now() - t0};
    job->progress(&pr, job->progress_ctx);
  }
}

/* Totals over the workers, and the first problems, in protocol order
 * (taken over by the run). */
static void totals(pool *p, const worker *ws, unsigned started) {
  pm_eval_run *run = p->run;
  pm_eval_run_info *in = &run->info;
  double busy = 0, scoring = 0;
  size_t trials = 0;
  for (unsigned i = 0; i < started; i++) {
    busy += ws[i].busy_s;
    scoring += ws[i].score_s;
    trials += ws[i].trials;
  }
  in->test_mails = p->n_units;
  in->us_per_mail = p->n_units ? busy * 1e6 / (double)p->n_units : 0.0;
  in->us_per_trial = trials ? scoring * 1e6 / (double)trials : 0.0;
  for (size_t u = 0; u < p->n_units; u++) {
    if (!run->scores[p->units[u].first].unscorable)
      continue;
    in->unscorable_mails++;
    in->unscorable_trials += p->units[u].n;
    if (in->n_examples < PM_EVAL_EXAMPLES && p->problems[u]) {
      run->examples[in->n_examples] = p->problems[u];
      in->examples[in->n_examples++] = p->problems[u];
      p->problems[u] = NULL;
    }
  }
}

pm_status pm__eval_score_all(const pm__score_job *job, pm_eval_run *run,
                             pm_error *err) {
  const pm_eval_corpus *c = job->corpus;
  pool p = {.job = job, .run = run, .rc = PM_OK};
  atomic_init(&p.next, 0);
  atomic_init(&p.done, 0);
  atomic_init(&p.exited, 0);
  atomic_init(&p.failed, false);
  pm_status rc = PM_OK;
  worker *ws = NULL;
  pthread_t *tids = NULL;
  unsigned threads = job->threads ? job->threads : 1, started = 0;
  if (!make_units(&p, c)) {
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
    goto out;
  }
  if (threads > p.n_units)
    threads = p.n_units ? (unsigned)p.n_units : 1;
  ws = calloc(threads, sizeof *ws);
  tids = calloc(threads, sizeof *tids);
  if (!ws || !tids) {
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
    goto out;
  }
  pthread_mutex_init(&p.mu, NULL);
  double t0 = pm__eval_now();
  for (; started < threads; started++) {
    ws[started].p = &p;
    if (pthread_create(&tids[started], NULL, work, &ws[started]) != 0)
      break;
  }
  if (started == 0) {
    pthread_mutex_destroy(&p.mu);
    rc = pm_error_set(err, PM_INTERNAL, "cannot start a scoring thread");
    goto out;
  }
  if (job->progress)
    watch(&p, started, t0);
  for (unsigned i = 0; i < started; i++)
    pthread_join(tids[i], NULL);
  pthread_mutex_destroy(&p.mu);
  pm_eval_run_info *in = &run->info;
  in->score_s = pm__eval_now() - t0;
  in->threads = started;
  if (p.rc != PM_OK) {
    if (err)
      *err = p.err;
    rc = p.rc;
    goto out;
  }
  totals(&p, ws, started);
out:
  if (p.problems)
    for (size_t u = 0; u < p.n_units; u++)
      free(p.problems[u]);
  free(p.problems);
  free(p.units);
  free(ws);
  free(tids);
  return rc;
}
