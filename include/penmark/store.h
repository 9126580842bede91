/* penmark: the per-tenant store (one SQLite file per tenant, WAL).
 *
 * A store is DIR/<tenant>.db. It holds numbers, never mail text: sender rows
 * (address, counts, dates), mail fingerprints (a hash, never the text), and
 * typed blobs of statistics and model data that the training and scoring
 * modules encode themselves (little-endian, never native byte order). The
 * file records the schema version, the application id and the hash and JSON
 * of the feature configuration it was built with; a store built with another
 * configuration is refused with a message that says what differs, and a
 * file that is not a penmark store is reported, never overwritten.
 *
 * Crash safety comes from SQLite transactions: what a killed process had not
 * committed is gone, what it had committed is whole.
 *
 * Thread safety: one pm_store per thread. Several processes may open the same
 * store; SQLite serialises writers (a busy writer waits up to 10 s, then
 * PM_BUSY).
 */
#ifndef PENMARK_STORE_H
#define PENMARK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PM_STORE_SCHEMA_VERSION 1

typedef struct pm_store pm_store;

/* Open modes. */
enum {
  PM_STORE_READ = 0,        /* read only; the file must exist */
  PM_STORE_WRITE = 1u << 0, /* read and write; the file must exist */
  PM_STORE_CREATE =
      1u << 1 /* with WRITE: create DIR (one level) and the file */
};

/* Checks a tenant name: [a-z0-9][a-z0-9._-]{0,63}. PM_INVAL with a message
 * naming the tenant otherwise. Runs before any file is touched. */
pm_status pm_tenant_check(const char *tenant, pm_error *err);

/* DIR/<tenant>.db, malloc'd (free it); NULL when the tenant name is bad or
 * out of memory. */
char *pm_store_path(const char *dir, const char *tenant);

/* The other way: a store file DIR/NAME.db -> *dir (DIR; "." when the path
 * has no directory, "/" for "/NAME.db") and *name (NAME, not checked as a
 * tenant name), both malloc'd (free them, also on failure). PM_INVAL when
 * the file name is not NAME.db, PM_NOMEM. */
pm_status pm_store_path_split(const char *path, char **dir, char **name,
                              pm_error *err);

/* Opens the store of `tenant` under `dir`.
 * config_json is the canonical configuration (pm_config_to_json) and
 * config_hash its hash. With CREATE on a new file, both are recorded. On an
 * existing file, a different hash gives PM_MISMATCH with a message naming the
 * keys that differ; config_json == NULL accepts whatever configuration the
 * store holds (read it with pm_store_config_json). A file that is not SQLite,
 * or SQLite but not a penmark store, or of a newer schema, gives PM_CORRUPT
 * or PM_MISMATCH and is left untouched. A missing file without CREATE gives
 * PM_NOTFOUND. *out is owned by the caller: pm_store_close. */
/* The mismatch message gives the store's values first, e.g. "store
 * models/acme.db was built with another feature configuration (hash
 * 1a2b3c4d5e6f7081 vs 3c4d5e6f70819203): dim 16384 vs 4096;
 * families.word_ngrams true vs false; lang (absent) vs "ja"". A file without
 * penmark's header (not SQLite, another application id, a newer schema)
 * is refused before SQLite opens it, so its bytes and its directory stay
 * as they were; every other file is checked on a read-only connection
 * before a writable one is opened. A missing DIR is created
 * (mode 0750, one level) only with CREATE; new files are 0640. */
pm_status pm_store_open(const char *dir, const char *tenant, unsigned mode,
                        const char *config_json, uint64_t config_hash,
                        pm_store **out, pm_error *err);

/* Closes the store (rolls back an open transaction); NULL is a no-op. */
void pm_store_close(pm_store *st);

/* The tenant and the file path; borrowed until pm_store_close. */
const char *pm_store_tenant(const pm_store *st);
const char *pm_store_file(const pm_store *st);
/* The configuration JSON recorded in the store; borrowed until close. */
const char *pm_store_config_json(const pm_store *st);
uint64_t pm_store_config_hash(const pm_store *st);

/* Runs SQLite's integrity check; PM_CORRUPT with its first complaint. */
pm_status pm_store_verify(pm_store *st, pm_error *err);

/* Transactions. begin takes the write lock at once (BEGIN IMMEDIATE). */
/* Without begin, each write commits on its own. begin in a transaction and
 * commit outside one give PM_INVAL; a failed commit may leave the
 * transaction open: roll it back. Writes on a store opened with
 * PM_STORE_READ give PM_INVAL ("open read-only"). */
pm_status pm_store_begin(pm_store *st, pm_error *err);
pm_status pm_store_commit(pm_store *st, pm_error *err);
void pm_store_rollback(pm_store *st);

/* ---- mail fingerprints (idempotent training) ---- */
typedef struct {
  uint8_t bytes[16];
} pm_fingerprint;

/* *seen = whether fp was trained before. */
pm_status pm_store_seen(pm_store *st, const pm_fingerprint *fp, bool *seen,
                        pm_error *err);
/* Records fp as trained for sender_id (date: the mail's, or 0). */
pm_status pm_store_mark_seen(pm_store *st, const pm_fingerprint *fp,
                             int64_t sender_id, int64_t date, pm_error *err);
