/**
 * Managing the ledger's staff accounts (the /accounts page and the JSON API under /api/staff):
 * list, add, set a new password, unlock, disable and enable. The town manages every account; a
 * village account only its own village's, and an account it may not manage answers 404, as if it
 * did not exist (a town account too). Nobody disables their own account, and the last working
 * town account is never disabled (accounts.ts), so nobody locks the town out of its pages. A
 * person setting their own password gives the current one too. Every change is a step of the
 * audit log (accounts.ts), with the signed-in person who made it (`by`).
 */
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashPassword, passwordWeakness, USERNAME, verifyPassword } from '../../../lib/passwords.ts';
import { ErrorCode } from '../../../edge/errors.ts';
import { fieldError } from '../governance/rules.ts';
import { actorOf, Id, type AttemptLimit, type GovApp, type GovDeps, type Principal } from '../governance/access.ts';
import { addStaff, getStaff, listStaff, setStaffDisabled, setStaffPassword, unlockStaff, type StaffAccount, type StaffRole } from './accounts.ts';
import { isLocked, lockedRefusal, releaseLoginAttempt, reserveLoginAttempt, settleFailedLogin } from './login-counts.ts';

const Password = Type.String({ maxLength: 200 });
export const NewAccount = {
  username: Type.String({ maxLength: 64 }),
  display_name: Type.String({ maxLength: 200 }),
  role: Type.Union([Type.Literal('town'), Type.Literal('village')]),
  village: Type.Optional(Id),
  password: Password,
  password_confirm: Type.Optional(Password),
};
const Params = Type.Object({ username: Type.String({ maxLength: 64 }) });

/** The fields of a new account, the first wrong one named. */
export function checkAccount(b: { username: string; display_name: string; role: StaffRole; village?: string | undefined; password: string; password_confirm?: string | undefined }): void {
  if (!USERNAME.test(b.username)) throw fieldError('username', '2 to 32 lower-case letters, digits, . _ -', '用户名须为 2–32 位小写字母、数字或 . _ -');
  const name = b.display_name.trim();
  if (name.length < 1 || name.length > 100) throw fieldError('display_name', 'a name of 1 to 100 characters', '请填写姓名（1–100 字）');
  if (b.role === 'village' && !b.village) throw fieldError('village', 'a village account names its village', '村级账号须指明所属村');
  if (b.role === 'town' && b.village) throw fieldError('village', 'a town account belongs to no village', '镇级账号不属于某个村');
  checkPassword(b);
}

function checkPassword(b: { password: string; password_confirm?: string | undefined }): void {
  const weak = passwordWeakness(b.password);
  if (weak) throw fieldError('password', weak.message, weak.zh);
  if (b.password_confirm !== undefined && b.password_confirm !== b.password) throw fieldError('password_confirm', 'the two passwords differ', '两次输入的密码不一致');
}

export interface AccountRouteDeps extends GovDeps {
  /** Opens a new session for this browser (after a person set their own password, which ends every session of theirs). */
  signIn(req: FastifyRequest, reply: FastifyReply, a: StaffAccount): Promise<{ csrf: string }>;
  /** The staff login's limit per address, which one's own password change shares (routes.ts). */
  passwordAttempts: AttemptLimit;
}

