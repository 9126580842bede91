/* Store rows: mail fingerprints, blobs and meta values (senders are in
 * store_senders.c, opening in store_open.c). */
#include "train/store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#define KIND_MAX 64

/* Kinds are names chosen by the program, never data: keep them plain. */
static pm_status check_kind(const pm_store *st, const char *kind,
                            pm_error *err) {
  size_t n = 0;
  for (; kind && kind[n] && n <= KIND_MAX; n++) {
    char c = kind[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      break;
  }
  if (n == 0 || n > KIND_MAX || kind[n] != '\0')
    return pm_error_set(err, PM_INVAL,
                        "store %s: bad blob kind (1 to %d bytes of "
                        "[A-Za-z0-9._-])",
                        st->path, KIND_MAX);
  return PM_OK;
}

/* Steps s once, expecting no row, and resets it. */
static pm_status step_done(pm_store *st, sqlite3_stmt *s, const char *what,
                           pm_error *err) {
  int rc = sqlite3_step(s);
  pm_status ret =
      rc == SQLITE_DONE ? PM_OK : pm__store_sqlerr(st, rc, what, err);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return ret;
}

static pm_status stmt_fail(pm_error *err) {
  return err ? err->code : PM_STORE;
}

/* ---- fingerprints ---- */

pm_status pm_store_seen(pm_store *st, const pm_fingerprint *fp, bool *seen,
                        pm_error *err) {
  *seen = false;
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_SEEN, err);
  if (!s)
    return stmt_fail(err);
  sqlite3_bind_blob(s, 1, fp->bytes, sizeof fp->bytes, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  pm_status ret = PM_OK;
  if (rc == SQLITE_ROW)
    *seen = true;
  else if (rc != SQLITE_DONE)
    ret = pm__store_sqlerr(st, rc, "looking up a fingerprint", err);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return ret;
}

pm_status pm_store_mark_seen(pm_store *st, const pm_fingerprint *fp,
                             int64_t sender_id, int64_t date, pm_error *err) {
  pm_status ret = pm__store_writable(st, "record a fingerprint", err);
  if (ret != PM_OK)
    return ret;
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_MARK_SEEN, err);
  if (!s)
    return stmt_fail(err);
  sqlite3_bind_blob(s, 1, fp->bytes, sizeof fp->bytes, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, sender_id);
  sqlite3_bind_int64(s, 3, date);
  return step_done(st, s, "recording a fingerprint", err);
}

pm_status pm_store_count_seen(pm_store *st, int64_t *count, pm_error *err) {
  *count = 0;
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_COUNT_SEEN, err);
  if (!s)
    return stmt_fail(err);
  int rc = sqlite3_step(s);
  pm_status ret = PM_OK;
  if (rc == SQLITE_ROW)
    *count = sqlite3_column_int64(s, 0);
  else
    ret = pm__store_sqlerr(st, rc, "counting fingerprints", err);
  sqlite3_reset(s);
  return ret;
}

/* ---- blobs ---- */

pm_status pm_store_put(pm_store *st, const char *kind, int64_t owner,
                       const void *data, size_t len, pm_error *err) {
  pm_status ret = pm__store_writable(st, "write a blob", err);
  if (ret == PM_OK)
    ret = check_kind(st, kind, err);
  if (ret != PM_OK)
    return ret;
  if (!data && len)
    return pm_error_set(err, PM_INVAL, "store %s: blob %s/%lld has no data",
                        st->path, kind, (long long)owner);
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_PUT, err);
  if (!s)
    return stmt_fail(err);
  sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, owner);
  /* A NULL pointer would bind SQL NULL; an empty blob is still a blob. */
  int rc = len ? sqlite3_bind_blob64(s, 3, data, len, SQLITE_STATIC)
               : sqlite3_bind_zeroblob(s, 3, 0);
  if (rc != SQLITE_OK) {
    ret = pm__store_sqlerr(st, rc, "binding a blob", err);
    sqlite3_clear_bindings(s);
    return ret;
  }
  return step_done(st, s, "writing a blob", err);
}

