/**
 * The village ledger's schema, one version per entry, for both databases. Like the store's
 * ledger: run in one transaction, the version recorded, a database newer than the code refused.
 */
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { SqlDb } from './sql.ts';
import { notAVillageLedger } from './foreign-db.ts';
import { CLAIM_TERMS, CLAIM_TERMS_VERSION, GOVERNANCE_POSTGRES, GOVERNANCE_SQLITE, GOVERNANCE_V5_POSTGRES, GOVERNANCE_V5_SQLITE } from './governance/schema.ts';
import { BOARD_POSTGRES, BOARD_SQLITE } from './board/schema.ts';
import { STAFF_COUNT_WINDOW, STAFF_DISABLED, STAFF_POSTGRES, STAFF_SQLITE } from './staff/schema.ts';
import { CATALOGUE_SQL, CATALOGUE_VERSION } from './catalogue.ts';
import { STORE_ALARMS_NEWEST, STORE_ALARMS_NEWEST_VERSION } from './store-alarms-recent.ts';
import { STORE_ALARMS_CLEARED, STORE_ALARMS_HAND, STORE_ALARMS_HAND_VERSION, STORE_ALARMS_POSTGRES, STORE_ALARMS_SQLITE } from './store-alarms.ts';
import { REQUEST_IDS_SQL, REQUEST_IDS_VERSION } from './governance/request-ids.ts';
import { STORE_ALARM_HISTORY, STORE_ALARM_HISTORY_VERSION } from './store-alarm-history.ts';
import { VILLAGER_DEBTS_POSTGRES, VILLAGER_DEBTS_SQLITE, VILLAGER_DEBTS_VERSION } from './debts.ts';
import { VILLAGER_NAMES_REPAIR_POSTGRES, VILLAGER_NAMES_REPAIR_SQLITE, VILLAGER_NAMES_REPAIR_VERSION } from './villager-names-repair.ts';

const common = (autoId: string, bigint: string) => /* sql */ `
CREATE TABLE villages (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  -- the next seq of the village stream; its row lock orders the events
  next_seq    ${bigint} NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL
);
CREATE TABLE villagers (
  id          TEXT PRIMARY KEY,
  village     TEXT NOT NULL REFERENCES villages (id),
  name        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'left')),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
-- append-only: a balance is the sum of a villager's entries
CREATE TABLE entries (
  seq          ${autoId},
  id           TEXT NOT NULL UNIQUE,
  village      TEXT NOT NULL REFERENCES villages (id),
  villager_id  TEXT NOT NULL REFERENCES villagers (id),
  kind         TEXT NOT NULL CHECK (kind IN ('award', 'penalty', 'redemption', 'refund', 'adjustment', 'expiry')),
  points       ${bigint} NOT NULL,
  reference    TEXT,
  reason       TEXT,
  origin_store TEXT,
  created_at   TEXT NOT NULL,
  received_at  TEXT NOT NULL
);
CREATE INDEX entries_villager ON entries (villager_id);
CREATE INDEX entries_village ON entries (village, seq);
CREATE TABLE stores (
  village         TEXT NOT NULL REFERENCES villages (id),
  id              TEXT NOT NULL,
  key_id          TEXT NOT NULL,
  public_key      TEXT NOT NULL,
  -- every row of this store up to here is held
  contiguous_seq  ${bigint} NOT NULL DEFAULT 0,
  gaps            ${bigint} NOT NULL DEFAULT 0,
  status          TEXT,
  last_heartbeat  TEXT,
  PRIMARY KEY (village, id)
);
-- every store row ever received, by id: the permanent de-duplication and the journal
CREATE TABLE acked_ids (
  id           TEXT PRIMARY KEY,
  village      TEXT NOT NULL,
  store        TEXT NOT NULL,
  seq          ${bigint} NOT NULL,
  topic        TEXT NOT NULL,
  payload      TEXT NOT NULL,
  received_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX acked_store_seq ON acked_ids (village, store, seq);
-- the village stream as published, for snapshots' seq and for audit
CREATE TABLE events (
  village   TEXT NOT NULL REFERENCES villages (id),
  seq       ${bigint} NOT NULL,
  id        TEXT NOT NULL,
  kind      TEXT NOT NULL,
  envelope  TEXT NOT NULL,
  PRIMARY KEY (village, seq)
);
`;

