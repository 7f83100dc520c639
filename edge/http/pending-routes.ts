/**
 * Pending face templates on the admin page (card-confirmed learning, edge/entry/card-learning.ts):
 * the list, the face thumbnail (only to a signed-in maintainer, never cached), and confirm or
 * reject, each audited (the ledger's face.learn.confirm / face.learn.reject, actor the
 * maintainer) and behind the CSRF check every POST has. A form from the villager's page is
 * answered with that page; an API client with JSON.
 */
import type { FastifyInstance, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../ledger/db.ts';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { requireVillager } from '../ledger/villagers.ts';
import { EdgeError } from '../errors.ts';
import type { FaceEnrolment, PendingReview } from '../entry/admin-faces.ts';
import { wantsPage } from './form-refusal.ts';

export interface PendingRoutesDeps {
  db: () => Db;
  faces?: FaceEnrolment | undefined;
  /** The villager page's form error handler (edge/http/villager-routes.ts villagerFormErrors). */
  formErrors: (form: string, mainField: string) => (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => unknown;
}

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), pending: Type.Integer({ minimum: 1 }) });
const PendingItem = Type.Object({
  id: Type.Integer(),
  villager_id: Type.String(),
  distance: Type.Number({ description: 'To the villager\'s nearest template when the door kept it' }),
  enrolled_distance: Type.Number({ description: 'To the villager\'s nearest enrolled template (the anchor; at most match.uncertain_threshold)' }),
  margin: Type.Number({ description: 'How much farther the next villager was' }),
  credential: Type.Union([Type.Literal('card'), Type.Literal('qr')], { description: 'What completed the uncertain visit' }),
  created_at: Type.String(),
  expires_at: Type.String(),
  thumbnail: Type.Boolean({ description: 'A face thumbnail was kept (GET /villagers/ID/face/pending/PENDING/thumbnail.jpg)' }),
}, { additionalProperties: false });
const ListReply = Type.Object({ items: Type.Array(PendingItem), next: Type.Null() }, { additionalProperties: false });
const ConfirmReply = Type.Object({ pending: Type.Integer(), template: Type.Integer({ description: 'The learned template it became' }), replaced: Type.Union([Type.Integer(), Type.Null()], { description: 'The learned template it replaced (the villager had entry.adapt.max_per_villager)' }) }, { additionalProperties: false });
const RejectReply = Type.Object({ pending: Type.Integer(), rejected: Type.Literal(true) }, { additionalProperties: false });
const FormBody = Type.Object({ _csrf: Type.Optional(Type.String()) }, { additionalProperties: false });

function reviewOf(faces: FaceEnrolment | undefined): PendingReview {
  if (!faces?.pending) throw new EdgeError('FACE_UNAVAILABLE', 'face recognition is off in this store (entry.face_enabled): no pending face templates to review', { zh: '本店没有启用人脸识别，没有待确认的人脸模板' });
  return faces.pending;
}

export function registerPendingRoutes(scope: FastifyInstance, deps: PendingRoutesDeps): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const db = deps.db;

  app.get('/api/villagers/:id/face/pending', { schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }), response: { 200: ListReply } } }, async (req) => {
    requireVillager(db(), req.params.id);
    return { items: deps.faces?.pending ? deps.faces.pending.list(req.params.id).reverse() : [], next: null };
  });

  app.get('/villagers/:id/face/pending/:pending/thumbnail.jpg', { schema: { params: Params } }, async (req, reply) => {
    requireVillager(db(), req.params.id);
    const jpeg = reviewOf(deps.faces).thumbnail(req.params.id, req.params.pending);
    if (!jpeg) throw new EdgeError('NOT_FOUND', `pending face template ${req.params.pending} has no thumbnail`, { zh: '该待确认模板没有缩略图' });
    return reply.header('cache-control', 'no-store').type('image/jpeg').send(jpeg);
  });

  app.post('/api/villagers/:id/face/pending/:pending/confirm', { errorHandler: deps.formErrors('pending', 'pending'), schema: { params: Params, body: FormBody, response: { 200: ConfirmReply } } }, async (req, reply) => {
    requireVillager(db(), req.params.id);
    const r = await reviewOf(deps.faces).confirm(req.params.id, req.params.pending, req.adminUser!.username);
    req.log.info({ villager: req.params.id, pending: req.params.pending, template: r.template }, 'pending face template confirmed / 已确认待确认人脸模板');
    if (wantsPage(req)) return reply.redirect(`/villagers/${encodeURIComponent(req.params.id)}`, 303);
    return reply.send({ pending: req.params.pending, template: r.template, replaced: r.replaced });
  });

  app.post('/api/villagers/:id/face/pending/:pending/reject', { errorHandler: deps.formErrors('pending', 'pending'), schema: { params: Params, body: FormBody, response: { 200: RejectReply } } }, async (req, reply) => {
    requireVillager(db(), req.params.id);
    reviewOf(deps.faces).reject(req.params.id, req.params.pending, req.adminUser!.username);
    req.log.info({ villager: req.params.id, pending: req.params.pending }, 'pending face template rejected / 已拒绝待确认人脸模板');
    if (wantsPage(req)) return reply.redirect(`/villagers/${encodeURIComponent(req.params.id)}`, 303);
    return reply.send({ pending: req.params.pending, rejected: true as const });
  });
}
