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
import { requireVillager, setVillagerStatus } from '../ledger/villagers.ts';
import { countTemplates } from '../ledger/face-templates.ts';
import { villagerView } from './villager-routes.ts';
import { StatusReply } from './action-schemas.ts';
import { appendAudit, listAudit } from '../ledger/audit.ts';
import { AuditQuery, AuditReply, ErrorResponses } from './schemas.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { formErrorHandler, fromVillagerPage, wantsPage, type FormPages } from './form-refusal.ts';
import { KeptReplies, ledgerVersion, NotModified } from './kept-reply.ts';
import { systemClock, type Clock } from '../ledger/time.ts';

const isForm = wantsPage;
/** Which page a form was sent from (edge/http/form-refusal.ts). */
const PageField = Type.Optional(Type.Union([Type.Literal('villager'), Type.Literal('admin')], { description: 'A form: the page it was sent from, shown again when refused' }));


/** A form goes back to where it was sent from (the admin page); JSON gets the result. */
function done(req: FastifyRequest, reply: FastifyReply, json: unknown, back: string): FastifyReply {
  if (isForm(req)) return reply.redirect(back, 303);
  return reply.send(json);
}

export function registerActions(scope: FastifyInstance, deps: { db: () => Db; pages: FormPages; storeName: string; clock?: Clock }): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const clock = deps.clock ?? systemClock;

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
        const after = before.status === status ? before : setVillagerStatus(db(), id, status, clock);
        const auditId = appendAudit(db(), { actor, action: status === 'blocked' ? 'villager.block' : 'villager.unblock', target: id, before: { status: before.status }, after: { status: after.status } }, clock);
        return { refused: false as const, after, auditId };
      });
      if (result.refused) {
        throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `villager ${id} has left the village; their status cannot change here`, { zh: `村民 ${id} 已迁出，不能在此更改状态`, details: { status: 409, field: 'status', fieldMessage: 'the villager has left', fieldZh: '该村民已迁出' } });
      }
      req.log.info({ actor, villager: id, status }, 'villager status changed from the admin page / 管理页面更改了村民状态');
      return done(req, reply, { villager: villagerView(result.after, countTemplates(db(), id), countLearned(db(), id)), audit_id: result.auditId }, fromVillagerPage(req) ? `/villagers/${encodeURIComponent(id)}` : '/#villagers');
    },
  );

  // the audit log, as every tablet asks for it: kept until the ledger changes (./kept-reply.ts)
  const kept = new KeptReplies();
  app.get('/api/audit', { schema: { querystring: AuditQuery, response: { 200: AuditReply, 304: NotModified } } }, async (req, reply) => kept.send(reply, `audit ${JSON.stringify(req.query)}`, ledgerVersion(db()), () => {
    const items = listAudit(db(), { limit: req.query.limit + 1, ...(req.query.before !== undefined ? { beforeId: req.query.before } : {}) });
    const page = items.slice(0, req.query.limit);
    return { items: page, next: items.length > req.query.limit ? page[page.length - 1]!.id : null };
  }));
}
