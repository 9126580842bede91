/* The ROC plot as a hand-written SVG document: no plotting library, so that
 * the evaluation needs nothing the scorer does not. The false-positive axis
 * is logarithmic because the operating points that matter for business mail
 * (1% and below) would be squeezed against the left edge on a linear one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "eval/internal.h"

/* The plot area is the canvas less the margins; the legend sits under the
 * axis title, outside the area, where no curve can hide it. */
enum { W = 640, H = 530, LEFT = 64, RIGHT = 30, TOP = 40, BOTTOM = 106 };

typedef struct {
  pm__buf b;
  bool ok;          /* false once an append failed */
  double lo_decade; /* log10 of the left end of the FPR axis */
} svg;

#define OUT(s, ...) ((s)->ok = (s)->ok && pm__buf_printf(&(s)->b, __VA_ARGS__))

static double px(const svg *s, double fpr) {
  double lo = pow(10.0, s->lo_decade);
  double l = log10(fpr < lo ? lo : fpr);
  return LEFT + (l - s->lo_decade) / -s->lo_decade * (W - LEFT - RIGHT);
}

static double py(double tpr) {
  return TOP + (1.0 - tpr) * (H - TOP - BOTTOM);
}

/* The text with XML's special characters escaped. */
static void put_text(svg *s, const char *t) {
  for (; s->ok && *t; t++) {
    switch (*t) {
    case '&':
      OUT(s, "&amp;");
      break;
    case '<':
      OUT(s, "&lt;");
      break;
    case '>':
      OUT(s, "&gt;");
      break;
    case '"':
      OUT(s, "&quot;");
      break;
    default:
      s->ok = pm__buf_putc(&s->b, *t);
    }
  }
}

static void axes(svg *s) {
  double x0 = LEFT, x1 = W - RIGHT, y0 = py(0), y1 = py(1);
  /* Decade ticks and grid on the FPR axis. */
  for (int d = (int)s->lo_decade; d <= 0; d++) {
    double x = px(s, pow(10.0, d));
    OUT(s,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#e0e0e0\"/>\n",
        x, y1, x, y0);
    OUT(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g%%</text>\n",
        x, y0 + 18, 100.0 * pow(10.0, d));
    /* Minor ticks at 2..9 times the decade. */
    for (int m = 2; d < 0 && m <= 9; m++) {
      double xm = px(s, m * pow(10.0, d));
      OUT(s,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"#000\"/>\n",
          xm, y0, xm, y0 + 3);
    }
  }
  for (int i = 0; i <= 10; i++) {
    double y = py(i / 10.0);
    OUT(s,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#e0e0e0\"/>\n",
        x0, y, x1, y);
    if (i % 2 == 0)
      OUT(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
          x0 - 6, y + 4, i / 10.0);
  }
  OUT(s,
      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
      "fill=\"none\" stroke=\"#000\"/>\n",
      x0, y1, x1 - x0, y0 - y1);
  OUT(s,
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">false-positive rate "
      "(genuine mail flagged, log scale)</text>\n",
      (x0 + x1) / 2, y0 + 38);
  OUT(s,
      "<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 16 %.1f)\">true-positive rate "
      "(impersonations caught)</text>\n",
      (y0 + y1) / 2, (y0 + y1) / 2);
  /* Chance: tpr = fpr, a curve on a log axis. */
  OUT(s, "<polyline fill=\"none\" stroke=\"#999\" stroke-dasharray=\"4 4\" "
         "points=\"");
  for (int i = 0; i <= 60; i++) {
    double f = pow(10.0, s->lo_decade * (1.0 - i / 60.0));
    OUT(s, "%.1f,%.1f ", px(s, f), py(f));
  }
  OUT(s, "\"/>\n");
  /* The operating point that matters: 1% of genuine mail flagged. */
  double x = px(s, 0.01);
  OUT(s,
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
      "stroke=\"#2ca02c\" stroke-dasharray=\"6 3\"/>\n"
      "<text x=\"%.1f\" y=\"%.1f\" fill=\"#2ca02c\">1%% FPR</text>\n",
      x, y1, x, y0, x + 4, y1 + 14);
}

