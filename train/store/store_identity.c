/* Is a file a penmark store, of a schema we read, built with the caller's
 * configuration? The checks only read: a refused file is left as it was. */
#include "train/store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An integer pragma, read from the file header. */
static int pragma_int(sqlite3 *db, const char *sql, int64_t *value) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      *value = sqlite3_column_int64(s, 0);
      rc = SQLITE_OK;
    } else {
      rc = sqlite3_errcode(db);
      if (rc == SQLITE_OK)
        rc = SQLITE_ERROR; /* a pragma with no row: not a normal file */
    }
  }
  sqlite3_finalize(s);
  return rc;
}

static pm_status not_ours(const pm_store *st, const char *why, pm_error *err) {
  return pm_error_set(err, PM_CORRUPT, "store %s is not a penmark store: %s",
                      st->path, why);
}

static pm_status wrong_app(const pm_store *st, uint32_t app, pm_error *err) {
  char why[96];
  snprintf(why, sizeof why,
           "its application_id is 0x%08" PRIx32 ", not 0x%08x (PMRK)", app,
           PM__STORE_APP_ID);
  return not_ours(st, why, err);
}

static pm_status too_new(const pm_store *st, int64_t version, pm_error *err) {
  return pm_error_set(err, PM_MISMATCH,
                      "store %s has schema version %" PRId64
                      ", newer than this program's (%d): use a newer penmark",
                      st->path, version, PM_STORE_SCHEMA_VERSION);
}

/* Application id, schema version and tables: is this file a penmark store
 * we can read? Only reads. */
pm_status pm__store_check_identity(pm_store *st, pm_error *err) {
  int64_t app = 0, version = 0;
  int rc = pragma_int(st->db, "PRAGMA application_id", &app);
  if ((rc & 0xff) == SQLITE_NOTADB)
    return not_ours(st, sqlite3_errmsg(st->db), err);
  if (rc != SQLITE_OK)
    return pm__store_sqlerr(st, rc, "reading the file header", err);
  if (app != PM__STORE_APP_ID)
    return wrong_app(st, (uint32_t)app, err);
  rc = pragma_int(st->db, "PRAGMA user_version", &version);
  if (rc != SQLITE_OK)
    return pm__store_sqlerr(st, rc, "reading the schema version", err);
  if (version > PM_STORE_SCHEMA_VERSION)
    return too_new(st, version, err);
  if (version < 1)
    return not_ours(st, "it has no schema version", err);
  /* Versions 1 .. current: older ones get migrated here once there are
   * any. */
  static const char *const tables[] = {"meta", "senders", "fingerprints",
                                       "blobs"};
  sqlite3_stmt *s = NULL;
  rc = sqlite3_prepare_v2(st->db,
                          "SELECT 1 FROM sqlite_schema"
                          " WHERE type = 'table' AND name = ?1",
                          -1, &s, NULL);
  pm_status ret = PM_OK;
  for (size_t i = 0; rc == SQLITE_OK && i < sizeof tables / sizeof *tables;
       i++) {
    sqlite3_bind_text(s, 1, tables[i], -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) {
      char why[64];
      snprintf(why, sizeof why, "table %s is missing", tables[i]);
      ret = not_ours(st, why, err);
      rc = SQLITE_OK;
      break;
    }
    if (rc == SQLITE_ROW)
      rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK)
    ret = pm__store_sqlerr(st, rc, "reading the schema", err);
  sqlite3_finalize(s);
  return ret;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* The 100-byte SQLite header, read with plain read(): a file that is not a
 * penmark store is refused before SQLite opens it, so not even a -shm or
 * -wal file appears beside it. SQLite's own checks (pm__store_check_identity)
 * follow for what passes, since a WAL may hold a newer page 1. */
pm_status pm__store_check_header(const pm_store *st, pm_error *err) {
  unsigned char h[100];
  int fd = open(st->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return pm_error_set(err, PM_IO, "store %s: %s", st->path, strerror(errno));
  ssize_t n = pread(fd, h, sizeof h, 0);
  int saved = errno;
  close(fd);
  if (n < 0)
    return pm_error_set(err, PM_IO, "store %s: %s", st->path, strerror(saved));
  if (n == 0)
    return not_ours(st, "the file is empty", err);
  if ((size_t)n < sizeof h || memcmp(h, "SQLite format 3", 16) != 0)
    return not_ours(st, "file is not a database", err);
  uint32_t app = be32(h + 68), version = be32(h + 60);
  if (app != PM__STORE_APP_ID)
    return wrong_app(st, app, err);
  if (version > PM_STORE_SCHEMA_VERSION)
    return too_new(st, version, err);
  return PM_OK;
}

/* Recorded configuration, compared with the caller's when there is one. */
pm_status pm__store_load_config(pm_store *st, const char *config_json,
                                uint64_t config_hash, pm_error *err) {
  char *hex = NULL;
  free(st->config_json);
  st->config_json = NULL;
  pm_status s = pm_store_meta_get(st, PM__META_HASH, &hex, err);
  if (s == PM_OK)
    s = pm_store_meta_get(st, PM__META_JSON, &st->config_json, err);
  if (s == PM_NOTFOUND) {
    free(hex);
    return not_ours(st, "its configuration is not recorded", err);
  }
  if (s != PM_OK) {
    free(hex);
    return s;
  }
  char *end = NULL;
  errno = 0;
  st->config_hash = strtoull(hex, &end, 16);
  bool bad = errno != 0 || strlen(hex) != 16 || *end != '\0';
  free(hex);
  if (bad)
    return pm_error_set(err, PM_CORRUPT,
                        "store %s: the recorded configuration hash is not 16 "
                        "hex digits",
                        st->path);
  if (config_json && config_hash != st->config_hash)
    return pm__store_config_mismatch(st->path, st->config_json, st->config_hash,
                                     config_json, config_hash, err);
  return PM_OK;
}
