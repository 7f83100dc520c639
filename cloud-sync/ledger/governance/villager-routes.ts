/**
 * What a villager's phone and the village office need beside tasks: the passbook (积分存折,
 * entries with a running balance), the store-door QR code, one-time login codes the village
 * prints, and evidence photos for reports.
 */
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ErrorCode, isEdgeError } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { madeAtSql, storeClockAheadFlagSql } from '../store-time.ts';
import { listVillagers, villagerOf } from '../tables.ts';
import { villagerDebts } from '../debts.ts';
import { fieldError, localDate } from './rules.ts';
import { actorOf, emptyBodyIsObject, gate, Id, staffOf, VillageParams, type GovApp, type GovDeps, type Principal } from './access.ts';
import { CODE_DAYS_DEFAULT, issueLoginCode, signOutVillager } from './login-codes.ts';
import { qrNotConfigured, qrPublicPem, villagerQr, type QrIssuer } from './qr.ts';
import { MAX_UPLOAD_BYTES, photoOf, storePhoto, tooLarge } from './evidence.ts';
import { REQUEST_ID } from './request-ids.ts';
import { monthBounds } from './statement.ts';
import { BY_HAND_REFERENCE } from '../../protocol/payloads.ts';
import { lateFlagSql } from './late.ts';

/** A line another line undoes or is undone by (a reversal, 冲正): that line's seq, date, reason and points. */
export interface LineRef { seq: number; date: string; reason: string | null; points: number }
/**
 * `store_clock_ahead`: `date` is the ledger's receipt of a store's entry stamped beyond it plus the allowed skew (../store-time.ts), not the store's stamp.
 * `late_received`: the entry was received after the village month of `date` had ended (补录, ./late.ts): when the ledger received it; null otherwise.
 * `reverses`: the entry this one undoes (an adjustment whose `reference` is that entry); `reversed_by`: the entry that undid this one.
 */
/** `by_hand`: a store's entry made by hand at its PC (`store-edge points …`, reference BY_HAND_REFERENCE); its `kind` says 店内手工调整 beside its own kind. */
export interface PassbookLine { seq: number; id: string; date: string; kind: string; reason: string | null; reference: string | null; points: number; balance: number; store: string | null; store_clock_ahead: boolean; by_hand: boolean; late_received: string | null; reverses: LineRef | null; reversed_by: LineRef | null }
/** One village month's subtotals (`month` asked for): opening + earned − deducted − spent + refunded + adjusted = closing. */
export interface PassbookMonth { month: string; from: string; to: string; opening: number; earned: number; deducted: number; spent: number; refunded: number; adjusted: number; closing: number }
export interface Passbook { village: string; village_name: string; villager: string; name: string; status: string; opening: number; lines: PassbookLine[]; balance: number; printed_at: string; month: PassbookMonth | null }

const REQUEST_PATTERN = new RegExp(REQUEST_ID);
const KIND_ZH: Record<string, string> = { award: '奖励', penalty: '扣分', redemption: '兑换', refund: '退回', adjustment: '调整', expiry: '过期' };
/** Which subtotal of a month an entry's kind adds to (statement.ts counts the same). */
const SUBTOTAL: Record<string, 'earned' | 'deducted' | 'spent' | 'refunded' | 'adjusted'> = { award: 'earned', penalty: 'deducted', redemption: 'spent', refund: 'refunded', adjustment: 'adjusted', expiry: 'adjusted' };

/**
 * Every entry of a villager in ledger order with the balance after it. `limit` keeps the
 * last lines only; `opening` is then the balance before the first line shown. A line's date is
 * when the entry was made, a store's by its clock but not beyond the ledger's receipt plus the
 * allowed skew (../store-time.ts), as the roll-up and the board count it: a store clock months
 * fast cannot date a villager's purchase in the future. Such a line says so (`store_clock_ahead`).
 * A line received after its month had ended (a store offline over the month's end) gives its
 * receipt (`late_received`), so a closed month that changed says why.
 * `month` (village month `YYYY-MM`) keeps the lines made in it: `opening` is then the balance of
 * every entry made before it, the balances run from there, and `month` has its subtotals, as the
 * village's month statement (statement.ts) counts them.
 */
