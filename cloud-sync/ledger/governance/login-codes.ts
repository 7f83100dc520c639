/**
 * One-time login codes (一次性登录码): for a villager without a PIN (or who forgot it), the
 * village prints a code on a slip. A code logs in once, before it expires, and is kept only
 * as a scrypt hash (like a PIN): the ledger's database never holds a code that still works.
 * Codes are 8 characters of an alphabet without 0/O, 1/I/L (read off paper), about 40 bits.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { endVillagerSessions, villagerOf } from '../tables.ts';
import { audit, byStaff, fieldError } from './rules.ts';
import { hashPin, verifyPin, WRONG, type LoginCheck } from './auth.ts';
import { answerKept, keepAnswer, replaceAnswer, sending } from './request-ids.ts';

export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const CODE_DAYS_DEFAULT = 7;
/** Unused codes a villager may hold at once: every code login costs this many scrypts (useLoginCode). */
const MAX_OPEN_CODES = 3;

/** `ABCD-EFGH` as printed; typed in any case, with or without the dash or spaces. */
export function normalizeCode(text: string): string {
  return text.toUpperCase().replace(/[\s-]/g, '');
}

/** What `gov_requests` keeps of a code issued under a request id: which row it is, never the code. */
interface IssuedUnder { villager: string; code_id: string; expires_at: string }

/**
 * Issues a code. With a `request` id (request-ids.ts) the same form sent again issues no second
 * code beside the first: the ledger holds the first only hashed, so it cannot answer it again;
 * it voids it and answers a fresh one with the same expiry (`duplicate`). One code per form works,
 * the one the last answer shows. Once the form's code signed in (or was voided, or expired), a
 * resend is refused: a lost answer's code cannot have been used, so that send is no resend.
 *
 * A new code ends the villager's sessions (`sessions_ended`, how many): the usual reason for one
 * is a lost or replaced phone, which would otherwise stay signed in for up to 12 hours.
 */
