/**
 * The villager role: a villager id and a PIN set by the village, hashed with scrypt (a salt
 * per PIN). A login answers a session token for 12 hours, kept hashed in the ledger's database
 * (gov_sessions) like a staff session: a new PIN ends the villager's sessions, and so does a
 * block or leaving the village (tables.ts `endVillagerSessions`); a session is honoured only
 * while its villager is active. Five wrong PINs lock the villager's logins for 15 minutes.
 * Each attempt is counted in the database (gov_login_failures) before its scrypt runs, so a
 * burst of guesses sent together meets the lock like guesses sent one after another. An id
 * nobody has in that village is counted and locked alike, apart and in bounded number
 * (reserveAttempt), so a flood of made-up ids cannot grow the table without end; during such a
 * flood a villager's wrong PIN answers as an id nobody has then does (503 LOGIN_BUSY, after the
 * same scrypt), and the right one signs in (reserveAttempt says how and why).
 *
 * A blocked villager, or one who left, who gives the right PIN (or code) is told so (403
 * VILLAGER_INACTIVE, naming the status), and the attempt does not count towards the lock: the
 * PIN is not wrong, and an elderly villager told otherwise tries again until locked. Only
 * whoever knows the PIN learns the status, as a disabled staff account tells only whoever
 * knows its password (staff/routes.ts): a wrong PIN answers as for an id nobody has, at the
 * same scrypt cost, so a guesser learns nothing an active villager's right PIN would not give.
 */
import { randomBytes, scrypt, timingSafeEqual, createHash, type ScryptOptions } from 'node:crypto';
import { EdgeError, ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { endVillagerSessions, villagerOf } from '../tables.ts';
import type { VillagerBody } from '../../protocol/payloads.ts';
import type { Logger } from '../../../edge/log.ts';
import { audit, byStaff, fieldError } from './rules.ts';
import { GUESS_WINDOW_MS, guessesSpent, MAX_GUESSES, readCount, writeAndTakeBack, writeCount } from './guess-counts.ts';
import { noteFlood, sayFlood, type FloodTurn, type LoginFlood } from './login-flood.ts';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };
const SESSION_MS = 12 * 3_600_000;
const MAX_FAILURES = MAX_GUESSES;
const LOCK_MS = GUESS_WINDOW_MS;
/**
 * Counts (and locks) of villager ids nobody has in their village kept at most: a flood of
 * made-up ids fills no more. Each lasts LOCK_MS after its last attempt, so this many ids tried
 * within 15 minutes, from addresses enough to pass VILLAGER_LOGIN_RATE_PER_MINUTE; villagers
 * mistyping their id never come near.
 */
export const MAX_UNKNOWN_VILLAGER_COUNTS = 10_000;
/**
 * A flood ends (in the audit log and the ledger's log, noteFlood) only once its ids are down
 * below this, not at the first that expires: a flood held at the mark (one id expiring, the next
 * attempt adding one) would otherwise write an end and a start for every id that expires. The
 * staff login's FLOOD_ENDS_BELOW, for its names (staff/login-counts.ts).
 */
export const VILLAGER_FLOOD_ENDS_BELOW = Math.floor(MAX_UNKNOWN_VILLAGER_COUNTS * 0.9);
/** Villager login attempts per client address per minute (all villagers together): phones of a village may share one address. */
export const VILLAGER_LOGIN_RATE_PER_MINUTE = 30;
/** @fastify/rate-limit's options for the one limiter both villager login routes share (api.ts; the refusal names the PIN). */
export const villagerLoginLimit = {
  max: VILLAGER_LOGIN_RATE_PER_MINUTE,
  timeWindow: 60_000,
  errorResponseBuilder: (_req: unknown, ctx: { ttl: number }) => ({
    statusCode: 429, error: 'RATE_LIMITED', field: 'pin',
    message: `too many login attempts from this address; try again in ${Math.ceil(ctx.ttl / 1000)} s`, zh: `本机登录尝试次数过多，请 ${Math.ceil(ctx.ttl / 1000)} 秒后再试`,
  }),
};

