/**
 * Ledger schema v6: staff accounts (town and village office staff signing in to the ledger's
 * pages with a password) and their sessions; and evidence photos that may be purged once, at
 * the end of their retention period (governance/evidence-retention.ts): the row, its hash and
 * its audit stay, the picture's bytes go and `purged_at` says when. Nothing else about a kept
 * photo may change, and it is still never deleted.
 */
const tables = /* sql */ `
CREATE TABLE staff_accounts (
  username       TEXT PRIMARY KEY,
  display_name   TEXT NOT NULL,
  role           TEXT NOT NULL CHECK (role IN ('town', 'village')),
  village        TEXT REFERENCES villages (id),
  password_hash  TEXT NOT NULL,
  failed_logins  INTEGER NOT NULL DEFAULT 0,
  locked_until   TEXT,
  last_login_at  TEXT,
  created_by     TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  -- a village account names its village; a town account none
  CHECK ((role = 'town' AND village IS NULL) OR (role = 'village' AND village IS NOT NULL))
);
-- a session is kept by the SHA-256 of its cookie's token, so a copy of the database signs nobody in
CREATE TABLE staff_sessions (
  token_hash  TEXT PRIMARY KEY,
  username    TEXT NOT NULL REFERENCES staff_accounts (username),
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL
);
CREATE INDEX staff_sessions_user ON staff_sessions (username);
ALTER TABLE gov_evidence ADD COLUMN purged_at TEXT;
`;

// The only change a kept photo allows: its bytes emptied and purged_at set, once.
const purgeOnly = (o: string, n: string, len: string) =>
  `${o}.purged_at IS NULL AND ${n}.purged_at IS NOT NULL AND ${len}(${n}.bytes) = 0 AND ${n}.id = ${o}.id AND ${n}.village = ${o}.village
   AND ${n}.villager_id IS NOT DISTINCT FROM ${o}.villager_id AND ${n}.uploaded_by = ${o}.uploaded_by AND ${n}.mime = ${o}.mime
   AND ${n}.width = ${o}.width AND ${n}.height = ${o}.height AND ${n}.sha256 = ${o}.sha256 AND ${n}.created_at = ${o}.created_at`;

export const STAFF_SQLITE = `${tables}
DROP TRIGGER gov_evidence_no_change;
CREATE TRIGGER gov_evidence_no_change BEFORE UPDATE ON gov_evidence
  WHEN NOT (${purgeOnly('OLD', 'NEW', 'length').replace('IS NOT DISTINCT FROM', 'IS')})
  BEGIN SELECT RAISE(ABORT, 'evidence is never changed; only its photo is purged, once'); END;
`;

export const STAFF_POSTGRES = `${tables}
DROP TRIGGER gov_evidence_no_change ON gov_evidence;
CREATE FUNCTION gov_evidence_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND ${purgeOnly('OLD', 'NEW', 'octet_length')} THEN RETURN NEW; END IF;
  RAISE EXCEPTION 'evidence is never changed or deleted; only its photo is purged, once';
END $$;
CREATE TRIGGER gov_evidence_no_change BEFORE UPDATE OR DELETE ON gov_evidence FOR EACH ROW EXECUTE FUNCTION gov_evidence_purge_only();
`;

/**
 * Ledger schema v9: a staff account can be disabled (停用) rather than deleted, so its audit
 * steps keep naming it and the town can enable it again. Disabled: no login, no session.
 */
export const STAFF_DISABLED = /* sql */ `
ALTER TABLE staff_accounts ADD COLUMN disabled_at TEXT;
`;

/**
 * Ledger schema v16: a count of wrong passwords is forgotten LOCK_MS after its last attempt, an
 * account's (`failed_until`, the window's end) as an unknown name's (its gov_login_failures row,
 * `until_at`, then purged). The counts of earlier versions had no end: they start again, an
 * account's and an unknown name's alike (ended locks stay, to be purged; running ones hold).
 */
export const STAFF_COUNT_WINDOW = /* sql */ `
ALTER TABLE staff_accounts ADD COLUMN failed_until TEXT;
UPDATE staff_accounts SET failed_logins = 0;
DELETE FROM gov_login_failures WHERE login LIKE 'staff:%' OR (login LIKE 'staff-name:%' AND failures > 0);
CREATE INDEX gov_login_failures_until ON gov_login_failures (until_at);
`;