export async function issueLoginCode(db: SqlDb, village: string, villager: string, days: number, actor: string, now: Date, request?: string, by?: string): Promise<{ code: string; expires_at: string; duplicate: boolean; sessions_ended: number }> {
  const raw = Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
  const hash = await hashPin(raw);
  const sent = request === undefined ? undefined : sending(actor, request, village, 'login-code.issue', { villager, valid_days: days });
  const issued = await db.transaction(async (tx) => {
    const held = sent && await answerKept<IssuedUnder>(tx, sent);
    const v = await villagerOf(tx, villager);
    if (!v || v.village !== village) throw fieldError('villager', `no villager ${villager} in this village`, `本村没有村民 ${villager}`, 404, ErrorCode.UNKNOWN_VILLAGER);
    // A slip that cannot sign in is not printed: the login would refuse it (auth.ts).
    if (v.status !== 'active') throw inactive(villager, v.status);
    let expires = new Date(now.getTime() + days * 86_400_000).toISOString();
    if (held) {
      const voided = await tx.run('UPDATE gov_login_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2', [held.code_id, now.toISOString()]);
      if (voided !== 1) throw spent(sent.request, villager);
      expires = held.expires_at;
    }
    const open = await tx.query<{ id: string }>('SELECT id FROM gov_login_codes WHERE villager_id = $1 AND used_at IS NULL AND expires_at > $2 ORDER BY created_at', [villager, now.toISOString()]);
    // The oldest open codes are voided (marked used) so that at most MAX_OPEN_CODES work.
    for (const old of open.slice(0, Math.max(0, open.length - MAX_OPEN_CODES + 1))) await tx.run('UPDATE gov_login_codes SET used_at = $2 WHERE id = $1', [old.id, now.toISOString()]);
    const id = randomUUID();
    await tx.run('INSERT INTO gov_login_codes (id, village, villager_id, code_hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [id, village, villager, hash, actor, now.toISOString(), expires]);
    // the usual reason for a new code is a lost or replaced phone: the phones signed in before are signed out
    const ended = await endVillagerSessions(tx, villager);
    await audit(tx, village, `villager:${villager}`, 'login-code.issue', actor, { expires_at: expires, sessions_ended: ended, ...(request ? { request } : {}), ...(held ? { voids: 'the code issued before for this request' } : {}), ...byStaff(by) }, now);
    const kept: IssuedUnder = { villager, code_id: id, expires_at: expires };
    if (held) await replaceAnswer(tx, sent, kept);
    else if (sent) await keepAnswer(tx, sent, kept, now);
    return { expires, duplicate: held !== undefined, ended };
  });
  return { code: `${raw.slice(0, 4)}-${raw.slice(4)}`, expires_at: issued.expires, duplicate: issued.duplicate, sessions_ended: issued.ended };
}

/**
 * 结束该村民所有手机登录: the village office signs `villager` out of every phone (a lost one keeps
 * spending points otherwise, for up to 12 hours), without a block, which would also keep him out
 * of the store; his PIN and open codes still sign in. Answers how many sessions ended; audited
 * (`villager.sign-out`, with the staff account signed in as `by`) even when none did, so the log
 * shows who in the office acted. A store-door QR code
 * the lost phone already shows is not recalled: it lives out its 90 seconds (qr.ts).
 */
export async function signOutVillager(db: SqlDb, village: string, villager: string, actor: string, now: Date, by?: string): Promise<number> {
  return db.transaction(async (tx) => {
    const v = await villagerOf(tx, villager);
    if (!v || v.village !== village) throw fieldError('villager', `no villager ${villager} in this village`, `本村没有村民 ${villager}`, 404, ErrorCode.UNKNOWN_VILLAGER);
    const ended = await endVillagerSessions(tx, villager);
    await audit(tx, village, `villager:${villager}`, 'villager.sign-out', actor, { sessions_ended: ended, ...(by ? { by } : {}) }, now);
    return ended;
  });
}

const spent = (request: string, villager: string) => fieldError('request',
  `request ${request} issued a login code for villager ${villager} that has since been used, voided or expired; nothing was issued: a new code needs a new request id`,
  `这张表单发的登录码已经用过或已失效，未再发码；如需新的登录码，请重新打开页面再发`, 409, ErrorCode.DUPLICATE_ID);

const inactive = (villager: string, status: 'blocked' | 'left') => (status === 'left'
  ? fieldError('villager', `villager ${villager} has left the village (status left): a login code could never sign in`, `村民 ${villager} 已离村，不能发登录码`, 409, ErrorCode.VILLAGER_INACTIVE)
  : fieldError('villager', `villager ${villager} is blocked (status blocked): a login code cannot sign in until the village unblocks them; unblock first`, `村民 ${villager} 已冻结，不能发登录码，请先解除冻结`, 409, ErrorCode.VILLAGER_INACTIVE));

/**
 * Right when `code` is an open code of this villager; it is then used up (once, even when two
 * logins race), unless the villager may not sign in now (blocked, left): the code stays open
 * for after an unblock, and the login says why it signs nobody in (auth.ts).
 *
 * Every call costs MAX_OPEN_CODES scrypts, right or wrong, whatever the villager holds: each open
 * code is checked without stopping at a match, and dummy hashes make up the rest. Otherwise the
 * time of a login with a made-up code would tell an outsider which villagers hold printed slips.
 * Without `spend` it is a check for its work only (a login refused in a flood, auth.ts): a right
 * code is neither used up nor answered right.
 */
export async function useLoginCode(db: SqlDb, village: string, villager: string, code: string, now: Date, spend = true): Promise<LoginCheck> {
  const typed = normalizeCode(code);
  const v = await villagerOf(db, villager);
  // the newest MAX_OPEN_CODES: issuing voids the older ones, but two issued at once may leave one more
  const open = v && v.village === village
    ? await db.query<{ id: string; code_hash: string }>('SELECT id, code_hash FROM gov_login_codes WHERE villager_id = $1 AND village = $2 AND used_at IS NULL AND expires_at > $3 ORDER BY created_at DESC LIMIT $4', [villager, village, now.toISOString(), MAX_OPEN_CODES])
    : [];
  let match: { id: string } | undefined;
  for (let k = 0; k < MAX_OPEN_CODES; k++) {
    const row = open[k];
    if (!row) {
      await hashPin(typed);
      continue;
    }
    if ((await verifyPin(typed, row.code_hash)) && !match) match = row;
  }
  if (!v || !match || !spend) return WRONG;
  if (v.status !== 'active') return { right: true, status: v.status };
  const used = await db.run('UPDATE gov_login_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL', [match.id, now.toISOString()]);
  if (used !== 1) return WRONG;
  await audit(db, village, `villager:${villager}`, 'login-code.use', `villager:${villager}`, {}, now);
  return { right: true, status: v.status };
}
