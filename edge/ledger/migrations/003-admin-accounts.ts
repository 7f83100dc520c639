/**
 * Schema version 3: who may use the admin page, their sessions, and what they did.
 *
 * - `admin_accounts`: one row per maintainer or village admin; the password is stored only as
 *   an scrypt hash (`scrypt$N$r$p$salt$hash`), never in clear. `failed_logins` and
 *   `locked_until` carry the lockout after repeated wrong passwords.
 * - `admin_sessions`: the server side of a login cookie (the cookie holds only a signed id), so
 *   logging out or locking an account ends its sessions at once.
 * - `audit_log`: every action taken from the admin page, with the state before and after;
 *   append-only like `entries`.
 */
export const version = 3;

export const sql = /* sql */ `
CREATE TABLE admin_accounts (
  username       TEXT PRIMARY KEY CHECK (length(username) BETWEEN 2 AND 32),
  display_name   TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  role           TEXT NOT NULL CHECK (role IN ('maintainer', 'village_admin')),
  password_hash  TEXT NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  failed_logins  INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
  locked_until   TEXT,
  last_login_at  TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL
) STRICT;

CREATE TABLE admin_sessions (
  sid         TEXT PRIMARY KEY,
  data        TEXT NOT NULL,
  expires_at  TEXT NOT NULL
) STRICT;
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  target      TEXT,
  before      TEXT,
  after       TEXT
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`;
