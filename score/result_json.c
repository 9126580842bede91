/* A score result as JSON (see pm_score_result_json in score.h). */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "penmark/score.h"

/* Six significant digits: short, and the same text on every machine for the
 * same double. */
static void add_num(cJSON *o, const char *k, double v) {
  if (!isfinite(v)) {
    cJSON_AddNullToObject(o, k);
    return;
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%.6g", v);
  cJSON_AddNumberToObject(o, k, strtod(buf, NULL));
}

char *pm_score_result_json(const pm_score_result *r, const char *file,
                           const char *tenant) {
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  if (file)
    cJSON_AddStringToObject(o, "file", file);
  if (tenant)
    cJSON_AddStringToObject(o, "tenant", tenant);
  cJSON_AddStringToObject(o, "sender", r->sender);
  cJSON_AddStringToObject(o, "verdict", pm_verdict_name(r->verdict));
  add_num(o, "probability", r->probability);
  add_num(o, "threshold", r->threshold);
  /* how rare the score is among the senders' own mail, the number the
   * verdict keeps to */
  cJSON *rare = cJSON_AddObjectToObject(o, "rarity");
  if (rare) {
    add_num(rare, "genuine_share", r->genuine_share);
    cJSON_AddNumberToObject(rare, "one_in", (double)r->one_in);
    add_num(rare, "flag_rate", r->flag_rate);
    char text[160];
    if (pm_verdict_abstains(r->verdict))
      snprintf(text, sizeof text, "not scored");
    else if (r->one_in <= 1)
      snprintf(text, sizeof text,
               "most of the senders' own mails read at least this unlike "
               "their sender");
    else
      snprintf(text, sizeof text,
               "about 1 in %llu of the senders' own mails reads this unlike "
               "their sender",
               (unsigned long long)r->one_in);
    cJSON_AddStringToObject(rare, "text", text);
  }
  cJSON *reasons = cJSON_AddArrayToObject(o, "reasons");
  for (size_t i = 0; reasons && i < r->n_reasons; i++) {
    cJSON *x = cJSON_CreateObject();
    if (!x)
      break;
    cJSON_AddStringToObject(x, "feature", r->reasons[i].feature);
    cJSON_AddStringToObject(x, "text", r->reasons[i].text);
    add_num(x, "observed", r->reasons[i].observed);
    add_num(x, "typical", r->reasons[i].typical);
    cJSON_AddItemToArray(reasons, x);
  }
  if (r->closest[0]) {
    cJSON *cl = cJSON_AddObjectToObject(o, "closest");
    if (cl) {
      cJSON_AddStringToObject(cl, "sender", r->closest);
      add_num(cl, "score", r->closest_score);
    }
  }
  cJSON *prof = cJSON_AddObjectToObject(o, "profile");
  if (prof) {
    cJSON_AddNumberToObject(prof, "mails", (double)r->profile_mails);
    cJSON_AddNumberToObject(prof, "last_trained",
                            (double)r->profile_last_trained);
  }
  cJSON_AddStringToObject(o, "language", pm_language_name(r->language));
  cJSON_AddNumberToObject(o, "own_chars", (double)r->own_chars);
  cJSON_AddNumberToObject(o, "elapsed_us", (double)r->elapsed_us);
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}
