/**
 * 改密码: a villager signed in changes their own PIN (`PUT /api/villages/:v/me/pin`), on the
 * phone page or by a bearer token, with the current PIN and the new one twice.
 *
 * - The new PIN follows the village's rule for the PINs it sets (errors.ts PIN_PATTERN: 4 to 8
 *   digits), refused by the schema (400, both languages, on `pin`); two that differ are 400 on
 *   `pin_confirm`. Bad input is refused before the current PIN is checked, so it counts nothing.
 * - The current PIN is checked as a login's PIN is (auth.ts `attempt`): counted first, in the same
 *   count as the villager's logins, so five wrong ones, logins and changes together, lock both for
 *   15 minutes (403 on `current_pin`, 还可再试 N 次 at two or fewer, then 429 with the minutes).
 *   A villager without a PIN (signed in by a one-time code) is told to ask the village office
 *   (409), not counted: there is no PIN to guess.
 * - Done: every other session of the villager ends (a neighbour who knew the old PIN, a lost
 *   phone), as a new PIN set by the village or a new login code ends them, and the session that
 *   changed it stays signed in; audited `pin.change` with `sessions_ended`.
 * The route takes the villagers' login rate limit (api.ts): an address's attempts at a PIN count
 * together, logins and changes.
 */
import { Type } from '@fastify/type-provider-typebox';
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { villagerOf } from '../tables.ts';
import { hashPin, verifyPin, WRONG, type VillagerSessions } from './auth.ts';
import { audit, fieldError } from './rules.ts';
import { gate, Pin, VillageParams, type AttemptLimit, type GovApp, type GovDeps, type Principal } from './access.ts';

const PinChange = Type.Object({
  current_pin: Type.String({ minLength: 1, maxLength: 8 }),
  pin: Pin,
  pin_confirm: Type.String({ maxLength: 8 }),
}, { additionalProperties: false });

export function registerPinChange(app: GovApp, deps: GovDeps, limit: AttemptLimit): void {
  app.put('/api/villages/:village/me/pin', { onRequest: limit, schema: { params: VillageParams, body: PinChange } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'villager') as Extract<Principal, { role: 'villager' }>;
    const session = req.villagerSession;
    if (!session) throw fieldError('session', 'not signed in', '尚未登录或登录已过期，请重新登录', 401);
    const { current_pin, pin, pin_confirm } = req.body;
    if (pin_confirm !== pin) throw fieldError('pin_confirm', 'the two new PINs differ; type the new PIN again', '两次输入的新密码不一致，请重新输入');
    const ended = await changeOwnPin(deps.db, deps.sessions, p.village, p.villager, current_pin, pin, session.tokenHash, deps.clock);
    return { villager: p.villager, sessions_ended: ended };
  });
}

/** Checks `current` (counted as a login), sets `pin`, ends the villager's sessions but `keep` (a token hash); answers how many ended. */
export async function changeOwnPin(db: SqlDb, sessions: VillagerSessions, village: string, villager: string, current: string, pin: string, keep: string, clock: () => Date): Promise<number> {
  const stored = async () => (await db.query<{ pin_hash: string }>('SELECT pin_hash FROM gov_pins WHERE villager_id = $1', [villager]))[0]?.pin_hash;
  if ((await stored()) === undefined) throw noPin();
  let checked: string | undefined; // the stored hash the current PIN was checked against
  const status = await sessions.attempt(village, villager, 'current_pin', async () => {
    const hash = await stored();
    const v = await villagerOf(db, villager);
    if (!v || v.village !== village || hash === undefined) return (await hashPin(current), WRONG);
    if (!(await verifyPin(current, hash))) return WRONG;
    checked = hash;
    return { right: true, status: v.status };
  });
  if (status !== 'active') throw fieldError('villager', 'this account is blocked or has left the village; ask the village committee', '您的账户已冻结或已离村，请联系村委会', 403, ErrorCode.VILLAGER_INACTIVE);
  const hash = await hashPin(pin);
  const now = clock();
  return db.transaction(async (tx) => {
    // signed out meanwhile (the office's 退出手机, a block): that session changes nothing
    if ((await tx.query('SELECT 1 AS one FROM gov_sessions WHERE token_hash = $1 AND villager_id = $2', [keep, villager])).length === 0) {
      throw fieldError('session', 'this session has ended; sign in again', '登录已结束，请重新登录', 401);
    }
    // Only over the PIN just checked: a change from another phone or the office's 设置密码 that
    // landed between the check and here wins, and this one is refused rather than overwriting it.
    const set = await tx.run('UPDATE gov_pins SET pin_hash = $2, updated_at = $3 WHERE villager_id = $1 AND pin_hash = $4', [villager, hash, now.toISOString(), checked]);
    if (set === 0) throw changedMeanwhile();
    // whoever knew the old PIN is signed out with it; this phone stays. Sessions expired already
    // (cleared only at someone's login) go too but are not counted as phones signed out.
    const ended = await tx.run('DELETE FROM gov_sessions WHERE villager_id = $1 AND token_hash <> $2 AND expires_at > $3', [villager, keep, now.toISOString()]);
    await tx.run('DELETE FROM gov_sessions WHERE villager_id = $1 AND token_hash <> $2', [villager, keep]);
    await audit(tx, village, `villager:${villager}`, 'pin.change', `villager:${villager}`, { sessions_ended: ended }, now);
    return ended;
  });
}

const changedMeanwhile = () => fieldError('current_pin',
  'your PIN was changed meanwhile (on another phone or by the village office); sign in with the new PIN and try again',
  '您的密码刚刚已被修改（在另一部手机上或由村委会修改），请用新密码重新登录后再试', 409);

const noPin = () => fieldError('current_pin',
  'no PIN has been set for you yet (you signed in with a one-time code); the village office sets the first one',
  '您还没有设置过密码（是用一次性登录码登录的），第一次的密码请到村委会设置', 409);
