/**
 * The rule library (积分细则): add and deduct items with their points (fixed or a range),
 * evidence, per-period cap and active dates. The town's items (scope '*') apply in every
 * village; a village's own items apply in that village only. A change or a retirement is a
 * new version of the item; awards keep the version they were rated under.
 */
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { EdgeError, ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';

export const TOWN = '*';
export const CATEGORIES = ['environment', 'civility', 'mediation', 'safety', 'volunteering', 'governance', 'education', 'other'] as const;
const DateOnly = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
export const ItemCode = Type.String({ minLength: 2, maxLength: 40, pattern: '^[A-Za-z0-9_-]+$' });
/** The most points one item gives or takes; a direct entry (api.ts `POST …/entries`) is held to it too. */
export const ITEM_POINTS_MAX = 10_000;

/** What a village or the town writes for an item (the code comes from the URL on a change). */
export const ItemFieldsSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 60 }),
  category: Type.Union(CATEGORIES.map((c) => Type.Literal(c))),
  direction: Type.Union([Type.Literal('add'), Type.Literal('deduct')]),
  /** Magnitudes: a deduction of 5 to 10 points is points_min 5, points_max 10. */
  points_min: Type.Integer({ minimum: 1, maximum: ITEM_POINTS_MAX }),
  points_max: Type.Integer({ minimum: 1, maximum: ITEM_POINTS_MAX }),
  evidence: Type.Union([Type.Literal('none'), Type.Literal('photo'), Type.Literal('witness')]),
  cap_count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  cap_period: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month'), Type.Literal('year')])),
  active_from: Type.Optional(DateOnly),
  active_to: Type.Optional(DateOnly),
}, { additionalProperties: false });
export type ItemFields = Static<typeof ItemFieldsSchema>;
export const ItemInputSchema = Type.Object({ code: ItemCode, ...ItemFieldsSchema.properties }, { additionalProperties: false });
export type ItemInput = Static<typeof ItemInputSchema>;

export interface Item extends ItemInput {
  scope: string;
  version: number;
  retired: boolean;
  changed_by: string;
  changed_at: string;
}

/** An error about one field of the request, with the HTTP status it answers. */
export function fieldError(field: string, message: string, zh: string, status = 400, code: ErrorCode = ErrorCode.INVALID_ARGUMENT): EdgeError {
  return new EdgeError(code, message, { zh, details: { field, status } });
}

/**
 * `value` trimmed; blanks alone (a name, title or reason a villager would read as nothing) are
 * refused on `field`. A NUL character is refused before any route runs, in every field alike
 * (api.ts, governance/errors.ts `nulField`).
 */
export function notBlank(field: string, value: string, what: { en: string; zh: string }): string {
  const v = value.trim();
  if (v === '') throw fieldError(field, `${what.en} must not be blank`, `${what.zh}不能为空`);
  return v;
}

/** Cross-field rules TypeBox cannot say. */
export function checkItemFields(f: ItemFields): void {
  notBlank('name', f.name, { en: 'an item name', zh: '名称' });
  if (f.points_max < f.points_min) throw fieldError('points_max', 'points_max is below points_min', '分值上限不能低于下限');
  if ((f.cap_count === undefined) !== (f.cap_period === undefined)) throw fieldError('cap_period', 'cap_count and cap_period go together', '次数上限和周期须同时填写');
  for (const field of ['active_from', 'active_to'] as const) {
    const d = f[field];
    // the pattern lets 2026-13-45 through; a real date reads back the same (and 0000-01-01 is no village's)
    if (d !== undefined && !(d >= '1000-01-01' && !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().slice(0, 10) === d)) {
      throw fieldError(field, `${field} ${d} is not a date (YYYY-MM-DD, a real day)`, `${field === 'active_from' ? '启用' : '停用'}日期 ${d} 不是有效日期（年-月-日）`);
    }
  }
  if (f.active_from && f.active_to && f.active_to < f.active_from) throw fieldError('active_to', 'active_to is before active_from', '停用日期早于启用日期');
}

export function loadDefaultItems(): ItemInput[] {
  const raw: unknown = JSON.parse(readFileSync(new URL('./default-items.json', import.meta.url), 'utf8'));
  const list = Type.Array(ItemInputSchema);
  if (!Value.Check(list, raw)) throw new Error(`default-items.json: ${[...Value.Errors(list, raw)][0]?.message ?? 'invalid'}`);
  for (const i of raw) checkItemFields(i);
  return raw;
}

/** The default library as the town's items, version 1, for the codes not there yet. */
export async function ensureDefaultItems(db: SqlDb, now: Date): Promise<number> {
  let added = 0;
  await db.transaction(async (tx) => {
    for (const i of loadDefaultItems()) added += await insertVersion(tx, TOWN, i, 1, false, 'default', now.toISOString(), true);
  });
  return added;
}

