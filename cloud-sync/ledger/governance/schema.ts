/**
 * The governance tables (ledger schema v3): the rule library (one row per item version, never
 * changed), tasks, claims and self-reports, the audit log (append-only) and villagers' PINs.
 */
const tables = (autoId: string, bigint: string) => /* sql */ `
-- one row per version of an item; a change or a retirement is a new version
CREATE TABLE gov_items (
  scope        TEXT NOT NULL,   -- a village id, or '*' for the town's items
  code         TEXT NOT NULL,
  version      INTEGER NOT NULL,
  name         TEXT NOT NULL,
  category     TEXT NOT NULL,
  direction    TEXT NOT NULL CHECK (direction IN ('add', 'deduct')),
  points_min   ${bigint} NOT NULL CHECK (points_min > 0),
  points_max   ${bigint} NOT NULL CHECK (points_max >= points_min),
  evidence     TEXT NOT NULL CHECK (evidence IN ('none', 'photo', 'witness')),
  cap_count    INTEGER,
  cap_period   TEXT CHECK (cap_period IN ('day', 'week', 'month', 'year')),
  active_from  TEXT,
  active_to    TEXT,
  retired      INTEGER NOT NULL DEFAULT 0,
  changed_by   TEXT NOT NULL,
  changed_at   TEXT NOT NULL,
  PRIMARY KEY (scope, code, version)
);
CREATE TABLE gov_tasks (
  id             TEXT PRIMARY KEY,
  village        TEXT NOT NULL REFERENCES villages (id),
  title          TEXT NOT NULL,
  item_scope     TEXT NOT NULL,
  item_code      TEXT NOT NULL,
  item_version   INTEGER NOT NULL,
  points         ${bigint} NOT NULL,
  max_claimants  INTEGER NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  created_at     TEXT NOT NULL,
  closed_at      TEXT
);
CREATE INDEX gov_tasks_village ON gov_tasks (village, status);
-- a villager's claim on a task, a self-report (动态申报) or a record filed by the village
CREATE TABLE gov_claims (
  id            TEXT PRIMARY KEY,
  village       TEXT NOT NULL REFERENCES villages (id),
  origin        TEXT NOT NULL CHECK (origin IN ('task', 'self', 'village')),
  task_id       TEXT REFERENCES gov_tasks (id),
  villager_id   TEXT NOT NULL REFERENCES villagers (id),
  item_scope    TEXT NOT NULL,
  item_code     TEXT NOT NULL,
  item_version  INTEGER NOT NULL,
  points        ${bigint},
  status        TEXT NOT NULL CHECK (status IN ('claimed', 'reported', 'approved', 'rejected', 'reversed')),
  evidence      TEXT,
  note          TEXT,
  reason        TEXT,
  entry_id      TEXT,
  created_at    TEXT NOT NULL,
  decided_at    TEXT
);
CREATE INDEX gov_claims_task ON gov_claims (task_id);
CREATE INDEX gov_claims_villager ON gov_claims (villager_id, item_code, status);
CREATE INDEX gov_claims_village ON gov_claims (village, status);
-- every step, in order; never changed
CREATE TABLE gov_events (
  seq      ${autoId},
  village  TEXT NOT NULL,
  subject  TEXT NOT NULL,
  action   TEXT NOT NULL,
  actor    TEXT NOT NULL,
  detail   TEXT NOT NULL,
  at       TEXT NOT NULL
);
CREATE INDEX gov_events_village ON gov_events (village, seq);
CREATE TABLE gov_pins (
  villager_id  TEXT PRIMARY KEY REFERENCES villagers (id),
  pin_hash     TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);
`;

export const GOVERNANCE_SQLITE = `${tables('INTEGER PRIMARY KEY AUTOINCREMENT', 'INTEGER')}
CREATE TRIGGER gov_items_no_update BEFORE UPDATE ON gov_items BEGIN SELECT RAISE(ABORT, 'item versions are never changed'); END;
CREATE TRIGGER gov_items_no_delete BEFORE DELETE ON gov_items BEGIN SELECT RAISE(ABORT, 'item versions are never deleted'); END;
CREATE TRIGGER gov_events_no_update BEFORE UPDATE ON gov_events BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER gov_events_no_delete BEFORE DELETE ON gov_events BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER gov_claims_no_delete BEFORE DELETE ON gov_claims BEGIN SELECT RAISE(ABORT, 'claims are never deleted'); END;
CREATE TRIGGER gov_tasks_no_delete BEFORE DELETE ON gov_tasks BEGIN SELECT RAISE(ABORT, 'tasks are never deleted'); END;
`;

