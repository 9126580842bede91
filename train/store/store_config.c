/* The configuration-mismatch message: which keys differ between the
 * configuration a store was built with and the one a caller brings. A bare
 * "hash differs" leaves the operator guessing which setting moved. */
#include "train/store/store_internal.h"

#include "common/buf.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Past this much text the remaining differences are only counted: the
 * whole message must fit a pm_error (512 bytes) with the path and hashes. */
#define DETAIL_BUDGET 300
#define VALUE_MAX 40

typedef struct {
  pm__buf text;
  size_t listed, more;
  bool oom;
} diffs;

/* A value as compact JSON, cut at VALUE_MAX bytes; "(absent)" for NULL. */
static void put_value(diffs *d, const cJSON *v) {
  if (!v) {
    d->oom |= !pm__buf_puts(&d->text, "(absent)");
    return;
  }
  char *s = cJSON_PrintUnformatted(v);
  if (!s) {
    d->oom = true;
    return;
  }
  size_t n = strlen(s);
  if (n > VALUE_MAX) {
    d->oom |= !pm__buf_append(&d->text, s, VALUE_MAX - 3);
    d->oom |= !pm__buf_puts(&d->text, "...");
  } else {
    d->oom |= !pm__buf_append(&d->text, s, n);
  }
  free(s);
}

static void add(diffs *d, const char *key, const cJSON *a, const cJSON *b) {
  if (d->text.len > DETAIL_BUDGET) {
    d->more++;
    return;
  }
  if (d->listed++)
    d->oom |= !pm__buf_puts(&d->text, "; ");
  d->oom |= !pm__buf_puts(&d->text, key);
  d->oom |= !pm__buf_putc(&d->text, ' ');
  put_value(d, a);
  d->oom |= !pm__buf_puts(&d->text, " vs ");
  put_value(d, b);
}

static void walk(diffs *d, const char *key, const cJSON *a, const cJSON *b);

/* key.child, malloc'd; the top level has no prefix. */
static char *child_key(const char *key, const char *child) {
  pm__buf b = {0};
  if (*key && !pm__buf_printf(&b, "%s.", key)) {
    pm__buf_free(&b);
    return NULL;
  }
  if (!pm__buf_puts(&b, child ? child : "")) {
    pm__buf_free(&b);
    return NULL;
  }
  return pm__buf_steal(&b);
}

static void walk_child(diffs *d, const char *key, const char *name,
                       const cJSON *a, const cJSON *b) {
  char *k = child_key(key, name);
  if (!k) {
    d->oom = true;
    return;
  }
  walk(d, k, a, b);
  free(k);
}

static void walk(diffs *d, const char *key, const cJSON *a, const cJSON *b) {
  if (a && b && cJSON_IsObject(a) && cJSON_IsObject(b)) {
    const cJSON *c;
    cJSON_ArrayForEach(c, a) {
      walk_child(d, key, c->string, c,
                 cJSON_GetObjectItemCaseSensitive(b, c->string));
    }
    cJSON_ArrayForEach(c, b) {
      if (!cJSON_GetObjectItemCaseSensitive(a, c->string))
        walk_child(d, key, c->string, NULL, c);
    }
    return;
  }
  if (a && b && cJSON_Compare(a, b, true))
    return;
  add(d, *key ? key : "(configuration)", a, b);
}

pm_status pm__store_config_mismatch(const char *path, const char *store_json,
                                    uint64_t store_hash,
                                    const char *wanted_json,
                                    uint64_t wanted_hash, pm_error *err) {
  cJSON *a = store_json ? cJSON_Parse(store_json) : NULL;
  cJSON *b = wanted_json ? cJSON_Parse(wanted_json) : NULL;
  diffs d = {0};
  const char *detail;
  if (!a || !b) {
    detail = "the two configurations could not be compared (unreadable JSON)";
  } else {
    walk(&d, "", a, b);
    if (d.more && !d.oom)
      d.oom = !pm__buf_printf(&d.text, "; and %zu more", d.more);
    if (d.oom)
      detail = "out of memory listing the differences";
    else if (d.listed == 0)
      detail = "no key differs: the hashes were computed differently";
    else
      detail = d.text.data;
  }
  pm_error_set(err, PM_MISMATCH,
               "store %s was built with another feature configuration (hash "
               "%016" PRIx64 " vs %016" PRIx64 "): %s",
               path, store_hash, wanted_hash, detail);
  pm__buf_free(&d.text);
  cJSON_Delete(a);
  cJSON_Delete(b);
  return PM_MISMATCH;
}
