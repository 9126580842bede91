-- penmark tenant store, schema version 1. One file per tenant (WAL).
-- Numbers only: no mail text and no token strings are ever stored.
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS senders (
  id           INTEGER PRIMARY KEY,
  address      TEXT NOT NULL UNIQUE,
  mails        INTEGER NOT NULL DEFAULT 0,
  first_date   INTEGER NOT NULL DEFAULT 0,
  last_date    INTEGER NOT NULL DEFAULT 0,
  last_trained INTEGER NOT NULL DEFAULT 0,
  ready        INTEGER NOT NULL DEFAULT 0
);

-- A hash of each trained mail (Message-ID and own text), never the text.
CREATE TABLE IF NOT EXISTS fingerprints (
  fp        BLOB PRIMARY KEY,
  sender_id INTEGER NOT NULL,
  date      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Statistics and model data, encoded by the training and scoring modules.
CREATE TABLE IF NOT EXISTS blobs (
  kind  TEXT NOT NULL,
  owner INTEGER NOT NULL,
  data  BLOB NOT NULL,
  PRIMARY KEY (kind, owner)
) WITHOUT ROWID;
