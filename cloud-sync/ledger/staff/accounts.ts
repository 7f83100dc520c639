/**
 * Staff accounts of the ledger's pages (镇街 / 村居 staff) and their sessions: plain functions
 * over the ledger's database. Passwords arrive here already hashed (lib/passwords.ts); this
 * file stores, counts and locks. A session is a random token in an HTTP-only cookie; the
 * database keeps only its SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { audit, fieldError, TOWN } from '../governance/rules.ts';

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
export const MAX_FAILED_LOGINS = 5;
/** How long a lock lasts, and how long a count of wrong passwords lasts after its last attempt. */
export const LOCK_MS = 15 * 60_000;
/**
 * Counts (and locks) of names nobody has kept at most: a flood of distinct names fills no more.
 * Each lasts LOCK_MS, so this many names tried within 15 minutes from addresses enough to pass
 * LOGIN_RATE_PER_MINUTE; a few staff mistyping never come near.
 */
export const MAX_UNKNOWN_NAME_COUNTS = 10_000;
/** Password attempts (the login, the setup, one's own password change) per client address per minute (all accounts together). */
export const LOGIN_RATE_PER_MINUTE = 10;

/** The answer (423) to a password attempt on a locked account, even with the right password. */
export const lockedRefusal = (until: string | null) => ({
  error: 'ACCOUNT_LOCKED', field: 'password', locked_until: until, zh: '密码错误次数过多，账号已锁定，请 15 分钟后再试或请镇里解锁',
  message: until ? `too many wrong passwords; this account is locked until ${until}` : 'too many wrong passwords; this account is locked',
});

/**
 * The answer (503) during a flood (MAX_UNKNOWN_NAME_COUNTS kept) to a login without a count of
 * its own that signs nobody in: a name nobody has, an account's wrong password, an account
 * locked in the flood (reserveLoginAttempt). The same words for each, and true for each: the
 * name and password could not be confirmed now.
 */
export const busyRefusal = () => ({
  error: 'LOGIN_BUSY', field: 'username', zh: '最近 15 分钟内尝试登录的用户名过多，暂时无法核对这个用户名和密码；请核对用户名和密码，稍后再试（已登录的工作人员不受影响）',
  message: 'this user name and password cannot be checked now: too many user names were tried in the last 15 minutes; check the user name and the password and try again later (staff already signed in are not affected)',
});

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

