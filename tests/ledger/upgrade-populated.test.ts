/**
 * A store's ledger a year old, at schema version 9, opened by today's program: every row of
 * every table is kept with its values, each later migration gives its new columns what it
 * promises (v10 a villager's last status change from `updated_at`, v12 no `debt_added` for older
 * entries, v13 no visit for slips used before, v14 outbox payloads in the canonical form with the
 * same values), balances are the sum of the entries still, and the store works on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import path from 'node:path';
import { APPLICATION_ID, closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { LATEST_VERSION, MIGRATIONS } from '../../edge/ledger/migrations/index.ts';
import { applyEntry, findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { markOutboxAcked, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { qrTokenVisit } from '../../edge/ledger/qr-slips.ts';
import { beginLoginAttempt, recordLogin } from '../../edge/ledger/admin-accounts.ts';
import { canonicalJson } from '../../lib/canonical-json.ts';
import { tempDir } from './helpers.ts';

type Value = string | number | Buffer | null;
const FROM = 9;
const d = (day: number, hour = 2) => `2026-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;
const b = (...bytes: number[]) => Buffer.from(bytes);
const vill = (id: string, name: string, status: string, balance: number, debt: number, updated: string, consent: string | null, maintainer = 0) => ({
  id, name, village: '前进村', status, face_consent_at: consent, face_consent_by: consent ? 'self' : null, sync_face_consent: 0, is_maintainer: maintainer, balance, debt, created_at: d(1), updated_at: updated,
});
const ent = (id: string, villager: string, kind: string, points: number, after: number, origin: string, at: string, reference: string | null = null) => ({
  id, villager_id: villager, kind, points, balance_after: after, reference, reason: null, origin, created_at: at,
});
/** What a version-9 program stored in the outbox: JSON.stringify, keys in the order it built them. */
const outboxPayloads = [
  { id: 'redeem-s-1', villager: 'zhang', kind: 'redemption', points: -55, created_at: d(5) },
  { id: 's-1', kind: 'shopping', villager: 'zhang', total_points: 55, lines: [{ sku: 'salt', count: 2, points: 10 }, { sku: 'oil', count: 1, points: 45 }], closed_at: d(5) },
  { op: 'status', id: 'li', status: 'blocked', at: d(6) },
  { id: 'pen-li-1', villager: 'li', kind: 'penalty', points: -30, created_at: d(6), reason: '弄坏货架 "A2"' },
];