export async function passbookOf(db: SqlDb, village: string, villager: string, now: Date, limit = 2000, month?: string): Promise<Passbook> {
  const bounds = month === undefined ? undefined : monthBounds(month);
  const v = await villagerOf(db, villager);
  if (!v || v.village !== village) throw fieldError('villager', `no villager ${villager} in this village`, `本村没有村民 ${villager}`, 404, ErrorCode.UNKNOWN_VILLAGER);
  const rows = await db.query<{ seq: number | string; id: string; kind: string; points: number | string; reason: string | null; reference: string | null; made_at: string; origin_store: string | null; clock_ahead: number | string; received_at: string; late: number | string }>(
    `SELECT seq, id, kind, points, reason, reference, ${madeAtSql(db, '')} AS made_at, origin_store, ${storeClockAheadFlagSql(db, '')} AS clock_ahead, received_at, ${lateFlagSql(db, '')} AS late
       FROM entries WHERE villager_id = $1 AND village = $2 ORDER BY seq`, [villager, village]);
  const vname = (await db.query<{ name: string }>('SELECT name FROM villages WHERE id = $1', [village]))[0]?.name ?? village;
  let balance = 0;
  const all: PassbookLine[] = rows.map((r) => {
    balance += Number(r.points);
    const byHand = r.origin_store !== null && r.reference === BY_HAND_REFERENCE;
    const kind = KIND_ZH[r.kind] ?? r.kind;
    return { seq: Number(r.seq), id: r.id, date: r.made_at, kind: byHand ? `${kind}（店内手工调整）` : kind, reason: r.reason, reference: r.reference, points: Number(r.points), balance, store: r.origin_store, store_clock_ahead: Number(r.clock_ahead) === 1, by_hand: byHand, late_received: Number(r.late) === 1 ? r.received_at : null, reverses: null, reversed_by: null };
  });
  // a reversal names the entry it undoes by id (tasks.ts reverseClaim): both lines say so
  const byId = new Map(all.map((l) => [l.id, l]));
  const ref = (l: PassbookLine): LineRef => ({ seq: l.seq, date: l.date, reason: l.reason, points: l.points });
  rows.forEach((r, i) => {
    const undone = r.kind === 'adjustment' && r.reference ? byId.get(r.reference) : undefined;
    if (!undone || undone === all[i]) return;
    all[i]!.reverses = ref(undone);
    undone.reversed_by = ref(all[i]!);
  });
  let lines = all;
  let monthOut: PassbookMonth | null = null;
  if (bounds) {
    // compared as instants: a stamp's text form may differ (a store's own ISO stamp)
    const at = (l: PassbookLine) => Date.parse(l.date);
    const from = Date.parse(bounds.from);
    const to = Date.parse(bounds.to);
    const start = all.filter((l) => at(l) < from).reduce((s, l) => s + l.points, 0);
    let run = start;
    lines = all.filter((l) => at(l) >= from && at(l) < to).map((l) => ({ ...l, balance: (run += l.points) }));
    const sums = { earned: 0, deducted: 0, spent: 0, refunded: 0, adjusted: 0 };
    const kinds = new Map(rows.map((r) => [Number(r.seq), r.kind]));
    for (const l of lines) {
      const k = SUBTOTAL[kinds.get(l.seq)!] ?? 'adjusted';
      sums[k] += k === 'deducted' || k === 'spent' ? -l.points : l.points;
    }
    monthOut = { month: month!, ...bounds, opening: start, ...sums, closing: run };
  }
  const shown = lines.slice(Math.max(0, lines.length - limit));
  const opening = shown.length > 0 ? shown[0]!.balance - shown[0]!.points : (monthOut ? monthOut.closing : balance);
  return { village, village_name: vname, villager, name: v.name, status: v.status, opening, lines: shown, balance, printed_at: now.toISOString(), month: monthOut };
}

