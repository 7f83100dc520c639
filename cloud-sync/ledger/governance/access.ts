/** Who the caller is, and what a role may do in a village (used by every governance route). */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import type { LedgerService } from '../service.ts';
import type { VillagerSessions } from './auth.ts';
import { fieldError } from './rules.ts';
import { PIN_PATTERN } from './errors.ts';

/**
 * `staff`: the staff account signed in to the pages (its user name); none for a machine's bearer
 * token. `token`: a bearer token's name, when the tokens file gives it one (run.ts loadTokens).
 */
export type Principal = { role: 'town'; staff?: string; token?: string } | { role: 'village'; village: string; staff?: string; token?: string } | { role: 'villager'; village: string; villager: string };
export type GovApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;
/**
 * One limit on attempts per client address for a group of routes (the villager logins; the staff
 * password checks): made once by `app.rateLimit` (@fastify/rate-limit) where the plugin is loaded,
 * and given to each route of the group as its `onRequest` hook, so the group counts together.
 * A route's own `config.rateLimit` counts per route, even with a `groupId` (@fastify/rate-limit
 * 11.2 keeps a store per route), which would give an address that many attempts per route.
 */
export type AttemptLimit = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
export interface GovDeps { db: SqlDb; service: LedgerService; sessions: VillagerSessions; principal: (req: FastifyRequest) => Principal | undefined; clock: () => Date }

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
export const VillageParams = Type.Object({ village: Id });
/** A PIN to set: the village's for a villager, the villager's own (errors.ts PIN_PATTERN). */
export const Pin = Type.String({ pattern: PIN_PATTERN });

export type Need = 'read' | 'manage' | 'villager' | 'member';
/**
 * The caller, if allowed `need` on `village`: `read` town or the village; `manage` the
 * village; `villager` a villager of it; `member` the village, the town or a villager of it.
 */
export function gate(deps: GovDeps, req: FastifyRequest, village: string, need: Need): Principal {
  const p = deps.principal(req);
  if (!p || (p.role !== 'town' && p.village !== village)) throw fieldError('village', 'no such village', '找不到该村', 404, ErrorCode.NOT_FOUND);
  const ok = need === 'member' || (need === 'read' && p.role !== 'villager') || (need === 'manage' && p.role === 'village') || (need === 'villager' && p.role === 'villager');
  if (!ok) {
    const zh = need === 'manage' ? (p.role === 'town' ? '镇级账号只能查看村里的数据' : '只有村级账号可以操作') : need === 'villager' ? '只有村民本人可以操作' : '村民只能查看自己的数据';
    throw fieldError('role', `the ${p.role} role may not do this`, zh, 403);
  }
  return p;
}

/** The audit's actor: a named token as `token:NAME` (the tokens file says its role and village), else the role (and village or villager). */
export const actorOf = (p: Principal): string => (p.role !== 'villager' && p.token !== undefined ? tokenFiler(p.token) : p.role === 'town' ? 'town' : p.role === 'village' ? `village:${p.village}` : `villager:${p.villager}`);
/** The staff account acting, signed in to the pages (town or village; undefined for a bearer token, a villager): the audit's `by`. */
export const staffOf = (p: Principal): string | undefined => (p.role === 'villager' ? undefined : p.staff);
/**
 * A named token as a filer (gov_claims.filed_by) and in the audit: `token:` and its name. No staff
 * user name holds a ':' (lib/passwords.ts USERNAME, checked by every way an account is made), so
 * it is never a staff account's.
 */
export const TOKEN_FILER = 'token:';
export const tokenFiler = (name: string): string => `${TOKEN_FILER}${name}`;
/**
 * Who files or approves a village record, for separation of duties (duties.ts): the staff account
 * signed in, or a named token (`token:NAME`); undefined for an unnamed token (nobody), the town, a villager.
 */
export const dutyOf = (p: Principal): string | undefined => (p.role !== 'village' ? undefined : p.staff ?? (p.token === undefined ? undefined : tokenFiler(p.token)));

/**
 * For a route whose body fields are all optional: no body at all (a POST with no content) is
 * an empty object, rather than 400 "body must be object" from the schema's check.
 */
export const emptyBodyIsObject = async (req: FastifyRequest): Promise<void> => {
  req.body ??= {};
};
