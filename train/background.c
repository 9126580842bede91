/* Loading a background (see train/background.h). */
#include "train/background.h"

#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/model.h"
#include "penmark/store.h"
#include "penmark/train.h"
#include "train/finalize.h"
#include "train/pipeline.h"
#include "train/sample_cache.h"

/* DIR/NAME.db -> DIR and NAME (the store's tenant). */
static pm_status split_path(const char *path, char **dir, char **name,
                            pm_error *err) {
  pm_status rc = pm_store_path_split(path, dir, name, NULL);
  if (rc == PM_INVAL)
    return pm_error_set(err, PM_INVAL,
                        "background %s: expected a store file (NAME.db)", path);
  if (rc != PM_OK)
    return pm_error_set(err, rc, "out of memory");
  return PM_OK;
}

static pm_status load_samples(pm_store *st, uint32_t d, pm__background *bg,
                              pm_error *err) {
  pm_store_sender *list;
  size_t n;
  pm_status rc = pm_store_senders(st, &list, &n, err);
  if (rc != PM_OK)
    return rc;
  bg->samples = calloc(n ? n : 1, sizeof *bg->samples);
  if (!bg->samples)
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
  for (size_t i = 0; rc == PM_OK && i < n; i++) {
    void *blob = NULL;
    size_t len = 0;
    rc = pm_store_get(st, PM_KIND_SAMPLE, list[i].id, &blob, &len, err);
    if (rc == PM_NOTFOUND) {
      rc = PM_OK;
      continue;
    }
    if (rc == PM_OK)
      rc = pm__sample_decode(blob, len, d, PM_SAMPLE_K,
                             &bg->samples[bg->n_samples], err);
    free(blob);
    if (rc == PM_OK)
      bg->n_samples++;
  }
  pm_store_senders_free(list, n);
  return rc;
}

pm_status pm__background_load(const char *path, const pm_config *cfg,
                              pm__background *bg, pm_error *err) {
  memset(bg, 0, sizeof *bg);
  char *dir = NULL, *name = NULL, *json = NULL;
  pm_store *st = NULL;
  void *blob = NULL;
  size_t len = 0;
  uint32_t d = pm_config_vector_dim(cfg);
  pm_status rc = split_path(path, &dir, &name, err);
  if (rc == PM_OK && !(json = pm_config_to_json(cfg)))
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
  if (rc == PM_OK) {
    pm_error inner;
    rc = pm_store_open(dir, name, PM_STORE_READ, json, pm_config_hash(cfg), &st,
                       &inner);
    if (rc != PM_OK)
      pm_error_set(err, rc, "background %s: %s", path,
                   pm_error_message(&inner));
  }
  if (rc == PM_OK) {
    rc = pm_store_get(st, PM_KIND_MOMENTS, 0, &blob, &len, err);
    if (rc == PM_NOTFOUND)
      rc = pm_error_set(err, PM_INVAL, "background %s holds no trained mail",
                        path);
  }
  if (rc == PM_OK) {
    pm__sample_cache c = {.st = st, .d = d};
    rc =
        pm__gram_decode(blob, len, d, &bg->gram, pm__sample_cache_row, &c, err);
    pm__sample_cache_free(&c);
  }
  if (rc == PM_OK && bg->gram.n == 0)
    rc = pm_error_set(err, PM_INVAL, "background %s holds no trained mail",
                      path);
  if (rc == PM_OK)
    rc = load_samples(st, d, bg, err);
  if (rc == PM_OK)
    snprintf(bg->id, sizeof bg->id, "%.64s:%llu", name,
             (unsigned long long)bg->gram.n);
  free(blob);
  free(json);
  free(dir);
  free(name);
  pm_store_close(st);
  return rc;
}

static bool read_file(const char *path, char **data, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return false;
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap);
  while (b) {
    n += fread(b + n, 1, cap - n, fp);
    if (n < cap)
      break;
    char *nb = realloc(b, cap *= 2);
    if (!nb) {
      free(b);
      b = NULL;
      break;
    }
    b = nb;
  }
  bool ok = b && !ferror(fp);
  fclose(fp);
  if (!ok) {
    free(b);
    return false;
  }
  *data = b;
  *len = n;
  return true;
}

pm_status pm_background_overlap(const char *background,
                                const char *const *paths, size_t n,
                                size_t *found, size_t *first, pm_error *err) {
  *found = 0;
  *first = 0;
  char *dir = NULL, *name = NULL;
  pm_store *st = NULL;
  pm_status rc = split_path(background, &dir, &name, err);
  if (rc == PM_OK) {
    pm_error inner;
    rc = pm_store_open(dir, name, PM_STORE_READ, NULL, 0, &st, &inner);
    if (rc != PM_OK)
      pm_error_set(err, rc, "background %s: %s", background,
                   pm_error_message(&inner));
  }
  for (size_t i = 0; rc == PM_OK && i < n; i++) {
    char *data;
    size_t len;
    if (!read_file(paths[i], &data, &len))
      continue;
    pm_fingerprint fp;
    pm__raw_fingerprint(data, len, &fp);
    free(data);
    bool seen = false;
    rc = pm_store_seen(st, &fp, &seen, err);
    if (rc == PM_OK && seen && (*found)++ == 0)
      *first = i;
  }
  pm_store_close(st);
  free(dir);
  free(name);
  return rc;
}

void pm__background_peek_id(const char *path, char *out, size_t n) {
  struct stat sb;
  if (n == 0)
    return;
  out[0] = '\0';
  if (!path || !path[0])
    return;
  if (stat(path, &sb) != 0)
    snprintf(out, n, "|bg=%.100s:missing", path);
  else
    snprintf(out, n, "|bg=%.100s:%lld:%lld", path, (long long)sb.st_size,
             (long long)sb.st_mtime);
}

void pm__background_free(pm__background *bg) {
  if (!bg)
    return;
  pm__gram_free(&bg->gram);
  for (size_t i = 0; i < bg->n_samples; i++)
    pm__sample_free(&bg->samples[i]);
  free(bg->samples);
  memset(bg, 0, sizeof *bg);
}