const derive = (pin: string, salt: Buffer, o: ScryptOptions & { keylen: number }) =>
  new Promise<Buffer>((resolve, reject) => scrypt(pin, salt, o.keylen, { N: o.N, r: o.r, p: o.p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));

/** `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPin(pin: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(pin, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = await derive(pin, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p), keylen: want.length });
  return got.length === want.length && timingSafeEqual(got, want);
}

export async function setPin(db: SqlDb, village: string, villager: string, pin: string, actor: string, now: Date, by?: string): Promise<void> {
  const hash = await hashPin(pin);
  await db.transaction(async (tx) => {
    const v = await villagerOf(tx, villager);
    if (!v || v.village !== village) throw fieldError('villager', `no villager ${villager} in this village`, `本村没有村民 ${villager}`, 404, ErrorCode.UNKNOWN_VILLAGER);
    await tx.run('INSERT INTO gov_pins (villager_id, pin_hash, updated_at) VALUES ($1, $2, $3) ON CONFLICT (villager_id) DO UPDATE SET pin_hash = excluded.pin_hash, updated_at = excluded.updated_at', [villager, hash, now.toISOString()]);
    // Whoever knew the old PIN (a lost phone, a neighbour) is signed out with it.
    await endVillagerSessions(tx, villager);
    await audit(tx, village, `villager:${villager}`, 'pin.set', actor, byStaff(by), now);
  });
}

/** `tokenHash`: the session's row (gov_sessions.token_hash), the one a PIN change keeps. */
export interface VillagerSession { village: string; villager: string; expires: number; tokenHash: string }

export class VillagerSessions {
  /** `log`: where a flood's start and end are said (noteFlood), in both languages. */
  constructor(private readonly db: SqlDb, private readonly clock: () => number = Date.now, private readonly log?: Pick<Logger, 'warn'>) {}

  /** A session token, or an error that says nothing about which of id or PIN was wrong. */
  async login(db: SqlDb, village: string, villager: string, pin: string): Promise<{ token: string; expires_at: string }> {
    return this.loginWith(village, villager, 'pin', async () => {
      const v = await villagerOf(db, villager);
      const row = v && v.village === village ? (await db.query<{ pin_hash: string }>('SELECT pin_hash FROM gov_pins WHERE villager_id = $1', [villager]))[0] : undefined;
      // A missing villager costs the same scrypt as a wrong PIN.
      if (!v || !row) return (await hashPin(pin), WRONG);
      return (await verifyPin(pin, row.pin_hash)) ? { right: true, status: v.status } : WRONG;
    });
  }

  /**
   * A session after `check` (a PIN or a one-time code) says it is right. Wrong answers of either
   * kind count together towards the lock, so codes cannot be guessed beside PINs. The attempt
   * takes its place in the count before `check` runs: attempts still being checked count as
   * wrong ones until one of them turns out right, which clears the count, for a villager who
   * may not sign in now (blocked, left) too, who is then told so rather than signed in.
   *
   * An attempt refused in a flood (reserveAttempt, 'busy') runs the check all the same, its
   * answer unheard (`spend` false: a right code is not used up), so that its work, the same
   * reads and scrypts, is a counted attempt's: neither the answer nor its time tells a villager
   * from an id nobody has. So does an attempt whose guesses are spent ('spent'), answered as a
   * wrong one (401, counted), the right PIN or code too. A wrong answer that spends a villager's
   * guesses is in the village's audit log (`villager.lock`, reserveAttempt says when).
   */
  async loginWith(village: string, villager: string, field: 'pin' | 'code', check: (spend: boolean) => Promise<LoginCheck>): Promise<{ token: string; expires_at: string }> {
    const status = await this.attempt(village, villager, field, check);
    if (status !== 'active') throw inactiveRefusal(status, field);
    const token = randomBytes(32).toString('base64url');
    const now = this.clock();
    const at = new Date(now).toISOString();
    const expires = new Date(now + SESSION_MS).toISOString();
    await this.db.transaction(async (tx) => {
      // expired sessions of anyone go at each login, so the table holds only live ones
      await tx.run('DELETE FROM gov_sessions WHERE expires_at <= $1', [at]);
      await tx.run('INSERT INTO gov_sessions (token_hash, village, villager_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [sha(token), village, villager, at, expires]);
    });
    return { token, expires_at: expires };
  }

  /**
   * One answer counted and checked as a login's (loginWith says how), its refusals said on
   * `field`: right, the counts are forgotten and the villager's status answered. A villager's own
   * PIN change (pin-change.ts) checks the current PIN by it, on `current_pin`, so wrong current
   * PINs and wrong logins count together towards the one lock.
   */
  async attempt(village: string, villager: string, field: GuessField, check: (spend: boolean) => Promise<LoginCheck>): Promise<VillagerBody['status']> {
    const now = this.clock();
    const { kind: reserved, lock, flood, counted, lockedFor } = await reserveAttempt(this.db, village, villager, now);
    sayFlood(this.log, VILLAGER_FLOOD, flood);
    if (reserved === 'locked') throw lockedRefusal(field, lockedFor ?? LOCK_MS);
    if (reserved === 'busy') {
      await check(false);
      throw busyRefusal(field);
    }
    const spent = reserved === 'spent';
    const checked = await check(!spent);
    if (!checked.right || spent) {
      if (lock) await audit(this.db, village, `villager:${villager}`, 'villager.lock', 'system', lock, new Date(now));
      // counted in a flood: answered as an id nobody has is then
      if (reserved === 'flood') throw busyRefusal(field);
      throw wrongRefusal(field, MAX_FAILURES - (counted ?? 0));
    }
    // The counts are forgotten (a flood's too), and so is every other login's whose window has ended.
    await this.db.run('DELETE FROM gov_login_failures WHERE login = $1 OR login = $2 OR until_at <= $3', [villagerKey(village, villager), floodKey(village, villager), new Date(now).toISOString()]);
    return checked.status;
  }

  /** The session of `token` while it lasts and its villager is active in its village (a block refuses it even before its rows go). */
  async of(token: string): Promise<VillagerSession | undefined> {
    const r = (await this.db.query<{ village: string; villager_id: string; expires_at: string }>(
      "SELECT s.village, s.villager_id, s.expires_at FROM gov_sessions s JOIN villagers v ON v.id = s.villager_id AND v.village = s.village WHERE s.token_hash = $1 AND s.expires_at > $2 AND v.status = 'active'",
      [sha(token), new Date(this.clock()).toISOString()]))[0];
    return r && { village: r.village, villager: r.villager_id, expires: Date.parse(r.expires_at), tokenHash: sha(token) };
  }

  /** Logging out: the token is forgotten at once. */
  async end(token: string): Promise<void> {
    await this.db.run('DELETE FROM gov_sessions WHERE token_hash = $1', [sha(token)]);
  }
}

/**
 * Counts one login attempt of `villager` in `village` in one transaction, so attempts made at the
 * same time each see the others: 'locked' when MAX_FAILURES are already counted within the lock
 * window (the attempt is refused, and not counted). Each counted attempt moves the window's end
 * to LOCK_MS from now, as a wrong answer did. Every count whose window has ended goes first, at
 * each attempt of anyone (a villager's sign-in is not needed).
 *
 * A villager of that village is counted under villagerKey; an id nobody has there is counted the
 * same way under unknownVillagerKey, so its answers (401, then 429) are a wrong PIN's. While
 * MAX_UNKNOWN_VILLAGER_COUNTS such ids are counted (a flood of made-up ids), an unknown id
 * without a count of its own is stored nowhere and answered 503 LOGIN_BUSY ('busy'); no count is
 * dropped before its window ends, and ids with a count (villagers or not) go on as before.
 *
 * A villager without a count must then answer as that unknown id (else the flood lists who
 * exists), yet still sign in with the right PIN or code, and be locked by wrong ones:
 * - the attempt is counted apart, under floodKey ('flood'), and checked: the right PIN or code
 *   signs in (and clears it), a wrong one answers 503 LOGIN_BUSY, as the unknown id, after the
 *   same scrypt;
 * - after MAX_FAILURES of them the villager is locked for the flood: 'busy', the same 503 after
 *   the same work, to the right PIN too (a 429 would tell a counted villager from an id that
 *   is never counted; the 503 is true as well: the PIN cannot be checked now);
 * - the flood count lasts its window whatever the flood does, and adds to the villager's own:
 *   a flood that lapses and comes back buys no guesses. Once the flood ends an unknown id starts
 *   from nothing (it was never kept), so the villager's own count, the one the answers show, does
 *   too; but once the two together reach MAX_FAILURES (guess-counts.ts guessesSpent) the
 *   villager's guesses are spent ('spent'): each attempt is counted under the villager's own key
 *   and answered as a wrong PIN, the right one too (401, then 429 at the step an unknown id's lock
 *   comes), until the flood count's window ends. The spent attempt is still checked, for its work.
 * Flood counts are villagers' only, so bounded by the villagers.
 *
 * `lock`, for a villager only: the audit detail to write should this attempt turn out wrong, when
 * it is the one that spends the guesses (each count is reserved once, so one attempt is): the
 * fifth of the villager's own (`normal`, until its window's end), the fifth counted in a flood, or
 * the one whose count with the flood's reaches five after it (`flood`, until the flood count's
 * window ends). An unknown id's lock is in no log (that would list the ids tried).
 *
 * `flood`: the flood's start or end, when this attempt is the one that saw it turn (noteFlood,
 * audited in this transaction), for loginWith to say in the ledger's log once it is committed.
 */
type Reservation = {
  kind: 'ok' | 'locked' | 'flood' | 'busy' | 'spent'; lock?: { failures: number; source: 'normal' | 'flood'; locked_until: string }; flood?: FloodTurn;
  /** 'ok' and 'spent': the attempts now counted under the id's own key (a villager's or an unknown id's alike), for the tries left. */
  counted?: number;
  /** 'locked': ms until the lock (the count's window) ends. */
  lockedFor?: number;
};

async function reserveAttempt(db: SqlDb, village: string, villager: string, nowMs: number): Promise<Reservation> {
  const now = new Date(nowMs).toISOString();
  const until = new Date(nowMs + LOCK_MS).toISOString();
  return db.transaction(async (tx) => {
    await tx.run('DELETE FROM gov_login_failures WHERE until_at <= $1', [now]);
    // asked for every attempt, so an unknown id's costs no more work than a villager's
    const ids = await unknownVillagersCounted(tx);
    const full = ids >= MAX_UNKNOWN_VILLAGER_COUNTS;
    const turned = await noteFlood(tx, VILLAGER_FLOOD, ids, new Date(nowMs));
    const r = await reserveCounted(tx, village, villager, full, now, until);
    return turned ? { ...r, flood: turned } : r;
  });
}

/** reserveAttempt's count of the attempt itself, `full` when a flood refuses new unknown ids. */
async function reserveCounted(tx: SqlDb, village: string, villager: string, full: boolean, now: string, until: string): Promise<Reservation> {
  const known = (await villagerOf(tx, villager))?.village === village;
  const key = known ? villagerKey(village, villager) : unknownVillagerKey(village, villager);
  const row = await readCount(tx, key);
  const f = row !== undefined && row.until_at > now ? Number(row.failures) : 0;
  if (f >= MAX_FAILURES) return { kind: 'locked', lockedFor: Date.parse(row!.until_at) - Date.parse(now) };
  // read for an unknown id too (none ever has one): the same work
  const flood = await readCount(tx, floodKey(village, villager));
  const q = flood && flood.until_at > now ? Number(flood.failures) : 0;
  if (f === 0 && full) {
    if (known && q < MAX_FAILURES) {
      await writeCount(tx, floodKey(village, villager), q + 1, until);
      return { kind: 'flood', ...(q + 1 === MAX_FAILURES ? { lock: { failures: MAX_FAILURES, source: 'flood', locked_until: until } } : {}) };
    }
    await writeAndTakeBack(tx, floodDecoyKey(village, villager), until);
    return { kind: 'busy' };
  }
  await writeCount(tx, key, f + 1, until);
  if (!known) return { kind: 'ok', counted: f + 1 };
  const lock = f + 1 === MAX_FAILURES ? { failures: MAX_FAILURES, source: 'normal' as const, locked_until: until }
    : q > 0 && q < MAX_FAILURES && f + 1 + q === MAX_FAILURES ? { failures: MAX_FAILURES, source: 'flood' as const, locked_until: flood!.until_at }
      : undefined;
  return { kind: guessesSpent(f, q) ? 'spent' : 'ok', counted: f + 1, ...(lock ? { lock } : {}) };
}

/** A villager's count. */
const villagerKey = (village: string, villager: string): string => `${village}/${villager}`;

/**
 * The count of an id nobody has in `village`: a key no villager's can be (a village id holds no
 * ':'), nor a staff name's (`staff-name:`, staff/login-counts.ts), so such counts are told apart.
 */
const UNKNOWN_PREFIX = 'no-villager:';
const unknownVillagerKey = (village: string, villager: string): string => `${UNKNOWN_PREFIX}${village}/${villager}`;
/** A villager's count kept during a flood (reserveAttempt), apart from their own and from unknown ids'. */
const floodKey = (village: string, villager: string): string => `in-flood:${village}/${villager}`;
/** The row written and taken back by an attempt refused in a flood (reserveAttempt). */
const floodDecoyKey = (village: string, villager: string): string => `in-flood-refused:${village}/${villager}`;

/** How many ids nobody has are counted or locked (those ended already purged): MAX_UNKNOWN_VILLAGER_COUNTS is a flood. */
async function unknownVillagersCounted(tx: SqlDb): Promise<number> {
  const n = (await tx.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM gov_login_failures WHERE login LIKE '${UNKNOWN_PREFIX}%'`))[0]?.n;
  return Number(n ?? 0);
}

/**
 * A flood's start and end (./login-flood.ts), each once in the town's audit log (subject
 * `villager-login-flood`, stamped with the ledger's clock) and, by loginWith, in the ledger's log
 * in both languages, as the first attempt that finds the ids full, or down below
 * VILLAGER_FLOOD_ENDS_BELOW, sees it. The mark's key is one no villager's, unknown id's or staff
 * name's can be.
 */
const VILLAGER_FLOOD: LoginFlood = {
  mark: 'villager-flood', subject: 'villager-login-flood', event: 'villager.login-flood',
  startsAt: MAX_UNKNOWN_VILLAGER_COUNTS, endsBelow: VILLAGER_FLOOD_ENDS_BELOW, detail: { unknown_ids_kept_at_most: MAX_UNKNOWN_VILLAGER_COUNTS },
  said: {
    start: `villager login flood started: ${MAX_UNKNOWN_VILLAGER_COUNTS} unknown villager ids were tried in the last 15 minutes; while that many are counted, new ones are refused (503 LOGIN_BUSY) and villagers with the right PIN or code still sign in; the flood is said to end once they are down below ${VILLAGER_FLOOD_ENDS_BELOW} / 村民登录洪泛开始：最近 15 分钟内尝试的未知村民编号已达 ${MAX_UNKNOWN_VILLAGER_COUNTS} 个；计数达到此数时新的编号被拒绝（503），密码或登录码正确的村民仍可登录；降到 ${VILLAGER_FLOOD_ENDS_BELOW} 个以下时记为洪泛结束`,
    end: `villager login flood ended: the unknown villager ids tried are down below ${VILLAGER_FLOOD_ENDS_BELOW} / 村民登录洪泛结束：尝试的未知村民编号已降到 ${VILLAGER_FLOOD_ENDS_BELOW} 个以下`,
  },
};

/**
 * The answer (503) during a flood to a login without a count of its own that signs nobody in: an
 * id nobody has, a villager's wrong PIN or code, a villager locked in the flood (reserveAttempt).
 * The same words for each, and true for each: the id and PIN could not be confirmed now.
 */
const busyRefusal = (field: GuessField) => new EdgeError(ErrorCode.LOGIN_BUSY,
  'this villager id and PIN (or code) cannot be checked now: too many villager ids were tried in the last 15 minutes; check the id and the PIN and try again later (villagers already signed in are not affected)',
  { zh: '最近 15 分钟内尝试登录的村民编号过多，暂时无法核对这个编号和密码（或登录码）；请核对村民编号和密码，稍后再试（已登录的村民不受影响）', details: { field: field === 'current_pin' ? field : 'villager', status: 503, retryAfterS: LOCK_MS / 1000 } });

/** Tries left from which a wrong answer says how many remain (还可再试 N 次); with more, it says only that it is wrong. */
export const TRIES_LEFT_SAID = 2;

/**
 * A wrong PIN or code (401), `left` tries before the lock, counted under the id's own key: the
 * same for an id nobody has at the same step (reserveAttempt), so the words tell no guesser which
 * ids exist. A villager whose guesses a flood spent hears an unknown id's count too ('spent').
 * The last one says the lock has come and for how long.
 */
function wrongRefusal(field: GuessField, left: number) {
  const what = WRONG_WORDS[field];
  // a signed-in villager's wrong current PIN is 403, as staff's wrong current password: 401 would say the session ended
  const status = field === 'current_pin' ? 403 : 401;
  if (left <= 0) {
    const m = minutes(LOCK_MS);
    return new EdgeError(ErrorCode.INVALID_ARGUMENT, `${what.en}; too many wrong tries: try again in about ${m} minutes`, { zh: `${what.zh}；错误次数过多，请约 ${m} 分钟后再试`, details: { field, status, retryAfterS: LOCK_MS / 1000 } });
  }
  if (left > TRIES_LEFT_SAID) return fieldError(field, what.en, what.zh, status);
  return fieldError(field, `${what.en}; ${left} ${left === 1 ? 'try' : 'tries'} left`, `${what.zh}，还可再试 ${left} 次`, status);
}
/** What a guess is: a login's PIN or code, or the current PIN of a villager changing it (pin-change.ts). */
export type GuessField = 'pin' | 'code' | 'current_pin';
const WRONG_WORDS: Record<GuessField, { en: string; zh: string }> = {
  pin: { en: 'wrong villager id or PIN', zh: '村民编号或密码不正确' },
  code: { en: 'wrong, used or expired one-time code', zh: '登录码不正确、已用过或已过期' },
  current_pin: { en: 'the current PIN is wrong', zh: '当前密码不正确' },
};

/** A login refused while locked (429): when to come back, from the lock's remaining `ms`, in minutes and in Retry-After. */
function lockedRefusal(field: GuessField, ms: number) {
  const m = minutes(ms);
  return new EdgeError(ErrorCode.INVALID_ARGUMENT, `too many wrong PINs or codes; try again in about ${m} ${m === 1 ? 'minute' : 'minutes'}`, { zh: `密码错误次数过多，请约 ${m} 分钟后再试`, details: { field, status: 429, retryAfterS: Math.max(1, Math.ceil(ms / 1000)) } });
}
const minutes = (ms: number): number => Math.max(1, Math.ceil(ms / 60_000));

/** What a PIN or code check found: wrong (or no such villager here), or right for a villager in `status`. */
export type LoginCheck = { right: false } | { right: true; status: VillagerBody['status'] };
export const WRONG: LoginCheck = { right: false };

/** The right PIN or code of a villager who may not sign in: which status, and whom to see. */
function inactiveRefusal(status: 'blocked' | 'left', by: 'pin' | 'code') {
  const right = by === 'pin' ? { en: 'the PIN is right', zh: '密码正确' } : { en: 'the code is right (and still unused)', zh: '登录码正确（仍可使用）' };
  return status === 'blocked'
    ? fieldError('villager', `${right.en}, but this account is blocked (已冻结) for now and cannot sign in; ask the village committee to unblock it`, `${right.zh}，但您的账户已冻结，暂时不能登录，请联系村委会`, 403, ErrorCode.VILLAGER_INACTIVE)
    : fieldError('villager', `${right.en}, but this villager has left the village (已离村) and the account no longer signs in; ask the village committee`, `${right.zh}，但您已离村，账户不能再登录，如有疑问请联系村委会`, 403, ErrorCode.VILLAGER_INACTIVE);
}

const sha = (s: string) => createHash('sha256').update(s).digest('base64url');
