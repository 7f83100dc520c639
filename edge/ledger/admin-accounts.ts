/**
 * Admin page accounts and their server-side sessions (schema version 3). Passwords arrive
 * here already hashed (edge/http/passwords.ts); this file only stores and counts.
 */
import { cachedStatement, inTransaction, type Db } from './db.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { iso, systemClock, type Clock } from './time.ts';

export type AdminRole = 'maintainer' | 'village_admin';
export const ADMIN_ROLES: readonly AdminRole[] = ['maintainer', 'village_admin'];

export interface AdminAccount {
  username: string;
  displayName: string;
  role: AdminRole;
  passwordHash: string;
  failedLogins: number;
  lockedUntil: string | null;
  lastLoginAt: string | null;
  createdAt: string;
}

interface AccountRow {
  username: string;
  display_name: string;
  role: AdminRole;
  password_hash: string;
  failed_logins: number;
  locked_until: string | null;
  last_login_at: string | null;
  created_at: string;
}

const fromRow = (r: AccountRow): AdminAccount => ({
  username: r.username,
  displayName: r.display_name,
  role: r.role,
  passwordHash: r.password_hash,
  failedLogins: r.failed_logins,
  lockedUntil: r.locked_until,
  lastLoginAt: r.last_login_at,
  createdAt: r.created_at,
});

export function countAdminAccounts(db: Db): number {
  return (cachedStatement(db, 'SELECT count(*) AS n FROM admin_accounts').get() as { n: number }).n;
}

export function getAdminAccount(db: Db, username: string): AdminAccount | undefined {
  const r = cachedStatement(db, 'SELECT * FROM admin_accounts WHERE username = ?').get(username) as AccountRow | undefined;
  return r ? fromRow(r) : undefined;
}

export function listAdminAccounts(db: Db): AdminAccount[] {
  return (cachedStatement(db, 'SELECT * FROM admin_accounts ORDER BY created_at, username').all() as AccountRow[]).map(fromRow);
}

/**
 * Adds an account. With `onlyIfNone` (the first-run setup) the insert happens only while the
 * table is empty, checked in the same transaction: two setup forms sent at once make one account.
 */
