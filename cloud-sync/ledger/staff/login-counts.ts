/**
 * The counts of wrong staff passwords and the locks they set (the login, and one's own password
 * change): plain functions over the ledger's database, each attempt counted before its password
 * is checked. The counts of names nobody has and of accounts during a flood of made-up names are
 * rows of gov_login_failures; an account's own is in staff_accounts.
 */
import type { SqlDb } from '../sql.ts';
import { audit, TOWN } from '../governance/rules.ts';
import { GUESS_WINDOW_MS, guessesSpent, MAX_GUESSES, readCount, windowEnd, writeAndTakeBack, writeCount, type StoredCount } from '../governance/guess-counts.ts';
import { noteFlood, sayFlood, type FloodTurn, type LoginFlood } from '../governance/login-flood.ts';
import type { Logger } from '../../../edge/log.ts';

export const MAX_FAILED_LOGINS = MAX_GUESSES;
/** How long a lock lasts, and how long a count of wrong passwords lasts after its last attempt. */
export const LOCK_MS = GUESS_WINDOW_MS;
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

export const isLocked = (a: { locked_until: string | null }, now: Date): boolean => a.locked_until !== null && a.locked_until > now.toISOString();

interface Counted { village: string | null; failed_logins: number | string; failed_until: string | null; locked_until: string | null }
const counted = async (tx: SqlDb, username: string): Promise<Counted | undefined> =>
  (await tx.query<Counted>('SELECT village, failed_logins, failed_until, locked_until FROM staff_accounts WHERE username = $1', [username]))[0];

/**
 * What reserveLoginAttempt decided: check the password (`flood`: counted apart; `spent`: the
 * account's guesses are spent, so it is checked for the work only and answered as a wrong one),
 * or refuse.
 */
