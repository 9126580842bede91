/* Rows of a tenant's moments read from its stored samples (see
 * train/sample_cache.h). */
#include "train/sample_cache.h"

#include <stdlib.h>
#include <string.h>

#include "penmark/model.h"
#include "train/finalize.h"

pm_status pm__sample_cache_row(void *ctx, pm__gram_row *row, pm_error *err) {
  pm__sample_cache *c = ctx;
  size_t i = 0;
  while (i < c->n && c->owner[i] != row->owner)
    i++;
  if (i == c->n) {
    if (c->n == c->cap) {
      size_t cap = c->cap ? c->cap * 2 : 16;
      int64_t *o = realloc(c->owner, cap * sizeof *o);
      if (o)
        c->owner = o;
      pm__sample *s = o ? realloc(c->s, cap * sizeof *s) : NULL;
      if (!s)
        return pm_error_set(err, PM_NOMEM, "out of memory");
      c->s = s;
      c->cap = cap;
    }
    void *blob = NULL;
    size_t len = 0;
    pm_status rc =
        pm_store_get(c->st, PM_KIND_SAMPLE, row->owner, &blob, &len, err);
    if (rc == PM_OK)
      rc = pm__sample_decode(blob, len, c->d, PM_SAMPLE_K, &c->s[i], err);
    free(blob);
    if (rc == PM_NOTFOUND)
      return pm_error_set(err, PM_CORRUPT,
                          "tenant moments refer to the sample of sender %lld, "
                          "which the store lacks",
                          (long long)row->owner);
    if (rc != PM_OK)
      return rc;
    c->owner[i] = row->owner;
    c->n++;
  }
  const pm__sample_entry *e = pm__sample_find(&c->s[i], row->key);
  if (!e)
    return pm_error_set(err, PM_CORRUPT,
                        "tenant moments refer to a mail that the sample of "
                        "sender %lld lacks",
                        (long long)row->owner);
  row->nnz = e->nnz;
  row->idx = malloc((e->nnz ? e->nnz : 1) * sizeof *row->idx);
  row->val = malloc((e->nnz ? e->nnz : 1) * sizeof *row->val);
  if (!row->idx || !row->val)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  memcpy(row->idx, e->idx, e->nnz * sizeof *row->idx);
  memcpy(row->val, e->val, e->nnz * sizeof *row->val);
  return PM_OK;
}

void pm__sample_cache_free(pm__sample_cache *c) {
  for (size_t i = 0; i < c->n; i++)
    pm__sample_free(&c->s[i]);
  free(c->owner);
  free(c->s);
  memset(c, 0, sizeof *c);
}
