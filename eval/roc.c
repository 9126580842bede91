/* ROC statistics, written to give exactly what protocol.py gives: the same
 * sorts, the same tie rules and the same floating-point operations in the
 * same order (the build has -ffp-contract=off, so no fused multiply-add
 * changes a rounding). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval/internal.h"

static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

bool pm__auc(double *pos, size_t np, double *neg, size_t nn, double *auc) {
  if (np == 0 || nn == 0) {
    *auc = NAN;
    return true;
  }
  qsort(pos, np, sizeof *pos, cmp_desc);
  qsort(neg, nn, sizeof *neg, cmp_desc);
  /* Walk the values ascending (from the ends of the descending arrays), a
   * group of equal values at a time: each positive of the group gets the
   * group's average 1-based rank. */
  double rank_sum = 0.0;
  size_t ip = np, in = nn, i = 0; /* i: values ranked so far */
  while (ip > 0 || in > 0) {
    double v;
    if (ip == 0)
      v = neg[in - 1];
    else if (in == 0)
      v = pos[ip - 1];
    else
      v = pos[ip - 1] < neg[in - 1] ? pos[ip - 1] : neg[in - 1];
    size_t cp = 0, cn = 0;
    while (ip > 0 && pos[ip - 1] == v)
      ip--, cp++;
    while (in > 0 && neg[in - 1] == v)
      in--, cn++;
    size_t j = i + cp + cn;
    double r = (double)(i + j + 1) / 2.0;
    rank_sum += r * (double)cp;
    i = j;
  }
  *auc = (rank_sum - (double)(np * (np + 1)) / 2.0) / (double)(np * nn);
  return true;
}

bool pm__roc_points(double *pos, size_t np, double *neg, size_t nn,
                    pm__roc_point **pts, size_t *npts) {
  qsort(pos, np, sizeof *pos, cmp_desc);
  qsort(neg, nn, sizeof *neg, cmp_desc);
  pm__roc_point *p = malloc((np + nn + 1) * sizeof *p);
  if (!p)
    return false;
  size_t n = 0, ip = 0, in = 0;
  p[n++] = (pm__roc_point){0.0, 0.0};
  /* The distinct values, descending: merge the two sorted arrays. */
  while (ip < np || in < nn) {
    double t;
    if (ip == np)
      t = neg[in];
    else if (in == nn)
      t = pos[ip];
    else
      t = pos[ip] > neg[in] ? pos[ip] : neg[in];
    while (ip < np && pos[ip] >= t)
      ip++;
    while (in < nn && neg[in] >= t)
      in++;
    p[n++] = (pm__roc_point){nn ? (double)in / (double)nn : 0.0,
                             np ? (double)ip / (double)np : 0.0};
  }
  *pts = p;
  *npts = n;
  return true;
}

double pm__eer(const pm__roc_point *pts, size_t n) {
  if (n == 0)
    return 1.0;
  pm__roc_point prev = pts[0];
  for (size_t i = 1; i < n; i++) {
    double fpr = pts[i].fpr, tpr = pts[i].tpr;
    double fnr = 1 - tpr;
    if (fpr >= fnr) {
      double pf = prev.fpr, pt = prev.tpr;
      double pfnr = 1 - pt;
      double d = (fpr - pf) + (pfnr - fnr); /* growth of fpr - fnr */
      double a = d == 0 ? 0.0 : (pfnr - pf) / d;
      return pf + a * (fpr - pf);
    }
    prev = pts[i];
  }
  return 1.0;
}

double pm__tpr_at(const pm__roc_point *pts, size_t n, double max_fpr) {
  double best = 0.0;
  for (size_t i = 0; i < n; i++)
    if (pts[i].fpr <= max_fpr + 1e-12 && pts[i].tpr > best)
      best = pts[i].tpr;
  return best;
}

double pm__eval_quantize(double score) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.6f", score);
  return strtod(buf, NULL);
}
