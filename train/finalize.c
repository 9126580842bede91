/* From statistics to the published model (see train/finalize.h). */
#include "train/finalize.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/features.h"
#include "penmark/model.h"
#include "train/feedback.h"
#include "train/sample.h"

/* LAPACK, from OpenBLAS (its headers ship no prototypes for them). The
 * trailing length is Fortran's hidden argument for the character one. */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
                    int *info, size_t uplo_len);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs,
                    const double *a, const int *lda, double *b, const int *ldb,
                    int *info, size_t uplo_len);

/* Everything the computation holds, freed in one place. */
typedef struct {
  uint32_t d, nn, named_off;
  uint32_t surf_off, surf_dim; /* the surface slice: out of the model space */
  pm_store_sender *senders;
  size_t n_senders;
  int32_t *row; /* per sender: ready row or -1 */
  uint32_t n_ready;
  double *scale; /* d: standardisation of the model space */
  double *M;     /* d x d: the regularised scatter, then its Cholesky */
  double *W;     /* d x n_ready (column-major): the discriminants */
  double *mean;  /* d: tenant mean */
  float *smean;  /* n_ready x d: senders' mean model vectors */
  float *named_mean, *named_sd; /* n_ready x nn */
  double *count;                /* n_ready: mails behind each mean */
  double *cnorm2;               /* n_ready: |surface slice of smean|^2 */
  /* leave-one-out scores of the calibration samples */
  float *loo;      /* n_samples x n_ready */
  int32_t *owner;  /* n_samples: the sample's ready row, or -1 */
  uint32_t *chars; /* n_samples: own text length */
  uint32_t *surf;  /* n_samples: the surface forms shown, bit j = named j */
  float *ssim;     /* n_samples x n_ready: surface cosine to each sender's
                      mean, leaving the sample out of its own sender's */
  size_t n_samples, cap_samples;
} fin;

static void fin_free(fin *f) {
  pm_store_senders_free(f->senders, f->n_senders);
  free(f->row);
  free(f->scale);
  free(f->M);
  free(f->W);
  free(f->mean);
  free(f->smean);
  free(f->named_mean);
  free(f->named_sd);
  free(f->loo);
  free(f->owner);
  free(f->chars);
  free(f->surf);
  free(f->ssim);
  free(f->count);
  free(f->cnorm2);
}

/* Loads the ready senders' statistics: the right-hand sides of the ridge
 * system (sum - n * mean, standardised) and the means kept for reasons. */
static pm_status load_senders(pm_store *st, fin *f, pm_error *err) {
  uint32_t sd = pm__sstat_dim(f->d, f->nn);
  for (size_t i = 0; i < f->n_senders; i++) {
    int32_t r = f->row[i];
    if (r < 0)
      continue;
    void *blob = NULL;
    size_t len = 0;
    pm_status rc =
        pm_store_get(st, PM_KIND_SSTAT, f->senders[i].id, &blob, &len, err);
    if (rc != PM_OK)
      return rc;
    pm__stats s;
    rc = pm__stats_decode(blob, len, sd, f->d, &s, err);
    free(blob);
    if (rc != PM_OK)
      return rc;
    double n = (double)(s.n ? s.n : 1);
    double *w = f->W + (size_t)r * f->d;
    double c2 = 0;
    for (uint32_t j = 0; j < f->d; j++) {
      w[j] = f->scale[j] * (s.sum[j] - (double)s.n * f->mean[j]);
      f->smean[(size_t)r * f->d + j] = (float)(s.sum[j] / n);
      if (j >= f->surf_off && j < f->surf_off + f->surf_dim)
        c2 += (s.sum[j] / n) * (s.sum[j] / n);
    }
    f->count[r] = (double)s.n;
    f->cnorm2[r] = c2;
    for (uint32_t j = 0; j < f->nn; j++) {
      double mu = s.sum[f->d + j] / n;
      double var = s.sumsq[j] / n - mu * mu;
      f->named_mean[(size_t)r * f->nn + j] = (float)mu;
      f->named_sd[(size_t)r * f->nn + j] = (float)(var > 0 ? sqrt(var) : 0);
    }
    pm__stats_free(&s);
  }
  return PM_OK;
}

/* The total scatter of the standardised model vectors plus the ridge:
 * M = A (G - n m m') A + lambda n / 1000 I, from the upper triangle of G. */
