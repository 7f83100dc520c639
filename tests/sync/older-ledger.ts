/**
 * A village ledger as an older version left it after years of use: every table that version
 * has, filled with rows of the kinds a town holds, written with that version's own columns
 * (today's functions write later columns too). For tests/sync/upgrade-populated.test.ts.
 */
import { createHash } from 'node:crypto';
import { ACKED_BY_VILLAGE_VERSION, ACKED_CREATED_AT_VERSION } from '../../cloud-sync/ledger/migrations.ts';
import { CATALOGUE_VERSION } from '../../cloud-sync/ledger/catalogue.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';

export type Value = string | number | Buffer | null;
/** A table's rows as written, in their `order`; `since`: the version that has the table. */
export interface Seeded { table: string; order: string; rows: Record<string, Value>[]; since?: number }

export const sha = (s: string): string => createHash('sha256').update(s).digest('base64url');
/** Tokens of the sessions the older version kept (a staff member's cookie, a villager's phone). */
export const STAFF_TOKEN = 'staff-session-token-before-the-upgrade';
export const VILLAGER_TOKEN = 'villager-session-token-before-the-upgrade';

const MONTH_AGO = '2025-03-01T02:00:00.000Z';
const t = (day: number, hour = 2): string => `2025-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;
const sale = { id: 'sess-1', kind: 'shopping', villager: 'zhang', total_points: 30, lines: [{ sku: 'salt', count: 2, points: 10 }, { sku: 'oil', count: 1, points: 20 }], opened_at: t(5), closed_at: t(5) };
const entry = (id: string, villager: string, kind: string, points: number, at: string) => ({ id, villager, kind, points, created_at: at });

/**
 * The rows, by table. Times relative to `now` (locks, sessions) are what make the staff counts'
 * and sessions' promises testable: a running lock holds, an ended one is over.
 */
export function olderLedgerRows(version: number, now: Date): Seeded[] {
  const inMin = (m: number): string => new Date(now.getTime() + m * 60_000).toISOString();
  const acked = (id: string, village: string, seq: number, topic: string, payload: unknown, receivedAt: string, createdAt: string) => ({
    id, village, store: 's1', seq, topic, payload: JSON.stringify(payload), received_at: receivedAt,
    // rows held at v15 kept their own time; before, the column did not exist
    ...(version >= ACKED_CREATED_AT_VERSION ? { created_at: createdAt } : {}),
  });
  const tables: Seeded[] = [
    { table: 'villages', order: 'id', rows: [
      { id: 'va', name: '前进村', next_seq: 5, created_at: '2023-01-01T00:00:00.000Z' },
      { id: 'vb', name: '红旗村', next_seq: 2, created_at: '2023-01-01T00:00:00.000Z' },
    ] },
    { table: 'villagers', order: 'id', rows: [
      { id: 'li', village: 'va', name: '李四', status: 'blocked', created_at: '2023-01-02T00:00:00.000Z', updated_at: t(2), status_changed_at: t(2) },
      { id: 'wang', village: 'vb', name: '王五', status: 'left', created_at: '2023-01-02T00:00:00.000Z', updated_at: t(3), status_changed_at: t(3) },
      { id: 'zhang', village: 'va', name: '张三', status: 'active', created_at: '2023-01-02T00:00:00.000Z', updated_at: t(1), status_changed_at: null },
      { id: 'zhao', village: 'va', name: '赵六', status: 'active', created_at: '2023-01-02T00:00:00.000Z', updated_at: t(1), status_changed_at: null },
    ] },
    // seq is the database's own (BIGSERIAL's sequence on PostgreSQL must stand where it does after years of use)
    { table: 'entries', order: 'seq', rows: [
      { id: 'award-1', village: 'va', villager_id: 'zhang', kind: 'award', points: 100, reference: null, reason: '打扫村道', origin_store: null, created_at: MONTH_AGO, received_at: MONTH_AGO },
      { id: 's1-redemption-1', village: 'va', villager_id: 'zhang', kind: 'redemption', points: -30, reference: 'sess-1', reason: null, origin_store: 's1', created_at: t(5), received_at: t(5, 3) },
      { id: 's1-refund-1', village: 'va', villager_id: 'zhang', kind: 'refund', points: 5, reference: 'sess-1', reason: '盐袋破损', origin_store: 's1', created_at: t(6), received_at: t(6, 3) },
      { id: 'award-2', village: 'va', villager_id: 'li', kind: 'award', points: 50, reference: null, reason: null, origin_store: null, created_at: t(2), received_at: t(2) },
      { id: 'penalty-1', village: 'va', villager_id: 'li', kind: 'penalty', points: -10, reference: null, reason: '建筑材料乱堆占道', origin_store: null, created_at: t(2, 4), received_at: t(2, 4) },
      { id: 'award-3', village: 'vb', villager_id: 'wang', kind: 'award', points: 20, reference: null, reason: null, origin_store: null, created_at: t(3), received_at: t(3) },
      { id: 'expiry-1', village: 'vb', villager_id: 'wang', kind: 'expiry', points: -20, reference: null, reason: null, origin_store: null, created_at: t(4), received_at: t(4) },
      // beyond a 32-bit integer together: a balance is a BIGINT's sum
      { id: 'adjust-1', village: 'va', villager_id: 'zhao', kind: 'adjustment', points: 1_000_000_000, reference: null, reason: '更正', origin_store: null, created_at: t(7), received_at: t(7) },
      { id: 'adjust-2', village: 'va', villager_id: 'zhao', kind: 'adjustment', points: 1_000_000_000, reference: null, reason: '更正', origin_store: null, created_at: t(7, 3), received_at: t(7, 3) },
      { id: 'gov-c1', village: 'va', villager_id: 'zhang', kind: 'award', points: 10, reference: 'claim:c1', reason: '清理水井', origin_store: null, created_at: t(8), received_at: t(8) },
    ] },
    { table: 'stores', order: 'village, id', rows: [
      { village: 'va', id: 's1', key_id: 's1-key', public_key: 'MCowBQYDK2VwAyEA-store-va-s1', contiguous_seq: 3, gaps: 1, status: 'ok', last_heartbeat: t(9), inbound_seq: 4, last_acked_seq: 3, outbox_pending: 2, behind_since: null, heals: 1 },
      { village: 'vb', id: 's1', key_id: 's1-key', public_key: 'MCowBQYDK2VwAyEA-store-vb-s1', contiguous_seq: 1, gaps: 0, status: null, last_heartbeat: null, inbound_seq: null, last_acked_seq: null, outbox_pending: null, behind_since: t(9), heals: 0 },
    ] },
    { table: 'acked_ids', order: 'village, seq', rows: [
      acked('s1:1', 'va', 1, 'entry', entry('s1-redemption-1', 'zhang', 'redemption', -30, t(5)), t(5, 3), t(5)),
      acked('s1:2', 'va', 2, 'session', sale, t(5, 3), t(5)),
      acked('s1:3', 'va', 3, 'product', { op: 'upsert', sku: 'salt', name: '盐（店改）', price: 5 }, t(5, 3), t(4)),
      // held above the contiguous seq: row 4 never came
      acked('s1:5', 'va', 5, 'entry', entry('s1-refund-1', 'zhang', 'refund', 5, t(6)), t(6, 3), t(6)),
      acked('s1:1', 'vb', 1, 'villager', { op: 'add', id: 'wang', name: '王五', village: 'vb' }, t(3), t(3)),
    ] },
    { table: 'events', order: 'village, seq', rows: [1, 2, 3, 4].map((seq) => ({ village: 'va', seq, id: `ev-va-${seq}`, kind: 'entries', envelope: `{"v":1,"seq":${seq},"village":"va"}` }))
      .concat([{ village: 'vb', seq: 1, id: 'ev-vb-1', kind: 'entry', envelope: '{"v":1,"seq":1,"village":"vb"}' }]) },
    { table: 'gov_items', order: 'scope, code, version', rows: [
      { scope: 'va', code: 'well', version: 1, name: '清理水井', category: '环境卫生', direction: 'add', points_min: 5, points_max: 20, evidence: 'witness', cap_count: 2, cap_period: 'month', active_from: null, active_to: null, retired: 0, changed_by: 'clerk', changed_at: '2024-01-01T00:00:00.000Z' },
      { scope: 'va', code: 'well', version: 2, name: '清理水井（新）', category: '环境卫生', direction: 'add', points_min: 5, points_max: 30, evidence: 'none', cap_count: null, cap_period: null, active_from: null, active_to: null, retired: 0, changed_by: 'clerk', changed_at: '2024-06-01T00:00:00.000Z' },
    ] },
    { table: 'gov_tasks', order: 'id', rows: [
      { id: 't1', village: 'va', title: '清理东头水井', item_scope: 'va', item_code: 'well', item_version: 2, points: 10, max_claimants: 3, status: 'open', created_at: t(7), closed_at: null },
      { id: 't2', village: 'va', title: '清理西头水井', item_scope: 'va', item_code: 'well', item_version: 1, points: 8, max_claimants: 1, status: 'closed', created_at: '2024-02-01T00:00:00.000Z', closed_at: '2024-02-03T00:00:00.000Z' },
    ] },
    { table: 'gov_claims', order: 'id', rows: [
      { id: 'c1', village: 'va', origin: 'task', task_id: 't1', villager_id: 'zhang', item_scope: 'va', item_code: 'well', item_version: 2, points: 10, status: 'approved', evidence: null, note: '已清理', reason: null, entry_id: 'gov-c1', created_at: t(7, 5), decided_at: t(8) },
      { id: 'c2', village: 'va', origin: 'task', task_id: 't1', villager_id: 'zhao', item_scope: 'va', item_code: 'well', item_version: 2, points: null, status: 'reported', evidence: null, note: '清好了', reason: null, entry_id: null, created_at: t(8, 5), decided_at: null },
      { id: 'c3', village: 'va', origin: 'self', task_id: null, villager_id: 'li', item_scope: 'va', item_code: 'well', item_version: 1, points: null, status: 'rejected', evidence: 'ev1', note: null, reason: '无人见证', entry_id: null, created_at: t(8, 6), decided_at: t(8, 7) },
    ] },
    { table: 'gov_events', order: 'seq', rows: [
      { village: 'va', subject: 'claim:c1', action: 'claim.approve', actor: 'clerk', detail: '{"points":10}', at: t(8) },
      { village: 'va', subject: 'claim:c3', action: 'claim.reject', actor: 'clerk', detail: '{"reason":"无人见证"}', at: t(8, 7) },
      { village: '*', subject: 'staff:clerk', action: 'staff.create', actor: 'chief', detail: '{}', at: '2024-01-01T00:00:00.000Z' },
    ] },
    { table: 'gov_pins', order: 'villager_id', rows: [{ villager_id: 'zhang', pin_hash: 'scrypt$16384$8$1$c2FsdA$aGFzaA', updated_at: t(1) }] },
    { table: 'board_settings', order: 'village', rows: [{ village: 'va', publish_red_list: 1, red_list_size: 20, publish_deeds: 0, deeds_count: 8, publish_totals: 1, name_style: 'omit', updated_by: 'clerk', updated_at: t(1) }] },
    { table: 'board_villagers', order: 'villager_id', rows: [{ villager_id: 'li', named: 1, staff: 1, updated_by: 'clerk', updated_at: t(1) }, { villager_id: 'zhang', named: 0, staff: 0, updated_by: 'zhang', updated_at: t(1) }] },
    { table: 'board_published', order: 'village', rows: [{ village: 'va', version: 41, digest: 'digest-41', change_token: '2025-03|9|3|x|前进村', published_at: t(9) }] },
    { table: 'gov_login_codes', order: 'id', rows: [{ id: 'code-1', village: 'va', villager_id: 'li', code_hash: 'code-hash', created_by: 'clerk', created_at: t(2), expires_at: t(30), used_at: null }] },
    { table: 'gov_evidence', order: 'id', rows: [
      { id: 'ev1', village: 'va', villager_id: 'li', uploaded_by: 'li', mime: 'image/jpeg', width: 640, height: 480, bytes: Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01, 0xd9]), sha256: 'sha-ev1', created_at: t(8, 6), purged_at: null },
      { id: 'ev0', village: 'va', villager_id: null, uploaded_by: 'clerk', mime: 'image/jpeg', width: 1, height: 1, bytes: Buffer.alloc(0), sha256: 'sha-ev0', created_at: '2023-03-01T00:00:00.000Z', purged_at: '2024-03-01T00:00:00.000Z' },
    ] },
    // failed_logins: counts of the older versions, which had no end; the upgrade's promises for them are tested on their own
    { table: 'staff_accounts', order: 'username', rows: [
      { username: 'chief', display_name: '镇干部', role: 'town', village: null, failed_logins: 0, locked_until: null, last_login_at: t(9), created_by: 'setup', created_at: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:00:00.000Z', disabled_at: null },
      { username: 'clerk', display_name: '村文书', role: 'village', village: 'va', failed_logins: 4, locked_until: null, last_login_at: t(8), created_by: 'chief', created_at: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:00:00.000Z', disabled_at: null },
      { username: 'gone', display_name: '离职', role: 'village', village: 'vb', failed_logins: 1, locked_until: null, last_login_at: null, created_by: 'chief', created_at: '2024-01-01T00:00:00.000Z', updated_at: t(2), disabled_at: t(2) },
      { username: 'locked', display_name: '锁定中', role: 'village', village: 'va', failed_logins: 0, locked_until: inMin(10), last_login_at: null, created_by: 'chief', created_at: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:00:00.000Z', disabled_at: null },
      { username: 'unlocked', display_name: '锁已过', role: 'village', village: 'va', failed_logins: 2, locked_until: inMin(-60), last_login_at: null, created_by: 'chief', created_at: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:00:00.000Z', disabled_at: null },
    ] },
    { table: 'staff_sessions', order: 'token_hash', rows: [{ token_hash: sha(STAFF_TOKEN), username: 'chief', created_at: inMin(-60), expires_at: inMin(240) }] },
    { table: 'store_alarms', order: 'occurrence', rows: [
      { village: 'va', store: 's1', occurrence: JSON.stringify(['scale_fault', 'scale 12', t(9)]), store_alarm_id: 7, kind: 'scale_fault', subject: 'scale 12', severity: 'critical', detail: '秤 12 无应答', raised_at: t(9), last_seen_at: t(9, 5), seen: 3, acknowledged_at: t(9, 4), acknowledged_by: 'laochen', ack_note: '已报修', cleared_at: null, first_heard_at: t(9) },
      { village: 'va', store: 's1', occurrence: JSON.stringify(['door_open', 'door', t(6)]), store_alarm_id: 5, kind: 'door_open', subject: 'door', severity: 'warning', detail: '门未关', raised_at: t(6), last_seen_at: t(6), seen: 1, acknowledged_at: null, acknowledged_by: null, ack_note: null, cleared_at: t(6, 3), first_heard_at: t(6) },
      // cleared by hand at the store before the ledger kept who did it (v17): the upgraded ledger learns it from the store's next list
      { village: 'va', store: 's1', occurrence: JSON.stringify(['villager_id_taken', 'villager wei', t(7)]), store_alarm_id: 6, kind: 'villager_id_taken', subject: 'villager wei', severity: 'warning', detail: '村民 wei 的编号属别村', raised_at: t(7), last_seen_at: t(7), seen: 1, acknowledged_at: null, acknowledged_by: null, ack_note: null, cleared_at: t(8), first_heard_at: t(7) },
    ] },
    { table: 'store_alarm_lists', order: 'village, store', rows: [{ village: 'va', store: 's1', list_at: t(9, 5), received_at: t(9, 5) }] },
    // counts of villagers' PINs (v12) and of staff logins (the older versions' keys and meanings)
    { table: 'gov_login_failures', order: 'login', since: 12, rows: [
      { login: 'va/zhang', failures: 2, until_at: inMin(10) },
      { login: 'vb/wang', failures: 5, until_at: inMin(-30) },
      { login: 'staff-name:ghost', failures: 3, until_at: '9999-12-31T23:59:59.999Z' },
      { login: 'staff-name:nobody', failures: 0, until_at: inMin(10) },
      { login: 'staff-name:ended', failures: 0, until_at: inMin(-30) },
      { login: 'staff:olduser', failures: 1, until_at: inMin(600) },
    ] },
    { table: 'gov_sessions', order: 'token_hash', since: 13, rows: [{ token_hash: sha(VILLAGER_TOKEN), village: 'va', villager_id: 'zhang', created_at: inMin(-60), expires_at: inMin(24 * 60) }] },
    { table: 'products', order: 'village, sku', since: CATALOGUE_VERSION, rows: [{ village: 'va', sku: 'salt', name: '食盐（村）', price: 5, unit_g: 500, tolerance_g: 10, active: 1, updated_at: t(1) }] },
  ];
  return tables.filter((s) => (s.since ?? 0) <= version).map((s) => ({
    ...s,
    rows: s.rows
      // keyed by the row id alone before v8: a second village's store of the same id could not have its rows held
      .filter((r) => !(s.table === 'acked_ids' && version < ACKED_BY_VILLAGE_VERSION && r.village !== 'va'))
      // from v16 on, a ledger holds what v16's migration left: no staff count of the older kind
      .filter((r) => !(s.table === 'gov_login_failures' && version >= 16 && (String(r.login).startsWith('staff:') || (String(r.login).startsWith('staff-name:') && Number(r.failures) > 0))))
      .map((r) => (s.table === 'staff_accounts' && version >= 16 ? { ...r, failed_logins: 0, failed_until: null } : r))
      .map((r) => Object.fromEntries(Object.entries(r).filter(([c]) => (COLUMN_SINCE[`${s.table}.${c}`] ?? 0) <= version))),
  }));
}

/** Columns later than their table, by the version that added them. */
const COLUMN_SINCE: Record<string, number> = { 'staff_accounts.disabled_at': 9, 'villagers.status_changed_at': 11, 'staff_accounts.failed_until': 16 };

/** Writes `seeded` into `db` (a ledger at the version they were made for), in their order. */
export async function writeRows(db: SqlDb, seeded: readonly Seeded[]): Promise<void> {
  await db.transaction(async (tx) => {
    for (const s of seeded) {
      for (const r of s.rows) {
        const cols = Object.keys(r);
        await tx.run(`INSERT INTO ${s.table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => r[c]));
      }
    }
  });
}