export type LoginReservation =
  | { ok: true; unknown?: true; flood?: true; spent?: true }
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
 * after MAX_FAILED_LOGINS of them the account is locked for the flood (`busy`, the same 503
 * after the same work, to the right password too: a 423 would tell an account from a name
 * never counted).
 *
 * The flood count lasts its window whatever the flood does, and adds to the account's own: a
 * flood that lapses and comes back buys no guesses. Yet after the flood a name nobody has starts
 * from nothing (it was never kept), so the account's own count, the one its answers show, does
 * too; once the two together reach MAX_FAILED_LOGINS its guesses are `spent`: each attempt is
 * counted and answered as a wrong password, the right one too (401, then 423 at the step a made-up
 * name's lock comes), until the flood count's window or lock ends. So the lock the flood set holds
 * after it without an answer that a made-up name could not give. `signedIn` (one's own password
 * change, an account's count) is never refused for the flood, and is told a spent count as a lock.
 */
export async function reserveLoginAttempt(db: SqlDb, username: string, now: Date, opts: { signedIn?: boolean; log?: Pick<Logger, 'warn'> } = {}): Promise<LoginReservation> {
  let turned: FloodTurn | undefined;
  const reserved = await db.transaction(async (tx): Promise<LoginReservation> => {
    // the ended counts and locks of unknown names (and flood counts) go at every attempt, whatever its name
    await tx.run("DELETE FROM gov_login_failures WHERE until_at <= $1 AND (login LIKE 'staff-name:%' OR login LIKE 'staff-in-flood:%')", [now.toISOString()]);
    // read for every name, a name nobody has too (none has a flood count): the same work
    const names = await unknownNamesCounted(tx);
    const full = names >= MAX_UNKNOWN_NAME_COUNTS;
    turned = await noteFlood(tx, STAFF_FLOOD, names, now);
    const f = await floodCount(tx, username);
    const inFlood = floodGuesses(f, now);
    const r = await counted(tx, username);
    if (!r) {
      const u = await unknownNameCount(tx, username);
      if (!u && full) return refuseInFlood(tx, username, now);
      return { ...(await reserveUnknownName(tx, u, username, now)), unknown: true };
    }
    if (isLocked(r, now)) return { ok: false, locked_until: r.locked_until };
    const own = liveCount(r.failed_logins, r.failed_until, now);
    if (own >= MAX_FAILED_LOGINS) return { ok: false, locked_until: null };
    if (opts.signedIn && guessesSpent(own, inFlood)) return { ok: false, locked_until: f && Number(f.failures) === 0 ? f.until_at : null };
    if (own === 0 && !opts.signedIn && full) {
      if (inFlood >= MAX_FAILED_LOGINS) return refuseInFlood(tx, username, now);
      await countRow(tx, floodKey(username), inFlood + 1, now);
      return { ok: true, flood: true };
    }
    await tx.run('UPDATE staff_accounts SET failed_logins = $1, failed_until = $2 WHERE username = $3', [own + 1, countEnd(now), username]);
    return guessesSpent(own, inFlood) ? { ok: true, spent: true } : { ok: true };
  });
  // said once committed: the turn the try that committed saw
  sayFlood(opts.log, STAFF_FLOOD, turned);
  return reserved;
}

/** An attempt refused in a flood: a row written as a counted attempt's is, and taken back (the same write, nothing kept). */
async function refuseInFlood(tx: SqlDb, username: string, now: Date): Promise<LoginReservation> {
  await writeAndTakeBack(tx, floodDecoyKey(username), windowEnd(now));
  return { ok: false, busy: true };
}

const countRow = (tx: SqlDb, key: string, failures: number, now: Date) => writeCount(tx, key, failures, windowEnd(now));

/**
 * An account's count kept during a flood (reserveLoginAttempt), apart from its own and from
 * unknown names': `failures` the wrong passwords, `until_at` LOCK_MS after the last; locked (the
 * fifth wrong one, or the fifth with its own count after the flood), `failures` is 0 and
 * `until_at` the lock's end, as an unknown name's lock is kept.
 */
const floodKey = (username: string): string => `staff-in-flood:${username}`;
/** The row written and taken back by an attempt refused in a flood (refuseInFlood). */
const floodDecoyKey = (username: string): string => `staff-in-flood-refused:${username}`;

type FloodCount = StoredCount;
const floodCount = (tx: SqlDb, username: string): Promise<FloodCount | undefined> => readCount(tx, floodKey(username));
/** The guesses an account spent in a flood, still counted: all of them while it is locked for it. */
const floodGuesses = (f: FloodCount | undefined, now: Date): number =>
  !f || f.until_at <= now.toISOString() ? 0 : Number(f.failures) === 0 ? MAX_FAILED_LOGINS : Number(f.failures);

/** The wrong passwords still counted: none once the count's window has ended. */
const liveCount = (failures: number | string, until: string | null, now: Date): number => (until !== null && until > now.toISOString() ? Number(failures) : 0);
const countEnd = windowEnd;

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
  const f = await readCount(tx, unknownNameKey(username));
  return f && { failures: Number(f.failures), until_at: f.until_at };
}

/** How many names nobody has are counted or locked (the ended ones purged): MAX_UNKNOWN_NAME_COUNTS is a flood. */
async function unknownNamesCounted(tx: SqlDb): Promise<number> {
  const n = (await tx.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM gov_login_failures WHERE login LIKE 'staff-name:%'"))[0]?.n;
  return Number(n ?? 0);
}

/**
 * A flood ends (in the audit log and the ledger's log) only once its names are down below this,
 * not at the first that expires (../governance/login-flood.ts).
 */
export const FLOOD_ENDS_BELOW = Math.floor(MAX_UNKNOWN_NAME_COUNTS * 0.9);

/**
 * A flood's start and end (../governance/login-flood.ts), each once in the town's audit log
 * (subject `staff-login-flood`, stamped with the ledger's clock) and, by reserveLoginAttempt once
 * its transaction is committed, in the ledger's log in both languages, as a villager flood's
 * (governance/auth.ts), as the first attempt that finds the names full, or down below
 * FLOOD_ENDS_BELOW, sees it.
 */
const STAFF_FLOOD: LoginFlood = {
  mark: 'staff-flood', subject: 'staff-login-flood', event: 'staff.login-flood',
  startsAt: MAX_UNKNOWN_NAME_COUNTS, endsBelow: FLOOD_ENDS_BELOW, detail: { unknown_names_kept_at_most: MAX_UNKNOWN_NAME_COUNTS },
  said: {
    start: `staff login flood started: ${MAX_UNKNOWN_NAME_COUNTS} unknown user names were tried in the last 15 minutes; while that many are counted, new ones are refused (503 LOGIN_BUSY) and staff with the right password still sign in; the flood is said to end once they are down below ${FLOOD_ENDS_BELOW} / 工作人员登录洪泛开始：最近 15 分钟内尝试的未知用户名已达 ${MAX_UNKNOWN_NAME_COUNTS} 个；计数达到此数时新的用户名被拒绝（503），密码正确的工作人员仍可登录；降到 ${FLOOD_ENDS_BELOW} 个以下时记为洪泛结束`,
    end: `staff login flood ended: the unknown user names tried are down below ${FLOOD_ENDS_BELOW} / 工作人员登录洪泛结束：尝试的未知用户名已降到 ${FLOOD_ENDS_BELOW} 个以下`,
  },
};

/** reserveLoginAttempt for a name nobody has: the same steps on its gov_login_failures row (`f`). */
async function reserveUnknownName(tx: SqlDb, f: { failures: number; until_at: string } | undefined, username: string, now: Date): Promise<{ ok: true } | { ok: false; locked_until: string | null }> {
  if (f && f.failures === 0 && isLocked({ locked_until: f.until_at }, now)) return { ok: false, locked_until: f.until_at };
  const failures = f ? liveCount(f.failures, f.until_at, now) : 0;
  if (failures >= MAX_FAILED_LOGINS) return { ok: false, locked_until: null };
  await countRow(tx, unknownNameKey(username), failures + 1, now);
  return { ok: true };
}

/**
 * A reserved attempt (reserveLoginAttempt) turned out wrong, or was refused in a flood (`flood`:
 * the route settles every 503 alike, so the work tells none apart): it stays counted, and once
 * MAX_FAILED_LOGINS are counted the account locks for LOCK_MS. Answers the lock's end, if it
 * locked so that its answers show it (423). A name nobody has locks the same way, at the same
 * step (after its password was checked), and is audited nowhere. An account's lock is audited in
 * its village's log with the wrong passwords counted and where they were counted: `normal`, or
 * `flood` when attempts counted apart in a flood locked it, in the flood or after it (then its
 * answers show no lock: its guesses are spent, reserveLoginAttempt).
 */
export async function settleFailedLogin(db: SqlDb, username: string, now: Date, opts: { flood?: boolean } = {}): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    const r = await counted(tx, username);
    if (!r) return settleUnknownName(tx, username, now);
    const f = await floodCount(tx, username);
    const inFlood = floodGuesses(f, now);
    const floodLocked = inFlood > 0 && Number(f!.failures) === 0;
    const lock = countEnd(now);
    const own = opts.flood ? 0 : liveCount(r.failed_logins, r.failed_until, now);
    if (own >= MAX_FAILED_LOGINS && !isLocked(r, now)) {
      await tx.run('UPDATE staff_accounts SET failed_logins = 0, failed_until = NULL, locked_until = $1 WHERE username = $2', [lock, username]);
      await auditLock(tx, r.village, username, own, 'normal', lock, now);
      return lock;
    }
    if (inFlood > 0 && !floodLocked && guessesSpent(own, inFlood)) {
      await countRow(tx, floodKey(username), 0, now);
      await auditLock(tx, r.village, username, own + inFlood, 'flood', lock, now);
    }
    return undefined;
  });
}

