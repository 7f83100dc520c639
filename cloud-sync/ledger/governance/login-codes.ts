/**
 * One-time login codes (一次性登录码): for a villager without a PIN (or who forgot it), the
 * village prints a code on a slip. A code logs in once, before it expires, and is kept only
 * as a scrypt hash (like a PIN): the ledger's database never holds a code that still works.
 * Codes are 8 characters of an alphabet without 0/O, 1/I/L (read off paper), about 40 bits.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { villagerOf } from '../tables.ts';
import { audit, fieldError } from './rules.ts';
import { hashPin, verifyPin, WRONG, type LoginCheck } from './auth.ts';

export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const CODE_DAYS_DEFAULT = 7;
/** Unused codes a villager may hold at once: every code login costs this many scrypts (useLoginCode). */
const MAX_OPEN_CODES = 3;

/** `ABCD-EFGH` as printed; typed in any case, with or without the dash or spaces. */
export function normalizeCode(text: string): string {
  return text.toUpperCase().replace(/[\s-]/g, '');
}

export async function issueLoginCode(db: SqlDb, village: string, villager: string, days: number, actor: string, now: Date): Promise<{ code: string; expires_at: string }> {
  const raw = Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
  const hash = await hashPin(raw);
  const expires = new Date(now.getTime() + days * 86_400_000).toISOString();
  await db.transaction(async (tx) => {
    const v = await villagerOf(tx, villager);
    if (!v || v.village !== village) throw fieldError('villager', `no villager ${villager} in this village`, `本村没有村民 ${villager}`, 404, ErrorCode.UNKNOWN_VILLAGER);
    // A slip that cannot sign in is not printed: the login would refuse it (auth.ts).
    if (v.status !== 'active') throw inactive(villager, v.status);
    const open = await tx.query<{ id: string }>('SELECT id FROM gov_login_codes WHERE villager_id = $1 AND used_at IS NULL AND expires_at > $2 ORDER BY created_at', [villager, now.toISOString()]);
    // The oldest open codes are voided (marked used) so that at most MAX_OPEN_CODES work.
    for (const old of open.slice(0, Math.max(0, open.length - MAX_OPEN_CODES + 1))) await tx.run('UPDATE gov_login_codes SET used_at = $2 WHERE id = $1', [old.id, now.toISOString()]);
    await tx.run('INSERT INTO gov_login_codes (id, village, villager_id, code_hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [randomUUID(), village, villager, hash, actor, now.toISOString(), expires]);
    await audit(tx, village, `villager:${villager}`, 'login-code.issue', actor, { expires_at: expires }, now);
  });
  return { code: `${raw.slice(0, 4)}-${raw.slice(4)}`, expires_at: expires };
}

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
 */
export async function useLoginCode(db: SqlDb, village: string, villager: string, code: string, now: Date): Promise<LoginCheck> {
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
  if (!v || !match) return WRONG;
  if (v.status !== 'active') return { right: true, status: v.status };
  const used = await db.run('UPDATE gov_login_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL', [match.id, now.toISOString()]);
  if (used !== 1) return WRONG;
  await audit(db, village, `villager:${villager}`, 'login-code.use', `villager:${villager}`, {}, now);
  return { right: true, status: v.status };
}