/** `rows` by the table's `order` columns, compared in JS (PostgreSQL's collation may not sort as SQLite's bytes do). */
export function inOrder<T extends Record<string, unknown>>(s: Seeded, rows: T[]): T[] {
  const cols = s.order.split(', ');
  const numeric = (v: unknown): boolean => typeof v === 'number' || (typeof v === 'string' && /^-?\d+$/.test(v));
  // a seq the rows were written without (the database's own) leaves them in their written order
  const cmp = (a: unknown, b: unknown): number => (a === undefined || b === undefined ? 0 : numeric(a) && numeric(b) ? Number(a) - Number(b) : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0);
  return [...rows].sort((a, b) => cols.reduce((d, c) => d || cmp(a[c], b[c]), 0));
}

/** A table's rows as held now, in the seeded columns, the values typed as they were written. */
export async function readRows(db: SqlDb, s: Seeded, columns = Object.keys(s.rows[0]!)): Promise<Record<string, Value>[]> {
  const typeOf = new Map(columns.map((c) => [c, s.rows.find((r) => r[c] !== null)?.[c]]));
  const rows = await db.query<Record<string, unknown>>(`SELECT ${[...new Set([...columns, ...s.order.split(', ')])].join(', ')} FROM ${s.table}`);
  return inOrder(s, rows).map((r) => Object.fromEntries(columns.map((c) => {
    const v = r[c];
    const like = typeOf.get(c);
    if (v === null || v === undefined) return [c, null];
    if (typeof like === 'number') return [c, Number(v)];
    if (Buffer.isBuffer(like)) return [c, Buffer.from(v as Uint8Array)];
    return [c, v as Value];
  })));
}
