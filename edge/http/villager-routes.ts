/**
 * Villagers on the admin page: search, balance and history with reasons, enrol a face from an
 * uploaded photo (consent recorded with it, the collision check of edge/entry/enrol.ts), and
 * withdraw consent (templates deleted, the door forgets the face). Uploads are parsed only in
 * this plugin's scope, with tight limits (edge/http/photo-upload.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Db } from '../ledger/db.ts';
import type { StoreConfig } from '../config/schema.ts';
import { requireVillager, type Villager } from '../ledger/villagers.ts';
import { listEntries } from '../ledger/entries.ts';
import { searchVillagers } from '../ledger/villager-search.ts';
import { countTemplates, countTemplatesOf, deleteTemplatesAndConsent } from '../ledger/face-templates.ts';
import { countLearned } from '../ledger/face-learning.ts';
import { appendAudit } from '../ledger/audit.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import type { FaceEnrolment } from '../entry/admin-faces.ts';
import { MAX_PHOTO_BYTES, readPhoto } from './photo-upload.ts';
import { HistoryReply, SearchReply, type HistoryItem } from './villager-schemas.ts';
import { EnrolReply, WithdrawReply } from './action-schemas.ts';
import { villagerPage, villagersPage } from './villagers-page.ts';
import { formErrorHandler, wantsPage, type FormRefusal } from './form-refusal.ts';
import { LangQuery, langOf, rememberLang } from './lang.ts';
import { takeKeptForm } from './signed-out.ts';
import { registerPendingRoutes } from './pending-routes.ts';
import { KeptReplies, ledgerVersion, NotModified } from './kept-reply.ts';
import { refundRows } from './refund-actions.ts';
import { systemClock, type Clock } from '../ledger/time.ts';
import { takeDone, type DoneNotice } from './done-notice.ts';

export interface VillagerRoutesDeps {
  db: () => Db;
  store: StoreConfig;
  /** Face enrolment on the running door; absent: enrolment answers 503. */
  faces?: FaceEnrolment;
  timeZone?: string;
  /** The time actions are written at (the daemon's clock; edge/http/app.ts). */
  clock?: Clock;
}

/** A browser's form (answered with a redirect to the page, or the page with the refusal) or an API client (answered with JSON). */
const isForm = wantsPage;

/** A villager's page; with a refusal, the refused form shows why, with what was typed. */
export function villagerPageHtml(deps: VillagerRoutesDeps, req: FastifyRequest, reply: FastifyReply, id: string, opts: { before?: number; purchasesBefore?: string; refusal?: FormRefusal; alreadyEnrolled?: boolean; done?: DoneNotice | undefined } = {}): string {
  const db = deps.db();
  const v = requireVillager(db, id);
  const rows = listEntries(db, v.id, { limit: 51, ...(opts.before !== undefined ? { beforeSeq: opts.before } : {}) });
  // the villager's purchases with something left to refund, each with its refund form
  const purchases = { ...refundRows(db, { villagerId: v.id, ...(opts.purchasesBefore !== undefined ? { before: opts.purchasesBefore } : {}) }), before: opts.purchasesBefore };
  return villagerPage({ purchases, store: deps.store, lang: langOf(req), csrf: reply.generateCsrf(), villager: v, templates: countTemplates(db, v.id), learned: countLearned(db, v.id), pending: deps.faces?.pending?.list(v.id) ?? [], entries: rows.slice(0, 50), next: rows.length > 50 ? rows[49]!.seq : null, timeZone: deps.timeZone, facesOn: Boolean(deps.faces), snapshotOn: Boolean(deps.faces?.doorFrame), alreadyEnrolled: opts.alreadyEnrolled === true, ...(opts.refusal ? { refusal: opts.refusal } : {}), ...(opts.done ? { done: opts.done } : {}) });
}

/** The error handler of a form on a villager's page: the page again, the form showing why. */
export function villagerFormErrors(deps: VillagerRoutesDeps, form: string, mainField: string) {
  const idOf = (req: FastifyRequest): string => (req.params as { id?: string }).id ?? '';
  return formErrorHandler(() => form, () => mainField, (req, reply, refusal) => villagerPageHtml(deps, req, reply, idOf(req), { refusal }), (req) => `/villagers/${encodeURIComponent(idOf(req))}`, deps.store.name);
}

export const villagerView = (v: Villager, templates: number, learned = 0) => ({
  id: v.id, name: v.name, village: v.village, status: v.status, balance: v.balance, debt: v.debt,
  face_consent_at: v.faceConsentAt, face_consent_by: v.faceConsentBy, face_templates: templates, face_templates_learned: learned,
});

/** Entries per page of a villager's history. */
export const HISTORY_PAGE = 50;

/** A page of a villager's entries, newest first; `next` is the `before` of the older page. */
export function historyPage(db: Db, villagerId: string, limit: number, before?: number): { items: Static<typeof HistoryItem>[]; next: number | null } {
  const rows = listEntries(db, villagerId, { limit: limit + 1, ...(before !== undefined ? { beforeSeq: before } : {}) });
  const items = rows.slice(0, limit).map((e) => ({ seq: e.seq, id: e.id, kind: e.kind, points: e.points, balance_after: e.balanceAfter, reason: e.reason, reference: e.reference, origin: e.origin, at: e.createdAt }));
  return { items, next: rows.length > limit ? items[items.length - 1]!.seq : null };
}

