/* Copying a store out of the serving directory and publishing a finished
 * one into it (see penmark/store.h). */
#include "train/store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pm_status sql_fail(sqlite3 *db, const char *path, const char *what,
                          pm_error *err) {
  return pm_error_set(err, PM_IO, "store %s: %s: %s", path, what,
                      db ? sqlite3_errmsg(db) : "out of memory");
}

void pm_store_release_memory(pm_store *st) {
  if (st && st->db)
    sqlite3_db_release_memory(st->db);
}

pm_status pm_store_copy(const char *src_dir, const char *dst_dir,
                        const char *tenant, pm_error *err) {
  pm_status s = pm_tenant_check(tenant, err);
  if (s != PM_OK)
    return s;
  char *src = pm_store_path(src_dir, tenant);
  char *dst = pm_store_path(dst_dir, tenant);
  sqlite3 *in = NULL, *out = NULL;
  if (!src || !dst) {
    s = pm_error_set(err, PM_NOMEM, "out of memory");
    goto done;
  }
  struct stat sb;
  if (stat(src, &sb) != 0) {
    s = errno == ENOENT
            ? pm_error_set(err, PM_NOTFOUND, "store %s does not exist", src)
            : pm_error_set(err, PM_IO, "store %s: %s", src, strerror(errno));
    goto done;
  }
  /* the backup API reads one snapshot of the source, whatever writers and
   * WAL it has */
  if (sqlite3_open_v2(src, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    s = sql_fail(in, src, "opening to copy", err);
    goto done;
  }
  unlink(dst);
  char wal[4096];
  snprintf(wal, sizeof wal, "%s-wal", dst);
  unlink(wal);
  snprintf(wal, sizeof wal, "%s-shm", dst);
  unlink(wal);
  int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0640);
  if (fd < 0) {
    s = pm_error_set(err, PM_IO, "%s: %s", dst, strerror(errno));
    goto done;
  }
  close(fd);
  if (sqlite3_open_v2(dst, &out, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    s = sql_fail(out, dst, "opening the copy", err);
    goto done;
  }
  sqlite3_busy_timeout(in, 5000);
  sqlite3_backup *b = sqlite3_backup_init(out, "main", in, "main");
  if (!b) {
    s = sql_fail(out, dst, "copying", err);
    goto done;
  }
  int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE)
    s = pm_error_set(err, PM_IO, "store %s: copying to %s: %s", src, dst,
                     sqlite3_errstr(rc));
done:
  sqlite3_close_v2(in);
  sqlite3_close_v2(out);
  if (s != PM_OK && dst)
    unlink(dst);
  free(src);
  free(dst);
  return s;
}

/* Leaves the file whole by itself: WAL checkpointed into it, rollback
 * journal mode. Needs the file to itself (journal_mode changes only so). */
static pm_status seal(const char *path, pm_error *err) {
  sqlite3 *db = NULL;
  pm_status s = PM_OK;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    s = sql_fail(db, path, "opening to publish", err);
    goto done;
  }
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) !=
      SQLITE_OK) {
    s = sql_fail(db, path, "checkpointing", err);
    goto done;
  }
  sqlite3_stmt *st = NULL;
  int rc =
      sqlite3_prepare_v2(db, "PRAGMA journal_mode = DELETE", -1, &st, NULL);
  bool ok = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
            strcmp((const char *)sqlite3_column_text(st, 0), "delete") == 0;
  sqlite3_finalize(st);
  if (!ok)
    s = pm_error_set(err, PM_BUSY,
                     "store %s: cannot leave WAL mode (is it still open "
                     "elsewhere?)",
                     path);
done:
  sqlite3_close_v2(db);
  return s;
}

static pm_status fsync_path(const char *path, int flags, pm_error *err) {
  int fd = open(path, flags);
  if (fd < 0)
    return pm_error_set(err, PM_IO, "%s: %s", path, strerror(errno));
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc != 0)
    return pm_error_set(err, PM_IO, "fsync %s: %s", path, strerror(e));
  return PM_OK;
}

/* Copies src into a new file tmp (mode 0640), fsynced. */
static pm_status copy_file(const char *src, const char *tmp, uint64_t *bytes,
                           pm_error *err) {
  int in = open(src, O_RDONLY);
  if (in < 0)
    return pm_error_set(err, PM_IO, "%s: %s", src, strerror(errno));
  int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0640);
  if (out < 0) {
    int e = errno;
    close(in);
    return pm_error_set(err, PM_IO, "%s: %s", tmp, strerror(e));
  }
  /* on the heap: a thread-local buffer would be 64 KiB of every thread
   * of every penmark process (the TLS block is zeroed when a thread is
   * made), a libmilter thread per connection included */
  enum { BUF_SIZE = 1 << 16 };
  char *buf = malloc(BUF_SIZE);
  if (!buf) {
    close(in);
    close(out);
    return pm_error_set(err, PM_NOMEM, "copying %s: out of memory", src);
  }
  pm_status s = PM_OK;
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(in, buf, BUF_SIZE);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      s = pm_error_set(err, PM_IO, "reading %s: %s", src, strerror(errno));
      break;
    }
    if (n == 0)
      break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0) {
        s = pm_error_set(err, PM_IO, "writing %s: %s", tmp, strerror(errno));
        break;
      }
      off += w;
    }
    if (s != PM_OK)
      break;
    total += (uint64_t)n;
  }
  if (s == PM_OK && fsync(out) != 0)
    s = pm_error_set(err, PM_IO, "fsync %s: %s", tmp, strerror(errno));
  if (close(out) != 0 && s == PM_OK)
    s = pm_error_set(err, PM_IO, "closing %s: %s", tmp, strerror(errno));
  close(in);
  free(buf);
  if (bytes)
    *bytes = total;
  return s;
}

pm_status pm_store_publish(const char *src_dir, const char *dst_dir,
                           const char *tenant, uint64_t *bytes, pm_error *err) {
  pm_status s = pm_tenant_check(tenant, err);
  if (s != PM_OK)
    return s;
  char *src = pm_store_path(src_dir, tenant);
  char *dst = pm_store_path(dst_dir, tenant);
  char *tmp = NULL;
  if (!src || !dst ||
      asprintf(&tmp, "%s/.%s.db.publish.%ld", dst_dir, tenant, (long)getpid()) <
          0) {
    tmp = NULL;
    s = pm_error_set(err, PM_NOMEM, "out of memory");
    goto done;
  }
  /* a store of ours, not any file: check before sealing it */
  pm_store *st = NULL;
  s = pm_store_open(src_dir, tenant, PM_STORE_READ, NULL, 0, &st, err);
  pm_store_close(st);
  if (s == PM_OK)
    s = seal(src, err);
  if (s == PM_OK)
    s = fsync_path(src, O_RDONLY, err);
  if (s == PM_OK && mkdir(dst_dir, 0750) != 0 && errno != EEXIST)
    s = pm_error_set(err, PM_IO, "creating %s: %s", dst_dir, strerror(errno));
  if (s == PM_OK) {
    unlink(tmp); /* left by an earlier publish of this process id */
    s = copy_file(src, tmp, bytes, err);
  }
  if (s == PM_OK && rename(tmp, dst) != 0)
    s = pm_error_set(err, PM_IO, "renaming %s to %s: %s", tmp, dst,
                     strerror(errno));
  if (s == PM_OK)
    s = fsync_path(dst_dir, O_RDONLY | O_DIRECTORY, err);
  if (s != PM_OK && tmp)
    unlink(tmp);
done:
  free(src);
  free(dst);
  free(tmp);
  return s;
}