export function registerVillagerRoutes(app: GovApp, deps: GovDeps & { qr: QrIssuer | undefined }): void {
  const VVillager = Type.Object({ village: Id, id: Id });
  const Limit = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })), month: Type.Optional(Type.String({ maxLength: 16 })) });
  const own = (req: FastifyRequest, village: string) => gate(deps, req, village, 'villager') as Extract<Principal, { role: 'villager' }>;

  // The village's villagers with their balances, a page at a time (by id, after `after`): the
  // village office's list. Staff only (town, village): a villager sees their own balance only.
  const ListQuery = Type.Object({
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('blocked'), Type.Literal('left')])),
    after: Type.Optional(Id),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  }, { additionalProperties: false });
  app.get('/api/villages/:village/villagers', { schema: { params: VillageParams, querystring: ListQuery } }, async (req) => {
    gate(deps, req, req.params.village, 'read');
    const limit = req.query.limit ?? 200;
    const rows = await listVillagers(deps.db, req.params.village, { ...(req.query.status ? { status: req.query.status } : {}), ...(req.query.after ? { after: req.query.after } : {}), limit: limit + 1 });
    const page = rows.slice(0, limit);
    // what each owes the stores (../debts.ts), 0 for most
    const debts = await villagerDebts(deps.db, req.params.village, page.map((v) => v.id));
    return { villagers: page.map((v) => ({ ...v, debt: debts.get(v.id)?.debt ?? 0 })), next: rows.length > limit ? page.at(-1)!.id : null };
  });

  // The passbook: the village office prints it for anyone of its village; a villager for themself.
  app.get('/api/villages/:village/villagers/:id/passbook', { schema: { params: VVillager, querystring: Limit } }, async (req) => {
    gate(deps, req, req.params.village, 'read');
    return passbookOf(deps.db, req.params.village, req.params.id, deps.clock(), req.query.limit, req.query.month);
  });
  app.get('/api/villages/:village/me/passbook', { schema: { params: VillageParams, querystring: Limit } }, async (req) => {
    const p = own(req, req.params.village);
    return passbookOf(deps.db, p.village, p.villager, deps.clock(), req.query.limit, req.query.month);
  });

  // The store-door QR code: only the villager, only for themself; a fresh token each call.
  app.get('/api/villages/:village/me/qr', { schema: { params: VillageParams } }, async (req, reply) => {
    const p = own(req, req.params.village);
    if (!deps.qr) throw qrNotConfigured();
    const v = await villagerOf(deps.db, p.villager);
    if (!v || v.status !== 'active') throw fieldError('villager', 'this villager may not enter the store now (blocked or left)', '您的账户已停用，暂不能进店，请联系村委会', 403);
    reply.header('cache-control', 'no-store');
    return villagerQr(deps.qr, p.village, p.villager, deps.clock().getTime());
  });
  /** What a store installs as `entry.qr_public_key_file`. */
  app.get('/api/qr-public-key', async (req, reply) => {
    const p = deps.principal(req);
    if (!p || p.role === 'villager') throw fieldError('role', 'a staff token is required', '需要村级或镇级令牌', p ? 403 : 401);
    if (!deps.qr) throw qrNotConfigured();
    return reply.type('application/x-pem-file').send(qrPublicPem(deps.qr));
  });

  // One-time login codes, printed by the village for a villager.
  app.post('/api/villages/:village/villagers/:id/login-codes', {
    preValidation: emptyBodyIsObject,
    schema: { params: VVillager, body: Type.Optional(Type.Object({ valid_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 })), request: Type.Optional(Type.String({ pattern: REQUEST_ID })) }, { additionalProperties: false })) },
  }, async (req, reply) => {
    const p = gate(deps, req, req.params.village, 'manage');
    const r = await issueLoginCode(deps.db, req.params.village, req.params.id, req.body?.valid_days ?? CODE_DAYS_DEFAULT, actorOf(p), deps.clock(), req.body?.request, staffOf(p));
    reply.header('cache-control', 'no-store');
    return reply.status(r.duplicate ? 200 : 201).send({ villager: req.params.id, ...r });
  });

  // 结束该村民所有手机登录: a lost phone signed out, without a block (login-codes.ts signOutVillager).
  app.post('/api/villages/:village/villagers/:id/sign-out', { preValidation: emptyBodyIsObject, schema: { params: VVillager, body: Type.Optional(Type.Object({}, { additionalProperties: false })) } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    return { villager: req.params.id, sessions_ended: await signOutVillager(deps.db, req.params.village, req.params.id, actorOf(p), deps.clock(), staffOf(p)) };
  });

  // Evidence photos: multipart/form-data, one file in the field `photo` (and `villager` when the
  // village uploads for one; `request`, the form's request id, so that a resend keeps no second copy).
  app.post('/api/villages/:village/evidence', { schema: { params: VillageParams } }, async (req, reply) => {
    const p = gate(deps, req, req.params.village, 'member');
    if (p.role === 'town') throw fieldError('role', 'the town reads villages; it uploads nothing in them', '镇级账号只能查看村里的数据', 403);
    if (!req.isMultipart()) throw fieldError('photo', 'send the photo as multipart/form-data in the field "photo"', '请以 multipart/form-data 上传照片（字段名 photo）', 415);
    let photo: Buffer | undefined;
    let villager: string | undefined;
    let request: string | undefined;
    try {
      for await (const part of req.parts({ limits: { fileSize: MAX_UPLOAD_BYTES, files: 1, fields: 4, fieldSize: 200 } })) {
        if (part.type === 'file') {
          if (part.fieldname !== 'photo') throw fieldError(part.fieldname, `unknown file field ${part.fieldname}; the photo goes in "photo"`, '照片请放在字段 photo 中');
          photo = await part.toBuffer();
        } else if (part.fieldname === 'villager') {
          villager = String(part.value);
        } else if (part.fieldname === 'request') {
          request = String(part.value);
        }
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge();
      if (code === 'FST_FILES_LIMIT') throw fieldError('photo', 'one photo per upload', '每次只能上传一张照片', 413);
      if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') throw fieldError('photo', 'too many fields in the upload: send the photo ("photo"), its form\'s "request" id and, for the village, "villager"', '上传的字段太多：只需照片（photo）、提交编号（request），村里代传时再加村民编号（villager）', 413);
      // busboy's own errors (a form cut short, no boundary) carry no status: the sender's, not ours
      if (!isEdgeError(err) && (err as { statusCode?: number }).statusCode === undefined) {
        throw fieldError('photo', `the upload is incomplete or malformed (${(err as Error).message}); send the photo again`, '上传内容不完整，请重新上传照片');
      }
      throw err;
    }
    if (!photo) throw fieldError('photo', 'no photo in the upload (field "photo")', '没有收到照片（字段 photo）');
    if (p.role === 'villager') {
      if (villager !== undefined && villager !== p.villager) throw fieldError('villager', 'a villager uploads for themself only', '村民只能为自己上传凭证', 403);
      villager = p.villager;
    } else if (villager !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(villager)) {
      throw fieldError('villager', 'villager is not a villager id', '村民编号格式不正确');
    }
    if (request !== undefined && !REQUEST_PATTERN.test(request)) throw fieldError('request', 'request must be 16 to 64 letters, digits, "_" or "-" (one per form)', '提交编号（请重新打开页面）格式不正确');
    const r = await storePhoto(deps.db, req.params.village, villager, photo, actorOf(p), deps.clock(), request, staffOf(p));
    return reply.status(r.duplicate ? 200 : 201).send({ ...r.photo, duplicate: r.duplicate });
  });
  app.get('/api/villages/:village/evidence/:id', { schema: { params: Type.Object({ village: Id, id: Type.String({ pattern: '^ev-[A-Za-z0-9_-]{1,40}$' }) }) } }, async (req, reply) => {
    const p = gate(deps, req, req.params.village, 'member');
    const photo = await photoOf(deps.db, req.params.village, req.params.id);
    // A villager sees their own uploads only.
    if (!photo || (p.role === 'villager' && photo.villager_id !== p.villager)) throw fieldError('id', `no photo ${req.params.id} in this village`, `本村没有这张照片 ${req.params.id}`, 404, ErrorCode.NOT_FOUND);
    if (photo.purged_at) {
      const on = localDate(new Date(photo.purged_at));
      return reply.status(410).send({ error: 'PHOTO_PURGED', message: `photo purged on ${on} at the end of its retention period; the claim and its audit remain`, zh: `照片已于 ${on} 按保存期限删除（申报记录和操作记录仍保留）`, field: 'id', purged_at: photo.purged_at });
    }
    reply.header('cache-control', 'private, max-age=3600');
    reply.header('x-content-type-options', 'nosniff');
    return reply.type(photo.mime).send(photo.bytes);
  });
}