/** Every account (the town), or a village's. */
export async function listStaff(db: SqlDb, village?: string): Promise<StaffAccount[]> {
  const rows = village === undefined
    ? await db.query<Row>(`SELECT ${COLUMNS} FROM staff_accounts ORDER BY role DESC, village, username`)
    : await db.query<Row>(`SELECT ${COLUMNS} FROM staff_accounts WHERE village = $1 ORDER BY username`, [village]);
  return rows.map(account);
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

export const isLocked = (a: { locked_until: string | null }, now: Date): boolean => a.locked_until !== null && a.locked_until > now.toISOString();

/** What reserveLoginAttempt decided: check the password (`flood`: counted apart), or refuse. */
export type LoginReservation =
  | { ok: true; unknown?: true; flood?: true }
  | { ok: false; unknown?: true; locked_until: string | null }
  | { ok: false; busy: true };

/**
 * Takes one attempt's place in the count of wrong passwords, before the password is checked, in
 * one transaction: attempts made at the same time each see the others. Refused while the account
 * is locked, or while MAX_FAILED_LOGINS attempts are counted (still being checked, or wrong):
 * `locked` says until when (null: until those attempts are answered). A count is forgotten
 * LOCK_MS after its last attempt, as a villager's is (governance/auth.ts). An unknown name
 * (`unknown`) is counted, forgotten and locked the same way (reserveUnknownName), so the lockout
 * names no account.
 *
 * While MAX_UNKNOWN_NAME_COUNTS names nobody has are counted (a flood of made-up names), a name
 * without a count is stored nowhere and answered 503 LOGIN_BUSY (`busy`); no count is dropped
 * before its window ends, and names with a count (accounts or not) go on as before. An account
 * without a count must then answer as that name (else the flood lists who exists), yet its
 * right password must still sign in (else the flood shuts the village office out), and wrong
 * ones must still lock it: so its attempt is counted apart, under floodKey (`flood`), and
 * checked. The route answers a wrong password as a name nobody has, after the same scrypt;
 * after MAX_FAILED_LOGINS of them the account is refused for the flood (`busy`, the same 503
 * after the same work, to the right password too: a 423 would tell an account from a name
 * never counted). The flood count is heeded only while the flood lasts, since a name nobody has
 * starts from nothing after it (it was never kept); its row stays until its window ends. The
 * price, as for villagers (governance/auth.ts reserveAttempt): whoever floods, lets the flood
 * lapse and floods again gets five guesses under each count within 15 minutes.
 * `signedIn` (one's own password change, an account's count) is never refused for the flood.
 */
export async function reserveLoginAttempt(db: SqlDb, username: string, now: Date, opts: { signedIn?: boolean } = {}): Promise<LoginReservation> {
  return db.transaction(async (tx) => {
    // the ended counts and locks of unknown names (and flood counts) go at every attempt, whatever its name
    await tx.run("DELETE FROM gov_login_failures WHERE until_at <= $1 AND (login LIKE 'staff-name:%' OR login LIKE 'staff-in-flood:%')", [now.toISOString()]);
    const r = await row(tx, username);
    if (!r) {
      const f = await unknownNameCount(tx, username);
      if (!f && (await unknownNamesFull(tx))) return reserveInFlood(tx, username, false, now);
      return { ...(await reserveUnknownName(tx, f, username, now)), unknown: true };
    }
    if (isLocked(r, now)) return { ok: false, locked_until: r.locked_until };
    const counted = liveCount(r.failed_logins, r.failed_until, now);
    if (counted >= MAX_FAILED_LOGINS) return { ok: false, locked_until: null };
    if (counted === 0 && !opts.signedIn && (await unknownNamesFull(tx))) return reserveInFlood(tx, username, true, now);
    await tx.run('UPDATE staff_accounts SET failed_logins = $1, failed_until = $2 WHERE username = $3', [counted + 1, countEnd(now), username]);
    return { ok: true };
  });
}

/** reserveLoginAttempt in a flood for a name without a count: an account's is counted apart, any other refused. */
async function reserveInFlood(tx: SqlDb, username: string, account: boolean, now: Date): Promise<LoginReservation> {
  // read for a name nobody has too (none is ever kept): the same work
  const f = (await tx.query<{ failures: number | string; until_at: string }>('SELECT failures, until_at FROM gov_login_failures WHERE login = $1', [floodKey(username)]))[0];
  const q = f ? liveCount(f.failures, f.until_at, now) : 0;
  if (account && q < MAX_FAILED_LOGINS) {
    await countRow(tx, floodKey(username), q + 1, now);
    return { ok: true, flood: true };
  }
  // a row written as a counted attempt's is, and taken back: the same write, nothing kept
  await countRow(tx, floodDecoyKey(username), 1, now);
  await tx.run('DELETE FROM gov_login_failures WHERE login = $1', [floodDecoyKey(username)]);
  return { ok: false, busy: true };
}

const countRow = (tx: SqlDb, key: string, failures: number, now: Date) =>
  tx.run('INSERT INTO gov_login_failures (login, failures, until_at) VALUES ($1, $2, $3) ON CONFLICT (login) DO UPDATE SET failures = excluded.failures, until_at = excluded.until_at', [key, failures, countEnd(now)]);

/** An account's count kept during a flood (reserveLoginAttempt), apart from its own and from unknown names'. */
const floodKey = (username: string): string => `staff-in-flood:${username}`;
/** The row written and taken back by an attempt refused in a flood (reserveInFlood). */
const floodDecoyKey = (username: string): string => `staff-in-flood-refused:${username}`;

/** The wrong passwords still counted: none once the count's window has ended. */
const liveCount = (failures: number | string, until: string | null, now: Date): number => (until !== null && until > now.toISOString() ? Number(failures) : 0);
const countEnd = (now: Date): string => new Date(now.getTime() + LOCK_MS).toISOString();

/**
 * The count of a name nobody has, in gov_login_failures under `staff-name:<name>` (a villager's
 * key is `<village>/<villager>`, and no village id holds a ':'), kept exactly as an account's
 * failed_logins, failed_until and locked_until are, else the difference would tell which user
 * names exist: `failures` counts the wrong passwords, `until_at` is LOCK_MS after the last (the
 * row is deleted then, by the next attempt or a villager's sign-in); the lock sets `failures`
 * to 0 and `until_at` to its end, and the row goes when it ends.
 */
const unknownNameKey = (username: string): string => `staff-name:${username}`;

async function unknownNameCount(tx: SqlDb, username: string): Promise<{ failures: number; until_at: string } | undefined> {
  const f = (await tx.query<{ failures: number | string; until_at: string }>('SELECT failures, until_at FROM gov_login_failures WHERE login = $1', [unknownNameKey(username)]))[0];
  return f && { failures: Number(f.failures), until_at: f.until_at };
}

/** Whether MAX_UNKNOWN_NAME_COUNTS names nobody has are counted or locked (the ended ones purged). */
async function unknownNamesFull(tx: SqlDb): Promise<boolean> {
  const n = (await tx.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM gov_login_failures WHERE login LIKE 'staff-name:%'"))[0]?.n;
  return Number(n ?? 0) >= MAX_UNKNOWN_NAME_COUNTS;
}

/** reserveLoginAttempt for a name nobody has: the same steps on its gov_login_failures row (`f`). */
async function reserveUnknownName(tx: SqlDb, f: { failures: number; until_at: string } | undefined, username: string, now: Date): Promise<{ ok: true } | { ok: false; locked_until: string | null }> {
  if (f && f.failures === 0 && isLocked({ locked_until: f.until_at }, now)) return { ok: false, locked_until: f.until_at };
  const failures = f ? liveCount(f.failures, f.until_at, now) : 0;
  if (failures >= MAX_FAILED_LOGINS) return { ok: false, locked_until: null };
  await countRow(tx, unknownNameKey(username), failures + 1, now);
  return { ok: true };
}

/**
 * A reserved attempt (reserveLoginAttempt) turned out wrong: it stays counted, and once
 * MAX_FAILED_LOGINS are counted the account locks for LOCK_MS. Answers the lock's end, if it locked.
 * A name nobody has locks the same way, at the same step (after its password was checked).
 */
export async function settleFailedLogin(db: SqlDb, username: string, now: Date): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    const r = await row(tx, username);
    if (!r) return settleUnknownName(tx, username, now);
    if (liveCount(r.failed_logins, r.failed_until, now) < MAX_FAILED_LOGINS || isLocked(r, now)) return undefined;
    const lock = new Date(now.getTime() + LOCK_MS).toISOString();
    await tx.run('UPDATE staff_accounts SET failed_logins = 0, failed_until = NULL, locked_until = $1 WHERE username = $2', [lock, username]);
    await auditStaff(tx, r.village, username, 'staff.lock', 'system', { locked_until: lock }, now);
    return lock;
  });
}