const SQLITE_V1 = `${common('INTEGER PRIMARY KEY AUTOINCREMENT', 'INTEGER')}
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
`;

const POSTGRES_V1 = `${common('BIGSERIAL PRIMARY KEY', 'BIGINT')}
CREATE FUNCTION entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'entries are append-only'; END $$;
CREATE TRIGGER entries_no_change BEFORE UPDATE OR DELETE ON entries FOR EACH ROW EXECUTE FUNCTION entries_append_only();
`;

// v2: what each store's last heartbeat said, and the ledger's view of how far behind it is.
const v2 = (bigint: string) => /* sql */ `
ALTER TABLE stores ADD COLUMN inbound_seq ${bigint};
ALTER TABLE stores ADD COLUMN last_acked_seq ${bigint};
ALTER TABLE stores ADD COLUMN outbox_pending ${bigint};
ALTER TABLE stores ADD COLUMN behind_since TEXT;
ALTER TABLE stores ADD COLUMN heals ${bigint} NOT NULL DEFAULT 0;
`;

// v8 (acked_ids by village): a row id is `<store>:<seq>`, unique within a village only.
// Keyed by the id alone, the rows of a second village's store with the same id counted as
// duplicates: acknowledged and never applied. SQLite cannot change a primary key in place, so
// the table is copied.
const ACKED_BY_VILLAGE_SQLITE = /* sql */ `
CREATE TABLE acked_ids_by_village (
  id           TEXT NOT NULL,
  village      TEXT NOT NULL,
  store        TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  topic        TEXT NOT NULL,
  payload      TEXT NOT NULL,
  received_at  TEXT NOT NULL,
  PRIMARY KEY (village, id)
);
INSERT INTO acked_ids_by_village (id, village, store, seq, topic, payload, received_at)
  SELECT id, village, store, seq, topic, payload, received_at FROM acked_ids;
DROP TABLE acked_ids;
ALTER TABLE acked_ids_by_village RENAME TO acked_ids;
CREATE UNIQUE INDEX acked_store_seq ON acked_ids (village, store, seq);
`;
const ACKED_BY_VILLAGE_POSTGRES = /* sql */ `
ALTER TABLE acked_ids DROP CONSTRAINT acked_ids_pkey;
ALTER TABLE acked_ids ADD PRIMARY KEY (village, id);
`;

/** The version that keys acked_ids by village (tests migrate to the one before it). */
export const ACKED_BY_VILLAGE_VERSION = 8;

// v15: each store row's own time (its `created_at`; one stamped beyond its receipt plus the allowed
// clock skew is kept as its receipt: store-time.ts). Rows held before have none (NULL): their
// receipt stands for it. The roll-up names a product by the latest change by this time, so a
// rename a store made while offline counts from when it was made, not when it arrived.
const ACKED_CREATED_AT = 'ALTER TABLE acked_ids ADD COLUMN created_at TEXT;';
/** The version that keeps a store row's own time in acked_ids (tests migrate to the one before it). */
export const ACKED_CREATED_AT_VERSION = 15;

const VILLAGER_STATUS_CHANGED = 'ALTER TABLE villagers ADD COLUMN status_changed_at TEXT;';

// Villagers' login attempts, counted before the PIN's scrypt runs (governance/auth.ts): `login` is village/villager.
const GOV_LOGIN_FAILURES = 'CREATE TABLE gov_login_failures (login TEXT PRIMARY KEY, failures INTEGER NOT NULL, until_at TEXT NOT NULL);';

