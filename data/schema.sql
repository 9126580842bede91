-- penmark tenant store, schema version 1. One file per tenant (WAL).
-- Numbers only: no mail text and no token strings are ever stored.
-- The code that runs this (train/store_create.c) also sets, in the same
-- transaction, PRAGMA application_id = 0x504D524B ("PMRK") and
-- PRAGMA user_version = 1, and writes the meta rows schema_version,
-- config_hash (16 hex digits), config_json and created (epoch seconds).
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- Addresses compare in byte order (BINARY), which pm_store_senders relies on.
CREATE TABLE IF NOT EXISTS senders (
  id           INTEGER PRIMARY KEY,
  address      TEXT NOT NULL UNIQUE,
  mails        INTEGER NOT NULL DEFAULT 0,
  first_date   INTEGER NOT NULL DEFAULT 0,
  last_date    INTEGER NOT NULL DEFAULT 0,
  last_trained INTEGER NOT NULL DEFAULT 0,
  ready        INTEGER NOT NULL DEFAULT 0 CHECK (ready IN (0, 1))
);

-- A hash of each trained mail (Message-ID and own text), never the text.
CREATE TABLE IF NOT EXISTS fingerprints (
  fp        BLOB PRIMARY KEY CHECK (length(fp) = 16),
  sender_id INTEGER NOT NULL,
  date      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Statistics and model data, encoded by the training and scoring modules
-- (little-endian). The primary key orders a kind's blobs by owner.
CREATE TABLE IF NOT EXISTS blobs (
  kind  TEXT NOT NULL,
  owner INTEGER NOT NULL,
  data  BLOB NOT NULL,
  PRIMARY KEY (kind, owner)
) WITHOUT ROWID;
