/* The table of named features: fixed ones, then the lexicons' function
 * words. Built once per process from the embedded lexicons. */
#include "features/named.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/lexicon.h"

typedef struct {
  const char *name, *label;
  pm_named_kind kind;
  pm_named_family family;
} named_def;

static const named_def fixed[PM_NF__FIXED_COUNT] = {
#define PM__NAMED_DEF(fam, id, nm, kd, lb) {nm, lb, PM_NK_##kd, PM_FAM_##fam},
    PM_NAMED_FIXED(PM__NAMED_DEF)
#undef PM__NAMED_DEF
};

static named_def *table;  /* fixed, then English, then Japanese words */
static char *name_store;  /* "fw:<word>\0" strings of the function words */
static char *label_store; /* their labels */
static size_t count;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void) {
  const pm__lexicon *lx = pm__lexicon_get();
  if (!lx)
    return;
  size_t nfw = lx->n_en_fw + lx->n_ja_fw;
  size_t bytes = 0;
  for (size_t i = 0; i < lx->n_en_fw; i++)
    bytes += strlen(lx->en_fw[i]) + 8;
  for (size_t i = 0; i < lx->n_ja_fw; i++)
    bytes += strlen(lx->ja_fw[i]) + 8;
  named_def *t = calloc(PM_NF__FIXED_COUNT + nfw, sizeof *t);
  char *names = malloc(bytes);
  char *labels = malloc(bytes + nfw * 32);
  if (!t || !names || !labels) {
    free(t);
    free(names);
    free(labels);
    return;
  }
  memcpy(t, fixed, sizeof fixed);
  char *np = names, *lp = labels;
  size_t k = PM_NF__FIXED_COUNT;
  for (int lang = 0; lang < 2; lang++) {
    const char **words = lang ? lx->ja_fw : lx->en_fw;
    size_t n = lang ? lx->n_ja_fw : lx->n_en_fw;
    for (size_t i = 0; i < n; i++, k++) {
      t[k].name = np;
      np += sprintf(np, "%s:%s", lang ? "fwja" : "fw", words[i]) + 1;
      t[k].label = lp;
      lp += sprintf(lp, "\"%s\" per 100 %s", words[i],
                    lang ? "morphemes" : "words") +
            1;
      t[k].kind = PM_NK_VALUE;
      t[k].family = PM_FAM_FUNCTION_WORDS;
    }
  }
  table = t;
  name_store = names;
  label_store = labels;
  count = k;
}

size_t pm_named_count(void) {
  pthread_once(&once, build);
  return count;
}

const char *pm_named_name(size_t i) {
  return i < pm_named_count() ? table[i].name : "";
}

const char *pm_named_label(size_t i) {
  return i < pm_named_count() ? table[i].label : "";
}

pm_named_kind pm_named_kind_of(size_t i) {
  return i < pm_named_count() ? table[i].kind : PM_NK_VALUE;
}

pm_named_family pm_named_family_of(size_t i) {
  return i < pm_named_count() ? table[i].family : PM_FAM_LAYOUT;
}

bool pm_named_is_surface(size_t i) {
  return i <= PM_NF_SIGN_JA_THANKS || /* the layout block opens the table */
         i == PM_NF_SIG_LINES || i == PM_NF_GREETING_OWN_LINE ||
         i == PM_NF_BLANK_AFTER_GREETING;
}

pm_surface_group pm_named_surface_group(size_t i) {
  if (i <= PM_NF_GREET_JA_NAME)
    return PM_SURFACE_GREETING;
  if (i >= PM_NF_SIGN_NONE && i <= PM_NF_SIGN_JA_THANKS)
    return PM_SURFACE_SIGNOFF;
  return PM_SURFACE_OTHER;
}

long pm_named_find(const char *name) {
  size_t n = pm_named_count();
  for (size_t i = 0; i < n; i++)
    if (strcmp(table[i].name, name) == 0)
      return (long)i;
  return -1;
}

size_t pm__named_en_fw_base(void) {
  return PM_NF__FIXED_COUNT;
}

size_t pm__named_ja_fw_base(void) {
  const pm__lexicon *lx = pm__lexicon_get();
  return PM_NF__FIXED_COUNT + (lx ? lx->n_en_fw : 0);
}

void pm__named_release(void) {
  free(table);
  free(name_store);
  free(label_store);
  table = NULL;
  name_store = label_store = NULL;
  count = 0;
}