static void build_system(fin *f, const pm__gram *g) {
  size_t d = f->d;
  double n = (double)g->n;
  for (size_t j = 0; j < d; j++)
    f->mean[j] = g->sum[j] / n;
  /* standardise the named block; the hashed slices are normalised already */
  for (size_t j = 0; j < d; j++) {
    if (j >= f->surf_off && j < f->surf_off + f->surf_dim) {
      f->scale[j] = 0.0; /* the surface text: as the surface forms below */
      continue;
    }
    if (j < f->named_off) {
      f->scale[j] = 1.0;
      continue;
    }
    /* the copyable surface is no evidence for a claim: out of the model
     * space (scoring reads it only as evidence against) */
    if (pm_named_is_surface(j - f->named_off)) {
      f->scale[j] = 0.0;
      continue;
    }
    double var = (double)g->G[j * d + j] / n - f->mean[j] * f->mean[j];
    f->scale[j] =
        var > 1e-12 ? PM_NAMED_WEIGHT / (sqrt(var) * sqrt(f->nn)) : 0.0;
  }
  double ridge = PM_RIDGE_LAMBDA;
  for (size_t i = 0; i < d; i++)
    for (size_t j = i; j < d; j++) {
      double c = ((double)g->G[i * d + j] - n * f->mean[i] * f->mean[j]) *
                 f->scale[i] * f->scale[j];
      f->M[i * d + j] = f->M[j * d + i] = c;
    }
  for (size_t i = 0; i < d; i++)
    f->M[i * d + i] += ridge;
}

/* Calibration samples scored together, so that the solves run as BLAS-3. */
#define CHUNK 256

typedef struct {
  double *U;    /* d x CHUNK, column-major: standardised, centred vectors */
  double *V;    /* the same, then L^-1 U */
  double *yhat; /* n_ready x CHUNK: predictions */
  int32_t owner[CHUNK];
  uint32_t chars[CHUNK];
  uint32_t surf[CHUNK];
  float *ssim; /* n_ready x CHUNK */
  size_t n;
} chunk;

static bool reserve_samples(fin *f, size_t more) {
  if (f->n_samples + more <= f->cap_samples)
    return true;
  size_t c = f->cap_samples ? f->cap_samples : 1024;
  while (c < f->n_samples + more)
    c *= 2;
  float *nl = realloc(f->loo, c * (f->n_ready ? f->n_ready : 1) * sizeof *nl);
  if (!nl)
    return false;
  f->loo = nl;
  int32_t *no = realloc(f->owner, c * sizeof *no);
  if (!no)
    return false;
  f->owner = no;
  uint32_t *nc = realloc(f->chars, c * sizeof *nc);
  if (!nc)
    return false;
  f->chars = nc;
  uint32_t *ns = realloc(f->surf, c * sizeof *ns);
  if (!ns)
    return false;
  f->surf = ns;
  float *nss =
      realloc(f->ssim, c * (f->n_ready ? f->n_ready : 1) * sizeof *nss);
  if (!nss)
    return false;
  f->ssim = nss;
  f->cap_samples = c;
  return true;
}

/* Leave-one-out scores of the samples in the chunk against every ready
 * sender. For ridge regression the held-out prediction is exact:
 * y_loo = y - (y - y_hat) / (1 - h), with h = u' M^-1 u = |L^-1 u|^2. */
static bool flush_chunk(fin *f, chunk *c, const double *frac) {
  if (c->n == 0)
    return true;
  if (!reserve_samples(f, c->n))
    return false;
  int d = (int)f->d, n = (int)c->n, R = (int)f->n_ready;
  memcpy(c->V, c->U, (size_t)d * c->n * sizeof *c->V);
  cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, R, n, d, 1.0, f->W, d,
              c->U, d, 0.0, c->yhat, R);
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit,
              d, n, 1.0, f->M, d, c->V, d);
  for (size_t k = 0; k < c->n; k++) {
    const double *v = c->V + k * (size_t)d;
    double h = cblas_ddot(d, v, 1, v, 1);
    if (!(h < 0.999))
      h = 0.999; /* a sample that alone defines a direction */
    float *out = f->loo + f->n_samples * f->n_ready;
    for (int r = 0; r < R; r++) {
      double y = (r == c->owner[k] ? 1.0 : 0.0) - frac[r];
      double yh = c->yhat[k * (size_t)R + (size_t)r];
      out[r] = (float)(y - (y - yh) / (1.0 - h));
    }
    f->chars[f->n_samples] = c->chars[k];
    f->surf[f->n_samples] = c->surf[k];
    memcpy(f->ssim + f->n_samples * f->n_ready, c->ssim + k * (size_t)R,
           (size_t)R * sizeof *f->ssim);
    f->owner[f->n_samples++] = c->owner[k];
  }
  c->n = 0;
  return true;
}

/* The cosine of a sample's surface slice to every ready sender's mean one;
 * for its own sender, to the mean without it (held out, as the other
 * scores are). */
static void surface_cosines(const fin *f, const pm__sample_entry *e,
                            int32_t owner, float *out) {
  uint32_t lo = f->surf_off, hi = f->surf_off + f->surf_dim;
  double xx = 0;
  for (uint32_t k = 0; k < e->nnz; k++)
    if (e->idx[k] >= lo && e->idx[k] < hi)
      xx += (double)e->val[k] * e->val[k];
  for (uint32_t r = 0; r < f->n_ready; r++) {
    const float *mu = f->smean + (size_t)r * f->d;
    double xy = 0;
    for (uint32_t k = 0; k < e->nnz; k++)
      if (e->idx[k] >= lo && e->idx[k] < hi)
        xy += (double)e->val[k] * mu[e->idx[k]];
    double yy = f->cnorm2[r], n = f->count[r];
    if ((int32_t)r == owner && n > 1) {
      /* mean' = (n mean - x) / (n - 1) */
      double xy1 = (n * xy - xx) / (n - 1);
      yy = (n * n * yy - 2 * n * xy + xx) / ((n - 1) * (n - 1));
      xy = xy1;
    }
    /* NaN: the mail shows no surface text, which says nothing here (a
     * missing sign-off is the forms' evidence) */
    out[r] = !(xx > 0) ? NAN : yy > 1e-12 ? (float)(xy / sqrt(xx * yy)) : 0.0f;
  }
}