async function settleUnknownName(tx: SqlDb, username: string, now: Date): Promise<string | undefined> {
  const f = await unknownNameCount(tx, username);
  if (!f || liveCount(f.failures, f.until_at, now) < MAX_FAILED_LOGINS) return undefined;
  const lock = countEnd(now);
  await tx.run('UPDATE gov_login_failures SET failures = 0, until_at = $1 WHERE login = $2', [lock, unknownNameKey(username)]);
  return lock;
}

/** A reserved attempt had the right password but signs in no session (a disabled account): it no longer counts (`flood`: it was counted apart). */
export async function releaseLoginAttempt(db: SqlDb, username: string, opts: { flood?: boolean } = {}): Promise<void> {
  if (opts.flood) {
    // a count of 0 is a lock: the last attempt of a count goes with its row
    await db.transaction(async (tx) => {
      await tx.run('DELETE FROM gov_login_failures WHERE login = $1 AND failures = 1', [floodKey(username)]);
      await tx.run('UPDATE gov_login_failures SET failures = failures - 1 WHERE login = $1 AND failures > 1', [floodKey(username)]);
    });
  } else await db.run('UPDATE staff_accounts SET failed_logins = CASE WHEN failed_logins > 0 THEN failed_logins - 1 ELSE 0 END WHERE username = $1', [username]);
}

/** Forgets the count an account has in a flood, and its lock (a sign-in, an unlock, a new password), as its own is forgotten. */
export const forgetFloodCount = (tx: SqlDb, username: string) => tx.run('DELETE FROM gov_login_failures WHERE login = $1', [floodKey(username)]);

/**
 * The ends of the locks accounts have for a flood, by user name: their login's answers show
 * none (reserveLoginAttempt), so the accounts page and `ledger staff list` show them, for the
 * town or the village to lift. Ended ones too, until purged: a past end locks nothing.
 */
export async function floodLocks(db: SqlDb): Promise<Map<string, string>> {
  const rows = await db.query<{ login: string; until_at: string }>("SELECT login, until_at FROM gov_login_failures WHERE login LIKE 'staff-in-flood:%' AND failures = 0");
  return new Map(rows.map((r) => [r.login.slice(floodKey('').length), r.until_at]));
}

/** A lock in the account's village's audit log (the town's for a town account). */
const auditLock = (tx: SqlDb, village: string | null, username: string, failures: number, source: 'normal' | 'flood', lockedUntil: string, now: Date) =>
  audit(tx, village ?? TOWN, `staff:${username}`, 'staff.lock', 'system', { failures, source, locked_until: lockedUntil }, now);
