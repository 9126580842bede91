/* Making a new store file: built whole under a temporary name beside the
 * final one, then linked into place. A creator killed half-way leaves at
 * most a hidden temporary file, never a DIR/<tenant>.db that later opens as
 * "not a penmark store". */
#include "train/store/store_internal.h"

#include "common/buf.h"
#include "common/embedded.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* DIR/.<tenant>.db.new-XXXXXX: tenant names never start with '.', so the
 * name can collide with no store. malloc'd. */
static char *temp_name(const char *path) {
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  pm__buf b = {0};
  if (!pm__buf_append(&b, path, dirlen) ||
      !pm__buf_printf(&b, ".%s.new-XXXXXX", path + dirlen)) {
    pm__buf_free(&b);
    return NULL;
  }
  return pm__buf_steal(&b);
}

static pm_status sql_fail(sqlite3 *db, int rc, const char *path,
                          const char *what, pm_error *err) {
  pm_status s = pm__store_status(rc);
  return pm_error_set(err, s == PM_OK ? PM_STORE : s,
                      "store %s: creating: %s: %s", path, what,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static int put_meta(sqlite3 *db, const char *key, const char *value) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(
      db, "INSERT INTO meta (key, value) VALUES (?1, ?2)", -1, &s, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
  sqlite3_finalize(s);
  return rc;
}

/* Identity, WAL, schema and meta, in the file at tmp. */
static pm_status fill(sqlite3 *db, const char *path, const char *config_json,
                      uint64_t config_hash, pm_error *err) {
  size_t len = 0;
  const char *schema = (const char *)pm__embedded("schema.sql", &len);
  if (!schema)
    return pm_error_set(err, PM_INTERNAL,
                        "store %s: creating: schema.sql is not embedded", path);
  /* WAL is recorded in the file header, so that read-only openers (which
   * cannot switch modes) get it too. Some filesystems (no shared memory,
   * e.g. some network mounts) refuse WAL: say so rather than fall back. */
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
  if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    const char *mode = (const char *)sqlite3_column_text(s, 0);
    if (!mode || strcmp(mode, "wal") != 0) {
      sqlite3_finalize(s);
      return pm_error_set(err, PM_STORE,
                          "store %s: creating: the filesystem does not "
                          "support WAL mode (got journal mode %s)",
                          path, mode ? mode : "none");
    }
  } else if (rc == SQLITE_OK) {
    rc = sqlite3_errcode(db);
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_OK)
    return sql_fail(db, rc, path, "setting WAL mode", err);

  char pragmas[128], hash[17], created[24], version[16];
  snprintf(pragmas, sizeof pragmas,
           "PRAGMA application_id = %d; PRAGMA user_version = %d",
           (int)PM__STORE_APP_ID, PM_STORE_SCHEMA_VERSION);
  snprintf(hash, sizeof hash, "%016" PRIx64, config_hash);
  snprintf(created, sizeof created, "%" PRId64, (int64_t)time(NULL));
  snprintf(version, sizeof version, "%d", PM_STORE_SCHEMA_VERSION);

  const char *what = "writing the schema";
  rc = pm__sql_exec(db, "BEGIN IMMEDIATE");
  if (rc == SQLITE_OK)
    rc = pm__sql_exec(db, pragmas);
  if (rc == SQLITE_OK)
    rc = pm__sql_exec(db, schema);
  if (rc == SQLITE_OK) {
    what = "writing the meta rows";
    rc = put_meta(db, PM__META_SCHEMA, version);
  }
  if (rc == SQLITE_OK)
    rc = put_meta(db, PM__META_HASH, hash);
  if (rc == SQLITE_OK)
    rc = put_meta(db, PM__META_JSON, config_json);
  if (rc == SQLITE_OK)
    rc = put_meta(db, PM__META_CREATED, created);
  if (rc == SQLITE_OK) {
    what = "commit";
    rc = pm__sql_exec(db, "COMMIT");
  }
  if (rc != SQLITE_OK)
    return sql_fail(db, rc, path, what, err);
  return PM_OK;
}

/* The new name must survive a power cut, not only the file's content. */
static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : NULL;
  int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(dir);
}

pm_status pm__store_create_file(const char *path, const char *config_json,
                                uint64_t config_hash, pm_error *err) {
  char *tmp = temp_name(path);
  if (!tmp)
    return pm_error_set(err, PM_NOMEM, "store %s: out of memory", path);
  pm_status ret = PM_OK;
  sqlite3 *db = NULL;
  int fd = mkstemp(tmp);
  if (fd < 0) {
    ret = pm_error_set(err, PM_IO, "store %s: creating %s: %s", path, tmp,
                       strerror(errno));
    free(tmp);
    return ret;
  }
  /* 0640 whatever the umask says wider; SQLite gives -wal and -shm the
   * same mode as the database file. */
  if (fchmod(fd, 0640) != 0) {
    ret = pm_error_set(err, PM_IO, "store %s: chmod %s: %s", path, tmp,
                       strerror(errno));
    close(fd);
    goto out;
  }
  close(fd);

  int rc = sqlite3_open_v2(tmp, &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK)
    rc = pm__store_configure(db);
  if (rc != SQLITE_OK) {
    ret = sql_fail(db, rc, path, "opening the new file", err);
    goto out;
  }
  ret = fill(db, path, config_json, config_hash, err);
  if (ret != PM_OK)
    goto out;
  /* Closing the last connection checkpoints the WAL into the file, syncs
   * it and deletes the -wal and -shm files. */
  rc = sqlite3_close(db);
  db = NULL;
  if (rc != SQLITE_OK) {
    ret = pm_error_set(err, pm__store_status(rc),
                       "store %s: creating: closing the new file: %s", path,
                       sqlite3_errstr(rc));
    goto out;
  }
  /* link(), not rename(): it never replaces a store another process made
   * in the meantime. EEXIST: theirs wins, and the caller checks it. */
  if (link(tmp, path) != 0 && errno != EEXIST)
    ret = pm_error_set(err, PM_IO, "store %s: creating: %s", path,
                       strerror(errno));
  else
    sync_dir(path);

out:
  sqlite3_close(db);
  unlink(tmp);
  if (ret != PM_OK) {
    /* A failed build may leave its journal files behind. */
    pm__buf b = {0};
    if (pm__buf_printf(&b, "%s-wal", tmp))
      unlink(b.data);
    pm__buf_clear(&b);
    if (pm__buf_printf(&b, "%s-shm", tmp))
      unlink(b.data);
    pm__buf_free(&b);
  }
  free(tmp);
  return ret;
}