static bool add_sample(fin *f, chunk *c, const pm__sample_entry *e,
                       int32_t owner, const double *frac) {
  double *u = c->U + c->n * f->d;
  for (size_t j = 0; j < f->d; j++)
    u[j] = -f->mean[j] * f->scale[j];
  uint32_t surf = 0;
  for (uint32_t k = 0; k < e->nnz; k++) {
    u[e->idx[k]] += e->val[k] * f->scale[e->idx[k]];
    uint32_t j = e->idx[k] - f->named_off;
    if (e->idx[k] >= f->named_off && j < 32 && pm_named_is_surface(j) &&
        e->val[k] > 0.5f)
      surf |= 1u << j;
  }
  c->surf[c->n] = surf;
  surface_cosines(f, e, owner, c->ssim + c->n * f->n_ready);
  c->chars[c->n] = e->chars;
  c->owner[c->n++] = owner;
  return c->n < CHUNK || flush_chunk(f, c, frac);
}

/* Up to PM_BACKGROUND_SAMPLES of the background's samples, taken round
 * robin over its writers so that none dominates, as outsiders (owner -1). */
static pm_status score_background(fin *f, chunk *c, const pm__background *bg,
                                  const double *frac, pm_error *err) {
  size_t taken = 0;
  for (size_t k = 0; taken < PM_BACKGROUND_SAMPLES; k++) {
    bool any = false;
    for (size_t i = 0; i < bg->n_samples && taken < PM_BACKGROUND_SAMPLES;
         i++) {
      if (k >= bg->samples[i].n)
        continue;
      any = true;
      taken++;
      if (!add_sample(f, c, &bg->samples[i].e[k], -1, frac))
        return pm_error_set(err, PM_NOMEM, "out of memory");
    }
    if (!any)
      break;
  }
  return PM_OK;
}

static pm_status score_samples(pm_store *st, fin *f, const double *frac,
                               const pm__background *bg, pm_error *err) {
  chunk c = {0};
  c.U = malloc((size_t)f->d * CHUNK * sizeof *c.U);
  c.V = malloc((size_t)f->d * CHUNK * sizeof *c.V);
  c.yhat =
      malloc((size_t)(f->n_ready ? f->n_ready : 1) * CHUNK * sizeof *c.yhat);
  c.ssim =
      malloc((size_t)(f->n_ready ? f->n_ready : 1) * CHUNK * sizeof *c.ssim);
  pm_status rc = PM_OK;
  if (!c.U || !c.V || !c.yhat || !c.ssim)
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
  for (size_t i = 0; i < f->n_senders && rc == PM_OK; i++) {
    void *blob = NULL;
    size_t len = 0;
    rc = pm_store_get(st, PM_KIND_SAMPLE, f->senders[i].id, &blob, &len, err);
    if (rc == PM_NOTFOUND) {
      rc = PM_OK;
      continue;
    }
    if (rc != PM_OK)
      break;
    pm__sample s;
    rc = pm__sample_decode(blob, len, f->d, PM_SAMPLE_K, &s, err);
    free(blob);
    if (rc != PM_OK)
      break;
    for (size_t k = 0; rc == PM_OK && k < s.n; k++)
      if (!add_sample(f, &c, &s.e[k], f->row[i], frac))
        rc = pm_error_set(err, PM_NOMEM, "out of memory");
    pm__sample_free(&s);
  }
  if (rc == PM_OK && bg)
    rc = score_background(f, &c, bg, frac, err);
  /* Confirmed attacks (penmark feedback --impostor, train/feedback.h): in
   * the tenant's moments as mail of nobody (owner -1), so held-out impostor
   * scores against every sender for the normalisation and the calibration. */
  if (rc == PM_OK) {
    pm__sample a;
    rc = pm__attacks_load(st, f->d, &a, err);
    for (size_t k = 0; rc == PM_OK && k < a.n; k++)
      if (!add_sample(f, &c, &a.e[k], -1, frac))
        rc = pm_error_set(err, PM_NOMEM, "out of memory");
    pm__sample_free(&a);
  }
  if (rc == PM_OK && !flush_chunk(f, &c, frac))
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
  free(c.U);
  free(c.V);
  free(c.yhat);
  free(c.ssim);
  return rc;
}

typedef struct {
  double sum, sq;
  size_t n;
} moments;

static void mom_add(moments *m, double x) {
  m->sum += x;
  m->sq += x * x;
  m->n++;
}

