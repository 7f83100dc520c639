/**
 * Schema version 1: the store's local ledger.
 *
 * Money-like rules live in the schema where SQLite can hold them (STRICT types, CHECKs,
 * foreign keys, append-only triggers) and in edge/ledger/*.ts where they need logic.
 */
export const version = 1;

export const sql = /* sql */ `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE villagers (
  id               TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
  name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  village          TEXT NOT NULL CHECK (length(village) BETWEEN 1 AND 64),
  status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'left')),
  -- separate, explicit consent to face recognition (PIPL / 2025 face rules); NULL = none
  face_consent_at  TEXT,
  face_consent_by  TEXT,            -- 'self' or the guardian's name for a child under 14
  sync_face_consent INTEGER NOT NULL DEFAULT 0 CHECK (sync_face_consent IN (0, 1)),
  is_maintainer    INTEGER NOT NULL DEFAULT 0 CHECK (is_maintainer IN (0, 1)),
  -- cached sum of entries; the invariant balance = SUM(entries.points) is kept in code and checked
  balance          INTEGER NOT NULL DEFAULT 0,
  -- points a settled session could not charge (exit rule); entry is refused while > 0
  debt             INTEGER NOT NULL DEFAULT 0 CHECK (debt >= 0),
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
) STRICT;

CREATE TABLE entries (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 128),
  villager_id    TEXT NOT NULL REFERENCES villagers (id),
  kind           TEXT NOT NULL CHECK (kind IN ('award', 'penalty', 'redemption', 'refund', 'adjustment', 'expiry')),
  points         INTEGER NOT NULL,
  balance_after  INTEGER NOT NULL,
  reference      TEXT,
  reason         TEXT,
  origin         TEXT NOT NULL CHECK (origin IN ('store', 'ledger', 'cli', 'admin')),
  created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX entries_villager ON entries (villager_id, seq);

-- entries are append-only: corrections are compensating entries, never edits
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;

CREATE TABLE products (
  sku          TEXT PRIMARY KEY CHECK (length(sku) BETWEEN 1 AND 64),
  name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  price        INTEGER NOT NULL CHECK (price >= 0),
  unit_g       INTEGER NOT NULL CHECK (unit_g > 0),
  tolerance_g  INTEGER NOT NULL CHECK (tolerance_g >= 0),
  active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE slots (
  slot        TEXT PRIMARY KEY CHECK (length(slot) BETWEEN 1 AND 32),
  address     INTEGER NOT NULL UNIQUE CHECK (address BETWEEN 1 AND 247),  -- Modbus address on the shelf bus
  sku         TEXT REFERENCES products (sku),
  stock       INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
  updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE store_sessions (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL CHECK (kind IN ('shopping', 'restock')),
  villager_id   TEXT NOT NULL REFERENCES villagers (id),
  entered_by    TEXT NOT NULL CHECK (entered_by IN ('face', 'card', 'qr', 'admin')),
  state         TEXT NOT NULL,            -- the session state machine's state
  state_json    TEXT NOT NULL DEFAULT '{}', -- persisted context: baseline weights per slot, pending events
  status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'settled', 'cancelled')),
  total_points  INTEGER,
  charged_points INTEGER,
  debt_points   INTEGER,
  entry_id      TEXT REFERENCES entries (id),
  opened_at     TEXT NOT NULL,
  closed_at     TEXT,
  updated_at    TEXT NOT NULL
) STRICT;
-- one open session at a time, enforced by the database as well as the state machine
CREATE UNIQUE INDEX one_open_session ON store_sessions (status) WHERE status = 'open';

CREATE TABLE session_lines (
  session_id  TEXT NOT NULL REFERENCES store_sessions (id),
  line_no     INTEGER NOT NULL,
  sku         TEXT NOT NULL REFERENCES products (sku),
  slot        TEXT NOT NULL,
  count       INTEGER NOT NULL CHECK (count > 0),
  unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
  points      INTEGER NOT NULL CHECK (points >= 0),
  PRIMARY KEY (session_id, line_no)
) STRICT;

CREATE TABLE review_lines (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id  TEXT NOT NULL REFERENCES store_sessions (id),
  slot        TEXT NOT NULL,
  reason      TEXT NOT NULL,
  delta_g     INTEGER,
  detail      TEXT,
  created_at  TEXT NOT NULL,
  resolved_at TEXT,
  resolution  TEXT
) STRICT;

-- sync: rows to send to the village ledger, written in the same transaction as the change
CREATE TABLE outbox (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,   -- the per-store monotonic sequence number
  topic       TEXT NOT NULL,
  payload     TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  sent_at     TEXT,
  acked_at    TEXT
) STRICT;

-- sync: messages received, kept permanently for de-duplication
CREATE TABLE inbox (
  message_id   TEXT PRIMARY KEY,
  topic        TEXT NOT NULL,
  received_at  TEXT NOT NULL,
  result       TEXT NOT NULL
) STRICT;

-- face descriptors, encrypted (AES-256-GCM, key file outside the database)
CREATE TABLE face_templates (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  villager_id  TEXT NOT NULL REFERENCES villagers (id) ON DELETE CASCADE,
  nonce        BLOB NOT NULL,
  ciphertext   BLOB NOT NULL,
  tag          BLOB NOT NULL,
  quality      REAL,
  source       TEXT,                -- photo file name or 'camera'; never the image itself
  created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX face_templates_villager ON face_templates (villager_id);

-- points passbook cards; a maintainer revokes a lost card
CREATE TABLE cards (
  card_no      TEXT PRIMARY KEY CHECK (length(card_no) BETWEEN 4 AND 64),
  villager_id  TEXT NOT NULL REFERENCES villagers (id),
  created_at   TEXT NOT NULL,
  revoked_at   TEXT
) STRICT;

-- QR tokens already used (replay protection); pruned after expiry
CREATE TABLE qr_tokens_used (
  token_id     TEXT PRIMARY KEY,
  villager_id  TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  used_at      TEXT NOT NULL
) STRICT;

-- entry events (door decisions) for the admin page; pruned by the retention job
CREATE TABLE entry_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT NOT NULL,
  decision    TEXT NOT NULL,
  by          TEXT NOT NULL,
  villager_id TEXT,
  detail      TEXT
) STRICT;
`;
