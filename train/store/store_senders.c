/* Sender rows: address, mail counts and dates, readiness. */
#include "train/store/store_internal.h"

#include <stdlib.h>
#include <string.h>

/* Longer than any address a mail can carry (RFC 5321: 254 for a path). */
#define ADDRESS_MAX 1024

static pm_status check_address(const pm_store *st, const char *address,
                               pm_error *err) {
  if (!address || !*address || strlen(address) > ADDRESS_MAX)
    return pm_error_set(err, PM_INVAL,
                        "store %s: sender address empty or over %d bytes",
                        st->path, ADDRESS_MAX);
  return PM_OK;
}

/* The id of address: PM_OK, PM_NOTFOUND (no row) or an error. */
static pm_status lookup(pm_store *st, const char *address, int64_t *id,
                        pm_error *err) {
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_SENDER_ID, err);
  if (!s)
    return err ? err->code : PM_STORE;
  sqlite3_bind_text(s, 1, address, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  pm_status ret = PM_OK;
  if (rc == SQLITE_ROW)
    *id = sqlite3_column_int64(s, 0);
  else if (rc == SQLITE_DONE)
    ret = PM_NOTFOUND;
  else
    ret = pm__store_sqlerr(st, rc, "looking up a sender", err);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return ret;
}

pm_status pm_store_sender_id(pm_store *st, const char *address, bool create,
                             int64_t *id, pm_error *err) {
  *id = 0;
  pm_status ret = check_address(st, address, err);
  if (ret != PM_OK)
    return ret;
  ret = lookup(st, address, id, err);
  if (ret != PM_NOTFOUND)
    return ret;
  if (!create)
    return pm_error_set(err, PM_NOTFOUND, "store %s: no sender %s", st->path,
                        address);
  ret = pm__store_writable(st, "add a sender", err);
  if (ret != PM_OK)
    return ret;
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_SENDER_NEW, err);
  if (!s)
    return err ? err->code : PM_STORE;
  sqlite3_bind_text(s, 1, address, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  bool added = rc == SQLITE_DONE && sqlite3_changes(st->db) == 1;
  if (added)
    *id = sqlite3_last_insert_rowid(st->db);
  else if (rc != SQLITE_DONE)
    ret = pm__store_sqlerr(st, rc, "adding a sender", err);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE || added)
    return added ? PM_OK : ret;
  /* Another connection added it between our look-up and insert. */
  ret = lookup(st, address, id, err);
  if (ret == PM_NOTFOUND)
    ret = pm_error_set(err, PM_INTERNAL, "store %s: sender %s vanished",
                       st->path, address);
  return ret;
}

pm_status pm_store_sender_update(pm_store *st, const pm_store_sender *sd,
                                 pm_error *err) {
  pm_status ret = pm__store_writable(st, "update a sender", err);
  if (ret != PM_OK)
    return ret;
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_SENDER_SET, err);
  if (!s)
    return err ? err->code : PM_STORE;
  sqlite3_bind_int64(s, 1, sd->id);
  sqlite3_bind_int64(s, 2, sd->mails);
  sqlite3_bind_int64(s, 3, sd->first_date);
  sqlite3_bind_int64(s, 4, sd->last_date);
  sqlite3_bind_int64(s, 5, sd->last_trained);
  sqlite3_bind_int(s, 6, sd->ready ? 1 : 0);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE)
    ret = pm__store_sqlerr(st, rc, "updating a sender", err);
  else if (sqlite3_changes(st->db) == 0)
    ret = pm_error_set(err, PM_NOTFOUND, "store %s: no sender with id %lld",
                       st->path, (long long)sd->id);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return ret;
}

/* The current row of a SENDER_GET or SENDERS statement; false when out of
 * memory (out->address is then NULL). */
static bool read_row(sqlite3_stmt *s, pm_store_sender *out) {
  const char *a = (const char *)sqlite3_column_text(s, 1);
  out->id = sqlite3_column_int64(s, 0);
  out->address = a ? strdup(a) : NULL;
  out->mails = sqlite3_column_int64(s, 2);
  out->first_date = sqlite3_column_int64(s, 3);
  out->last_date = sqlite3_column_int64(s, 4);
  out->last_trained = sqlite3_column_int64(s, 5);
  out->ready = sqlite3_column_int(s, 6) != 0;
  return out->address != NULL;
}

pm_status pm_store_sender_get(pm_store *st, const char *address,
                              pm_store_sender *out, pm_error *err) {
  memset(out, 0, sizeof *out);
  pm_status ret = check_address(st, address, err);
  if (ret != PM_OK)
    return ret;
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_SENDER_GET, err);
  if (!s)
    return err ? err->code : PM_STORE;
  sqlite3_bind_text(s, 1, address, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    if (!read_row(s, out))
      ret = pm_error_set(err, PM_NOMEM, "store %s: out of memory", st->path);
  } else if (rc == SQLITE_DONE) {
    ret = pm_error_set(err, PM_NOTFOUND, "store %s: no sender %s", st->path,
                       address);
  } else {
    ret = pm__store_sqlerr(st, rc, "reading a sender", err);
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return ret;
}

pm_status pm_store_senders(pm_store *st, pm_store_sender **list, size_t *n,
                           pm_error *err) {
  *list = NULL;
  *n = 0;
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_SENDERS, err);
  if (!s)
    return err ? err->code : PM_STORE;
  pm_store_sender *v = NULL;
  size_t len = 0, cap = 0;
  pm_status ret = PM_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      pm_store_sender *nv = realloc(v, ncap * sizeof *v);
      if (!nv) {
        ret = pm_error_set(err, PM_NOMEM, "store %s: out of memory", st->path);
        break;
      }
      v = nv;
      cap = ncap;
    }
    if (!read_row(s, &v[len])) {
      ret = pm_error_set(err, PM_NOMEM, "store %s: out of memory", st->path);
      break;
    }
    len++;
  }
  if (ret == PM_OK && rc != SQLITE_DONE)
    ret = pm__store_sqlerr(st, rc, "listing senders", err);
  sqlite3_reset(s);
  if (ret != PM_OK) {
    pm_store_senders_free(v, len);
    return ret;
  }
  *list = v;
  *n = len;
  return PM_OK;
}

void pm_store_senders_free(pm_store_sender *list, size_t n) {
  for (size_t i = 0; list && i < n; i++)
    free(list[i].address);
  free(list);
}
