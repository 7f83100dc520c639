/**
 * The village ledger's JSON API (fastify). Bearer-token auth with two staff roles: `town` sees
 * and acts on every village; `village` only on its own — another village's data answers 404,
 * as if it did not exist. Awards made here are signed and published to the village's stores.
 * Points governance (governance/) adds a third role, the villager, by session token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isEdgeError, ErrorCode } from '../../edge/errors.ts';
import type { Logger } from '../../edge/log.ts';
import type { SqlDb } from './sql.ts';
import type { LedgerService } from './service.ts';
import { registerGovernance, type Principal } from './governance/routes.ts';
import { VillagerSessions } from './governance/auth.ts';
import { validationError } from './governance/errors.ts';
import { registerBoardRoutes } from './board/routes.ts';
import type { BoardPublisher } from './board/publisher.ts';
import { addVillage, balanceOf, listStores, registerStore, villageSeq, villagerOf } from './tables.ts';
import { COMMANDS } from '../protocol/payloads.ts';
import { publicEd25519 } from '../protocol/sign.ts';

export type Role = 'village' | 'town';
export interface ApiToken { token: string; role: Role; village?: string }

const sha = (s: string) => createHash('sha256').update(s).digest();
const VillageId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const Params = Type.Object({ village: VillageId });

export function buildLedgerApi(deps: { db: SqlDb; service: LedgerService; tokens: ApiToken[]; log: Logger; clock?: () => Date; board?: BoardPublisher }): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.log.child({}, { level: 'warn' }) as FastifyBaseLogger, bodyLimit: 256 * 1024 }).withTypeProvider<TypeBoxTypeProvider>();
  const tokens = deps.tokens.map((t) => ({ ...t, hash: sha(t.token) }));
  const who = (req: FastifyRequest): (ApiToken & { hash: Buffer }) | undefined => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const h = sha(m[1]!);
    return tokens.find((t) => timingSafeEqual(t.hash, h));
  };
  const mayRead = (req: FastifyRequest, village: string) => {
    const t = who(req);
    return t !== undefined && (t.role === 'town' || t.village === village);
  };
  const sessions = new VillagerSessions();
  const principal = (req: FastifyRequest): Principal | undefined => {
    const t = who(req);
    if (t) return t.role === 'town' ? { role: 'town' } : { role: 'village', village: t.village! };
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const s = m ? sessions.of(m[1]!) : undefined;
    return s && { role: 'villager', village: s.village, villager: s.villager };
  };

  app.setErrorHandler((err, _req, reply) => {
    if (isEdgeError(err)) {
      const given = err.details?.status;
      const status = typeof given === 'number' ? given : err.code === ErrorCode.NOT_FOUND || err.code === ErrorCode.UNKNOWN_VILLAGER ? 404 : err.code === ErrorCode.DUPLICATE_ID ? 409 : 400;
      return reply.status(status).send({ error: err.code, message: err.message, zh: err.zh, ...(err.details?.field ? { field: err.details.field } : {}) });
    }
    const e = err as { statusCode?: number; message?: string };
    if (e.statusCode === 400) return reply.status(400).send({ error: ErrorCode.INVALID_ARGUMENT, ...validationError(err) });
    deps.log.error({ err }, 'ledger API error / 村账本接口错误');
    return reply.status(500).send({ error: ErrorCode.INTERNAL, message: 'internal error', zh: '内部错误' });
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.url === '/api/villager/login') return;
    if (!principal(req)) return reply.status(401).send({ error: 'UNAUTHORIZED', message: 'a valid bearer token is required', zh: '需要有效的访问令牌' });
  });
  const notFound = { error: ErrorCode.NOT_FOUND, message: 'no such village', zh: '找不到该村' };

  app.post('/api/villages', { schema: { body: Type.Object({ id: VillageId, name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }) } }, async (req, reply) => {
    if (who(req)?.role !== 'town') return reply.status(403).send({ error: 'FORBIDDEN', message: 'only the town creates villages', zh: '只有镇级账号可以新建村' });
    await addVillage(deps.db, req.body.id, req.body.name, new Date().toISOString());
    return reply.status(201).send({ id: req.body.id });
  });

  app.put('/api/villages/:village/villagers/:id', {
    schema: { params: Type.Object({ village: VillageId, id: VillageId }), body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('blocked'), Type.Literal('left')])) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    if (!mayRead(req, req.params.village)) return reply.status(404).send(notFound);
    const published = await deps.service.putVillager({ id: req.params.id, name: req.body.name, village: req.params.village, status: req.body.status ?? 'active' });
    return { id: req.params.id, published };
  });

  app.get('/api/villages/:village/villagers/:id', { schema: { params: Type.Object({ village: VillageId, id: VillageId }) } }, async (req, reply) => {
    const v = await villagerOf(deps.db, req.params.id);
    if (!mayRead(req, req.params.village) || !v || v.village !== req.params.village) return reply.status(404).send({ error: ErrorCode.UNKNOWN_VILLAGER, message: 'no such villager', zh: '找不到该村民' });
    return { ...v, balance: await balanceOf(deps.db, v.id) };
  });

  app.post('/api/villages/:village/entries', {
    schema: {
      params: Params,
      body: Type.Object({
        id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:#@-]+$' }),
        villager: VillageId,
        kind: Type.Union([Type.Literal('award'), Type.Literal('penalty')]),
        points: Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 }),
        reason: Type.String({ minLength: 1, maxLength: 500 }),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    if (!mayRead(req, req.params.village)) return reply.status(404).send(notFound);
    const b = req.body;
    if ((b.kind === 'award') !== (b.points > 0) || b.points === 0) return reply.status(400).send({ error: ErrorCode.INVALID_ARGUMENT, message: 'an award is positive, a penalty negative', zh: '奖励积分须为正数，扣分须为负数' });
    const r = await deps.service.award(req.params.village, { id: b.id, villager: b.villager, kind: b.kind, points: b.points, reason: b.reason, created_at: new Date().toISOString() });
    return reply.status(r.duplicate ? 200 : 201).send({ id: b.id, duplicate: r.duplicate, published: r.published, balance: await balanceOf(deps.db, b.villager) });
  });

  app.post('/api/villages/:village/commands', {
    schema: { params: Params, body: Type.Object({ command: Type.Union(COMMANDS.map((c) => Type.Literal(c))), store: Type.Optional(VillageId), villager: Type.Optional(VillageId) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    if (!mayRead(req, req.params.village)) return reply.status(404).send(notFound);
    return { published: await deps.service.publishOnStream(req.params.village, 'command', req.body) };
  });

  app.put('/api/villages/:village/stores/:id', {
    schema: { params: Type.Object({ village: VillageId, id: VillageId }), body: Type.Object({ key_id: Type.String({ minLength: 1, maxLength: 64 }), public_key: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    if (!mayRead(req, req.params.village)) return reply.status(404).send(notFound);
    try {
      publicEd25519(req.body.public_key);
    } catch {
      return reply.status(400).send({ error: ErrorCode.INVALID_ARGUMENT, message: 'public_key is not an Ed25519 public key in PEM', zh: '门店公钥不是 Ed25519 PEM 格式' });
    }
    await registerStore(deps.db, req.params.village, req.params.id, req.body.key_id, req.body.public_key);
    return { id: req.params.id };
  });

  app.get('/api/villages/:village/sync', { schema: { params: Params } }, async (req, reply) => {
    if (!mayRead(req, req.params.village)) return reply.status(404).send(notFound);
    const stores = (await listStores(deps.db, req.params.village)).map(({ publicKey: _k, ...s }) => s);
    return { village_seq: await villageSeq(deps.db, req.params.village), connected: deps.service.connected, stores, refused: deps.service.refusals.toJSON(), counters: deps.service.counters };
  });

  const gov = { db: deps.db, service: deps.service, sessions, principal, clock: deps.clock ?? (() => new Date()) };
  registerGovernance(app, gov);
  registerBoardRoutes(app, { ...gov, board: deps.board });
  return app;
}
