/**
 * The review queue from the admin page: the open lines (`GET /api/review`) and resolving one
 * (`POST /api/review/ID/resolve`: charge, correct, waive or acknowledge), in one transaction
 * with its audit record. A form from /review is answered with /review again: a redirect when
 * done (or when the same form was sent twice and the line is already resolved as it asks), the
 * page with the message beside the line when refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { inTransaction, type Db } from '../ledger/db.ts';
import type { LedgerRules } from '../ledger/entries.ts';
import { appendAudit } from '../ledger/audit.ts';
import { getReviewLine, listOpenReviewAfter, resolutionText, resolveReviewLine, stockWarning, type Resolution } from '../ledger/review.ts';
import { getProduct, listProducts } from '../ledger/products.ts';
import { getVillager } from '../ledger/villagers.ts';
import { withDone, type DoneNotice } from './done-notice.ts';
import { EdgeError, ErrorCode, isEdgeError } from '../errors.ts';
import type { FieldErrors } from './errors.ts';
import { ResolveReply } from './action-schemas.ts';
import { ErrorResponses, ResolveBody, ReviewListQuery, ReviewReply } from './schemas.ts';
import { formErrorHandler, wantsPage, type PageRenderer } from './form-refusal.ts';
import { KeptReplies, ledgerVersion, NotModified } from './kept-reply.ts';
import { systemClock, type Clock } from '../ledger/time.ts';

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

/**
 * A charge (points typed by hand) is refused above CHARGE_MARGIN times what the line's weight
 * could be worth: the dearest active product, as many of it as fit in the weight (at least one).
 * A typo (999 for 9) is caught; goods really worth more are charged by a correction, priced
 * from the product and count. A line with no weight (or no priced product) is not checked.
 */
export const CHARGE_MARGIN = 2;
function lineWorth(db: Db, id: number): { points: number; grams: number } | undefined {
  const line = getReviewLine(db, id);
  if (!line || line.delta_g === null || line.delta_g === 0) return undefined;
  const grams = Math.abs(line.delta_g);
  const worth = Math.max(0, ...listProducts(db).filter((p) => p.active && p.unitG > 0).map((p) => p.price * Math.max(1, Math.round(grams / p.unitG))));
  return worth > 0 ? { points: worth, grams: line.delta_g } : undefined;
}

/** What was done, said on /review after the redirect (./done-notice.ts). */
function doneWords(db: Db, r: { before: { villager_id: string; villager_name: string; slot: string }; entry?: { points: number } | undefined; debt: number }, resolution: string, note: string | undefined): DoneNotice {
  const name = r.before.villager_name;
  const v = getVillager(db, r.before.villager_id);
  const held = v ? { zh: `，余额 ${v.balance} 分${v.debt > 0 ? `，欠 ${v.debt} 分` : ''}`, en: `; balance ${v.balance}${v.debt > 0 ? `, owes ${v.debt}` : ''}` } : { zh: '', en: '' };
  const points = r.entry ? -r.entry.points : 0;
  if (resolution === 'charge') return { zh: `已补扣 ${name} ${points} 分${held.zh}`, en: `Charged ${name} ${points} points${held.en}` };
  if (resolution === 'correct') return { zh: `已更正 ${name} 的记录（${note ?? ''}），扣 ${points} 分${held.zh}`, en: `Corrected ${name}'s line (${note ?? ''}), charged ${points} points${held.en}` };
  if (resolution === 'waive') return { zh: `已免扣 ${name} 在 ${r.before.slot} 的记录，未扣积分`, en: `Waived ${name}'s line at ${r.before.slot}: no points charged` };
  return { zh: `已核对 ${name} 在 ${r.before.slot} 的记录（结算时已扣分）`, en: `Checked ${name}'s line at ${r.before.slot} (charged at settlement)` };
}

const refuse = (message: string, zh: string, fields: FieldErrors, code: ErrorCode = ErrorCode.INVALID_ARGUMENT): EdgeError => new EdgeError(code, message, { zh, details: { fields } });

/** What the request asks of the line, checked and priced (a correction at today's price). */
function wantedResolution(db: Db, id: number, body: { resolution: 'waive' | 'charge' | 'correct' | 'acknowledge'; points?: number | undefined; sku?: string | undefined; count?: number | undefined }): Resolution {
  const { resolution } = body;
  const notTaken = fieldsNotTaken(body);
  if (notTaken) throw refuse(`resolution ${resolution} does not take ${Object.keys(notTaken).join(', ')}`, `${RESOLUTION_ZH[resolution] ?? resolution}不接受 ${Object.keys(notTaken).join('、')}`, notTaken);
  if (resolution === 'waive' || resolution === 'acknowledge') return { resolution };
  if (resolution === 'charge') {
    if (body.points === undefined) throw refuse('a charge needs points', '补扣需要填写积分', { points: { message: 'required for a charge: a whole number from 1', zh: '补扣时必填，须为正整数' } });
    const most = lineWorth(db, id);
    if (most !== undefined && body.points > CHARGE_MARGIN * most.points) {
      const at = `${Math.abs(most.grams)} g`;
      throw refuse(
        `a charge of ${body.points} points is far above what ${at} of goods is worth (at most about ${most.points} points); check the points, or use Correct to choose the product and count taken`,
        `补扣 ${body.points} 分远超 ${at} 的商品可能的价值（最多约 ${most.points} 分）：请核对积分，或用“更正”选出实际拿走的商品和数量`,
        { points: { message: `at most ${CHARGE_MARGIN * most.points} for ${at}; use Correct for more`, zh: `${at} 最多补扣 ${CHARGE_MARGIN * most.points} 分，更多请用“更正”` } },
      );
    }
    return { resolution: 'charge', points: body.points };
  }
  // the line corrected to what was really taken, charged at today's price
  if (body.sku === undefined || body.count === undefined) {
    const fields = { ...(body.sku === undefined ? { sku: { message: 'required for a correction', zh: '更正时必须选择商品' } } : {}), ...(body.count === undefined ? { count: { message: 'required for a correction', zh: '更正时必须填写数量' } } : {}) };
    throw refuse('a correction needs the product and the count', '更正需要商品和数量', fields);
  }
  const product = getProduct(db, body.sku);
  if (!product) throw refuse(`unknown product ${body.sku}`, `未知商品 ${body.sku}`, { sku: { message: 'unknown product', zh: '未知商品' } }, ErrorCode.UNKNOWN_PRODUCT);
  const points = product.price * body.count;
  if (points < 1) throw refuse(`${product.name} costs 0 points: waive the line instead`, `${product.name} 价格为 0，请直接免扣`, { sku: { message: 'free product', zh: '该商品价格为 0' } });
  return { resolution: 'charge', points, note: `${product.name}×${body.count}`, taken: { sku: product.sku, count: body.count } };
}