/* One class against the genuine trials: its curve, and its legend line at
 * legend row `row`. Nothing when either class is empty. */
static pm_status curve(svg *s, const pm_eval_trial *t, const pm_eval_score *sc,
                       size_t n, pm_eval_label positive, const char *color,
                       int row) {
  pm_eval_metrics m;
  pm_status rc = pm_eval_metrics_compute(t, sc, n, positive, NULL, &m, NULL);
  if (rc != PM_OK)
    return rc;
  if (!m.defined)
    return PM_OK;
  double *pos = malloc(m.n_positive * sizeof *pos);
  double *neg = malloc(m.n_genuine * sizeof *neg);
  pm__roc_point *pts = NULL;
  size_t npts = 0, ip = 0, in = 0;
  for (size_t i = 0; pos && neg && i < n; i++) {
    double v = sc[i].abstained ? 0.5 : sc[i].score;
    if (t[i].label == positive)
      pos[ip++] = v;
    else if (t[i].label == PM_EVAL_GENUINE)
      neg[in++] = v;
  }
  if (!pos || !neg || !pm__roc_points(pos, ip, neg, in, &pts, &npts)) {
    free(pos);
    free(neg);
    return PM_NOMEM;
  }
  OUT(s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
      color);
  /* Points that land on the same tenth of a pixel are drawn once. */
  double lx = -1, ly = -1;
  for (size_t i = 0; i < npts; i++) {
    double x = round(px(s, pts[i].fpr) * 10) / 10;
    double y = round(py(pts[i].tpr) * 10) / 10;
    if (x == lx && y == ly && i + 1 < npts)
      continue;
    OUT(s, "%.1f,%.1f ", x, y);
    lx = x;
    ly = y;
  }
  OUT(s, "\"/>\n");
  /* two legend rows; a third curve starts a second column */
  double lxp = LEFT + 8 + 300 * (row / 2), lyp = H - 40 + 20 * (row % 2);
  OUT(s,
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
      "stroke-width=\"2\"/>\n"
      "<text x=\"%.1f\" y=\"%.1f\">%s vs genuine (AUC %.4f, n=%zu)</text>\n",
      lxp, lyp, lxp + 24, lyp, color, lxp + 30, lyp + 4,
      pm_eval_label_name(positive), m.auc, m.n_positive);
  free(pts);
  free(pos);
  free(neg);
  return PM_OK;
}

char *pm_eval_roc_svg(const pm_eval_trial *trials, const pm_eval_score *scores,
                      size_t n, const char *title) {
  svg s = {.ok = true};
  /* The axis starts one decade below one genuine trial's share (1/n_gen),
   * so that the first flagged genuine mail is on the plot; between 10^-5
   * and 10^-3 so that the 1% line is always well inside. */
  size_t ngen = 0;
  for (size_t i = 0; i < n; i++)
    ngen += trials[i].label == PM_EVAL_GENUINE;
  double d = ngen ? floor(log10(1.0 / (double)ngen)) : -3.0;
  s.lo_decade = d < -5 ? -5 : d > -3 ? -3 : d;
  OUT(&s,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
      W, H, W, H);
  OUT(&s, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">",
      W / 2);
  put_text(&s, title && *title ? title : "ROC");
  OUT(&s, "</text>\n");
  axes(&s);
  pm_status rc = curve(&s, trials, scores, n, PM_EVAL_IMPOSTOR, "#d62728", 0);
  if (rc == PM_OK)
    rc = curve(&s, trials, scores, n, PM_EVAL_INSIDER, "#1f77b4", 1);
  if (rc == PM_OK)
    rc = curve(&s, trials, scores, n, PM_EVAL_MIMICRY, "#ff7f0e", 2);
  OUT(&s, "</svg>\n");
  if (rc != PM_OK || !s.ok) {
    pm__buf_free(&s.b);
    return NULL;
  }
  return pm__buf_steal(&s.b);
}
