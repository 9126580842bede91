/* The feature configuration: defaults, JSON in and out, stable hash. */
#include "penmark/config.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/buf.h"
#include "features/config/version.h"

#define DEFAULT_DICDIR "/var/lib/mecab/dic/ipadic-utf8"
#define MAX_DIM (1u << 16)
#define MAX_CONFIG_BYTES (1u << 20)

typedef struct {
  bool enabled;
  uint32_t dim;
  int min_n, max_n;
  float weight;
} hashed_params;

struct pm_config {
  hashed_params hashed[PM_FAM__HASHED_COUNT];
  bool named[PM_FAM__NAMED_COUNT];
  char *dicdir;
};

static const char *const hashed_names[PM_FAM__HASHED_COUNT] = {
    "char_ngrams", "words", "syntax", "typed_ngrams", "surface"};
static const char *const named_names[PM_FAM__NAMED_COUNT] = {
    "function_words", "japanese", "punctuation", "layout", "case", "lengths"};

/* The defaults. Dimensions were chosen by measurement on the development
 * corpora (bench/, README): beyond these, accuracy no longer improves while
 * the store grows linearly. */
static const hashed_params hashed_defaults[PM_FAM__HASHED_COUNT] = {
    [PM_FAM_CHAR_NGRAMS] = {true, 1u << 11, 1, 4, 1.0f},
    /* word unigrams only: bigrams carry topic (phrases of a subject) more
     * than style, and dropping them raised AUC on every corpus measured */
    [PM_FAM_WORDS] = {true, 1u << 10, 1, 1, 1.0f},
    [PM_FAM_SYNTAX] = {true, 1u << 9, 1, 3, 0.7f},
    /* typed 3-grams (Sapkota et al. 2015): 2- and 4-grams added nothing
     * over the untyped family on the development corpora */
    [PM_FAM_TYPED_NGRAMS] = {true, 1u << 10, 3, 3, 1.0f},
    [PM_FAM_SURFACE] = {true, 1u << 9, 1, 4, 1.0f},
};

const char *pm_hashed_family_name(pm_hashed_family f) {
  return (unsigned)f < PM_FAM__HASHED_COUNT ? hashed_names[f] : "?";
}

const char *pm_named_family_name(pm_named_family f) {
  return (unsigned)f < PM_FAM__NAMED_COUNT ? named_names[f] : "?";
}

pm_config *pm_config_default(void) {
  pm_config *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  memcpy(c->hashed, hashed_defaults, sizeof c->hashed);
  for (int i = 0; i < PM_FAM__NAMED_COUNT; i++)
    c->named[i] = true;
  c->dicdir = strdup(DEFAULT_DICDIR);
  if (!c->dicdir) {
    free(c);
    return NULL;
  }
  return c;
}

void pm_config_free(pm_config *cfg) {
  if (!cfg)
    return;
  free(cfg->dicdir);
  free(cfg);
}

pm_config *pm_config_clone(const pm_config *cfg) {
  pm_config *c = malloc(sizeof *c);
  if (!c)
    return NULL;
  *c = *cfg;
  c->dicdir = strdup(cfg->dicdir);
  if (!c->dicdir) {
    free(c);
    return NULL;
  }
  return c;
}

/* The range is checked before the conversion: converting a double outside
 * uint32_t's range (negative, 1e30, inf, NaN) is undefined behaviour, and a
 * store's configuration JSON comes from a file anyone may have edited. */
static bool is_pow2(double v) {
  if (!(v >= 16 && v <= MAX_DIM)) /* also false for NaN */
    return false;
  uint32_t u = (uint32_t)v;
  return (double)u == v && (u & (u - 1)) == 0;
}

/* Reads one hashed family's object into p. */
static pm_status parse_hashed(const cJSON *obj, const char *name,
                              hashed_params *p, pm_error *err) {
  if (!cJSON_IsObject(obj))
    return pm_error_set(err, PM_CONFIG, "families.%s: expected an object",
                        name);
  const cJSON *it;
  cJSON_ArrayForEach(it, obj) {
    const char *k = it->string;
    if (strcmp(k, "enabled") == 0) {
      if (!cJSON_IsBool(it))
        return pm_error_set(err, PM_CONFIG,
                            "families.%s.enabled: expected true or false",
                            name);
      p->enabled = cJSON_IsTrue(it);
    } else if (strcmp(k, "dim") == 0) {
      if (!cJSON_IsNumber(it) || !is_pow2(it->valuedouble))
        return pm_error_set(
            err, PM_CONFIG,
            "families.%s.dim: expected a power of two from 16 to %u", name,
            MAX_DIM);
      p->dim = (uint32_t)it->valuedouble;
    } else if (strcmp(k, "min_n") == 0 || strcmp(k, "max_n") == 0) {
      double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
      if (!(v >= 1 && v <= 5) || v != floor(v)) /* range first: NaN, inf */
        return pm_error_set(err, PM_CONFIG,
                            "families.%s.%s: expected an integer from 1 to 5",
                            name, k);
      if (k[1] == 'i')
        p->min_n = (int)v;
      else
        p->max_n = (int)v;
    } else if (strcmp(k, "weight") == 0) {
      if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) ||
          it->valuedouble > 100)
        return pm_error_set(err, PM_CONFIG,
                            "families.%s.weight: expected a number from 0 "
                            "to 100",
                            name);
      p->weight = (float)it->valuedouble;
    } else {
      return pm_error_set(err, PM_CONFIG, "families.%s: unknown key \"%s\"",
                          name, k);
    }
  }
  if (p->min_n > p->max_n)
    return pm_error_set(err, PM_CONFIG,
                        "families.%s: min_n %d is greater than max_n %d", name,
                        p->min_n, p->max_n);
  return PM_OK;
}