export const GOVERNANCE_POSTGRES = `${tables('BIGSERIAL PRIMARY KEY', 'BIGINT')}
CREATE FUNCTION gov_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
CREATE TRIGGER gov_items_no_change BEFORE UPDATE OR DELETE ON gov_items FOR EACH ROW EXECUTE FUNCTION gov_append_only();
CREATE TRIGGER gov_events_no_change BEFORE UPDATE OR DELETE ON gov_events FOR EACH ROW EXECUTE FUNCTION gov_append_only();
CREATE TRIGGER gov_claims_no_delete BEFORE DELETE ON gov_claims FOR EACH ROW EXECUTE FUNCTION gov_append_only();
CREATE TRIGGER gov_tasks_no_delete BEFORE DELETE ON gov_tasks FOR EACH ROW EXECUTE FUNCTION gov_append_only();
`;

/**
 * Ledger schema v5 (governance, second step): one-time login codes a village prints for a
 * villager (hashed, single use, expiring) and evidence photos kept by the ledger (re-encoded,
 * without EXIF). v4 is the public board's (cloud-sync/ledger/board/).
 */
const v5 = (blob: string) => /* sql */ `
CREATE TABLE gov_login_codes (
  id           TEXT PRIMARY KEY,
  village      TEXT NOT NULL REFERENCES villages (id),
  villager_id  TEXT NOT NULL REFERENCES villagers (id),
  code_hash    TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  used_at      TEXT
);
CREATE INDEX gov_login_codes_villager ON gov_login_codes (villager_id, used_at);
CREATE TABLE gov_evidence (
  id           TEXT PRIMARY KEY,
  village      TEXT NOT NULL REFERENCES villages (id),
  villager_id  TEXT REFERENCES villagers (id),
  uploaded_by  TEXT NOT NULL,
  mime         TEXT NOT NULL,
  width        INTEGER NOT NULL,
  height       INTEGER NOT NULL,
  bytes        ${blob} NOT NULL,
  sha256       TEXT NOT NULL,
  created_at   TEXT NOT NULL
);
CREATE INDEX gov_evidence_village ON gov_evidence (village, villager_id);
`;

export const GOVERNANCE_V5_SQLITE = `${v5('BLOB')}
CREATE TRIGGER gov_evidence_no_change BEFORE UPDATE ON gov_evidence BEGIN SELECT RAISE(ABORT, 'evidence is never changed'); END;
CREATE TRIGGER gov_evidence_no_delete BEFORE DELETE ON gov_evidence BEGIN SELECT RAISE(ABORT, 'evidence is never deleted'); END;
`;
export const GOVERNANCE_V5_POSTGRES = `${v5('BYTEA')}
CREATE TRIGGER gov_evidence_no_change BEFORE UPDATE OR DELETE ON gov_evidence FOR EACH ROW EXECUTE FUNCTION gov_append_only();
`;

/**
 * Ledger schema v22: a claim keeps the terms it was filed under. `direction` (add or deduct: the
 * sign of its points) is the item version's at filing, written with the claim, so an edit of the
 * item in the library (a new version, perhaps of the other kind) never turns an old claim's
 * award into a deduction where it is shown, approved or added up; claims held before are given
 * the direction of the item version they name (their filing version: versions never change).
 * `filed_by`: the staff account (user name) that filed a village record signed in to the pages,
 * or the named bearer token that filed it (`token:NAME`, access.ts tokenFiler), so that another
 * approves it (duties.ts); null when an unnamed token, a villager or an older version filed it.
 */
export const CLAIM_TERMS_VERSION = 22;
export const CLAIM_TERMS = /* sql */ `
ALTER TABLE gov_claims ADD COLUMN direction TEXT CHECK (direction IN ('add', 'deduct'));
ALTER TABLE gov_claims ADD COLUMN filed_by TEXT;
UPDATE gov_claims SET direction = (
  SELECT i.direction FROM gov_items i WHERE i.scope = gov_claims.item_scope AND i.code = gov_claims.item_code AND i.version = gov_claims.item_version
);
`;
