/**
 * Staff accounts of the ledger's pages (镇街 / 村居 staff) and their sessions: plain functions
 * over the ledger's database. Passwords arrive here already hashed (lib/passwords.ts); this
 * file stores them (the counts of wrong passwords and the locks are login-counts.ts'). A session
 * is a random token in an HTTP-only cookie; the database keeps only its SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { audit, fieldError, TOWN } from '../governance/rules.ts';
import { floodLocks, forgetFloodCount } from './login-counts.ts';

export type StaffRole = 'town' | 'village';
export const STAFF_ROLES: readonly StaffRole[] = ['town', 'village'];

export interface StaffAccount {
  username: string;
  display_name: string;
  role: StaffRole;
  village: string | null;
  locked_until: string | null;
  last_login_at: string | null;
  /** When the account was disabled (停用): no login, no session; null while it works. */
  disabled_at: string | null;
  created_by: string;
  created_at: string;
}
interface Row extends StaffAccount { password_hash: string; failed_logins: number; failed_until: string | null }

/** A working day: then the login page again. */
export const STAFF_SESSION_MS = 8 * 3_600_000;
const sha = (s: string) => createHash('sha256').update(s).digest('base64url');
const COLUMNS = 'username, display_name, role, village, password_hash, failed_logins, failed_until, locked_until, last_login_at, disabled_at, created_by, created_at';
const account = ({ password_hash: _h, failed_logins: _f, failed_until: _u, ...a }: Row): StaffAccount => a;

export async function countStaff(db: SqlDb): Promise<number> {
  return Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM staff_accounts'))[0]?.n ?? 0);
}