async function insertVersion(tx: SqlDb, scope: string, i: ItemInput, version: number, retired: boolean, by: string, at: string, ifAbsent = false): Promise<number> {
  return tx.run(
    `INSERT INTO gov_items (scope, code, version, name, category, direction, points_min, points_max, evidence, cap_count, cap_period, active_from, active_to, retired, changed_by, changed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)${ifAbsent ? ' ON CONFLICT DO NOTHING' : ''}`,
    [scope, i.code, version, i.name, i.category, i.direction, i.points_min, i.points_max, i.evidence, i.cap_count ?? null, i.cap_period ?? null, i.active_from ?? null, i.active_to ?? null, retired ? 1 : 0, by, at],
  );
}

interface ItemRow {
  scope: string; code: string; version: number | string; name: string; category: string; direction: string; points_min: number | string; points_max: number | string;
  evidence: string; cap_count: number | string | null; cap_period: string | null; active_from: string | null; active_to: string | null; retired: number | string; changed_by: string; changed_at: string;
}
function toItem(r: ItemRow): Item {
  return {
    scope: r.scope, code: r.code, version: Number(r.version), name: r.name, category: r.category as Item['category'], direction: r.direction as Item['direction'],
    points_min: Number(r.points_min), points_max: Number(r.points_max), evidence: r.evidence as Item['evidence'],
    ...(r.cap_count === null ? {} : { cap_count: Number(r.cap_count), cap_period: r.cap_period as Item['cap_period'] }),
    ...(r.active_from ? { active_from: r.active_from } : {}), ...(r.active_to ? { active_to: r.active_to } : {}),
    retired: Number(r.retired) === 1, changed_by: r.changed_by, changed_at: r.changed_at,
  };
}

const LATEST = `SELECT i.* FROM gov_items i JOIN (SELECT scope, code, MAX(version) AS v FROM gov_items GROUP BY scope, code) m
  ON m.scope = i.scope AND m.code = i.code AND m.v = i.version`;

/** The latest version of every item of these scopes. */
export async function latestItems(db: SqlDb, scopes: string[]): Promise<Item[]> {
  const rows = await db.query<ItemRow>(`${LATEST} WHERE i.scope IN (${scopes.map((_, k) => `$${k + 1}`).join(', ')}) ORDER BY i.code, i.scope`, scopes);
  return rows.map(toItem);
}

/** The items that apply in a village: its own, and the town's whose code it does not use. */
export async function villageItems(db: SqlDb, village: string): Promise<Item[]> {
  const all = await latestItems(db, [village, TOWN]);
  const own = new Set(all.filter((i) => i.scope === village).map((i) => i.code));
  return all.filter((i) => i.scope === village || !own.has(i.code));
}

export async function itemVersions(db: SqlDb, scope: string, code: string): Promise<Item[]> {
  return (await db.query<ItemRow>('SELECT * FROM gov_items WHERE scope = $1 AND code = $2 ORDER BY version', [scope, code])).map(toItem);
}

export async function itemVersion(db: SqlDb, scope: string, code: string, version: number): Promise<Item | undefined> {
  const r = await db.query<ItemRow>('SELECT * FROM gov_items WHERE scope = $1 AND code = $2 AND version = $3', [scope, code, version]);
  return r[0] && toItem(r[0]);
}

/** In force on the village day of `now`: not retired, and within its dates. */
export const inForce = (item: Item, now: Date): boolean => {
  const today = localDate(now);
  return !item.retired && !(item.active_from && today < item.active_from) && !(item.active_to && today > item.active_to);
};

/** The item a village rates under now: in force (not retired, within its dates). */
export async function itemInForce(db: SqlDb, village: string, code: string, now: Date, field = 'item'): Promise<Item> {
  const item = (await villageItems(db, village)).find((i) => i.code === code);
  if (!item) throw fieldError(field, `no rule item ${code}`, `积分细则中没有 ${code}`, 404, ErrorCode.NOT_FOUND);
  if (!inForce(item, now)) {
    throw fieldError(field, `rule item ${code} is not in force`, `积分细则 ${code}（${item.name}）当前未启用`);
  }
  return item;
}

/** Points within the item's range (a magnitude); the item's fixed value when none is given. */
export function pointsFor(item: Item, points: number | undefined, field = 'points'): number {
  if (points === undefined) {
    if (item.points_min === item.points_max) return item.points_min;
    throw fieldError(field, `rule item ${item.code} needs points between ${item.points_min} and ${item.points_max}`, `请填写分值（${item.points_min}–${item.points_max} 分）`);
  }
  if (!Number.isInteger(points) || points <= 0) throw fieldError(field, 'points must be a positive whole number (the item says add or deduct)', '分值须为正整数（加分或扣分由细则决定）');
  if (points < item.points_min || points > item.points_max) {
    throw fieldError(field, `${points} is outside ${item.code}'s range ${item.points_min}–${item.points_max}`, `分值 ${points} 超出细则范围 ${item.points_min}–${item.points_max} 分`);
  }
  return points;
}

