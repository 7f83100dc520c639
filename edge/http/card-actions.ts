/**
 * Passbook cards from the admin page: issue one to a villager (a new random number unless one
 * is given) and revoke a lost one. A card number is a credential: it travels in the request
 * body (never in a URL, which ends up in logs), the audit log keeps it masked (`PB-****01`),
 * and only the reply to the maintainer who issued it shows it whole, to print the slip.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { inTransaction, type Db } from '../ledger/db.ts';
import { addCard, cardOfRequest, getCard, rememberCardRequest, revokeCard, type Card } from '../ledger/credentials.ts';
import { REFUND_REQUEST_RE } from '../ledger/refunds.ts';
import { maskCard } from '../ledger/card-mask.ts';
import { appendAudit } from '../ledger/audit.ts';
import { requireVillager } from '../ledger/villagers.ts';
import { proposeCardNumber } from '../entry/credentials.ts';
import { EdgeError, ErrorCode, isEdgeError } from '../errors.ts';
import { messagePage } from './auth-pages.ts';
import { cardSlipPage } from './card-slip.ts';
import { CardIssueDuplicateReply, CardIssueReply, CardRevokeReply } from './action-schemas.ts';
import { formErrorHandler, fromVillagerPage, wantsPage, type FormPages } from './form-refusal.ts';
import { systemClock, type Clock } from '../ledger/time.ts';

const isForm = wantsPage;
const PageField = Type.Optional(Type.Union([Type.Literal('villager'), Type.Literal('admin')], { description: 'A form: the page it was sent from, shown again when refused' }));
const CardNo = Type.String({ minLength: 4, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' });

function answer(req: FastifyRequest, reply: FastifyReply, status: number, json: unknown, page: { title: string; zh: string; en: string }, storeName: string): FastifyReply {
  if (isForm(req)) return reply.status(status).type('text/html; charset=utf-8').send(messagePage(storeName, page.title, page.zh, page.en, { href: '/#cards', text: '返回管理页 Back' }));
  return reply.status(status).send(json);
}

export function registerCardActions(scope: FastifyInstance, deps: { db: () => Db; storeName: string; pages: FormPages; clock?: Clock }): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { db, storeName } = deps;
  const clock = deps.clock ?? systemClock;
  /** A refused card form from a page: that page again (the villager's, or the admin page's card forms), saying why. */
  const refused = (form: 'card' | 'revoke', mainField: string) => formErrorHandler(
    () => form,
    () => mainField,
    (req, reply, refusal) => (fromVillagerPage(req) ? deps.pages.villager(req, reply, String((req.body as { villager?: unknown }).villager ?? ''), refusal) : deps.pages.admin(req, reply, refusal)),
    (req) => (fromVillagerPage(req) ? `/villagers/${encodeURIComponent(String((req.body as { villager?: unknown }).villager ?? ''))}` : '/#cards'),
    storeName,
  );

  app.post(
    '/api/cards/issue',
    {
      errorHandler: refused('card', 'villager'),
      schema: {
        body: Type.Object({
          villager: Type.String({ minLength: 1, maxLength: 64 }),
          card: Type.Optional(Type.Union([CardNo, Type.Literal('')])),
          // one per form, made when the page is shown: the same form sent twice issues one card
          request: Type.Optional(Type.String({ pattern: REFUND_REQUEST_RE.source, description: 'one id per card the maintainer means (the pages\' forms carry one); the same id again answers with the card it issued' })),
          _csrf: Type.Optional(Type.String()),
          _page: PageField,
        }, { additionalProperties: false }),
        response: { 201: CardIssueReply, 200: CardIssueDuplicateReply },
      },
    },
    async (req, reply) => {
      const actor = req.adminUser!.username;
      const villagerId = req.body.villager.trim();
      const given = req.body.card || undefined;
      const { request } = req.body;
      const { card, duplicate } = inTransaction(db(), 'issuing a card from the admin page', (): { card: Card; duplicate: boolean } => {
        requireVillager(db(), villagerId);
        const held = request === undefined ? undefined : cardOfRequest(db(), request);
        if (held) {
          // the form sent again: its card, shown again to whoever sent it; nothing new is issued
          if (held.actor !== actor || held.card.villagerId !== villagerId || (given !== undefined && given !== held.card.cardNo)) {
            throw new EdgeError(ErrorCode.DUPLICATE_ID, 'this card form was sent already and issued a card; open the page again to issue another', { zh: '这张发卡表单已经提交过并已发卡；如需再发，请重新打开页面', details: { status: 409, field: 'villager' } });
          }
          return { card: held.card, duplicate: true };
        }
        const at = clock().toISOString();
        let issued: Card | undefined;
        // a clash of 40 random bits is next to impossible, but a retry costs nothing
        for (let attempt = 0; !issued; attempt++) {
          try {
            issued = addCard(db(), given ?? proposeCardNumber(), villagerId, at);
          } catch (err) {
            if (given !== undefined || !isEdgeError(err, ErrorCode.DUPLICATE_ID) || attempt >= 4) {
              if (isEdgeError(err, ErrorCode.DUPLICATE_ID)) throw new EdgeError(ErrorCode.DUPLICATE_ID, err.message, { zh: err.zh ?? '该卡号已被使用', details: { field: 'card' } });
              throw err;
            }
          }
        }
        if (request !== undefined) rememberCardRequest(db(), request, issued.cardNo, actor, at);
        appendAudit(db(), { actor, action: 'card.issue', target: villagerId, before: null, after: { card: maskCard(issued.cardNo) } }, clock);
        return { card: issued, duplicate: false };
      });
      if (duplicate) req.log.info({ actor, villager: villagerId }, 'card form sent again: its card shown again, none issued / 发卡表单重复提交，未再发卡');
      const name = requireVillager(db(), villagerId).name;
      // from a page: the printable slip with the number as a QR code, shown this once
      if (isForm(req)) return (reply as FastifyReply).status(201).type('text/html; charset=utf-8').send(await cardSlipPage({ storeName, villagerId, villagerName: name, cardNo: card.cardNo }));
      const json = { card: { card_no: card.cardNo, villager_id: card.villagerId, created_at: card.createdAt } };
      if (duplicate) return reply.status(200).send({ ...json, duplicate: true as const });
      return answer(req, reply, 201, json, { title: '已发卡', zh: `已为 ${name} 发卡：${card.cardNo}（请抄在存折上，挂失时用）`, en: `card ${card.cardNo} issued to ${villagerId}` }, storeName);
    },
  );

  app.post(
    '/api/cards/revoke',
    { errorHandler: refused('revoke', 'card'), schema: { body: Type.Object({ card: CardNo, _csrf: Type.Optional(Type.String()), _page: PageField }, { additionalProperties: false }), response: { 200: CardRevokeReply } } },
    async (req, reply) => {
      const actor = req.adminUser!.username;
      const { card } = req.body;
      const revoked = inTransaction(db(), 'revoking a card from the admin page', () => {
        const before = getCard(db(), card);
        if (!before) throw new EdgeError(ErrorCode.NOT_FOUND, `no card ${maskCard(card)}`, { zh: `没有卡号 ${maskCard(card)}`, details: { field: 'card' } });
        const changed = revokeCard(db(), card, clock().toISOString());
        if (changed) appendAudit(db(), { actor, action: 'card.revoke', target: before.villagerId, before: { card: maskCard(card), revoked_at: null }, after: { card: maskCard(card), revoked_at: getCard(db(), card)!.revokedAt } }, clock);
        return changed;
      });
      return answer(req, reply, 200, { card: maskCard(card), revoked }, { title: '挂失', zh: revoked ? `已挂失 ${maskCard(card)}` : `${maskCard(card)} 早已挂失`, en: revoked ? `card ${maskCard(card)} revoked` : `card ${maskCard(card)} was revoked already` }, storeName);
    },
  );
}