static pm_status parse_named(const cJSON *obj, const char *name, bool *enabled,
                             pm_error *err) {
  if (!cJSON_IsObject(obj))
    return pm_error_set(err, PM_CONFIG, "families.%s: expected an object",
                        name);
  const cJSON *it;
  cJSON_ArrayForEach(it, obj) {
    if (strcmp(it->string, "enabled") != 0)
      return pm_error_set(err, PM_CONFIG, "families.%s: unknown key \"%s\"",
                          name, it->string);
    if (!cJSON_IsBool(it))
      return pm_error_set(err, PM_CONFIG,
                          "families.%s.enabled: expected true or false", name);
    *enabled = cJSON_IsTrue(it);
  }
  return PM_OK;
}

static pm_status parse_families(const cJSON *fams, pm_config *c,
                                pm_error *err) {
  if (!cJSON_IsObject(fams))
    return pm_error_set(err, PM_CONFIG, "families: expected an object");
  const cJSON *it;
  cJSON_ArrayForEach(it, fams) {
    bool known = false;
    for (int f = 0; f < PM_FAM__HASHED_COUNT && !known; f++)
      if (strcmp(it->string, hashed_names[f]) == 0) {
        pm_status rc = parse_hashed(it, hashed_names[f], &c->hashed[f], err);
        if (rc != PM_OK)
          return rc;
        known = true;
      }
    for (int f = 0; f < PM_FAM__NAMED_COUNT && !known; f++)
      if (strcmp(it->string, named_names[f]) == 0) {
        pm_status rc = parse_named(it, named_names[f], &c->named[f], err);
        if (rc != PM_OK)
          return rc;
        known = true;
      }
    if (!known)
      return pm_error_set(err, PM_CONFIG, "families: unknown family \"%s\"",
                          it->string);
  }
  return PM_OK;
}

pm_status pm_config_parse(const char *json, size_t len, pm_config **out,
                          pm_error *err) {
  *out = NULL;
  cJSON *root = cJSON_ParseWithLength(json, len);
  if (!root)
    return pm_error_set(err, PM_CONFIG, "not valid JSON");
  pm_config *c = pm_config_default();
  pm_status rc = PM_OK;
  if (!c) {
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
    goto done;
  }
  if (!cJSON_IsObject(root)) {
    rc = pm_error_set(err, PM_CONFIG, "expected a JSON object at the top");
    goto done;
  }
  const cJSON *it;
  cJSON_ArrayForEach(it, root) {
    if (strcmp(it->string, "families") == 0) {
      rc = parse_families(it, c, err);
    } else if (strcmp(it->string, "mecab_dicdir") == 0) {
      if (!cJSON_IsString(it) || !it->valuestring[0]) {
        rc = pm_error_set(err, PM_CONFIG,
                          "mecab_dicdir: expected a directory path");
      } else {
        char *d = strdup(it->valuestring);
        if (!d) {
          rc = pm_error_set(err, PM_NOMEM, "out of memory");
        } else {
          free(c->dicdir);
          c->dicdir = d;
        }
      }
    } else if (strcmp(it->string, "version") == 0) {
      if (!cJSON_IsNumber(it) || it->valuedouble != PM_CONFIG_FORMAT_VERSION)
        rc = pm_error_set(err, PM_CONFIG,
                          "version: this penmark reads configuration version "
                          "%d",
                          PM_CONFIG_FORMAT_VERSION);
    } else if (strcmp(it->string, "features_version") == 0) {
      /* Written by pm_config_to_json for the record; the code decides. */
    } else {
      rc = pm_error_set(err, PM_CONFIG, "unknown key \"%s\"", it->string);
    }
    if (rc != PM_OK)
      goto done;
  }
  bool any = false;
  for (int f = 0; f < PM_FAM__HASHED_COUNT; f++)
    any |= c->hashed[f].enabled;
  for (int f = 0; f < PM_FAM__NAMED_COUNT; f++)
    any |= c->named[f];
  if (!any)
    rc = pm_error_set(err, PM_CONFIG, "families: every family is disabled");
done:
  cJSON_Delete(root);
  if (rc != PM_OK) {
    pm_config_free(c);
    return rc;
  }
  *out = c;
  return PM_OK;
}

