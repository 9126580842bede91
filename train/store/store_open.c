/* Opening a store (creating it when asked, checking it is ours and of the
 * caller's configuration) and closing it. */
#include "train/store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pm_status open_conn(pm_store *st, int flags, pm_error *err) {
  int rc =
      sqlite3_open_v2(st->path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK)
    rc = pm__store_configure(st->db);
  if (rc != SQLITE_OK) {
    if (!st->db)
      return pm_error_set(err, PM_NOMEM, "store %s: opening: %s", st->path,
                          sqlite3_errstr(rc));
    return pm__store_sqlerr(st, rc, "opening", err);
  }
  return pm__store_check_identity(st, err);
}

/* Connection settings that read or write the file: only once it is known
 * to be ours. */
static pm_status settle(pm_store *st, pm_error *err) {
  /* WAL + synchronous=NORMAL: a commit that returned survives the death of
   * the process (the WAL frames are in the OS before COMMIT returns); an OS
   * crash or power cut can lose the last commits, never consistency.
   * secure_delete: deleted or replaced rows are zeroed, not left readable
   * in free pages. journal_size_limit: a big training transaction must not
   * leave a WAL of its size behind. */
  const char *sql = "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;"
                    " PRAGMA journal_size_limit = 67108864";
  int rc = pm__sql_exec(st->db, sql);
  if (rc != SQLITE_OK)
    return pm__store_sqlerr(st, rc, "setting up the connection", err);
  /* Our files are made in WAL mode; a writer puts back one that someone
   * switched (a no-op when it is WAL already). */
  if (st->mode & PM_STORE_WRITE) {
    rc = pm__sql_exec(st->db, "PRAGMA journal_mode = WAL");
    if (rc != SQLITE_OK)
      return pm__store_sqlerr(st, rc, "setting WAL mode", err);
  }
  return pm__store_data_version(st, &st->data_version, err);
}

/* Rolls back, finalizes the cached statements, closes the connection. */
static void drop_conn(pm_store *st) {
  if (!st->db)
    return;
  pm_store_rollback(st);
  for (int i = 0; i < PM__STMT_COUNT; i++) {
    sqlite3_finalize(st->stmt[i]);
    st->stmt[i] = NULL;
  }
  sqlite3_close_v2(st->db);
  st->db = NULL;
}

/* Missing file: PM_NOTFOUND, or created when asked to. */
static pm_status make_if_missing(pm_store *st, const char *dir,
                                 const char *config_json, uint64_t config_hash,
                                 pm_error *err) {
  if (!(st->mode & PM_STORE_CREATE))
    return pm_error_set(err, PM_NOTFOUND, "store %s does not exist", st->path);
  if (!config_json)
    return pm_error_set(err, PM_INVAL,
                        "store %s: cannot create a store without its "
                        "configuration",
                        st->path);
  if (mkdir(dir, 0750) != 0 && errno != EEXIST)
    return pm_error_set(err, PM_IO, "store %s: creating directory %s: %s",
                        st->path, dir, strerror(errno));
  return pm__store_create_file(st->path, config_json, config_hash, err);
}

/* The file at the path, created if needed; records its identity for
 * pm_store_changed before anything opens it. */
static pm_status find_file(pm_store *st, const char *dir,
                           const char *config_json, uint64_t config_hash,
                           pm_error *err) {
  struct stat sb;
  if (stat(st->path, &sb) != 0) {
    if (errno != ENOENT)
      return pm_error_set(err, PM_IO, "store %s: %s", st->path,
                          strerror(errno));
    pm_status s = make_if_missing(st, dir, config_json, config_hash, err);
    if (s != PM_OK)
      return s;
    if (stat(st->path, &sb) != 0)
      return pm_error_set(err, PM_IO, "store %s: %s", st->path,
                          strerror(errno));
  }
  if (!S_ISREG(sb.st_mode))
    return pm_error_set(err, PM_IO, "store %s is not a regular file", st->path);
  st->dev = sb.st_dev;
  st->ino = sb.st_ino;
  return PM_OK;
}

pm_status pm_store_open(const char *dir, const char *tenant, unsigned mode,
                        const char *config_json, uint64_t config_hash,
                        pm_store **out, pm_error *err) {
  *out = NULL;
  if (mode & ~(unsigned)(PM_STORE_WRITE | PM_STORE_CREATE) ||
      ((mode & PM_STORE_CREATE) && !(mode & PM_STORE_WRITE)))
    return pm_error_set(err, PM_INVAL, "store: bad open mode 0x%x", mode);
  pm_status s = pm_tenant_check(tenant, err);
  if (s != PM_OK)
    return s;
  if (!dir || !*dir)
    return pm_error_set(err, PM_INVAL, "store: no store directory given");

  pm_store *st = calloc(1, sizeof *st);
  if (!st)
    return pm_error_set(err, PM_NOMEM, "store: out of memory");
  st->mode = mode;
  st->path = pm_store_path(dir, tenant);
  st->tenant = strdup(tenant);
  if (!st->path || !st->tenant) {
    pm_store_close(st);
    return pm_error_set(err, PM_NOMEM, "store: out of memory");
  }
  s = find_file(st, dir, config_json, config_hash, err);
  /* Checked on a read-only connection first: a writable one could change
   * a foreign file (roll back its hot journal, checkpoint its WAL on
   * close), and a store of another configuration is refused untouched. */
  if (s == PM_OK)
    s = pm__store_check_header(st, err);
  if (s == PM_OK)
    s = open_conn(st, SQLITE_OPEN_READONLY, err);
  if (s == PM_OK)
    s = pm__store_load_config(st, config_json, config_hash, err);
  if (s == PM_OK && (mode & PM_STORE_WRITE)) {
    /* Without CREATE: a path that vanished in between is an error, never a
     * new empty file. Checked again: the file may have been swapped. */
    drop_conn(st);
    s = open_conn(st, SQLITE_OPEN_READWRITE, err);
    if (s == PM_OK)
      s = pm__store_load_config(st, config_json, config_hash, err);
  }
  if (s == PM_OK)
    s = settle(st, err);
  if (s != PM_OK) {
    pm_store_close(st);
    return s;
  }
  *out = st;
  return PM_OK;
}

void pm_store_close(pm_store *st) {
  if (!st)
    return;
  drop_conn(st);
  free(st->path);
  free(st->tenant);
  free(st->config_json);
  free(st);
}

const char *pm_store_tenant(const pm_store *st) {
  return st->tenant;
}
const char *pm_store_file(const pm_store *st) {
  return st->path;
}
const char *pm_store_config_json(const pm_store *st) {
  return st->config_json;
}
uint64_t pm_store_config_hash(const pm_store *st) {
  return st->config_hash;
}
