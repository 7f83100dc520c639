/**
 * What a signed-in maintainer can change from the admin page. Each action runs in one ledger
 * transaction together with its audit record (who, when, what, before and after): either
 * both are written or neither. Forms post `application/x-www-form-urlencoded` with `_csrf`
 * and are answered with a redirect back to the page; API clients post JSON with the
 * `x-csrf-token` header and get JSON.
 */
import { countLearned } from '../ledger/face-learning.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { inTransaction, type Db } from '../ledger/db.ts';
import type { LedgerRules } from '../ledger/entries.ts';
import { requireVillager, setVillagerStatus } from '../ledger/villagers.ts';
import { countTemplates } from '../ledger/face-templates.ts';
import { villagerView } from './villager-routes.ts';
import { ResolveReply, StatusReply } from './action-schemas.ts';
import { appendAudit, listAudit } from '../ledger/audit.ts';
import { AuditQuery, AuditReply, ErrorResponses, LimitQuery, ResolveBody, ReviewReply } from './schemas.ts';
import { listOpenReview, resolveReviewLine } from '../ledger/review.ts';
import { getProduct } from '../ledger/products.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import type { FieldErrors } from './errors.ts';
import { formErrorHandler, fromVillagerPage, wantsPage, type FormPages } from './form-refusal.ts';
import { KeptReplies, ledgerVersion, NotModified } from './kept-reply.ts';

const isForm = wantsPage;
/** Which page a form was sent from (edge/http/form-refusal.ts). */
const PageField = Type.Optional(Type.Union([Type.Literal('villager'), Type.Literal('admin')], { description: 'A form: the page it was sent from, shown again when refused' }));


/** A form goes back to where it was sent from (the admin page); JSON gets the result. */
function done(req: FastifyRequest, reply: FastifyReply, json: unknown, back: string): FastifyReply {
  if (isForm(req)) return reply.redirect(back, 303);
  return reply.send(json);
}

/** The fields each resolution takes; another one is refused by name, never silently dropped. */
const RESOLUTION_FIELDS: Record<string, ReadonlyArray<'points' | 'sku' | 'count'>> = { charge: ['points'], correct: ['sku', 'count'], waive: [], acknowledge: [] };
const RESOLUTION_ZH: Record<string, string> = { charge: '补扣', correct: '更正', waive: '免扣', acknowledge: '已核对' };

/** `{points: …}` with a waiver, `{sku, count}` with a charge: each such field named, or null. */
function fieldsNotTaken(body: { resolution: string; points?: number | undefined; sku?: string | undefined; count?: number | undefined }): FieldErrors | null {
  const taken = RESOLUTION_FIELDS[body.resolution] ?? [];
  const fields: FieldErrors = {};
  for (const f of ['points', 'sku', 'count'] as const) {
    if (body[f] !== undefined && !taken.includes(f)) {
      fields[f] = { message: `not taken with resolution ${body.resolution}${f === 'points' ? ' (a charge takes points; a correction is priced from sku and count)' : ' (only a correction takes sku and count)'}`, zh: `${RESOLUTION_ZH[body.resolution] ?? body.resolution}不接受此字段${f === 'points' ? '（只有补扣填写积分，更正按商品和数量计价）' : '（只有更正填写商品和数量）'}` };
    }
  }
  return Object.keys(fields).length ? fields : null;
}