static double mom_mean(const moments *m) {
  return m->n ? m->sum / (double)m->n : 0.0;
}

static double mom_var(const moments *m) {
  if (m->n < 2)
    return 0.0;
  double mu = mom_mean(m);
  double v = (m->sq - (double)m->n * mu * mu) / (double)(m->n - 1);
  return v > 0 ? v : 0.0;
}

/* Weighted logistic regression of "impostor" on the features of each
 * held-out pair, f = (1, u, u L, L), by Newton's method; both classes weigh
 * the same, so the probability reads at even prior odds. A small ridge keeps
 * the fit finite when the classes separate. */
#define NCAL PM_CALIB_N
/* Penalty on the calibration's slopes (the log-loss is weighted to sum to
 * one): keeps them finite when held-out scores separate perfectly. */
#define CALIB_RIDGE 1e-3

/* The held-out pairs as calibration reads them. */
typedef struct {
  double *u, *L; /* impersonation score, log length of the body */
  double *a, *b; /* the surface's evidence against: forms, text */
  uint8_t *y;    /* 1: the sample is not the sender's */
  size_t n;
} pairs;

static void pairs_free(pairs *p) {
  free(p->u);
  free(p->L);
  free(p->a);
  free(p->b);
  free(p->y);
}

static void features_of(const pairs *p, size_t i, double f[NCAL]) {
  f[0] = 1.0;
  f[1] = p->u[i];
  f[2] = p->u[i] * p->L[i];
  f[3] = p->L[i];
  f[4] = p->a[i];
  f[5] = p->b[i];
}

/* Solves the NCAL x NCAL system H x = g in place (Gaussian elimination with
 * partial pivoting); false when singular. */
static bool solve_small(double H[NCAL][NCAL], double g[NCAL]) {
  for (int c = 0; c < NCAL; c++) {
    int piv = c;
    for (int r = c + 1; r < NCAL; r++)
      if (fabs(H[r][c]) > fabs(H[piv][c]))
        piv = r;
    if (!(fabs(H[piv][c]) > 1e-15))
      return false;
    for (int k = 0; k < NCAL; k++) {
      double t = H[c][k];
      H[c][k] = H[piv][k];
      H[piv][k] = t;
    }
    double t = g[c];
    g[c] = g[piv];
    g[piv] = t;
    for (int r = c + 1; r < NCAL; r++) {
      double f = H[r][c] / H[c][c];
      for (int k = c; k < NCAL; k++)
        H[r][k] -= f * H[c][k];
      g[r] -= f * g[c];
    }
  }
  for (int c = NCAL - 1; c >= 0; c--) {
    for (int k = c + 1; k < NCAL; k++)
      g[c] -= H[c][k] * g[k];
    g[c] /= H[c][c];
  }
  return true;
}

/* The penalised, weighted log-loss of coef over the pairs. */
static double calib_loss(const pairs *p, double wp, double wn,
                         const double coef[NCAL]) {
  double loss = 0;
  const uint8_t *y = p->y;
  for (size_t i = 0; i < p->n; i++) {
    double f[NCAL], t = 0;
    features_of(p, i, f);
    for (int k = 0; k < NCAL; k++)
      t += coef[k] * f[k];
    /* log(1 + exp(-s t)) without overflow, s = +1 impostor, -1 genuine */
    double m = y[i] ? -t : t;
    loss += (y[i] ? wp : wn) * (m > 0 ? m + log1p(exp(-m)) : log1p(exp(m)));
  }
  for (int k = 1; k < NCAL; k++)
    loss += 0.5 * CALIB_RIDGE * coef[k] * coef[k];
  return loss;
}

/* Newton's method with step halving, so that it converges even when the
 * held-out scores separate the classes completely (the penalty keeps the
 * solution finite). */