/** A page of villagers as the API shows them (their face templates counted in one query). */
export function villagerViews(db: Db, villagers: readonly Villager[]): Array<ReturnType<typeof villagerView>> {
  const counts = countTemplatesOf(db, villagers.map((v) => v.id));
  const learned = countTemplatesOf(db, villagers.map((v) => v.id), 'learned');
  return villagers.map((v) => villagerView(v, counts.get(v.id) ?? 0, learned.get(v.id) ?? 0));
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export function registerVillagerRoutes(scope: FastifyInstance, deps: VillagerRoutesDeps): void {
  void scope.register(async (child: FastifyInstance) => {
    // Files end up in the body (`photo` a Buffer, `_csrf` a string), so the CSRF check sees the
    // token; the parser stops at MAX_PHOTO_BYTES with a 413, at one file and a few small fields.
    await child.register(fastifyMultipart, { attachFieldsToBody: 'keyValues', limits: { fileSize: MAX_PHOTO_BYTES, files: 1, fields: 8, fieldSize: 1024, parts: 10 } });
    routes(child, deps);
    registerPendingRoutes(child, { db: deps.db, faces: deps.faces, formErrors: (form, field) => villagerFormErrors(deps, form, field) });
  });
}

function routes(app: FastifyInstance, deps: VillagerRoutesDeps): void {
  const clock = deps.clock ?? systemClock;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;

  // a picture the villager already holds (the form sent twice) is a success that stored nothing: the page says so
  const alreadyNote = (r: { alreadyEnrolled: boolean }) => (r.alreadyEnrolled ? { already_enrolled: true } : {});
  const enrolled = (req: FastifyRequest, reply: FastifyReply, id: string, r: { templates: number; total: number; alreadyEnrolled: boolean }) => {
    if (isForm(req)) return reply.redirect(`/villagers/${encodeURIComponent(id)}${r.alreadyEnrolled ? '?enrolled=already' : ''}`, 303);
    return reply.status(201).send({ villager: villagerView(requireVillager(db(), id), r.total, countLearned(db(), id)), templates: r.templates, already_enrolled: r.alreadyEnrolled });
  };

  // a search as tablets repeat it: kept until the ledger changes (./kept-reply.ts; the last 16 searches)
  const kept = new KeptReplies();
  typed.get('/api/villagers/search', { schema: { querystring: Type.Object({ q: Type.String({ maxLength: 64, default: '' }), limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }), after: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }), response: { 200: SearchReply, 304: NotModified } } }, async (req, reply) => kept.send(reply, JSON.stringify(req.query), ledgerVersion(db()), () => {
    const r = searchVillagers(db(), req.query.q.trim(), { limit: req.query.limit, ...(req.query.after ? { after: req.query.after } : {}) });
    return { items: villagerViews(db(), r.items), next: r.next };
  }));

  typed.get('/api/villagers/:id/history', { schema: { params: IdParams, querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }), before: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }), response: { 200: HistoryReply } } }, async (req) => {
    const v = requireVillager(db(), req.params.id);
    return { villager: villagerView(v, countTemplates(db(), v.id), countLearned(db(), v.id)), ...historyPage(db(), v.id, req.query.limit, req.query.before) };
  });

  typed.post('/api/villagers/:id/face', {
    errorHandler: villagerFormErrors(deps, 'enrol', 'photo'),
    schema: {
      params: IdParams,
      body: Type.Object({
        photo: Type.Optional(Type.Unknown({ description: 'The photo file (multipart/form-data), JPEG, PNG or WebP, one face' })),
        consent: Type.Union([Type.Literal('true'), Type.Literal(true)], { description: 'The villager (or guardian) consents to face recognition now' }),
        guardian: Type.Optional(Type.String({ maxLength: 64, description: 'Guardian who consents for a child under 14' })),
        _csrf: Type.Optional(Type.String()),
      }),
      response: { 201: EnrolReply },
    },
  }, async (req, reply) => {
    if (!deps.faces) throw new EdgeError('FACE_UNAVAILABLE', 'face recognition is off in this store (entry.face_enabled)', { zh: '本店没有启用人脸识别，不能录入' });
    const photo = await readPhoto(Buffer.isBuffer(req.body.photo) ? req.body.photo : undefined);
    const consentBy = req.body.guardian?.trim() ? `guardian:${req.body.guardian.trim()}` : 'self';
    const id = req.params.id;
    const r = await deps.faces.enrol(id, { name: `admin upload (${photo.kind})`, frame: photo.frame }, consentBy);
    appendAudit(db(), { actor: req.adminUser!.username, action: 'face.enrol', target: id, before: null, after: { templates: r.total, consent_by: consentBy, ...alreadyNote(r) } }, clock);
    req.log.info({ villager: id, templates: r.templates, already_enrolled: r.alreadyEnrolled }, 'face enrolled from the admin page / 管理页面录入人脸');
    return enrolled(req, reply, id, r);
  });

  // The same enrolment from a picture the door camera takes now (the villager stands at the
  // door): same consent, quality and collision checks, same audit, the camera named as source.
  typed.post('/api/villagers/:id/face/snapshot', {
    errorHandler: villagerFormErrors(deps, 'snapshot', 'consent'),
    schema: {
      params: IdParams,
      body: Type.Object({
        consent: Type.Union([Type.Literal('true'), Type.Literal(true)], { description: 'The villager (or guardian) consents to face recognition now' }),
        guardian: Type.Optional(Type.String({ maxLength: 64, description: 'Guardian who consents for a child under 14' })),
        _csrf: Type.Optional(Type.String()),
      }, { additionalProperties: false }),
      response: { 201: EnrolReply },
    },
  }, async (req, reply) => {
    if (!deps.faces?.doorFrame) throw new EdgeError('FACE_UNAVAILABLE', 'no door camera to take a picture with (entry.face_enabled, entry.camera)', { zh: '本店没有可拍照的门口摄像头，请上传照片' });
    const id = req.params.id;
    requireVillager(db(), id);
    const frame = await deps.faces.doorFrame();
    const consentBy = req.body.guardian?.trim() ? `guardian:${req.body.guardian.trim()}` : 'self';
    const r = await deps.faces.enrol(id, { name: 'door camera snapshot', frame }, consentBy);
    appendAudit(db(), { actor: req.adminUser!.username, action: 'face.enrol', target: id, before: null, after: { templates: r.total, consent_by: consentBy, source: 'door camera', ...alreadyNote(r) } }, clock);
    req.log.info({ villager: id, templates: r.templates, already_enrolled: r.alreadyEnrolled }, 'face enrolled at the door camera from the admin page / 管理页面用门口摄像头录入人脸');
    return enrolled(req, reply, id, r);
  });

  // Deletes what only the villager standing there can give again: confirmed with them first (a box
  // ticked on the page, `confirm: true` from an API client), never by one tap
  typed.post('/api/villagers/:id/face/withdraw', { errorHandler: villagerFormErrors(deps, 'withdraw', 'confirm'), schema: { params: IdParams, body: Type.Object({ confirm: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal(true)], { description: 'Confirmed with the villager (or guardian) that they ask to withdraw: required' })), _csrf: Type.Optional(Type.String()) }, { additionalProperties: false }), response: { 200: WithdrawReply } } }, async (req, reply) => {
    if (req.body.confirm === undefined) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'confirm first that the villager asks to withdraw: their face templates and kept photos are deleted, and only they can enrol again', { zh: '请先勾选“我已确认本人要求撤回”：撤回会删除人脸模板和保存的照片，只有村民本人到场才能重新录入', details: { field: 'confirm' } });
    }
    const v = requireVillager(db(), req.params.id);
    const before = { consent_at: v.faceConsentAt, templates: countTemplates(db(), v.id) };
    const removed = deps.faces ? await deps.faces.withdraw(v.id) : deleteTemplatesAndConsent(db(), v.id);
    appendAudit(db(), { actor: req.adminUser!.username, action: 'face.withdraw', target: v.id, before, after: { consent_at: null, templates: 0 } }, clock);
    if (isForm(req)) return reply.redirect(`/villagers/${encodeURIComponent(v.id)}`, 303);
    return reply.send({ villager: villagerView(requireVillager(db(), v.id), 0), removed });
  });

  typed.get('/villagers', { schema: { querystring: Type.Object({ q: Type.String({ maxLength: 64, default: '' }), after: Type.Optional(Type.String({ maxLength: 64 })), ...LangQuery }) } }, async (req, reply) => {
    rememberLang(req, reply);
    const r = searchVillagers(db(), req.query.q.trim(), { limit: 50, ...(req.query.after ? { after: req.query.after } : {}) });
    return html(reply, villagersPage({ store: deps.store, lang: langOf(req), q: req.query.q, items: r.items, next: r.next }));
  });

  typed.get('/villagers/:id', { schema: { params: IdParams, querystring: Type.Object({ before: Type.Optional(Type.Integer({ minimum: 1 })), purchases_before: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'An older page of the villager\'s purchases to refund: those settled before this one' })), enrolled: Type.Optional(Type.Literal('already', { description: 'After an enrolment that stored nothing: the villager already held the picture' })), done: Type.Optional(Type.String({ maxLength: 64, description: 'What the form just sent did (a refund), said once (a token the action redirected with)' })), ...LangQuery }) } }, async (req, reply) => {
    rememberLang(req, reply);
    return html(reply, villagerPageHtml(deps, req, reply, req.params.id, { ...(req.query.before !== undefined ? { before: req.query.before } : {}), ...(req.query.purchases_before !== undefined ? { purchasesBefore: req.query.purchases_before } : {}), alreadyEnrolled: req.query.enrolled === 'already', refusal: takeKeptForm(req), done: takeDone(req.query.done) }));
  });
}

const html = (reply: FastifyReply, body: string): FastifyReply => reply.type('text/html; charset=utf-8').send(body);