/** Every table of version 9 with rows of a year's use, in primary-key order. */
const TABLES: { table: string; key: string; rows: Record<string, Value>[] }[] = [
  { table: 'meta', key: 'key', rows: [{ key: 'store_id', value: 's1' }, { key: 'village', value: '前进村' }] },
  { table: 'villagers', key: 'id', rows: [
    vill('laochen', '老陈', 'active', 0, 0, d(1), null, 1), vill('li', '李四', 'blocked', 0, 20, d(6), null),
    vill('wang', '王五', 'left', 10, 0, d(3), null), vill('zhang', '张三', 'active', 45, 0, d(5), d(1)),
  ] },
  { table: 'entries', key: 'seq', rows: [
    ent('award-zhang-1', 'zhang', 'award', 100, 100, 'ledger', d(2)), ent('award-li-1', 'li', 'award', 30, 30, 'ledger', d(2)),
    ent('award-wang-1', 'wang', 'award', 10, 10, 'cli', d(3)), ent('redeem-s-1', 'zhang', 'redemption', -55, 45, 'store', d(5), 's-1'),
    // asked 50, stopped at the floor: 30 moved, 20 became debt
    ent('pen-li-1', 'li', 'penalty', -30, 0, 'admin', d(6)),
  ] },
  { table: 'products', key: 'sku', rows: [
    { sku: 'oil', name: '菜籽油 5L', price: 45, unit_g: 4600, tolerance_g: 40, active: 1, updated_at: d(1) },
    { sku: 'salt', name: '食盐', price: 5, unit_g: 500, tolerance_g: 10, active: 1, updated_at: d(1) },
    { sku: 'soap', name: '香皂', price: 3, unit_g: 120, tolerance_g: 8, active: 0, updated_at: d(4) },
  ] },
  { table: 'slots', key: 'slot', rows: [
    { slot: 'A1', address: 11, sku: 'salt', stock: 18, updated_at: d(5) }, { slot: 'A2', address: 12, sku: 'soap', stock: 5, updated_at: d(4) },
    { slot: 'B1', address: 13, sku: 'oil', stock: 0, updated_at: d(5) },
  ] },
  { table: 'store_sessions', key: 'id', rows: [
    { id: 's-1', kind: 'shopping', villager_id: 'zhang', entered_by: 'card', state: 'settled', state_json: '{"baseline":{"A1":9000}}', status: 'settled', total_points: 55, charged_points: 55, debt_points: 0, entry_id: 'redeem-s-1', opened_at: d(5), closed_at: d(5, 3), updated_at: d(5, 3) },
    { id: 's-2', kind: 'restock', villager_id: 'laochen', entered_by: 'qr', state: 'settled', state_json: '{}', status: 'settled', total_points: null, charged_points: null, debt_points: null, entry_id: null, opened_at: d(5, 4), closed_at: d(5, 5), updated_at: d(5, 5) },
    { id: 's-3', kind: 'shopping', villager_id: 'li', entered_by: 'face', state: 'entering', state_json: '{}', status: 'cancelled', total_points: null, charged_points: null, debt_points: null, entry_id: null, opened_at: d(6), closed_at: d(6), updated_at: d(6) },
  ] },
  { table: 'session_lines', key: 'session_id, line_no', rows: [
    { session_id: 's-1', line_no: 1, sku: 'salt', slot: 'A1', count: 2, unit_price: 5, points: 10 },
    { session_id: 's-1', line_no: 2, sku: 'oil', slot: 'B1', count: 1, unit_price: 45, points: 45 },
  ] },
  { table: 'review_lines', key: 'id', rows: [{ session_id: 's-1', slot: 'A2', reason: 'unexplained', delta_g: -130, detail: '{"between":[1,2]}', created_at: d(5, 3), resolved_at: null, resolution: null }] },
  { table: 'inbox', key: 'message_id', rows: [{ message_id: 'entries:s2:7', topic: 'entries', received_at: d(2), result: 'applied' }, { message_id: 'villager:li:3', topic: 'villager', received_at: d(6), result: 'applied' }] },
  { table: 'face_templates', key: 'id', rows: [
    { villager_id: 'zhang', nonce: b(1, 2), ciphertext: b(3, 4, 5), tag: b(6), quality: 0.93, source: 'sample2.jpg', created_at: d(1), origin: 'enrolled' },
    { villager_id: 'zhang', nonce: b(7), ciphertext: b(8, 9), tag: b(10), quality: 0.81, source: 'camera', created_at: d(4), origin: 'learned' },
  ] },
  { table: 'face_learning_consent', key: 'villager_id', rows: [{ villager_id: 'zhang', consented_at: d(1), consented_by: 'self' }] },
  { table: 'face_pending_templates', key: 'id', rows: [{ villager_id: 'zhang', nonce: b(1), ciphertext: b(2), tag: b(3), thumb_nonce: b(4), thumb_ciphertext: b(5), thumb_tag: b(6), distance: 0.52, margin: 0.08, enrolled_distance: 0.41, credential: 'card', created_at: d(5), expires_at: d(19) }] },
  { table: 'cards', key: 'card_no', rows: [{ card_no: 'PB-000001', villager_id: 'zhang', created_at: d(1), revoked_at: null }, { card_no: 'PB-000002', villager_id: 'li', created_at: d(1), revoked_at: d(6) }] },
  { table: 'qr_tokens_used', key: 'token_id', rows: [{ token_id: 'qr-tok-1', villager_id: 'laochen', expires_at: d(5, 5), used_at: d(5, 4) }] },
  { table: 'entry_events', key: 'id', rows: [
    { at: d(5), decision: 'admit', by: 'card', villager_id: 'zhang', detail: '{"card":"PB-****01"}' },
    { at: d(6), decision: 'refuse', by: 'face', villager_id: null, detail: '{"reason":"unknown_face"}' },
  ] },
  { table: 'admin_accounts', key: 'username', rows: [
    { username: 'boss', display_name: '村主任', role: 'village_admin', password_hash: 'scrypt$16384$8$1$c2FsdA$aGFzaA', failed_logins: 0, locked_until: '2099-01-01T00:00:00.000Z', last_login_at: d(2), created_at: d(1), updated_at: d(6) },
    { username: 'laochen', display_name: '老陈', role: 'maintainer', password_hash: 'scrypt$16384$8$1$c2FsdA$aGFzaA', failed_logins: 2, locked_until: null, last_login_at: d(5), created_at: d(1), updated_at: d(6) },
  ] },
  { table: 'admin_sessions', key: 'sid', rows: [{ sid: 'sid-1', data: '{"user":"laochen"}', expires_at: '2099-01-01T00:00:00.000Z' }] },
  { table: 'audit_log', key: 'id', rows: [{ at: d(6), actor: 'laochen', action: 'villager.block', target: 'li', before: '{"status":"active"}', after: '{"status":"blocked"}' }] },
  { table: 'job_runs', key: 'job', rows: [{ job: 'backup', last_started_at: d(6), last_finished_at: d(6), last_outcome: 'ok', last_detail: null, last_duration_ms: 1200, next_due_at: d(7) }] },
  { table: 'alarms', key: 'id', rows: [
    { kind: 'scale_fault', subject: 'scale 12', severity: 'critical', detail: '秤 12 无应答', raised_at: d(6), last_seen_at: d(6, 5), seen: 4, cleared_at: null, cleared_by: null, acknowledged_at: d(6, 4), acknowledged_by: 'laochen', ack_note: '已报修' },
    { kind: 'door_open', subject: 'door', severity: 'warning', detail: '门未关', raised_at: d(4), last_seen_at: d(4), seen: 1, cleared_at: d(4, 3), cleared_by: null, acknowledged_at: null, acknowledged_by: null, ack_note: null },
  ] },
];