static void fit_calibration(const pairs *p, double coef[NCAL]) {
  const uint8_t *y = p->y;
  size_t n = p->n;
  size_t npos = 0;
  for (size_t i = 0; i < n; i++)
    npos += y[i];
  for (int k = 0; k < NCAL; k++)
    coef[k] = 0.0;
  coef[1] = 1.0;
  if (npos == 0 || npos == n)
    return;
  double wp = 0.5 / (double)npos, wn = 0.5 / (double)(n - npos);
  double loss = calib_loss(p, wp, wn, coef);
  for (int it = 0; it < 100; it++) {
    double H[NCAL][NCAL] = {{0}}, g[NCAL] = {0};
    for (int k = 1; k < NCAL; k++) {
      H[k][k] = CALIB_RIDGE;
      g[k] = CALIB_RIDGE * coef[k];
    }
    H[0][0] = 1e-12;
    for (size_t i = 0; i < n; i++) {
      double f[NCAL];
      features_of(p, i, f);
      double t = 0;
      for (int k = 0; k < NCAL; k++)
        t += coef[k] * f[k];
      double pr = 1.0 / (1.0 + exp(-t));
      double w = y[i] ? wp : wn, r = w * (pr - (double)y[i]);
      double q = w * pr * (1.0 - pr);
      for (int ia = 0; ia < NCAL; ia++) {
        g[ia] += r * f[ia];
        for (int ib = 0; ib < NCAL; ib++)
          H[ia][ib] += q * f[ia] * f[ib];
      }
    }
    if (!solve_small(H, g))
      break;
    double step = 1.0, next[NCAL] = {0}, nl = loss;
    for (int half = 0; half < 30; half++, step *= 0.5) {
      for (int k = 0; k < NCAL; k++)
        next[k] = coef[k] - step * g[k];
      nl = calib_loss(p, wp, wn, next);
      if (nl <= loss)
        break;
    }
    if (!(nl <= loss))
      break;
    memcpy(coef, next, sizeof next);
    bool done = loss - nl < 1e-12;
    loss = nl;
    if (done)
      break;
  }
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

/* Per-sender normalisation from the held-out scores: z = (r - imp_mean) /
 * norm_sd, where imp_mean is the mean held-out score of other senders' mail
 * and norm_sd the spread of genuine and impostor scores together. */
static pm_status sender_norms(fin *f, pm__model *m) {
  uint32_t R = f->n_ready;
  moments *gen = calloc(R ? R : 1, sizeof *gen);
  moments *imp = calloc(R ? R : 1, sizeof *imp);
  if (!gen || !imp) {
    free(gen);
    free(imp);
    return PM_NOMEM;
  }
  for (size_t i = 0; i < f->n_samples; i++)
    for (uint32_t r = 0; r < R; r++)
      mom_add((int32_t)r == f->owner[i] ? &gen[r] : &imp[r], f->loo[i * R + r]);
  /* Few held-out scores make a poor spread: shrink each sender's towards
   * the tenant's mean one, as if it had 5 more scores of that spread. */
  double gvar_sum = 0, ivar_sum = 0;
  size_t gvar_n = 0, ivar_n = 0;
  for (uint32_t r = 0; r < R; r++) {
    if (gen[r].n >= 2) {
      gvar_sum += mom_var(&gen[r]);
      gvar_n++;
    }
    if (imp[r].n >= 2) {
      ivar_sum += mom_var(&imp[r]);
      ivar_n++;
    }
  }
  double gvar0 = gvar_n ? gvar_sum / (double)gvar_n : 0.01;
  double ivar0 = ivar_n ? ivar_sum / (double)ivar_n : 0.01;
  for (size_t i = 0; i < f->n_senders; i++) {
    int32_t r = f->row[i];
    if (r < 0)
      continue;
    pm__model_sender *s = &m->senders[i];
    double gv = ((double)gen[r].n * mom_var(&gen[r]) + 5.0 * gvar0) /
                ((double)gen[r].n + 5.0);
    double iv = ((double)imp[r].n * mom_var(&imp[r]) + 5.0 * ivar0) /
                ((double)imp[r].n + 5.0);
    /* without held-out impostors, place them where genuine scores would
     * be two spreads lower */
    s->imp_mean = (float)(imp[r].n ? mom_mean(&imp[r])
                                   : mom_mean(&gen[r]) - 2.0 * sqrt(gv));
    s->gen_mean = (float)mom_mean(&gen[r]);
    double sd = sqrt(gv + iv);
    s->norm_sd = (float)(sd > 1e-9 ? sd : 1.0);
  }
  free(gen);
  free(imp);
  return PM_OK;
}

/* Per sender, the mean and spread of the held-out surface cosines of their
 * own mail, the spread shrunk towards the tenant's like the scores'. */
static pm_status surface_norms(const fin *f, pm__model *m) {
  uint32_t R = f->n_ready;
  moments *own = calloc(R ? R : 1, sizeof *own);
  if (!own)
    return PM_NOMEM;
  for (size_t i = 0; i < f->n_samples; i++)
    if (f->owner[i] >= 0 && !isnan(f->ssim[i * R + (size_t)f->owner[i]]))
      mom_add(&own[f->owner[i]], f->ssim[i * R + (size_t)f->owner[i]]);
  double var_sum = 0;
  size_t var_n = 0;
  for (uint32_t r = 0; r < R; r++)
    if (own[r].n >= 2) {
      var_sum += mom_var(&own[r]);
      var_n++;
    }
  double var0 = var_n ? var_sum / (double)var_n : 0.01;
  for (size_t i = 0; i < f->n_senders; i++) {
    int32_t r = f->row[i];
    if (r < 0)
      continue;
    double v = ((double)own[r].n * mom_var(&own[r]) + 5.0 * var0) /
               ((double)own[r].n + 5.0);
    m->senders[i].surf_mean = (float)mom_mean(&own[r]);
    m->senders[i].surf_sd = (float)sqrt(v);
  }
  free(own);
  return PM_OK;
}

/* The tenant's mean raw named block over its ready senders: the prior of
 * a sender's surface habits (scoring computes the same in score/). */
static void tenant_named(const fin *f, float *out) {
  for (uint32_t j = 0; j < f->nn; j++) {
    double t = 0;
    for (uint32_t r = 0; r < f->n_ready; r++)
      t += f->named_mean[(size_t)r * f->nn + j];
    out[j] = f->n_ready ? (float)(t / f->n_ready) : 0.0f;
  }
}

static pm_status build_pairs(const fin *f, const pm__model *m, pairs *p) {
  uint32_t R = f->n_ready;
  size_t np = f->n_samples * R;
  p->n = 0;
  p->u = calloc(np ? np : 1, sizeof *p->u);
  p->L = calloc(np ? np : 1, sizeof *p->L);
  p->a = calloc(np ? np : 1, sizeof *p->a);
  p->b = calloc(np ? np : 1, sizeof *p->b);
  p->y = calloc(np ? np : 1, 1);
  const pm__model_sender **by_row = calloc(R ? R : 1, sizeof *by_row);
  float *tenant = calloc(f->nn ? f->nn : 1, sizeof *tenant);
  float *mail = calloc(f->nn ? f->nn : 1, sizeof *mail);
  pm_status rc = PM_OK;
  if (!p->u || !p->L || !p->a || !p->b || !p->y || !by_row || !tenant ||
      !mail) {
    rc = PM_NOMEM;
    goto out;
  }
  for (size_t i = 0; i < f->n_senders; i++)
    if (f->row[i] >= 0)
      by_row[f->row[i]] = &m->senders[i];
  tenant_named(f, tenant);
  for (size_t i = 0; i < f->n_samples; i++) {
    for (uint32_t j = 0; j < 32 && j < f->nn; j++)
      mail[j] = (f->surf[i] >> j) & 1u ? 1.0f : 0.0f;
    for (uint32_t r = 0; r < R; r++) {
      const pm__model_sender *s = by_row[r];
      bool own = (int32_t)r == f->owner[i];
      p->u[p->n] = -(f->loo[i * R + r] - s->imp_mean) / s->norm_sd;
      p->L[p->n] = log1p((double)f->chars[i]);
      p->a[p->n] = pm__model_surface_against(
          mail, f->named_mean + (size_t)r * f->nn, tenant, f->count[r], own);
      p->b[p->n] = pm__model_surface_text_against(f->ssim[i * R + r],
                                                  s->surf_mean, s->surf_sd);
      p->y[p->n++] = !own;
    }
  }
out:
  free(by_row);
  free(tenant);
  free(mail);
  return rc;
}

/* The threshold that flags PM_FLAG_RATE of the held-out genuine mail. */
static pm_status set_threshold(const pairs *p, const fin *f, pm__model *m) {
  double *g = malloc((p->n ? p->n : 1) * sizeof *g);
  if (!g)
    return PM_NOMEM;
  size_t ng = 0;
  uint32_t R = f->n_ready;
  for (size_t k = 0; k < p->n; k++)
    if (!p->y[k])
      g[ng++] =
          pm__model_probability(m, p->u[k], f->chars[k / R], p->a[k], p->b[k]);
  if (ng > 0) {
    qsort(g, ng, sizeof *g, cmp_double);
    size_t at = (size_t)floor((1.0 - PM_FLAG_RATE) * (double)ng);
    m->threshold = g[at < ng ? at : ng - 1];
  } else {
    m->threshold = 0.5;
  }
  /* the table of genuine scores: all of them, or an even subsample that
   * keeps the highest (the tail a rarity reads) */
  size_t keep = ng < PM_GENUINE_TABLE ? ng : PM_GENUINE_TABLE;
  m->genuine = malloc((keep ? keep : 1) * sizeof *m->genuine);
  if (!m->genuine) {
    free(g);
    return PM_NOMEM;
  }
  for (size_t i = 0; i < keep; i++) {
    size_t from = keep == ng ? i : (i + 1) * ng / keep - 1;
    m->genuine[i] = (float)g[from];
  }
  m->n_genuine = (uint32_t)keep;
  free(g);
  return PM_OK;
}

/* Per-sender normalisation, then the tenant's calibration and threshold.
 * The surface's weight may only be positive: when the held-out pairs say
 * it should vouch for a claim, it is left out instead. */
static pm_status calibrate(fin *f, pm__model *m) {
  pm_status rc = sender_norms(f, m);
  if (rc != PM_OK)
    return rc;
  rc = surface_norms(f, m);
  if (rc != PM_OK)
    return rc;
  pairs p = {0};
  rc = build_pairs(f, m, &p);
  if (rc == PM_OK) {
    fit_calibration(&p, m->calib);
    /* a weight that came out negative: that evidence is dropped */
    bool again = false;
    if (!(m->calib[4] >= 0.0)) {
      memset(p.a, 0, p.n * sizeof *p.a);
      again = true;
    }
    if (!(m->calib[5] >= 0.0)) {
      memset(p.b, 0, p.n * sizeof *p.b);
      again = true;
    }
    if (again)
      fit_calibration(&p, m->calib);
    rc = set_threshold(&p, f, m);
  }
  pairs_free(&p);
  return rc;
}

/* Each ready sender's cohort: the PM_COHORT other senders whose profiles
 * give the sender's mean mail the highest normalised score, i.e. who could
 * best pass for them. Scored in blocks of claimed senders, as BLAS-3. */
#define COHORT_BLOCK 64

static void cohort_of(const pm__model *m, const pm__model_sender *const *by_row,
                      const float *S, uint32_t c, size_t ldc, uint32_t *out) {
  uint32_t k = m->cohort_k, n = 0;
  double best[PM_COHORT];
  for (uint32_t o = 0; o < m->n_ready; o++) {
    if (o == c)
      continue;
    const pm__model_sender *s = by_row[o];
    double z =
        ((double)S[(size_t)o * ldc] + s->bias - s->imp_mean) / s->norm_sd;
    if (n == k && !(z > best[k - 1]))
      continue;
    uint32_t at = n < k ? n++ : k - 1;
    while (at > 0 && best[at - 1] < z) {
      best[at] = best[at - 1];
      out[at] = out[at - 1];
      at--;
    }
    best[at] = z;
    out[at] = o;
  }
}

static pm_status build_cohorts(pm__model *m) {
  uint32_t R = m->n_ready;
  m->cohort_k = R > 1 ? (R - 1 < PM_COHORT ? R - 1 : PM_COHORT) : 0;
  m->cohort = malloc(((size_t)R * m->cohort_k + 1) * sizeof *m->cohort);
  const pm__model_sender **by_row = calloc(R ? R : 1, sizeof *by_row);
  float *S = malloc((size_t)(R ? R : 1) * COHORT_BLOCK * sizeof *S);
  pm_status rc = m->cohort && by_row && S ? PM_OK : PM_NOMEM;
  for (uint32_t i = 0; rc == PM_OK && i < m->n_senders; i++)
    if (m->senders[i].row >= 0)
      by_row[m->senders[i].row] = &m->senders[i];
  for (uint32_t c0 = 0; rc == PM_OK && m->cohort_k && c0 < R;
       c0 += COHORT_BLOCK) {
    uint32_t nb = R - c0 < COHORT_BLOCK ? R - c0 : COHORT_BLOCK;
    /* S (R x nb, row-major) = W (R x d) . mean[c0 .. c0 + nb)' */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)R, (int)nb,
                (int)m->d, 1.0f, m->W, (int)m->d, m->mean + (size_t)c0 * m->d,
                (int)m->d, 0.0f, S, (int)nb);
    for (uint32_t j = 0; j < nb; j++)
      cohort_of(m, by_row, S + j, c0 + j, nb,
                m->cohort + (size_t)(c0 + j) * m->cohort_k);
  }
  free(by_row);
  free(S);
  return rc;
}