export function addAdminAccount(
  db: Db,
  a: { username: string; displayName: string; role: AdminRole; passwordHash: string },
  opts: { onlyIfNone?: boolean } = {},
  clock: Clock = systemClock,
): AdminAccount {
  const at = iso(clock);
  return inTransaction(db, 'adding admin account', () => {
    if (opts.onlyIfNone && countAdminAccounts(db) > 0) {
      throw new EdgeError(ErrorCode.DUPLICATE_ID, 'an admin account already exists; the first-run setup is closed', { zh: '已有管理账号，首次设置已关闭' });
    }
    if (getAdminAccount(db, a.username)) {
      throw new EdgeError(ErrorCode.DUPLICATE_ID, `admin account ${a.username} already exists`, { zh: `管理账号 ${a.username} 已存在`, details: { field: 'username' } });
    }
    cachedStatement(db, 'INSERT INTO admin_accounts (username, display_name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(a.username, a.displayName, a.role, a.passwordHash, at, at);
    return getAdminAccount(db, a.username)!;
  });
}

/** Whether the account is locked at `now` (a lock that has run out is no lock). */
export function isLocked(a: AdminAccount, now: Date): boolean {
  return a.lockedUntil !== null && a.lockedUntil > now.toISOString();
}

/** A login attempt counted before its password is checked: refused as locked, or counted. */
export type LoginAttempt =
  | { status: 'locked'; account: AdminAccount }
  /** `locks`: this attempt was the `maxFailures`-th in a row and locked the account. */
  | { status: 'counted'; account: AdminAccount; locks: boolean };

/**
 * Counts an attempt as a wrong password before the (slow) check, in one transaction: attempts
 * sent together are counted one by one, so the `maxFailures`-th locks the account for `lockMs`
 * and those after it are refused without their password being tried. A right password then
 * undoes the count (recordLogin). Undefined for an unknown account.
 */
export function beginLoginAttempt(db: Db, username: string, rule: { maxFailures: number; lockMs: number }, clock: Clock = systemClock): LoginAttempt | undefined {
  const now = clock();
  return inTransaction(db, 'counting a login attempt', () => {
    const a = getAdminAccount(db, username);
    if (!a) return undefined;
    if (isLocked(a, now)) return { status: 'locked', account: a };
    const failures = a.failedLogins + 1;
    const locks = failures >= rule.maxFailures;
    if (locks) {
      cachedStatement(db, 'UPDATE admin_accounts SET failed_logins = 0, locked_until = ?, updated_at = ? WHERE username = ?').run(new Date(now.getTime() + rule.lockMs).toISOString(), now.toISOString(), username);
    } else {
      cachedStatement(db, 'UPDATE admin_accounts SET failed_logins = ?, updated_at = ? WHERE username = ?').run(failures, now.toISOString(), username);
    }
    return { status: 'counted', account: getAdminAccount(db, username)!, locks };
  });
}

/**
 * A right password: the count starts again and the lock this attempt set (if any) is lifted.
 * A lock another attempt set meanwhile stays, and the sign-in is refused: false.
 */
export function recordLogin(db: Db, username: string, attempt: { locks: boolean }, clock: Clock = systemClock): boolean {
  const now = clock();
  const at = now.toISOString();
  return inTransaction(db, 'recording a login', () => {
    const a = getAdminAccount(db, username);
    if (!a || (isLocked(a, now) && !attempt.locks)) return false;
    cachedStatement(db, 'UPDATE admin_accounts SET failed_logins = 0, locked_until = NULL, last_login_at = ?, updated_at = ? WHERE username = ?').run(at, at, username);
    return true;
  });
}

// --- server-side sessions (the cookie holds only the signed session id) ---

export function getAdminSession(db: Db, sid: string, clock: Clock = systemClock): unknown {
  const r = cachedStatement(db, 'SELECT data, expires_at FROM admin_sessions WHERE sid = ?').get(sid) as { data: string; expires_at: string } | undefined;
  if (!r) return undefined;
  if (r.expires_at <= iso(clock)) {
    cachedStatement(db, 'DELETE FROM admin_sessions WHERE sid = ?').run(sid);
    return undefined;
  }
  return JSON.parse(r.data) as unknown;
}

/** Sessions without a signed-in user (a login form's CSRF secret) kept at most; the newest stay. */
export const MAX_ANONYMOUS_SESSIONS = 200;

/**
 * Stores a session; expired sessions are swept on the way (a store has a handful of them), and
 * sessions nobody signed in to are capped, so fetching the login form in a loop cannot grow
 * the ledger.
 */
export function setAdminSession(db: Db, sid: string, data: unknown, expiresAt: string, clock: Clock = systemClock): void {
  inTransaction(db, 'saving admin session', () => {
    cachedStatement(db, 'DELETE FROM admin_sessions WHERE expires_at <= ?').run(iso(clock));
    cachedStatement(db, 'INSERT INTO admin_sessions (sid, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (sid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at').run(sid, JSON.stringify(data), expiresAt);
    if ((data as { user?: unknown } | null)?.user === undefined) {
      cachedStatement(db, `DELETE FROM admin_sessions WHERE json_extract(data, '$.user') IS NULL AND sid NOT IN (
        SELECT sid FROM admin_sessions WHERE json_extract(data, '$.user') IS NULL ORDER BY expires_at DESC, rowid DESC LIMIT ?)`).run(MAX_ANONYMOUS_SESSIONS);
    }
  });
}

export function deleteAdminSession(db: Db, sid: string): void {
  cachedStatement(db, 'DELETE FROM admin_sessions WHERE sid = ?').run(sid);
}

/**
 * A new password (already hashed): the lock and the failure count are cleared and every
 * session of the account ends, so whoever knew the old password is signed out.
 */
export function setAdminPassword(db: Db, username: string, passwordHash: string, clock: Clock = systemClock): AdminAccount {
  const at = iso(clock);
  return inTransaction(db, 'changing an admin password', () => {
    if (!getAdminAccount(db, username)) throw unknownAccount(username);
    cachedStatement(db, 'UPDATE admin_accounts SET password_hash = ?, failed_logins = 0, locked_until = NULL, updated_at = ? WHERE username = ?').run(passwordHash, at, username);
    cachedStatement(db, "DELETE FROM admin_sessions WHERE json_extract(data, '$.user.username') = ?").run(username);
    return getAdminAccount(db, username)!;
  });
}

export function unlockAdminAccount(db: Db, username: string, clock: Clock = systemClock): AdminAccount {
  const at = iso(clock);
  return inTransaction(db, 'unlocking an admin account', () => {
    if (!getAdminAccount(db, username)) throw unknownAccount(username);
    cachedStatement(db, 'UPDATE admin_accounts SET failed_logins = 0, locked_until = NULL, updated_at = ? WHERE username = ?').run(at, username);
    return getAdminAccount(db, username)!;
  });
}

function unknownAccount(username: string): EdgeError {
  return new EdgeError(ErrorCode.NOT_FOUND, `no admin account ${username}`, { zh: `没有管理账号 ${username}`, details: { field: 'username' } });
}