pm_status pm_store_get(pm_store *st, const char *kind, int64_t owner,
                       void **data, size_t *len, pm_error *err) {
  *data = NULL;
  *len = 0;
  pm_status ret = check_kind(st, kind, err);
  if (ret != PM_OK)
    return ret;
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_GET, err);
  if (!s)
    return stmt_fail(err);
  sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, owner);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    const void *p = sqlite3_column_blob(s, 0);
    size_t n = (size_t)sqlite3_column_bytes(s, 0);
    if (!p && n == 0 && sqlite3_errcode(st->db) == SQLITE_NOMEM)
      ret = pm_error_set(err, PM_NOMEM, "store %s: out of memory", st->path);
    else if (!(*data = malloc(n ? n : 1)))
      ret = pm_error_set(err, PM_NOMEM, "store %s: out of memory", st->path);
    else if (n)
      memcpy(*data, p, n);
    if (ret == PM_OK)
      *len = n;
  } else if (rc == SQLITE_DONE) {
    ret = pm_error_set(err, PM_NOTFOUND, "store %s: no blob %s for owner %lld",
                       st->path, kind, (long long)owner);
  } else {
    ret = pm__store_sqlerr(st, rc, "reading a blob", err);
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return ret;
}

pm_status pm_store_delete(pm_store *st, const char *kind, int64_t owner,
                          pm_error *err) {
  pm_status ret = pm__store_writable(st, "delete a blob", err);
  if (ret == PM_OK)
    ret = check_kind(st, kind, err);
  if (ret != PM_OK)
    return ret;
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_DELETE, err);
  if (!s)
    return stmt_fail(err);
  sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, owner);
  return step_done(st, s, "deleting a blob", err);
}

/* A statement of its own, not a cached one: fn may read the store (even
 * walk another kind) while this walk is under way. */
pm_status pm_store_each(pm_store *st, const char *kind, pm_store_blob_fn fn,
                        void *ctx, pm_error *err) {
  pm_status ret = check_kind(st, kind, err);
  if (ret != PM_OK)
    return ret;
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(
      st->db, "SELECT owner, data FROM blobs WHERE kind = ?1 ORDER BY owner",
      -1, &s, NULL);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    return pm__store_sqlerr(st, rc, "walking blobs", err);
  }
  sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
  pm_error_clear(err); /* so that a callback's own error can be told apart */
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const void *p = sqlite3_column_blob(s, 1);
    size_t n = (size_t)sqlite3_column_bytes(s, 1);
    int stop = fn(sqlite3_column_int64(s, 0), n ? p : "", n, ctx);
    if (stop) {
      if (err && err->code != PM_OK)
        ret = err->code;
      else
        ret = pm_error_set(err, PM_INTERNAL,
                           "store %s: walk over blobs %s stopped by its "
                           "callback (%d)",
                           st->path, kind, stop);
      break;
    }
  }
  if (ret == PM_OK && rc != SQLITE_DONE)
    ret = pm__store_sqlerr(st, rc, "walking blobs", err);
  sqlite3_finalize(s);
  return ret;
}

/* ---- meta ---- */

pm_status pm_store_meta_get(pm_store *st, const char *key, char **value,
                            pm_error *err) {
  *value = NULL;
  if (!key || !*key)
    return pm_error_set(err, PM_INVAL, "store %s: empty meta key", st->path);
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_META_GET, err);
  if (!s)
    return stmt_fail(err);
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  pm_status ret = PM_OK;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(s, 0);
    if (!v || !(*value = strdup(v)))
      ret = pm_error_set(err, PM_NOMEM, "store %s: out of memory", st->path);
  } else if (rc == SQLITE_DONE) {
    ret = pm_error_set(err, PM_NOTFOUND, "store %s: no meta value %s", st->path,
                       key);
  } else {
    ret = pm__store_sqlerr(st, rc, "reading a meta value", err);
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return ret;
}

pm_status pm_store_meta_set(pm_store *st, const char *key, const char *value,
                            pm_error *err) {
  pm_status ret = pm__store_writable(st, "set a meta value", err);
  if (ret != PM_OK)
    return ret;
  if (!key || !*key || !value)
    return pm_error_set(err, PM_INVAL, "store %s: empty meta key or value",
                        st->path);
  if (!strcmp(key, PM__META_SCHEMA) || !strcmp(key, PM__META_HASH) ||
      !strcmp(key, PM__META_JSON) || !strcmp(key, PM__META_CREATED))
    return pm_error_set(err, PM_INVAL,
                        "store %s: meta value %s is set at creation only",
                        st->path, key);
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_META_SET, err);
  if (!s)
    return stmt_fail(err);
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
  return step_done(st, s, "setting a meta value", err);
}