// Villagers' sessions (governance/auth.ts), kept hashed like the staff's, so that a new PIN or a
// block ends them wherever it is made, as a new password or a disable ends a staff session.
const GOV_SESSIONS = `
CREATE TABLE gov_sessions (
  token_hash   TEXT PRIMARY KEY,
  village      TEXT NOT NULL,
  villager_id  TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL
);
CREATE INDEX gov_sessions_villager ON gov_sessions (villager_id);
`;

const MIGRATIONS: ReadonlyArray<{ version: number; sqlite: string; postgres: string }> = [
  { version: 1, sqlite: SQLITE_V1, postgres: POSTGRES_V1 },
  { version: 2, sqlite: v2('INTEGER'), postgres: v2('BIGINT') },
  // v3: points governance (cloud-sync/ledger/governance/).
  { version: 3, sqlite: GOVERNANCE_SQLITE, postgres: GOVERNANCE_POSTGRES },
  // v4: the public board (cloud-sync/ledger/board/): what a village publishes, who is named.
  { version: 4, sqlite: BOARD_SQLITE, postgres: BOARD_POSTGRES },
  // v5: one-time login codes, evidence photos.
  { version: 5, sqlite: GOVERNANCE_V5_SQLITE, postgres: GOVERNANCE_V5_POSTGRES },
  // v6: staff accounts and sessions for the ledger's pages; evidence photos purged after their retention.
  { version: 6, sqlite: STAFF_SQLITE, postgres: STAFF_POSTGRES },
  // v7: the stores' alarms, as they stand and their history (store-alarms.ts).
  { version: 7, sqlite: STORE_ALARMS_SQLITE, postgres: STORE_ALARMS_POSTGRES },
  // v8: acked_ids keyed by (village, id), not the row id alone.
  { version: ACKED_BY_VILLAGE_VERSION, sqlite: ACKED_BY_VILLAGE_SQLITE, postgres: ACKED_BY_VILLAGE_POSTGRES },
  // v9: a staff account can be disabled (staff/schema.ts).
  { version: 9, sqlite: STAFF_DISABLED, postgres: STAFF_DISABLED },
  // v10: the alarm history by the time it cleared (the retention job's purge, the history list).
  { version: 10, sqlite: STORE_ALARMS_CLEARED, postgres: STORE_ALARMS_CLEARED },
  // when a villager's status last changed (a rename does not count): a store's older change of it is not applied (store-status.ts)
  { version: 11, sqlite: VILLAGER_STATUS_CHANGED, postgres: VILLAGER_STATUS_CHANGED },
  // v12: villagers' login attempts, so the PIN lock holds against attempts made at the same time
  { version: 12, sqlite: GOV_LOGIN_FAILURES, postgres: GOV_LOGIN_FAILURES },
  // v13: villagers' sessions in the database, ended by a new PIN or a block
  { version: 13, sqlite: GOV_SESSIONS, postgres: GOV_SESSIONS },
  // v14: the village's catalogue as published to its stores, which a snapshot carries (catalogue.ts)
  { version: CATALOGUE_VERSION, sqlite: CATALOGUE_SQL, postgres: CATALOGUE_SQL },
  // v15: acked_ids.created_at, a store row's own time beside its receipt
  { version: ACKED_CREATED_AT_VERSION, sqlite: ACKED_CREATED_AT, postgres: ACKED_CREATED_AT },
  // v16: staff counts of wrong passwords end 15 minutes after their last attempt (staff/schema.ts)
  { version: 16, sqlite: STAFF_COUNT_WINDOW, postgres: STAFF_COUNT_WINDOW },
  // v17: who cleared a store's alarm by hand, and why (store-alarms.ts)
  { version: STORE_ALARMS_HAND_VERSION, sqlite: STORE_ALARMS_HAND, postgres: STORE_ALARMS_HAND },
  // v18: request ids of forms and their first answers, so a form sent again makes nothing twice (governance/request-ids.ts)
  { version: REQUEST_IDS_VERSION, sqlite: REQUEST_IDS_SQL, postgres: REQUEST_IDS_SQL },
  // v19: the last alarm history taken from each store, and what it left out (store-alarm-history.ts)
  { version: STORE_ALARM_HISTORY_VERSION, sqlite: STORE_ALARM_HISTORY, postgres: STORE_ALARM_HISTORY },
  // v20: the alarm views read each store's newest cleared alarms through an index in their order (store-alarms-recent.ts)
  { version: STORE_ALARMS_NEWEST_VERSION, sqlite: STORE_ALARMS_NEWEST, postgres: STORE_ALARMS_NEWEST },
  // v21: villagers a store registered, named by their id before rows.ts took the store's name, named by the store's newest `add` row (villager-names-repair.ts)
  { version: VILLAGER_NAMES_REPAIR_VERSION, sqlite: VILLAGER_NAMES_REPAIR_SQLITE, postgres: VILLAGER_NAMES_REPAIR_POSTGRES },
  // v22: a claim's sign (add or deduct) as filed, and the staff account that filed a village record (governance/schema.ts)
  { version: CLAIM_TERMS_VERSION, sqlite: CLAIM_TERMS, postgres: CLAIM_TERMS },
  // v23: what each villager owes each store, from the stores' rows (debts.ts); the rows held before taken from acked_ids
  { version: VILLAGER_DEBTS_VERSION, sqlite: VILLAGER_DEBTS_SQLITE, postgres: VILLAGER_DEBTS_POSTGRES },
];
export const LEDGER_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The turn migrations take (sql.ts `TxOptions.queue`): not a village id, which has no spaces. */
const MIGRATION_TURN = 'schema migration';