pm_status pm_config_load(const char *path, pm_config **out, pm_error *err) {
  pm__buf b = {0};
  *out = NULL;
  pm_status rc = pm__read_file(path, MAX_CONFIG_BYTES, &b, err);
  if (rc == PM_OK) {
    pm_error inner;
    pm_error_clear(&inner);
    rc = pm_config_parse(b.data ? b.data : "", b.len, out, &inner);
    if (rc != PM_OK)
      pm_error_set(err, rc, "%s: %s", path, pm_error_message(&inner));
  }
  pm__buf_free(&b);
  return rc;
}

/* Builds the canonical JSON tree; with_env adds the machine-specific keys
 * that the hash leaves out. */
static cJSON *to_tree(const pm_config *cfg, bool with_env) {
  cJSON *root = cJSON_CreateObject();
  cJSON *fams = cJSON_CreateObject();
  if (!root || !fams) {
    cJSON_Delete(root);
    cJSON_Delete(fams);
    return NULL;
  }
  cJSON_AddNumberToObject(root, "version", PM_CONFIG_FORMAT_VERSION);
  cJSON_AddNumberToObject(root, "features_version", PM_FEATURES_VERSION);
  cJSON_AddItemToObject(root, "families", fams);
  for (int f = 0; f < PM_FAM__HASHED_COUNT; f++) {
    const hashed_params *p = &cfg->hashed[f];
    cJSON *o = cJSON_AddObjectToObject(fams, hashed_names[f]);
    if (!o)
      goto fail;
    cJSON_AddBoolToObject(o, "enabled", p->enabled);
    cJSON_AddNumberToObject(o, "dim", p->dim);
    cJSON_AddNumberToObject(o, "min_n", p->min_n);
    cJSON_AddNumberToObject(o, "max_n", p->max_n);
    /* Weights are printed rounded to 1e-6 so that the text, and with it the
     * hash, does not depend on how a float prints. */
    cJSON_AddNumberToObject(o, "weight", round((double)p->weight * 1e6) / 1e6);
  }
  for (int f = 0; f < PM_FAM__NAMED_COUNT; f++) {
    cJSON *o = cJSON_AddObjectToObject(fams, named_names[f]);
    if (!o)
      goto fail;
    cJSON_AddBoolToObject(o, "enabled", cfg->named[f]);
  }
  if (with_env)
    cJSON_AddStringToObject(root, "mecab_dicdir", cfg->dicdir);
  return root;
fail:
  cJSON_Delete(root);
  return NULL;
}

char *pm_config_to_json(const pm_config *cfg) {
  cJSON *t = to_tree(cfg, true);
  char *s = t ? cJSON_PrintUnformatted(t) : NULL;
  cJSON_Delete(t);
  return s;
}

uint64_t pm_config_hash(const pm_config *cfg) {
  cJSON *t = to_tree(cfg, false);
  char *s = t ? cJSON_PrintUnformatted(t) : NULL;
  cJSON_Delete(t);
  if (!s)
    return 0;
  uint64_t h = XXH64(s, strlen(s), 0x70656e6d61726bULL);
  free(s);
  return h;
}

bool pm_config_hashed_enabled(const pm_config *cfg, pm_hashed_family f) {
  return cfg->hashed[f].enabled;
}
uint32_t pm_config_hashed_dim(const pm_config *cfg, pm_hashed_family f) {
  return cfg->hashed[f].enabled ? cfg->hashed[f].dim : 0;
}
int pm_config_hashed_min_n(const pm_config *cfg, pm_hashed_family f) {
  return cfg->hashed[f].min_n;
}
int pm_config_hashed_max_n(const pm_config *cfg, pm_hashed_family f) {
  return cfg->hashed[f].max_n;
}
float pm_config_hashed_weight(const pm_config *cfg, pm_hashed_family f) {
  return cfg->hashed[f].weight;
}
bool pm_config_named_enabled(const pm_config *cfg, pm_named_family f) {
  return cfg->named[f];
}
const char *pm_config_mecab_dicdir(const pm_config *cfg) {
  return cfg->dicdir;
}

pm_config *pm_config_with_hashed(const pm_config *cfg, pm_hashed_family f,
                                 bool enabled) {
  pm_config *c = pm_config_clone(cfg);
  if (c)
    c->hashed[f].enabled = enabled;
  return c;
}

pm_config *pm_config_with_named(const pm_config *cfg, pm_named_family f,
                                bool enabled) {
  pm_config *c = pm_config_clone(cfg);
  if (c)
    c->named[f] = enabled;
  return c;
}

uint32_t pm_config_hashed_offset(const pm_config *cfg, pm_hashed_family f) {
  uint32_t off = 0;
  for (int i = 0; i < (int)f; i++)
    off += pm_config_hashed_dim(cfg, (pm_hashed_family)i);
  return off;
}

uint32_t pm_config_named_offset(const pm_config *cfg) {
  return pm_config_hashed_offset(cfg, PM_FAM__HASHED_COUNT);
}
