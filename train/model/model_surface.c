/* The surface's evidence against a claim (see penmark/model.h). */
#include <math.h>

#include "penmark/model.h"

/* How many mails' worth of the tenant's habits a sender's shares start
 * from: a sender of 20 mails is read mostly as themself, one of 3 mostly as
 * the tenant. */
#define PRIOR_MAILS 2.0
/* One form's evidence is capped: a single missing habit is suspicious, not
 * proof. */
#define MAX_AGAINST 4.0

static double group_against(const float *mail, const float *share,
                            const float *tenant, double n, bool loo,
                            pm_surface_group g) {
  size_t nn = pm_named_count();
  double usual = 0.0, mine = 1.0;
  bool any = false;
  /* the surface choices open the named block */
  for (size_t j = 0; j < nn; j++) {
    pm_surface_group gj = pm_named_surface_group(j);
    if (gj == PM_SURFACE_OTHER)
      break;
    if (gj != g)
      continue;
    double x = mail[j] > 0.5f ? 1.0 : 0.0;
    double count = (double)share[j] * n, m = n;
    if (loo && m >= 1.0) {
      count -= x;
      m -= 1.0;
    }
    if (count < 0)
      count = 0;
    double p = (count + PRIOR_MAILS * (double)tenant[j]) / (m + PRIOR_MAILS);
    if (p > usual)
      usual = p;
    /* a mail may show more than one form (an English greeting and a
     * Japanese addressee line): it reads as its rarest */
    if (x > 0 && p < mine) {
      mine = p;
      any = true;
    }
  }
  if (!any || !(usual > 0))
    return 0.0;
  double a = log((usual + 1e-3) / (mine + 1e-3));
  return a > MAX_AGAINST ? MAX_AGAINST : a > 0 ? a : 0.0;
}

double pm__model_surface_against(const float *mail, const float *share,
                                 const float *tenant, double n, bool loo) {
  return group_against(mail, share, tenant, n, loo, PM_SURFACE_GREETING) +
         group_against(mail, share, tenant, n, loo, PM_SURFACE_SIGNOFF);
}

double pm__model_cosine(const float *x, const float *y, uint32_t dim) {
  double xy = 0, xx = 0, yy = 0;
  for (uint32_t j = 0; j < dim; j++) {
    xy += (double)x[j] * y[j];
    xx += (double)x[j] * x[j];
    yy += (double)y[j] * y[j];
  }
  return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0.0;
}

/* Spreads below the usual are capped like the forms' evidence; the spread
 * has a floor, so that a sender whose every mail is signed alike does not
 * make every small variation a strong sign. */
#define MAX_TEXT_AGAINST 6.0
/* Within this many spreads of the sender's usual, a surface reads as
 * theirs: the sender's own mail varies (a forwarded note signed with a
 * full block, a quick reply with initials), and evidence that fires on
 * genuine mail costs more at a low false-alarm rate than it gains.
 * Measured on the dev corpora: 2 keeps the copied-surface figures where
 * they are while raising the plain impostor ones. */
#define TEXT_SLACK 2.0
#define MIN_TEXT_SD 0.05

double pm__model_surface_text_against(double cosine, double mean, double sd) {
  if (isnan(cosine))
    return 0.0;
  if (sd < MIN_TEXT_SD)
    sd = MIN_TEXT_SD;
  double a = (mean - cosine) / sd - TEXT_SLACK;
  return a > MAX_TEXT_AGAINST ? MAX_TEXT_AGAINST : a > 0 ? a : 0.0;
}