/**
 * Migrates to the newest version; `upTo` stops earlier (tests of a migration start from the
 * version before it). Processes that migrate one database at once (the ledger and `ledger staff`
 * started together) take turns (`MIGRATION_TURN`): the later finds the schema current. Without
 * them, PostgreSQL's concurrent CREATE TABLEs failed one of them on its catalogue's unique index.
 */
export async function migrateLedger(db: SqlDb, upTo = LEDGER_SCHEMA_VERSION): Promise<void> {
  // a database of something else is refused before the first table is created in it
  const notOurs = await notAVillageLedger(db);
  if (notOurs) {
    const where = db.file ?? 'the PostgreSQL database (DATABASE_URL)';
    throw new EdgeError(ErrorCode.DB_NOT_OURS, `${where} is not a village ledger: ${notOurs.en}; refusing to touch it`, { zh: `${where} 不是村账本：${notOurs.zh}；已拒绝改动`, details: { path: where } });
  }
  await db.transaction(async (tx) => {
    await tx.exec('CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER NOT NULL)');
    const rows = await tx.query<{ version: number }>('SELECT version FROM ledger_schema');
    const current = rows.length > 0 ? Number(rows[0]!.version) : 0;
    if (current > LEDGER_SCHEMA_VERSION) {
      throw new EdgeError(ErrorCode.DB_NEWER_THAN_CODE, `the village ledger has schema version ${current}, newer than this program's ${LEDGER_SCHEMA_VERSION}`, { zh: '村账本数据库版本比程序新，请升级程序' });
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current || m.version > upTo) continue;
      await tx.exec(tx.dialect === 'sqlite' ? m.sqlite : m.postgres);
    }
    const reached = Math.max(current, Math.min(upTo, LEDGER_SCHEMA_VERSION));
    if (rows.length === 0) await tx.run('INSERT INTO ledger_schema (version) VALUES ($1)', [reached]);
    else await tx.run('UPDATE ledger_schema SET version = $1', [reached]);
  }, { queue: [MIGRATION_TURN] });
}