/* The background's writers as more of the tenant's "others". */
static void add_background_moments(pm__gram *g, const pm__background *bg) {
  size_t d = g->d;
  for (size_t i = 0; i < d; i++) {
    g->sum[i] += bg->gram.sum[i];
    for (size_t j = i; j < d; j++)
      g->G[i * d + j] += bg->gram.G[i * d + j];
  }
  g->n += bg->gram.n;
}

/* Which senders are ready (enough mail, and someone to tell them from),
 * written back where it changed; each ready sender gets a row. */
static pm_status mark_ready(pm_store *st, fin *f, unsigned min_mails,
                            const pm__background *bg, pm_error *err) {
  /* A discriminant needs something to discriminate from: with a single
   * sender in the tenant and no background, nobody is ready. */
  for (size_t i = 0; i < f->n_senders; i++) {
    bool ready = f->senders[i].mails >= (int64_t)min_mails &&
                 (f->n_senders > 1 || (bg && bg->gram.n > 0));
    f->row[i] = ready ? (int32_t)f->n_ready++ : -1;
    if (f->senders[i].ready != ready) {
      f->senders[i].ready = ready;
      pm_status rc = pm_store_sender_update(st, &f->senders[i], err);
      if (rc != PM_OK)
        return rc;
    }
  }
  return PM_OK;
}

