/* The store's SQLite plumbing: connection settings, the statement cache,
 * error mapping, transactions, the integrity check and change detection. */
#include "train/store/store_internal.h"

#include <string.h>
#include <sys/stat.h>

int pm__store_configure(sqlite3 *db) {
  /* A writer waits this long for another one, then the caller gets
   * PM_BUSY; training runs are minutes apart, a stall is not. */
  int rc = sqlite3_busy_timeout(db, 10000);
  /* We open files we have not checked yet: no writes to sqlite_schema,
   * and no SQL functions run from a schema (views, triggers) we did not
   * write. Neither touches the file. */
  if (rc == SQLITE_OK)
    rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
  return rc;
}

int pm__sql_exec(sqlite3 *db, const char *sql) {
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

pm_status pm__store_status(int rc) {
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_ROW:
  case SQLITE_DONE:
    return PM_OK;
  case SQLITE_NOMEM:
    return PM_NOMEM;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return PM_BUSY;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return PM_CORRUPT;
  case SQLITE_IOERR:
  case SQLITE_FULL:
  case SQLITE_CANTOPEN:
  case SQLITE_PERM:
    return PM_IO;
  case SQLITE_TOOBIG:
    return PM_TOOBIG;
  default:
    return PM_STORE;
  }
}

pm_status pm__store_sqlerr(const pm_store *st, int rc, const char *what,
                           pm_error *err) {
  pm_status s = pm__store_status(rc);
  if (s == PM_OK)
    s = PM_STORE; /* called on a path that failed: never report success */
  if ((rc & 0xff) == SQLITE_BUSY)
    return pm_error_set(err, s,
                        "store %s: %s: the store is busy (another writer held "
                        "it for over 10 s): %s",
                        st->path, what, sqlite3_errmsg(st->db));
  return pm_error_set(err, s, "store %s: %s: %s", st->path, what,
                      sqlite3_errmsg(st->db));
}

pm_status pm__store_writable(const pm_store *st, const char *what,
                             pm_error *err) {
  if (st->mode & PM_STORE_WRITE)
    return PM_OK;
  return pm_error_set(err, PM_INVAL, "store %s is open read-only: cannot %s",
                      st->path, what);
}

static const char *const stmt_sql[PM__STMT_COUNT] = {
#define PM__STORE_STMT_SQL(name, sql) sql,
    PM__STORE_STMTS(PM__STORE_STMT_SQL)
#undef PM__STORE_STMT_SQL
};

sqlite3_stmt *pm__store_stmt(pm_store *st, int which, pm_error *err) {
  if (st->stmt[which])
    return st->stmt[which];
  int rc =
      sqlite3_prepare_v3(st->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                         &st->stmt[which], NULL);
  if (rc != SQLITE_OK) {
    pm__store_sqlerr(st, rc, "preparing a statement", err);
    sqlite3_finalize(st->stmt[which]);
    st->stmt[which] = NULL;
  }
  return st->stmt[which];
}

/* Steps a cached statement that returns no row and resets it. */
static pm_status run_simple(pm_store *st, int which, const char *what,
                            pm_error *err) {
  sqlite3_stmt *s = pm__store_stmt(st, which, err);
  if (!s)
    return err ? err->code : PM_STORE;
  int rc = sqlite3_step(s);
  pm_status ret = PM_OK;
  if (rc != SQLITE_DONE)
    ret = pm__store_sqlerr(st, rc, what, err);
  sqlite3_reset(s);
  return ret;
}

pm_status pm_store_begin(pm_store *st, pm_error *err) {
  pm_status s = pm__store_writable(st, "begin a transaction", err);
  if (s != PM_OK)
    return s;
  if (!sqlite3_get_autocommit(st->db))
    return pm_error_set(err, PM_INVAL,
                        "store %s: a transaction is already open", st->path);
  return run_simple(st, PM__STMT_BEGIN, "begin", err);
}

pm_status pm_store_commit(pm_store *st, pm_error *err) {
  if (sqlite3_get_autocommit(st->db))
    return pm_error_set(err, PM_INVAL, "store %s: commit without begin",
                        st->path);
  /* On failure the transaction may still be open: the caller rolls back. */
  return run_simple(st, PM__STMT_COMMIT, "commit", err);
}

void pm_store_rollback(pm_store *st) {
  if (!st || sqlite3_get_autocommit(st->db))
    return;
  if (run_simple(st, PM__STMT_ROLLBACK, "rollback", NULL) != PM_OK)
    pm__sql_exec(st->db, "ROLLBACK"); /* out of memory preparing: retry */
}

pm_status pm_store_verify(pm_store *st, pm_error *err) {
  sqlite3_stmt *s = NULL;
  int rc =
      sqlite3_prepare_v2(st->db, "PRAGMA integrity_check(1)", -1, &s, NULL);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    return pm__store_sqlerr(st, rc, "integrity check", err);
  }
  pm_status ret = PM_OK;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    const char *first = (const char *)sqlite3_column_text(s, 0);
    if (!first || strcmp(first, "ok") != 0)
      ret =
          pm_error_set(err, PM_CORRUPT, "store %s: integrity check failed: %s",
                       st->path, first ? first : "(no message)");
  } else {
    ret = pm__store_sqlerr(st, rc, "integrity check", err);
  }
  sqlite3_finalize(s);
  return ret;
}

pm_status pm__store_data_version(pm_store *st, int64_t *version,
                                 pm_error *err) {
  sqlite3_stmt *s = pm__store_stmt(st, PM__STMT_DATA_VERSION, err);
  if (!s)
    return err ? err->code : PM_STORE;
  int rc = sqlite3_step(s);
  pm_status ret = PM_OK;
  if (rc == SQLITE_ROW)
    *version = sqlite3_column_int64(s, 0);
  else
    ret = pm__store_sqlerr(st, rc, "reading the data version", err);
  sqlite3_reset(s);
  return ret;
}

/* Per request in the daemon, so: one stat() and one prepared pragma that
 * reads the WAL index in shared memory, no query of the tables. */
pm_status pm_store_changed(pm_store *st, bool *changed, pm_error *err) {
  *changed = false;
  struct stat sb;
  /* Replaced (or removed) file: stays true until the caller reopens, since
   * this handle keeps reading the old inode. */
  if (stat(st->path, &sb) != 0 || sb.st_dev != st->dev ||
      sb.st_ino != st->ino) {
    *changed = true;
    return PM_OK;
  }
  int64_t v = 0;
  pm_status s = pm__store_data_version(st, &v, err);
  if (s != PM_OK)
    return s;
  if (v != st->data_version) {
    st->data_version = v;
    *changed = true;
  }
  return PM_OK;
}
