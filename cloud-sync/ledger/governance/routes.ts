/**
 * Governance routes: the rule library, villagers' PINs and login, a villager's own page, the
 * audit log; tasks and claims are in task-routes.ts. Who may do what:
 * - town: reads every village; writes the town-wide items only;
 * - village: reads and manages its own village (villagers, tasks, items, approvals);
 * - villager: reads their own points, history and claims; claims tasks and reports.
 * Another village's id in a URL answers 404, as if that village did not exist.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import { ErrorCode } from '../../../edge/errors.ts';
import { balanceOf, villagerOf } from '../tables.ts';
import { villagerDebt } from '../debts.ts';
import { madeAtSql, storeClockAheadFlagSql } from '../store-time.ts';
import { addItem, auditLog, changeItem, fieldError, inForce, ItemCode, ItemFieldsSchema, ItemInputSchema, itemVersions, latestItems, TOWN, villageItems } from './rules.ts';
import { setPin } from './auth.ts';
import { useLoginCode } from './login-codes.ts';
import { actorOf, gate, staffOf, Id, Pin, VillageParams, type AttemptLimit, type GovApp, type GovDeps, type Principal } from './access.ts';
import { listClaims } from './tasks.ts';
import { registerTaskRoutes } from './task-routes.ts';

export type { Principal } from './access.ts';

export function registerGovernance(app: GovApp, deps: GovDeps): void {
  /** The caller; `only`: what a caller other than the town is told it may not do (undefined: anyone signed in). */
  const town = (req: FastifyRequest, only?: { en: string; zh: string }): Principal => {
    const p = deps.principal(req);
    if (!p) throw fieldError('role', 'a valid bearer token is required', '需要有效的访问令牌', 401);
    if (only && p.role !== 'town') throw fieldError('role', only.en, only.zh, 403);
    return p;
  };
  const CHANGE_ITEMS = { en: 'only the town changes town-wide items', zh: '只有镇级账号可以修改全镇积分细则' };
  const READ_AUDIT = { en: 'only the town reads the town\'s audit log', zh: '只有镇级账号可以查看全镇的操作记录' };
  const Code = Type.Object({ code: ItemCode });

  // The town's items (every village rates under them unless it has an item of the same code).
  app.get('/api/town/items', async (req) => {
    town(req);
    return { items: await latestItems(deps.db, [TOWN]) };
  });
  app.post('/api/town/items', { schema: { body: ItemInputSchema } }, async (req, reply) => {
    const p = town(req, CHANGE_ITEMS);
    return reply.status(201).send(await addItem(deps.db, TOWN, req.body, actorOf(p), deps.clock(), staffOf(p)));
  });
  app.put('/api/town/items/:code', { schema: { params: Code, body: ItemFieldsSchema } }, async (req) => {
    const p = town(req, CHANGE_ITEMS);
    return changeItem(deps.db, TOWN, req.params.code, req.body, actorOf(p), deps.clock(), staffOf(p));
  });
  app.post('/api/town/items/:code/retire', { schema: { params: Code } }, async (req) => {
    const p = town(req, CHANGE_ITEMS);
    return changeItem(deps.db, TOWN, req.params.code, 'retire', actorOf(p), deps.clock(), staffOf(p));
  });
  app.get('/api/town/items/:code/versions', { schema: { params: Code } }, async (req) => {
    town(req);
    return { versions: await itemVersions(deps.db, TOWN, req.params.code) };
  });

  // A village's items: its own and the town's, those in force today (what a report or task may
  // name); with ?all=true the latest version of every one, retired and not yet active too.
  const VCode = Type.Object({ village: Id, code: ItemCode });
  app.get('/api/villages/:village/items', { schema: { params: VillageParams, querystring: Type.Object({ all: Type.Optional(Type.Boolean()) }) } }, async (req) => {
    gate(deps, req, req.params.village, 'member');
    const items = await villageItems(deps.db, req.params.village);
    const now = deps.clock();
    return { items: req.query.all ? items : items.filter((i) => inForce(i, now)) };
  });
  app.post('/api/villages/:village/items', { schema: { params: VillageParams, body: ItemInputSchema } }, async (req, reply) => {
    const p = gate(deps, req, req.params.village, 'manage');
    return reply.status(201).send(await addItem(deps.db, req.params.village, req.body, actorOf(p), deps.clock(), staffOf(p)));
  });
  app.put('/api/villages/:village/items/:code', { schema: { params: VCode, body: ItemFieldsSchema } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    return changeItem(deps.db, req.params.village, req.params.code, req.body, actorOf(p), deps.clock(), staffOf(p));
  });
  app.post('/api/villages/:village/items/:code/retire', { schema: { params: VCode } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    return changeItem(deps.db, req.params.village, req.params.code, 'retire', actorOf(p), deps.clock(), staffOf(p));
  });
  app.get('/api/villages/:village/items/:code/versions', { schema: { params: VCode } }, async (req) => {
    gate(deps, req, req.params.village, 'member');
    const own = await itemVersions(deps.db, req.params.village, req.params.code);
    const versions = own.length > 0 ? own : await itemVersions(deps.db, TOWN, req.params.code);
    if (versions.length === 0) throw fieldError('code', `no rule item ${req.params.code}`, `没有积分细则 ${req.params.code}`, 404, ErrorCode.NOT_FOUND);
    return { versions };
  });

  // Villagers' PINs and login.
  app.put('/api/villages/:village/villagers/:id/pin', {
    schema: { params: Type.Object({ village: Id, id: Id }), body: Type.Object({ pin: Pin }, { additionalProperties: false }) },
  }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    await setPin(deps.db, req.params.village, req.params.id, req.body.pin, actorOf(p), deps.clock(), staffOf(p));
    return { villager: req.params.id };
  });
  // A villager's own page: balance, history with reasons, claims.
  app.get('/api/villages/:village/me', { schema: { params: VillageParams } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'villager') as Extract<Principal, { role: 'villager' }>;
    const v = await villagerOf(deps.db, p.villager);
    // a store's entry by its clock, but not beyond its receipt plus the allowed skew, as the
    // passbook (villager-routes.ts); such an entry says so (`store_clock_ahead`), the page marks it
    // A reversal (冲正, an adjustment whose `reference` is the entry it undoes) names that entry
    // (`reverses`: its reason, date and points), as the passbook does, even when it is older than the lines shown.
    const history = await deps.db.query<{ id: string; kind: string; points: number | string; reason: string | null; reference: string | null; created_at: string; clock_ahead: number | string; r_reason: string | null; r_at: string | null; r_points: number | string | null }>(
      `SELECT e.id, e.kind, e.points, e.reason, e.reference, ${madeAtSql(deps.db, 'e.')} AS created_at, ${storeClockAheadFlagSql(deps.db, 'e.')} AS clock_ahead,
              r.reason AS r_reason, ${madeAtSql(deps.db, 'r.')} AS r_at, r.points AS r_points
         FROM entries e LEFT JOIN entries r ON e.kind = 'adjustment' AND r.id = e.reference AND r.villager_id = e.villager_id AND r.village = e.village
        WHERE e.villager_id = $1 AND e.village = $2 ORDER BY e.seq DESC LIMIT 500`, [p.villager, p.village]);
    return {
      villager: p.villager, name: v?.name, balance: await balanceOf(deps.db, p.villager),
      // what they owe the stores beside it, in all and per store (../debts.ts): the page says 还欠 N 分
      ...(await villagerDebt(deps.db, p.village, p.villager)),
      history: history.map(({ clock_ahead, r_reason, r_at, r_points, ...h }) => ({
        ...h, points: Number(h.points), store_clock_ahead: Number(clock_ahead) === 1,
        reverses: r_at === null ? null : { reason: r_reason, date: r_at, points: Number(r_points) },
      })),
      claims: await listClaims(deps.db, p.village, { villager: p.villager }),
    };
  });

  app.get('/api/town/audit', { schema: { querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }) } }, async (req) => {
    town(req, READ_AUDIT);
    return { events: await auditLog(deps.db, TOWN, req.query.limit ?? 200) };
  });
  app.get('/api/villages/:village/audit', { schema: { params: VillageParams, querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }) } }, async (req) => {
    gate(deps, req, req.params.village, 'read');
    return { events: await auditLog(deps.db, req.params.village, req.query.limit ?? 200) };
  });

  registerTaskRoutes(app, deps);
}

/**
 * The villagers' login (this one and the page's /m/login): `limit` is the one both routes take
 * (api.ts makes it, with villagerLoginLimit), so each address gets VILLAGER_LOGIN_RATE_PER_MINUTE
 * attempts a minute on the two together, every villager together, beside the lock of each
 * villager (auth.ts).
 */
export function registerVillagerLogin(app: GovApp, deps: GovDeps, limit: AttemptLimit): void {
  // By PIN, or by a one-time code the village printed (used up by this login).
  app.post('/api/villager/login', {
    onRequest: limit,
    schema: { body: Type.Object({ village: Id, villager: Id, pin: Type.Optional(Type.String({ minLength: 1, maxLength: 8 })), code: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })) }, { additionalProperties: false }) },
  }, async (req) => {
    const { village, villager, pin, code } = req.body;
    if ((pin === undefined) === (code === undefined)) throw fieldError(pin === undefined ? 'pin' : 'code', 'give either a PIN or a one-time code', '请输入密码或一次性登录码（二选一）');
    if (pin !== undefined) return deps.sessions.login(deps.db, village, villager, pin);
    return deps.sessions.loginWith(village, villager, 'code', (spend) => useLoginCode(deps.db, village, villager, code!, deps.clock(), spend));
  });
}