/* The system's matrices for d dimensions and the ready rows. */
static bool alloc_system(fin *f) {
  size_t d = f->d, R = f->n_ready ? f->n_ready : 1;
  f->scale = malloc(d * sizeof *f->scale);
  f->mean = malloc(d * sizeof *f->mean);
  f->M = malloc(d * d * sizeof *f->M);
  f->W = calloc(R * d, sizeof *f->W);
  f->smean = calloc(R * d, sizeof *f->smean);
  f->named_mean = calloc(R * f->nn, sizeof *f->named_mean);
  f->named_sd = calloc(R * f->nn, sizeof *f->named_sd);
  f->count = calloc(R, sizeof *f->count);
  f->cnorm2 = calloc(R, sizeof *f->cnorm2);
  return f->scale && f->mean && f->M && f->W && f->smean && f->named_mean &&
         f->named_sd && f->count && f->cnorm2;
}

/* Solves the ridge system for every ready sender's weights (Cholesky),
 * scores the calibration samples left out, and calibrates. */
static pm_status solve(pm_store *st, fin *f, pm__model *m, const pm__gram *g,
                       const pm__background *bg, pm_error *err) {
  size_t R = f->n_ready;
  double *frac = calloc(R ? R : 1, sizeof *frac);
  if (!frac)
    return pm_error_set(err, PM_NOMEM, "out of memory computing the profiles");
  build_system(f, g);
  pm_status rc = load_senders(st, f, err);
  if (rc == PM_OK) {
    int n = (int)f->d, nrhs = (int)R, info = 0;
    dpotrf_("L", &n, f->M, &n, &info, 1);
    if (info != 0)
      rc = pm_error_set(err, PM_INTERNAL,
                        "the tenant's scatter matrix is not positive "
                        "definite (LAPACK info %d)",
                        info);
    else
      dpotrs_("L", &n, &nrhs, f->M, &n, f->W, &n, &info, 1);
  }
  for (size_t i = 0; rc == PM_OK && i < f->n_senders; i++)
    if (f->row[i] >= 0)
      frac[f->row[i]] = (double)f->senders[i].mails / (double)g->n;
  if (rc == PM_OK)
    rc = score_samples(st, f, frac, bg, err);
  if (rc == PM_OK && calibrate(f, m) != PM_OK)
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
  free(frac);
  return rc;
}