async function row(db: SqlDb, username: string): Promise<Row | undefined> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM staff_accounts WHERE username = $1`, [username]))[0];
}

export async function getStaff(db: SqlDb, username: string): Promise<(StaffAccount & { password_hash: string }) | undefined> {
  const r = await row(db, username);
  return r && { ...account(r), password_hash: r.password_hash };
}

/** Every account (the town), or a village's; `locked_until` the later of its lock's and its flood lock's ends (login-counts.ts). */
export async function listStaff(db: SqlDb, village?: string): Promise<StaffAccount[]> {
  const rows = village === undefined
    ? await db.query<Row>(`SELECT ${COLUMNS} FROM staff_accounts ORDER BY role DESC, village, username`)
    : await db.query<Row>(`SELECT ${COLUMNS} FROM staff_accounts WHERE village = $1 ORDER BY username`, [village]);
  const flood = await floodLocks(db);
  return rows.map(account).map((a) => {
    const f = flood.get(a.username);
    return f !== undefined && (a.locked_until === null || f > a.locked_until) ? { ...a, locked_until: f } : a;
  });
}

export interface NewStaff { username: string; display_name: string; role: StaffRole; village: string | null; password_hash: string }

/**
 * Refuses an account that addStaff would refuse for its village (not there) or its user name
 * (taken), as addStaff refuses it: `ledger staff add` asks this before it asks for a password.
 */
export async function checkNewStaff(db: SqlDb, a: Pick<NewStaff, 'username' | 'village'>): Promise<void> {
  if (a.village !== null && (await db.query('SELECT 1 FROM villages WHERE id = $1', [a.village])).length === 0) throw fieldError('village', `no village ${a.village}`, `找不到村 ${a.village}`, 400);
  if (await row(db, a.username)) throw fieldError('username', `the user name ${a.username} is taken`, `用户名 ${a.username} 已被使用`, 409, ErrorCode.DUPLICATE_ID);
}

/**
 * Adds an account; `onlyIfNone` (the first-run setup) refuses when any account exists, in the
 * same transaction, so two setup forms cannot both win.
 */
export async function addStaff(db: SqlDb, a: NewStaff, actor: string, now: Date, opts: { onlyIfNone?: boolean; detail?: Record<string, unknown> } = {}): Promise<StaffAccount> {
  return db.transaction(async (tx) => {
    if (opts.onlyIfNone && (await countStaff(tx)) > 0) throw fieldError('setup', 'an account exists; the first-run setup is closed, sign in instead', '已有账号，首次设置已关闭，请登录', 403);
    await checkNewStaff(tx, a);
    const at = now.toISOString();
    await tx.run('INSERT INTO staff_accounts (username, display_name, role, village, password_hash, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)',
      [a.username, a.display_name, a.role, a.village, a.password_hash, actor, at]);
    await auditStaff(tx, a.village, a.username, 'staff.create', actor, { role: a.role, village: a.village, display_name: a.display_name, ...opts.detail }, now);
    return account((await row(tx, a.username))!);
  });
}

/** A new password: unlocks the account and ends its sessions. */
export async function setStaffPassword(db: SqlDb, username: string, passwordHash: string, actor: string, now: Date, detail: Record<string, unknown> = {}): Promise<void> {
  await db.transaction(async (tx) => {
    const r = await row(tx, username);
    if (!r) throw fieldError('username', `no account ${username}`, `没有账号 ${username}`, 404, ErrorCode.NOT_FOUND);
    await tx.run('UPDATE staff_accounts SET password_hash = $1, failed_logins = 0, failed_until = NULL, locked_until = NULL, updated_at = $2 WHERE username = $3', [passwordHash, now.toISOString(), username]);
    await forgetFloodCount(tx, username);
    await tx.run('DELETE FROM staff_sessions WHERE username = $1', [username]);
    await auditStaff(tx, r.village, username, 'staff.password', actor, detail, now);
  });
}

export async function unlockStaff(db: SqlDb, username: string, actor: string, now: Date, detail: Record<string, unknown> = {}): Promise<void> {
  await db.transaction(async (tx) => {
    const r = await row(tx, username);
    if (!r) throw fieldError('username', `no account ${username}`, `没有账号 ${username}`, 404, ErrorCode.NOT_FOUND);
    await tx.run('UPDATE staff_accounts SET failed_logins = 0, failed_until = NULL, locked_until = NULL, updated_at = $1 WHERE username = $2', [now.toISOString(), username]);
    await forgetFloodCount(tx, username);
    await auditStaff(tx, r.village, username, 'staff.unlock', actor, { was_locked_until: r.locked_until, ...detail }, now);
  });
}

/**
 * Disables an account (its sessions end at once; it cannot sign in) or enables it again.
 * The last working town account is never disabled: without it nobody could enable it again
 * from a page. Answers whether anything changed (disabling a disabled account does not).
 */
export async function setStaffDisabled(db: SqlDb, username: string, disabled: boolean, actor: string, now: Date, detail: Record<string, unknown> = {}): Promise<boolean> {
  return db.transaction(async (tx) => {
    const r = await row(tx, username);
    if (!r) throw fieldError('username', `no account ${username}`, `没有账号 ${username}`, 404, ErrorCode.NOT_FOUND);
    if ((r.disabled_at !== null) === disabled) return false;
    if (disabled && r.role === 'town') {
      // SERIALIZABLE on PostgreSQL, one writer on SQLite: two disables cannot both see two left.
      const working = Number((await tx.query<{ n: number }>("SELECT COUNT(*) AS n FROM staff_accounts WHERE role = 'town' AND disabled_at IS NULL"))[0]?.n ?? 0);
      if (working <= 1) throw fieldError('username', `${username} is the last working town account; add or enable another town account first`, `${username} 是最后一个可用的镇级账号，不能停用；请先添加或启用另一个镇级账号`, 409);
    }
    await tx.run('UPDATE staff_accounts SET disabled_at = $1, updated_at = $2 WHERE username = $3', [disabled ? now.toISOString() : null, now.toISOString(), username]);
    if (disabled) await tx.run('DELETE FROM staff_sessions WHERE username = $1', [username]);
    await auditStaff(tx, r.village, username, disabled ? 'staff.disable' : 'staff.enable', actor, detail, now);
    return true;
  });
}

/** A successful login: failures forgotten, a new session. Answers the session's token (for the cookie). */
export async function openSession(db: SqlDb, username: string, now: Date): Promise<{ token: string; expires_at: string }> {
  const token = randomBytes(32).toString('base64url');
  const expires = new Date(now.getTime() + STAFF_SESSION_MS).toISOString();
  await db.transaction(async (tx) => {
    await tx.run('UPDATE staff_accounts SET failed_logins = 0, failed_until = NULL, locked_until = NULL, last_login_at = $1 WHERE username = $2', [now.toISOString(), username]);
    await forgetFloodCount(tx, username);
    // expired sessions of anyone go at each login, so the table holds only live ones
    await tx.run('DELETE FROM staff_sessions WHERE expires_at <= $1', [now.toISOString()]);
    await tx.run('INSERT INTO staff_sessions (token_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)', [sha(token), username, now.toISOString(), expires]);
  });
  return { token, expires_at: expires };
}

/** The account signed in by `token`, while its session lasts. */
export async function sessionAccount(db: SqlDb, token: string, now: Date): Promise<(StaffAccount & { expires_at: string }) | undefined> {
  const rows = await db.query<Row & { expires_at: string }>(
    `SELECT ${COLUMNS.split(', ').map((c) => `a.${c}`).join(', ')}, s.expires_at FROM staff_sessions s JOIN staff_accounts a ON a.username = s.username WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.disabled_at IS NULL`,
    [sha(token), now.toISOString()]);
  const r = rows[0];
  return r && { ...account(r), expires_at: r.expires_at };
}

export async function endSession(db: SqlDb, token: string): Promise<void> {
  await db.run('DELETE FROM staff_sessions WHERE token_hash = $1', [sha(token)]);
}

/** Account changes are steps of the governance audit log: the village's, or the town's. */
const auditStaff = (tx: SqlDb, village: string | null, username: string, action: string, actor: string, detail: Record<string, unknown>, now: Date) =>
  audit(tx, village ?? TOWN, `staff:${username}`, action, actor, detail, now);