async function settleUnknownName(tx: SqlDb, username: string, now: Date): Promise<string | undefined> {
  const f = await unknownNameCount(tx, username);
  if (!f || liveCount(f.failures, f.until_at, now) < MAX_FAILED_LOGINS) return undefined;
  const lock = new Date(now.getTime() + LOCK_MS).toISOString();
  await tx.run('UPDATE gov_login_failures SET failures = 0, until_at = $1 WHERE login = $2', [lock, unknownNameKey(username)]);
  return lock;
}

/** A reserved attempt had the right password but signs in no session (a disabled account): it no longer counts (`flood`: it was counted apart). */
export async function releaseLoginAttempt(db: SqlDb, username: string, opts: { flood?: boolean } = {}): Promise<void> {
  if (opts.flood) await db.run('UPDATE gov_login_failures SET failures = failures - 1 WHERE login = $1 AND failures > 0', [floodKey(username)]);
  else await db.run('UPDATE staff_accounts SET failed_logins = CASE WHEN failed_logins > 0 THEN failed_logins - 1 ELSE 0 END WHERE username = $1', [username]);
}

/** Forgets the count an account has in a flood (reserveInFlood), as its own is forgotten. */
const forgetFloodCount = (tx: SqlDb, username: string) => tx.run('DELETE FROM gov_login_failures WHERE login = $1', [floodKey(username)]);

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