export function registerReviewActions(scope: FastifyInstance, deps: { db: () => Db; ledgerRules: LedgerRules; storeName: string; reviewPage: PageRenderer; clock?: Clock }): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const clock = deps.clock ?? systemClock;

  // the open lines, as every tablet asks for them: kept until the ledger changes (./kept-reply.ts)
  const kept = new KeptReplies();
  // a page at a time, oldest first: one line more than asked says whether another page follows
  app.get('/api/review', { schema: { querystring: ReviewListQuery, response: { 200: ReviewReply, 304: NotModified } } }, async (req, reply) => kept.send(reply, `review ${JSON.stringify(req.query)}`, ledgerVersion(db()), () => {
    const rows = listOpenReviewAfter(db(), req.query.limit + 1, req.query.after);
    const items = rows.slice(0, req.query.limit);
    return { items, next: rows.length > req.query.limit ? items[items.length - 1]!.id : null };
  }));

  const lineId = (req: FastifyRequest): string => String((req.params as { id?: unknown }).id ?? '');
  app.post(
    '/api/review/:id/resolve',
    {
      // a refused form from /review: the page again, the message beside the line's forms
      errorHandler: formErrorHandler((req) => `review-${lineId(req)}`, () => 'resolution', deps.reviewPage, () => '/review', deps.storeName),
      schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), body: ResolveBody, response: { 200: ResolveReply, ...ErrorResponses } },
    },
    async (req, reply) => {
      const actor = req.adminUser!.username;
      const { resolution } = req.body;
      const wanted = wantedResolution(db(), req.params.id, req.body);
      const note = wanted.resolution === 'charge' ? wanted.note : undefined;
      let r;
      try {
        r = inTransaction(db(), 'resolving a review line from the admin page', () => {
          const res = resolveReviewLine(db(), req.params.id, wanted, deps.ledgerRules, clock);
          const auditId = appendAudit(db(), {
            actor,
            action: `review.${resolution}`,
            target: `${res.before.session_id}#${res.before.id}`,
            before: { resolution: null, villager: res.before.villager_id, slot: res.before.slot, reason: res.before.reason },
            after: { resolution: res.after.resolution, entry: res.entry?.id ?? null, charged: res.entry ? -res.entry.points : 0, debt: res.debt, ...(note ? { corrected_to: { sku: req.body.sku, count: req.body.count } } : {}), ...(res.stock ? { stock: res.stock } : {}) },
          }, clock);
          return { ...res, auditId };
        });
      } catch (err) {
        // the same form sent twice (a double tap): the line is resolved as it asks, so the page again
        if (wantsPage(req) && isEdgeError(err, ErrorCode.ALREADY_SETTLED) && getReviewLine(db(), req.params.id)?.resolution === resolutionText(wanted)) {
          req.log.info({ actor, review: req.params.id }, 'review form sent again: resolved already as it asks / 核对表单重复提交，已按此处理过');
          return reply.redirect('/review', 303);
        }
        throw err;
      }
      req.log.info({ actor, review: req.params.id, resolution: r.after.resolution }, 'review line resolved from the admin page / 管理页面处理了待核对记录');
      // a correction whose stock did not add up (more than the slot held, or on no slot) is said, never silent
      const taken = wanted.resolution === 'charge' ? wanted.taken : undefined;
      const warning = taken ? stockWarning(r.stock, { name: getProduct(db(), taken.sku)?.name ?? taken.sku, count: taken.count }) : undefined;
      if (warning) req.log.warn({ actor, review: req.params.id, stock: r.stock }, `${warning.message} / ${warning.zh}`);
      if (wantsPage(req)) {
        if (!warning) return reply.redirect(withDone('/review', doneWords(db(), r, resolution, note)), 303);
        // done, but with something to see: the page again with the warning where the line was
        const notice = { form: `review-${req.params.id}`, status: 200, zh: warning.zh, en: warning.message, fields: { resolution: { zh: warning.zh, message: warning.message } }, values: {} };
        return (reply as FastifyReply).type('text/html; charset=utf-8').send(deps.reviewPage(req, reply, notice));
      }
      return reply.send({ review: r.after, entry: r.entry ? { id: r.entry.id, points: r.entry.points, balance_after: r.entry.balanceAfter } : null, debt: r.debt, audit_id: r.auditId, stock_warning: warning ?? null });
    },
  );
}