/** `staff`: the account signed in that made the change (the audit's `by`), none for a token. */
export async function addItem(db: SqlDb, scope: string, given: ItemInput, by: string, now: Date, staff?: string): Promise<Item> {
  checkItemFields(given);
  const i = { ...given, name: given.name.trim() };
  return db.transaction(async (tx) => {
    const taken = await tx.query('SELECT 1 AS one FROM gov_items WHERE code = $1 AND scope IN ($2, $3)', [i.code, scope, TOWN]);
    if (taken.length > 0) throw fieldError('code', `rule item ${i.code} exists already`, `积分细则编号 ${i.code} 已存在`, 409, ErrorCode.DUPLICATE_ID);
    await insertVersion(tx, scope, i, 1, false, by, now.toISOString());
    await audit(tx, scope === TOWN ? TOWN : scope, `item:${i.code}`, 'item.add', by, { scope, version: 1, ...i, ...byStaff(staff) }, now);
    return (await itemVersion(tx, scope, i.code, 1))!;
  });
}

/** A new version with these fields (`retire`: the same fields, retired). */
export async function changeItem(db: SqlDb, scope: string, code: string, given: ItemFields | 'retire', by: string, now: Date, staff?: string): Promise<Item> {
  if (given !== 'retire') checkItemFields(given);
  const f = given === 'retire' ? given : { ...given, name: given.name.trim() };
  return db.transaction(async (tx) => {
    const versions = await itemVersions(tx, scope, code);
    const last = versions[versions.length - 1];
    if (!last) throw fieldError('code', `no rule item ${code} here`, `没有积分细则 ${code}`, 404, ErrorCode.NOT_FOUND);
    if (last.retired) throw fieldError('code', `rule item ${code} is retired`, `积分细则 ${code} 已停用`, 409, ErrorCode.ALREADY_SETTLED);
    const { scope: _s, version: _v, retired: _r, changed_by: _b, changed_at: _a, ...fields } = last;
    const next: ItemInput = f === 'retire' ? fields : { code, ...f };
    await insertVersion(tx, scope, next, last.version + 1, f === 'retire', by, now.toISOString());
    await audit(tx, scope, `item:${code}`, f === 'retire' ? 'item.retire' : 'item.change', by, { scope, version: last.version + 1, ...(f === 'retire' ? {} : f), ...byStaff(staff) }, now);
    return (await itemVersion(tx, scope, code, last.version + 1))!;
  });
}

/** The audit detail's `by`: the staff account signed in that acted (access.ts `staffOf`), nothing for a token. */
export const byStaff = (staff: string | undefined): { by?: string } => (staff === undefined ? {} : { by: staff });

/** One step of the audit log. */
export async function audit(tx: SqlDb, village: string, subject: string, action: string, actor: string, detail: unknown, now: Date): Promise<void> {
  await tx.run('INSERT INTO gov_events (village, subject, action, actor, detail, at) VALUES ($1, $2, $3, $4, $5, $6)', [village, subject, action, actor, JSON.stringify(detail), now.toISOString()]);
}

export async function auditLog(db: SqlDb, village: string, limit: number): Promise<{ seq: number; subject: string; action: string; actor: string; detail: unknown; at: string }[]> {
  const rows = await db.query<{ seq: number | string; subject: string; action: string; actor: string; detail: string; at: string }>(
    'SELECT seq, subject, action, actor, detail, at FROM gov_events WHERE village = $1 ORDER BY seq DESC LIMIT $2', [village, limit]);
  return rows.map((r) => ({ ...r, seq: Number(r.seq), detail: JSON.parse(r.detail) as unknown }));
}

/** Villages keep China time (UTC+8, no daylight saving): dates and cap periods are local. */
const LOCAL_OFFSET_MS = 8 * 3_600_000;
export function localDate(now: Date): string {
  return new Date(now.getTime() + LOCAL_OFFSET_MS).toISOString().slice(0, 10);
}

/** The instant the current cap period began (a day, a week from Monday, a month, a year; local time). */
export function periodStart(period: NonNullable<Item['cap_period']>, now: Date): Date {
  const l = new Date(now.getTime() + LOCAL_OFFSET_MS);
  let start = Date.UTC(l.getUTCFullYear(), l.getUTCMonth(), l.getUTCDate());
  if (period === 'week') start -= ((l.getUTCDay() + 6) % 7) * 86_400_000;
  if (period === 'month') start = Date.UTC(l.getUTCFullYear(), l.getUTCMonth(), 1);
  if (period === 'year') start = Date.UTC(l.getUTCFullYear(), 0, 1);
  return new Date(start - LOCAL_OFFSET_MS);
}