export function registerActions(scope: FastifyInstance, deps: { db: () => Db; ledgerRules: LedgerRules; pages: FormPages; storeName: string }): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;

  app.post(
    '/api/villagers/:id/status',
    {
      // a refused block from a page: that page again (the villager's or the admin page), saying why
      errorHandler: formErrorHandler(
        () => 'status',
        () => 'status',
        (req, reply, refusal) => (fromVillagerPage(req) ? deps.pages.villager(req, reply, (req.params as { id: string }).id, refusal) : deps.pages.admin(req, reply, refusal)),
        (req) => (fromVillagerPage(req) ? `/villagers/${encodeURIComponent((req.params as { id: string }).id)}` : '/#villagers'),
        deps.storeName,
      ),
      schema: {
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: Type.Object({ status: Type.Union([Type.Literal('active'), Type.Literal('blocked')]), _csrf: Type.Optional(Type.String()), _page: PageField }, { additionalProperties: false }),
        response: { 200: StatusReply, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      const actor = req.adminUser!.username;
      const { id } = req.params;
      const { status } = req.body;
      const result = inTransaction(db(), 'changing villager status from the admin page', () => {
        const before = requireVillager(db(), id);
        if (before.status === 'left') {
          return { refused: true as const, before };
        }
        const after = before.status === status ? before : setVillagerStatus(db(), id, status);
        const auditId = appendAudit(db(), { actor, action: status === 'blocked' ? 'villager.block' : 'villager.unblock', target: id, before: { status: before.status }, after: { status: after.status } });
        return { refused: false as const, after, auditId };
      });
      if (result.refused) {
        throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `villager ${id} has left the village; their status cannot change here`, { zh: `村民 ${id} 已迁出，不能在此更改状态`, details: { status: 409, field: 'status', fieldMessage: 'the villager has left', fieldZh: '该村民已迁出' } });
      }
      req.log.info({ actor, villager: id, status }, 'villager status changed from the admin page / 管理页面更改了村民状态');
      return done(req, reply, { villager: villagerView(result.after, countTemplates(db(), id), countLearned(db(), id)), audit_id: result.auditId }, fromVillagerPage(req) ? `/villagers/${encodeURIComponent(id)}` : '/#villagers');
    },
  );

  // the open review lines and the audit log, as every tablet asks for them: kept until the ledger changes (./kept-reply.ts)
  const kept = new KeptReplies();
  app.get('/api/review', { schema: { querystring: LimitQuery, response: { 200: ReviewReply, 304: NotModified } } }, async (req, reply) => kept.send(reply, `review ${JSON.stringify(req.query)}`, ledgerVersion(db()), () => ({ items: listOpenReview(db(), req.query.limit), next: null })));

  app.post(
    '/api/review/:id/resolve',
    { schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), body: ResolveBody, response: { 200: ResolveReply, ...ErrorResponses } } },
    async (req, reply) => {
      const actor = req.adminUser!.username;
      const { resolution } = req.body;
      let { points } = req.body;
      const notTaken = fieldsNotTaken(req.body);
      if (notTaken) {
        return reply.status(400).send({ error: 'INVALID_ARGUMENT', message: `resolution ${resolution} does not take ${Object.keys(notTaken).join(', ')}`, zh: `${RESOLUTION_ZH[resolution] ?? resolution}不接受 ${Object.keys(notTaken).join('、')}`, fields: notTaken });
      }
      if (resolution === 'charge' && points === undefined) {
        return reply.status(400).send({ error: 'INVALID_ARGUMENT', message: 'a charge needs points', zh: '补扣需要填写积分', fields: { points: { message: 'required for a charge: a whole number from 1', zh: '补扣时必填，须为正整数' } } });
      }
      let note: string | undefined;
      if (resolution === 'correct') {
        // the line corrected to what was really taken, charged at today's price
        if (req.body.sku === undefined || req.body.count === undefined) {
          const fields = { ...(req.body.sku === undefined ? { sku: { message: 'required for a correction', zh: '更正时必须选择商品' } } : {}), ...(req.body.count === undefined ? { count: { message: 'required for a correction', zh: '更正时必须填写数量' } } : {}) };
          return reply.status(400).send({ error: 'INVALID_ARGUMENT', message: 'a correction needs the product and the count', zh: '更正需要商品和数量', fields });
        }
        const product = getProduct(db(), req.body.sku);
        if (!product) return reply.status(404).send({ error: 'UNKNOWN_PRODUCT', message: `unknown product ${req.body.sku}`, zh: `未知商品 ${req.body.sku}`, fields: { sku: { message: 'unknown product', zh: '未知商品' } } });
        points = product.price * req.body.count;
        note = `${product.name}×${req.body.count}`;
        if (points < 1) return reply.status(400).send({ error: 'INVALID_ARGUMENT', message: `${product.name} costs 0 points: waive the line instead`, zh: `${product.name} 价格为 0，请直接免扣`, fields: { sku: { message: 'free product', zh: '该商品价格为 0' } } });
      }
      const r = inTransaction(db(), 'resolving a review line from the admin page', () => {
        const res = resolveReviewLine(db(), req.params.id, resolution === 'waive' || resolution === 'acknowledge' ? { resolution } : { resolution: 'charge', points: points!, ...(note ? { note } : {}) }, deps.ledgerRules);
        const auditId = appendAudit(db(), {
          actor,
          action: `review.${resolution}`,
          target: `${res.before.session_id}#${res.before.id}`,
          before: { resolution: null, villager: res.before.villager_id, slot: res.before.slot, reason: res.before.reason },
          after: { resolution: res.after.resolution, entry: res.entry?.id ?? null, charged: res.entry ? -res.entry.points : 0, debt: res.debt, ...(note ? { corrected_to: { sku: req.body.sku, count: req.body.count } } : {}) },
        });
        return { ...res, auditId };
      });
      req.log.info({ actor, review: req.params.id, resolution: r.after.resolution }, 'review line resolved from the admin page / 管理页面处理了待核对记录');
      return done(req, reply, { review: r.after, entry: r.entry ? { id: r.entry.id, points: r.entry.points, balance_after: r.entry.balanceAfter } : null, debt: r.debt, audit_id: r.auditId }, '/review');
    },
  );

  app.get('/api/audit', { schema: { querystring: AuditQuery, response: { 200: AuditReply, 304: NotModified } } }, async (req, reply) => kept.send(reply, `audit ${JSON.stringify(req.query)}`, ledgerVersion(db()), () => {
    const items = listAudit(db(), { limit: req.query.limit + 1, ...(req.query.before !== undefined ? { beforeId: req.query.before } : {}) });
    const page = items.slice(0, req.query.limit);
    return { items: page, next: items.length > req.query.limit ? page[page.length - 1]!.id : null };
  }));
}
