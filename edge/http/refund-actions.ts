/**
 * Refunds from the admin page: a compensating `refund` entry on a settled purchase
 * (edge/ledger/refunds.ts), audited in the same transaction, synced through the outbox. The
 * forms are on /review (every purchase, paged) and on a villager's page (theirs,
 * `_page=villager`); a form is answered with the page it came from: a redirect when done (or
 * sent twice), the page again with the message beside the field and what was typed when refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formErrorHandler, fromVillagerPage, isUrlencodedForm, type FormRefusal, type PageRenderer } from './form-refusal.ts';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { inTransaction, type Db } from '../ledger/db.ts';
import type { LedgerRules } from '../ledger/entries.ts';
import { appendAudit } from '../ledger/audit.ts';
import { refundable, refundablePurchases, refundSession, REFUND_REQUEST_RE } from '../ledger/refunds.ts';
import { freeText } from '../ledger/free-text.ts';
import { getSession } from '../ledger/sessions.ts';
import { linesOfSessions } from '../ledger/admin-views.ts';
import { REFUND_PAGE, refundForm, type RefundRow } from './refund-section.ts';
import { systemClock, type Clock } from '../ledger/time.ts';
import { getVillager } from '../ledger/villagers.ts';
import { withDone } from './done-notice.ts';

/** A page of refund forms (a villager's, or everyone's) with what each purchase holds; `next`: the older page's cursor. */
export function refundRows(db: Db, opts: { villagerId?: string; before?: string }): { rows: RefundRow[]; next: string | null } {
  const found = refundablePurchases(db, { limit: REFUND_PAGE + 1, ...opts });
  const page = found.slice(0, REFUND_PAGE);
  const lines = linesOfSessions(db, page.map((p) => p.session));
  const rows = page.map((p) => ({ ...p, lines: lines.filter((l) => l.session_id === p.session) }));
  return { rows, next: found.length > REFUND_PAGE ? page[page.length - 1]!.session : null };
}

type RefundBody = { _page?: unknown; _before?: unknown } | undefined;
/** The page of refunds the form was on (its `_before` cursor), when it is an older one. */
export const reviewCursor = (req: FastifyRequest): string | undefined => {
  const b = (req.body as RefundBody)?._before;
  return typeof b === 'string' && b !== '' ? b : undefined;
};

const isForm = isUrlencodedForm;
const SessionParams = Type.Object({ session: Type.String({ minLength: 1, maxLength: 128 }) });
const RefundEntry = Type.Object({ id: Type.String(), points: Type.Integer(), balance_after: Type.Integer({ description: "The balance after this entry alone; a refund that repays a debt is followed by the repayment (see `repayment` and `balance`)" }) });
const Repayment = Type.Union([Type.Object({ id: Type.String(), points: Type.Integer({ description: 'Negative: what the refund repaid of the debt' }), balance_after: Type.Integer() }), Type.Null()], { description: 'The redemption that repaid the villager\'s debt out of the refund; null when there was no debt' });
const Holding = { balance: Type.Integer({ description: "The villager's balance now, after any repayment of debt" }), debt: Type.Integer({ description: "The villager's debt now" }) };
const RefundView = Type.Object({ session: Type.String(), villager_id: Type.String(), cost: Type.Integer(), refunded: Type.Integer(), left: Type.Integer() });

const view = (r: ReturnType<typeof refundable>) => ({ session: r.session, villager_id: r.villagerId, cost: r.cost, refunded: r.refunded, left: r.left });

export interface RefundActionsDeps {
  db: () => Db;
  ledgerRules: LedgerRules;
  storeName: string;
  /** /review again (at the form's page of refunds), with the refusal. */
  reviewPage: PageRenderer;
  /** A villager's page again (at the form's page of purchases), with the refusal. */
  villagerPage: (req: FastifyRequest, reply: FastifyReply, id: string, refusal: FormRefusal, before: string | undefined) => string;
  /** The time actions are written at (the daemon's clock; edge/http/app.ts). */
  clock?: Clock;
}