/* The published model: final weights fold the standardisation in,
 * r(x) = (A w) . x - (A w) . mean. Takes the sender means over from f.
 * False when out of memory. */
static bool fill_model(fin *f, pm__model *m, const pm_config *cfg,
                       const pm__gram *g) {
  size_t d = f->d, R = f->n_ready;
  m->d = f->d;
  m->n_named = f->nn;
  m->config_hash = pm_config_hash(cfg);
  m->mails = g->n;
  m->n_senders = (uint32_t)f->n_senders;
  m->n_ready = f->n_ready;
  if (R == 0) {
    m->calib[1] = 1.0;
    m->threshold = 0.5;
  }
  m->W = malloc((R ? R : 1) * d * sizeof *m->W);
  if (!m->W)
    return false;
  for (size_t r = 0; r < R; r++)
    for (size_t j = 0; j < d; j++)
      m->W[r * d + j] = (float)(f->W[r * d + j] * f->scale[j]);
  for (size_t i = 0; i < f->n_senders; i++) {
    pm__model_sender *s = &m->senders[i];
    s->address = strdup(f->senders[i].address);
    if (!s->address)
      return false;
    s->mails = (uint64_t)f->senders[i].mails;
    s->last_trained = f->senders[i].last_trained;
    s->row = f->row[i];
    if (s->row >= 0) {
      double b = 0;
      for (size_t j = 0; j < d; j++)
        b -= (double)m->W[(size_t)s->row * d + j] * f->mean[j];
      s->bias = (float)b;
    }
  }
  m->mean = f->smean;
  m->named_mean = f->named_mean;
  m->named_sd = f->named_sd;
  f->smean = f->named_mean = f->named_sd = NULL;
  return true;
}

pm_status pm__finalize(pm_store *st, const pm_config *cfg, pm__gram *g,
                       unsigned min_mails, const pm__background *bg,
                       pm_error *err) {
  fin f = {0};
  pm__model m = {0};
  pm_status rc;
  pm__gram_flush(g);
  if (bg && bg->gram.d == g->d)
    add_background_moments(g, bg);
  f.d = g->d;
  f.nn = (uint32_t)pm_named_count();
  f.named_off = pm_config_named_offset(cfg);
  f.surf_off = pm_config_hashed_offset(cfg, PM_FAM_SURFACE);
  f.surf_dim = pm_config_hashed_enabled(cfg, PM_FAM_SURFACE)
                   ? pm_config_hashed_dim(cfg, PM_FAM_SURFACE)
                   : 0;
  rc = pm_store_senders(st, &f.senders, &f.n_senders, err);
  if (rc != PM_OK)
    goto out;
  f.row = malloc((f.n_senders ? f.n_senders : 1) * sizeof *f.row);
  m.senders = calloc(f.n_senders ? f.n_senders : 1, sizeof *m.senders);
  if (!f.row || !m.senders)
    goto nomem;
  rc = mark_ready(st, &f, min_mails, bg, err);
  if (rc != PM_OK)
    goto out;
  if (!alloc_system(&f))
    goto nomem;
  if (f.n_ready > 0 && g->n > 0)
    rc = solve(st, &f, &m, g, bg, err);
  if (rc != PM_OK)
    goto out;
  if (!fill_model(&f, &m, cfg, g) || build_cohorts(&m) != PM_OK)
    goto nomem;
  size_t len;
  void *blob = pm__model_encode(&m, &len);
  if (!blob)
    goto nomem;
  rc = pm_store_put(st, PM_KIND_MODEL, 0, blob, len, err);
  free(blob);
  goto out;
nomem:
  rc = pm_error_set(err, PM_NOMEM, "out of memory computing the profiles");
out:
  pm__model_free(&m);
  fin_free(&f);
  return rc;
}