export function registerStaffAccountRoutes(app: GovApp, deps: AccountRouteDeps): void {
  /** Town or village staff (a person signed in, or a machine's token); a villager is no staff. */
  const staff = (req: FastifyRequest): Exclude<Principal, { role: 'villager' }> => {
    const p = deps.principal(req);
    if (p?.role === 'town' || p?.role === 'village') return p;
    throw fieldError('role', 'only staff manage accounts', '只有镇村工作人员可以管理账号', 403);
  };
  /** The account, if the caller may manage it; else 404, as if it did not exist. */
  const managed = async (req: FastifyRequest, username: string) => {
    const p = staff(req);
    const a = await getStaff(deps.db, username);
    if (!a || (p.role === 'village' && a.village !== p.village)) throw fieldError('username', `no account ${username}`, `没有账号 ${username}`, 404, ErrorCode.NOT_FOUND);
    const { password_hash: _h, ...account } = a;
    return { p, a: account, hash: a.password_hash, self: req.staffUser?.username === a.username };
  };
  /** Who did it, for the audit log: the person signed in, when it is one (a machine's token names no one). */
  const by = (req: FastifyRequest) => (req.staffUser ? { by: req.staffUser.username } : {});
  const view = (a: StaffAccount) => ({ ...a, locked: isLocked(a, deps.clock()) });

  /** The town lists every account, a village its own; with the villages it may give an account. */
  app.get('/api/staff', async (req, reply) => {
    const p = staff(req);
    reply.header('cache-control', 'no-store');
    const accounts = await listStaff(deps.db, p.role === 'village' ? p.village : undefined);
    const villages = p.role === 'town'
      ? await deps.db.query<{ id: string; name: string }>('SELECT id, name FROM villages ORDER BY id')
      : await deps.db.query<{ id: string; name: string }>('SELECT id, name FROM villages WHERE id = $1', [p.village]);
    return { accounts: accounts.map(view), villages, me: req.staffUser?.username ?? null };
  });

  /** The town adds any account; a village accounts of its own village only. */
  app.post('/api/staff', { schema: { body: Type.Object(NewAccount, { additionalProperties: false }) } }, async (req, reply) => {
    const p = staff(req);
    const b = req.body;
    if (p.role === 'village' && b.role !== 'village') throw fieldError('role', 'a village account adds village accounts only; town accounts are the town\'s', '村级账号只能添加本村的村级账号，镇级账号由镇里添加', 403);
    if (p.role === 'village' && b.village !== undefined && b.village !== p.village) throw fieldError('village', 'a village account adds accounts of its own village only', '村级账号只能为本村添加账号', 403);
    checkAccount(b);
    const a = await addStaff(deps.db, { username: b.username, display_name: b.display_name.trim(), role: b.role, village: b.village ?? null, password_hash: await hashPassword(b.password) }, actorOf(p), deps.clock(), { detail: by(req) });
    return reply.status(201).send(view(a));
  });

  /**
   * A new password: unlocks the account and ends its sessions. One's own needs the current
   * password, and this browser is signed in again with the new one. That check is a login's: the
   * same lock (a locked account answers 423, even for the right password; a wrong one counts
   * towards it, before the scrypt) and the same limit per address, counted with the login's, so a
   * stolen session guesses no faster than the login page. Setting another's password checks none
   * and is not counted.
   */
  app.put('/api/staff/:username/password', {
    // Only one's own change checks a password (the current one), so only it counts as an attempt.
    onRequest: async (req, reply) => (req.staffUser !== null && req.staffUser.username === req.params.username ? deps.passwordAttempts(req, reply) : undefined),
    schema: { params: Params, body: Type.Object({ password: Password, password_confirm: Type.Optional(Password), current_password: Type.Optional(Password) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    const { p, a, hash, self } = await managed(req, req.params.username);
    const b = req.body;
    if (self) {
      if (!b.current_password) throw fieldError('current_password', 'give your current password to set a new one', '修改自己的密码须输入当前密码');
      const reserved = await reserveLoginAttempt(deps.db, a.username, deps.clock(), { signedIn: true, log: req.log });
      if (!reserved.ok) return reply.status(423).send(lockedRefusal('locked_until' in reserved ? reserved.locked_until : null));
      if (!(await verifyPassword(b.current_password, hash))) {
        await settleFailedLogin(deps.db, a.username, deps.clock());
        throw fieldError('current_password', 'the current password is wrong', '当前密码不正确', 403);
      }
      // Right: the attempt no longer counts, whatever follows (a new password too short is not a wrong guess).
      await releaseLoginAttempt(deps.db, a.username);
    }
    checkPassword(b);
    await setStaffPassword(deps.db, a.username, await hashPassword(b.password), actorOf(p), deps.clock(), by(req));
    if (!self) return { username: a.username, password_set: true };
    const s = await deps.signIn(req, reply, a);
    return { username: a.username, password_set: true, csrf: s.csrf };
  });

  /** Lifts a lockout after wrong passwords. */
  app.post('/api/staff/:username/unlock', { schema: { params: Params } }, async (req) => {
    const { p, a } = await managed(req, req.params.username);
    await unlockStaff(deps.db, a.username, actorOf(p), deps.clock(), by(req));
    return { username: a.username, unlocked: true };
  });

  for (const disabled of [true, false]) {
    app.post(`/api/staff/:username/${disabled ? 'disable' : 'enable'}`, { schema: { params: Params } }, async (req) => {
      const { p, a, self } = await managed(req, req.params.username);
      if (disabled && self) throw fieldError('username', 'you cannot disable the account you are signed in with', '不能停用自己正在使用的账号', 409);
      const changed = await setStaffDisabled(deps.db, a.username, disabled, actorOf(p), deps.clock(), by(req));
      return { username: a.username, disabled, changed };
    });
  }
}