export function registerRefundActions(scope: FastifyInstance, deps: RefundActionsDeps): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const clock = deps.clock ?? systemClock;
  const sessionOf = (req: FastifyRequest): string => (req.params as { session?: string }).session ?? '';
  const villagerOf = (req: FastifyRequest): string => getSession(db(), sessionOf(req))?.villagerId ?? '';
  /** Where the form came from, to go back to: the villager's page, or /review at the form's page. */
  const back = (req: FastifyRequest): string => {
    const before = reviewCursor(req);
    if (fromVillagerPage(req)) return `/villagers/${encodeURIComponent(villagerOf(req))}${before === undefined ? '' : `?purchases_before=${encodeURIComponent(before)}`}#purchases`;
    return `/review${before === undefined ? '' : `?refunds_before=${encodeURIComponent(before)}`}#receipts`;
  };
  const errorHandler = formErrorHandler(
    (req) => refundForm(sessionOf(req)),
    () => 'points',
    (req, reply, refusal) => (fromVillagerPage(req) ? deps.villagerPage(req, reply, villagerOf(req), refusal, reviewCursor(req)) : deps.reviewPage(req, reply, refusal)),
    back,
    deps.storeName,
  );

  app.get('/api/receipts/:session/refund', { schema: { params: SessionParams, response: { 200: RefundView } } }, async (req) => view(refundable(db(), req.params.session)));

  app.post(
    '/api/receipts/:session/refund',
    {
      errorHandler,
      schema: {
        params: SessionParams,
        body: Type.Object(
          {
            points: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
            reason: Type.String({ minLength: 1, maxLength: 200 }),
            // one per form, made when the page is shown: the same form sent twice refunds once
            request: Type.Optional(Type.String({ pattern: REFUND_REQUEST_RE.source, description: 'one id per refund the maintainer means (the page\'s form carries one); the same id again answers the refund already made' })),
            _csrf: Type.Optional(Type.String()),
            _page: Type.Optional(Type.Literal('villager', { description: 'A form on a villager\'s page, answered with that page' })),
            _before: Type.Optional(Type.String({ maxLength: 128, description: 'The page of /review\'s refunds the form was on, answered with that page' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ entry: RefundEntry, repayment: Repayment, ...Holding, refund: RefundView, audit_id: Type.Integer() }),
          200: Type.Object({ entry: RefundEntry, repayment: Repayment, ...Holding, refund: RefundView, duplicate: Type.Literal(true) }),
        },
      },
    },
    async (req, reply) => {
      const actor = req.adminUser!.username;
      // a tab or line break pasted with the reason is a space; other control characters are refused
      const reason = freeText({ field: 'reason', zh: '退分原因' }, req.body.reason);
      const r = inTransaction(db(), 'refunding from the admin page', () => {
        const res = refundSession(db(), req.params.session, { points: req.body.points, reason, ...(req.body.request !== undefined ? { request: req.body.request } : {}) }, deps.ledgerRules, clock);
        if (res.duplicate) return { ...res, auditId: undefined };
        const auditId = appendAudit(db(), {
          actor,
          action: 'receipt.refund',
          target: req.params.session,
          before: { refunded: res.before.refunded, balance: res.villagerBefore.balance, debt: res.villagerBefore.debt },
          // the balance the villager holds after the refund and any repayment of debt out of it
          after: { refunded: res.after.refunded, entry: res.entry.id, points: res.entry.points, balance: res.villager.balance, debt: res.villager.debt, debt_repaid: res.repayment ? -res.repayment.points : 0, repayment: res.repayment?.id ?? null, reason },
        }, clock);
        return { ...res, auditId };
      });
      const entry = { id: r.entry.id, points: r.entry.points, balance_after: r.entry.balanceAfter };
      const held = { repayment: r.repayment ? { id: r.repayment.id, points: r.repayment.points, balance_after: r.repayment.balanceAfter } : null, balance: r.villager.balance, debt: r.villager.debt };
      if (r.auditId === undefined) {
        req.log.info({ actor, session: req.params.session, entry: r.entry.id }, 'refund form sent again: already refunded / 退分表单重复提交，已退过');
        if (isForm(req)) return reply.redirect(back(req), 303);
        return reply.status(200).send({ entry, ...held, refund: view(r.after), duplicate: true as const });
      }
      req.log.info({ actor, session: req.params.session, points: req.body.points }, 'refund from the admin page / 管理页面退分');
      if (isForm(req)) {
        // said once on the page the form was on, /review or the villager's (./done-notice.ts)
        const name = getVillager(db(), r.after.villagerId)?.name ?? r.after.villagerId;
        const owes = r.villager.debt > 0 ? { zh: `，欠 ${r.villager.debt} 分`, en: `, owes ${r.villager.debt}` } : { zh: '', en: '' };
        return reply.redirect(withDone(back(req), { zh: `已退还 ${name} ${req.body.points} 分，余额 ${r.villager.balance} 分${owes.zh}`, en: `Refunded ${name} ${req.body.points} points; balance ${r.villager.balance}${owes.en}` }), 303);
      }
      return reply.status(201).send({ entry, ...held, refund: view(r.after), audit_id: r.auditId });
    },
  );
}