/** The ledger file as the version-9 program left it. */
function olderLedger(file: string): void {
  const raw = new Database(file);
  const before = MIGRATIONS.filter((m) => m.version <= FROM);
  for (const m of before) {
    raw.exec(m.sql);
    m.up?.(raw);
  }
  raw.pragma(`application_id = ${APPLICATION_ID}`);
  raw.pragma(`user_version = ${FROM}`);
  raw.transaction(() => {
    for (const t of TABLES) {
      for (const r of t.rows) raw.prepare(`INSERT INTO ${t.table} (${Object.keys(r).join(', ')}) VALUES (${Object.keys(r).map(() => '?').join(', ')})`).run(...Object.values(r));
    }
    outboxPayloads.forEach((p, i) => raw.prepare('INSERT INTO outbox (topic, payload, created_at, sent_at, acked_at) VALUES (?, ?, ?, ?, ?)').run(i === 1 ? 'session' : i === 2 ? 'villager' : 'entry', JSON.stringify(p), d(5 + (i >> 1)), d(5 + (i >> 1)), i < 2 ? d(5, 3) : null));
  })();
  raw.close();
}

const rowsOf = (db: Db, t: (typeof TABLES)[number]) => db.prepare(`SELECT ${Object.keys(t.rows[0]!).join(', ')} FROM ${t.table} ORDER BY ${t.key}`).all();

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

describe(`a store's ledger of version ${FROM} with a year's rows, opened by version ${LATEST_VERSION}`, () => {
  it('keeps every row and value, gives the new columns what each migration promises, and works on', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = path.join(t.dir, 'ledger.sqlite');
    olderLedger(file);
    const db = openLedger(file);
    cleanup = () => {
      if (db.open) closeLedger(db);
      t.cleanup();
    };
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);

    for (const table of TABLES) expect({ table: table.table, rows: rowsOf(db, table) }).toEqual({ table: table.table, rows: table.rows });
    // v10: a villager's last status change is their last change, no earlier moment being known
    expect(db.prepare('SELECT id, status_changed_at FROM villagers ORDER BY id').all()).toEqual(TABLES[1]!.rows.map((v) => ({ id: v.id, status_changed_at: v.updated_at })));
    // v12: what older deductions asked is unknown; v13: slips used before stay used, for no visit
    expect(db.prepare('SELECT DISTINCT debt_added FROM entries').pluck().all()).toEqual([null]);
    expect(qrTokenVisit(db, 'qr-tok-1')).toBeNull();
    // v14: each payload in the canonical form, the same value, acknowledged or not as it was
    const outbox = db.prepare('SELECT seq, payload, acked_at FROM outbox ORDER BY seq').all() as { seq: number; payload: string; acked_at: string | null }[];
    expect(outbox.map((o) => o.payload)).toEqual(outboxPayloads.map((p) => canonicalJson(p)));
    expect(outbox.map((o) => JSON.parse(o.payload) as unknown)).toEqual(outboxPayloads);
    expect(outbox.map((o) => o.acked_at)).toEqual([d(5, 3), d(5, 3), null, null]);
    expect(findBalanceMismatches(db)).toEqual([]);
    expect(db.prepare('SELECT COUNT(*) FROM card_requests').pluck().get()).toBe(0);

    // It works on: the old deduction sent again as asked is the same entry (v12's promise), an award is sent after the rows waiting.
    const rules = { creditFloor: 0 };
    expect(applyEntry(db, { id: 'pen-li-1', villagerId: 'li', kind: 'penalty', points: -50, origin: 'admin' }, rules)).toMatchObject({ status: 'duplicate', conflict: false });
    expect(applyEntry(db, { id: 'award-zhang-2', villagerId: 'zhang', kind: 'award', points: 5, origin: 'admin' }, rules)).toMatchObject({ status: 'applied', entry: { balanceAfter: 50 } });
    expect(pendingOutbox(db).map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(markOutboxAcked(db, 5, d(7))).toBe(3);
    expect(findBalanceMismatches(db)).toEqual([]);
    // the maintainer's count goes on from its two wrong passwords; the locked account stays locked
    const rule = { maxFailures: 5, lockMs: 900_000 };
    expect(beginLoginAttempt(db, 'laochen', rule)).toMatchObject({ status: 'counted', locks: false, account: { failedLogins: 3 } });
    expect(recordLogin(db, 'laochen', { locks: false })).toBe(true);
    expect(beginLoginAttempt(db, 'boss', rule)).toMatchObject({ status: 'locked' });
  });
});