/* Number of fingerprints recorded. */
pm_status pm_store_count_seen(pm_store *st, int64_t *count, pm_error *err);

/* ---- senders ---- */
typedef struct {
  int64_t id;
  char *address; /* owned by the array; see pm_store_senders_free */
  int64_t mails;
  int64_t first_date, last_date; /* of the sender's mail, seconds, 0 = none */
  int64_t last_trained;          /* when a run last added mail, seconds */
  bool ready;                    /* enough mail for a profile */
} pm_store_sender;

/* The id of `address`; with create, a new row when it has none. Without
 * create and no row: PM_NOTFOUND. */
pm_status pm_store_sender_id(pm_store *st, const char *address, bool create,
                             int64_t *id, pm_error *err);
/* Overwrites the counters of sender `s->id` (address is ignored). */
pm_status pm_store_sender_update(pm_store *st, const pm_store_sender *s,
                                 pm_error *err);
/* One sender by address (PM_NOTFOUND when none); free the address field of
 * *out with free(). */
pm_status pm_store_sender_get(pm_store *st, const char *address,
                              pm_store_sender *out, pm_error *err);
/* All senders, sorted by address in byte order. *list is owned by the
 * caller: pm_store_senders_free(list, n). */
pm_status pm_store_senders(pm_store *st, pm_store_sender **list, size_t *n,
                           pm_error *err);
void pm_store_senders_free(pm_store_sender *list, size_t n);

/* ---- blobs: statistics and model data, by kind and owner ----
 * kind is a short name ("stats", "model", ...), owner a sender id or 0 for
 * the tenant. put replaces. get gives a malloc'd copy (free it) or
 * PM_NOTFOUND. */
pm_status pm_store_put(pm_store *st, const char *kind, int64_t owner,
                       const void *data, size_t len, pm_error *err);
pm_status pm_store_get(pm_store *st, const char *kind, int64_t owner,
                       void **data, size_t *len, pm_error *err);
pm_status pm_store_delete(pm_store *st, const char *kind, int64_t owner,
                          pm_error *err);
/* kind: 1 to 64 bytes of [A-Za-z0-9._-], else PM_INVAL. delete of an absent
 * blob is PM_OK. Deleted and replaced data is overwritten in the file
 * (secure_delete), not left in free pages. */
/* Calls fn for every blob of `kind`, in owner order; data is borrowed for the
 * call only. A non-zero return from fn stops the walk and is returned as
 * PM_INTERNAL unless fn set err itself. */
typedef int (*pm_store_blob_fn)(int64_t owner, const void *data, size_t len,
                                void *ctx);
pm_status pm_store_each(pm_store *st, const char *kind, pm_store_blob_fn fn,
                        void *ctx, pm_error *err);
/* fn may read the store (even walk another kind) but must not write blobs
 * of the kind being walked. each clears err before the walk. */

/* ---- metadata: small text values ---- */
/* *value malloc'd (free it), or PM_NOTFOUND. */
pm_status pm_store_meta_get(pm_store *st, const char *key, char **value,
                            pm_error *err);
pm_status pm_store_meta_set(pm_store *st, const char *key, const char *value,
                            pm_error *err);
/* schema_version, config_hash, config_json and created are written at
 * creation only: meta_set refuses them (PM_INVAL). */

/* ---- change detection (the daemon reloads when training changed a store) ----
 * A number that changes whenever another connection commits to the file, or
 * the file is replaced (another inode). */
pm_status pm_store_changed(pm_store *st, bool *changed, pm_error *err);
/* Cheap enough per request: one stat() and PRAGMA data_version. The
 * baseline is taken at open, so the first call returns false when nothing
 * happened since. A commit by another connection is reported once; this
 * handle's own commits are not reported. A replaced or removed file is
 * reported on every call until the caller reopens (this handle still reads
 * the old file). */

/* Gives back the memory the handle caches (SQLite's page cache): for a
 * handle kept open between uses, e.g. by the daemon to watch for changes. */
void pm_store_release_memory(pm_store *st);

/* ---- copying and publishing whole stores (nightly training of many
 * tenants: train on local scratch, publish into the serving directory) ---- */
/* A consistent copy of SRC_DIR/<tenant>.db (which may be in use: readers,
 * WAL) as DST_DIR/<tenant>.db, replacing what is there. PM_NOTFOUND when
 * the source does not exist. */
pm_status pm_store_copy(const char *src_dir, const char *dst_dir,
                        const char *tenant, pm_error *err);
/* Publishes SRC_DIR/<tenant>.db, a finished store nobody else has open, as
 * DST_DIR/<tenant>.db: checkpoints its WAL into the file and leaves WAL mode
 * (journal_mode DELETE: the published file is whole by itself, no -wal
 * beside it on what may be a network file system), fsyncs it, copies it
 * into DST_DIR under a temporary name, fsyncs that, renames it over the old
 * store and fsyncs the directory. A reader sees the old file or the new
 * one, never a part; a running daemon picks the new one up (another
 * inode). The source is left in place. *bytes (may be NULL) gets the size
 * of the published file. */
pm_status pm_store_publish(const char *src_dir, const char *dst_dir,
                           const char *tenant, uint64_t *bytes, pm_error *err);

#ifdef __cplusplus
}
#endif
#endif
