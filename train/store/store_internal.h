/* The store module's private parts: the handle, the cached statements and
 * the helpers shared by train/store*.c. Not installed, not public. */
#ifndef PM_TRAIN_STORE_INTERNAL_H
#define PM_TRAIN_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>
#include <sys/types.h>

#include "penmark/store.h"

/* "PMRK": PRAGMA application_id of every penmark store. */
#define PM__STORE_APP_ID 0x504D524B

/* Meta keys written at creation; pm_store_meta_set refuses them, so that a
 * caller cannot make a store lie about what built it. */
#define PM__META_SCHEMA "schema_version"
#define PM__META_HASH "config_hash"
#define PM__META_JSON "config_json"
#define PM__META_CREATED "created"

/* X(name, sql): the statements prepared once per handle (lazily, with
 * SQLITE_PREPARE_PERSISTENT) and finalized by pm_store_close. Every user
 * resets its statement before returning: in WAL mode a statement left
 * un-reset holds a read snapshot, so the connection would stop seeing other
 * connections' commits and checkpoints could not finish. */
#define PM__STORE_STMTS(X)                                                     \
  X(SEEN, "SELECT 1 FROM fingerprints WHERE fp = ?1")                          \
  X(MARK_SEEN, "INSERT INTO fingerprints (fp, sender_id, date)"                \
               " VALUES (?1, ?2, ?3) ON CONFLICT (fp) DO NOTHING")             \
  X(COUNT_SEEN, "SELECT count(*) FROM fingerprints")                           \
  X(SENDER_ID, "SELECT id FROM senders WHERE address = ?1")                    \
  X(SENDER_NEW, "INSERT INTO senders (address) VALUES (?1)"                    \
                " ON CONFLICT (address) DO NOTHING")                           \
  X(SENDER_GET, "SELECT id, address, mails, first_date, last_date,"            \
                " last_trained, ready FROM senders WHERE address = ?1")        \
  X(SENDER_SET, "UPDATE senders SET mails = ?2, first_date = ?3,"              \
                " last_date = ?4, last_trained = ?5, ready = ?6"               \
                " WHERE id = ?1")                                              \
  X(SENDERS, "SELECT id, address, mails, first_date, last_date,"               \
             " last_trained, ready FROM senders ORDER BY address")             \
  X(PUT, "INSERT OR REPLACE INTO blobs (kind, owner, data)"                    \
         " VALUES (?1, ?2, ?3)")                                               \
  X(GET, "SELECT data FROM blobs WHERE kind = ?1 AND owner = ?2")              \
  X(DELETE, "DELETE FROM blobs WHERE kind = ?1 AND owner = ?2")                \
  X(META_GET, "SELECT value FROM meta WHERE key = ?1")                         \
  X(META_SET, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")      \
  X(DATA_VERSION, "PRAGMA data_version")                                       \
  X(BEGIN, "BEGIN IMMEDIATE")                                                  \
  X(COMMIT, "COMMIT")                                                          \
  X(ROLLBACK, "ROLLBACK")

enum {
#define PM__STORE_STMT_ENUM(name, sql) PM__STMT_##name,
  PM__STORE_STMTS(PM__STORE_STMT_ENUM)
#undef PM__STORE_STMT_ENUM
      PM__STMT_COUNT
};

struct pm_store {
  sqlite3 *db;
  char *path;        /* DIR/<tenant>.db, owned */
  char *tenant;      /* owned */
  char *config_json; /* as recorded in the store, owned */
  uint64_t config_hash;
  unsigned mode;
  /* The file we opened, for pm_store_changed: taken before sqlite3_open_v2,
   * so that a replacement racing the open is reported, never missed. */
  dev_t dev;
  ino_t ino;
  int64_t data_version;
  sqlite3_stmt *stmt[PM__STMT_COUNT];
};

/* The cached statement `which`, prepared on first use; NULL with err set
 * when preparing fails. Borrowed: reset it after use, never finalize it. */
sqlite3_stmt *pm__store_stmt(pm_store *st, int which, pm_error *err);

/* Sets err from an SQLite result code: the status that rc maps to and
 * "store PATH: WHAT: sqlite3_errmsg". Returns the status. */
pm_status pm__store_sqlerr(const pm_store *st, int rc, const char *what,
                           pm_error *err);

/* The pm_status for an SQLite result code (busy, locked -> PM_BUSY, ...). */
pm_status pm__store_status(int rc);

/* PRAGMA data_version of this connection: changes when another connection
 * commits to the file. */
pm_status pm__store_data_version(pm_store *st, int64_t *version, pm_error *err);

/* PM_INVAL with a message unless the store was opened for writing. */
pm_status pm__store_writable(const pm_store *st, const char *what,
                             pm_error *err);

/* Runs one statement that returns no row (or ignores them) on a handle that
 * may not be a pm_store yet (open and create use it). */
int pm__sql_exec(sqlite3 *db, const char *sql);

/* The connection settings every handle gets (busy timeout, defensive mode,
 * untrusted schema); see store_sql.c. */
int pm__store_configure(sqlite3 *db);

/* The 100-byte SQLite header, read with read() before SQLite opens the
 * file: not SQLite, another application id or a newer schema is refused
 * without a -shm or -wal file ever appearing beside the file. */
pm_status pm__store_check_header(const pm_store *st, pm_error *err);

/* The same checks through SQLite (a WAL may hold a newer page 1), plus the
 * four tables. Only reads. */
pm_status pm__store_check_identity(pm_store *st, pm_error *err);

/* Reads the recorded configuration into st (config_json, config_hash) and,
 * when config_json is not NULL, refuses another hash (PM_MISMATCH). */
pm_status pm__store_load_config(pm_store *st, const char *config_json,
                                uint64_t config_hash, pm_error *err);

/* Creates DIR/<tenant>.db whole (schema, identity, meta) under a temporary
 * name and links it into place, so that no reader ever sees a half-made
 * store. PM_OK also when another process created the file first (the
 * caller then opens theirs and checks it like any existing file). */
pm_status pm__store_create_file(const char *path, const char *config_json,
                                uint64_t config_hash, pm_error *err);

/* Fills err with PM_MISMATCH and a message naming the configuration keys
 * whose values differ between the store's JSON (first) and the caller's. */
pm_status pm__store_config_mismatch(const char *path, const char *store_json,
                                    uint64_t store_hash,
                                    const char *wanted_json,
                                    uint64_t wanted_hash, pm_error *err);

#endif
