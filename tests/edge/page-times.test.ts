/**
 * One moment, one way to read it: with the store's time zone (`jobs.timezone`) other than the
 * process's, every time on `/` (and its changing parts), `/review`, `/alarms`, a villager's page
 * and the board reads `2026-11-30 20:13` in the store's zone (./time-format.ts), never the
 * process's zone, never another format, never raw ISO text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { insertEntryEvent } from '../../edge/ledger/entry-events.ts';
import { saveBoard } from '../../edge/ledger/board.ts';
import { appendAudit } from '../../edge/ledger/audit.ts';
import { BOARD_FORMAT } from '../../cloud-sync/protocol/board.ts';
import { formatTime } from '../../edge/http/time-format.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

/** Every row's time is this one moment. */
const AT = '2026-11-30T12:13:00.000Z';
// a zone whose clock differs from the process's at AT, whatever zone the machine is in
const ZONE = formatTime(AT, 'Asia/Shanghai') !== formatTime(AT) ? 'Asia/Shanghai' : 'America/New_York';
const SHOWN = formatTime(AT, ZONE);
const clock = () => new Date(AT);

const log = pino({ level: 'silent' });
const ledger = tempLedger();
const rules = { creditFloor: 0 };
const alarms = new AlarmBoard(() => ledger.db, log, () => new Date(AT));
const app = buildApp({
  store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH, timeZone: ZONE,
  ops: { metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: () => ({ ready: true, checks: {} }) as never, alarms: (limit) => ({ active: alarms.active(), recent: alarms.recent(limit) }), acknowledge: (id, by, note) => alarms.acknowledge(id, by, note) },
}, log);
let s: Signed;

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  addVillager(db, { id: 'V002', name: '李四', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 50, reason: '垃圾分类', origin: 'cli' }, rules, clock);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  openSession(db, { id: 'sess-1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} }, clock);
  settleSession(db, { sessionId: 'sess-1', lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [{ slot: 'B1', reason: 'not_whole_count', deltaG: -450, detail: null }] }, rules, clock);
  insertEntryEvent(db, { at: AT, decision: 'matched', by: 'card', villagerId: 'V001', detail: { card: 'PB-****01' } });
  const lock = alarms.raise('lock_not_confirmed', 'relock', 'relay did not confirm', 'critical');
  saveBoard(db, { version: 1, issuedAt: AT, receivedAt: AT, body: { format: BOARD_FORMAT, village: { id: 'v1', name: '前进村' }, month: '2026-11', computed_at: AT, published: { red_list: true, deeds: true, totals: true }, red_list: [], deeds: [], totals: null } });
  s = await signedIn(app, db);
  appendAudit(db, { actor: 'wang', action: 'villager.block', target: 'V002', before: { status: 'active' }, after: { status: 'blocked' } }, clock);
  // acknowledged (as AlarmBoard.acknowledge does, whose audit row takes the system's clock), the time in the audit row's after
  db.prepare("UPDATE alarms SET acknowledged_at = ?, acknowledged_by = 'wang', ack_note = '门锁厂家明早来修' WHERE id = ?").run(AT, lock.id);
  appendAudit(db, { actor: 'wang', action: 'alarm.acknowledge', target: 'lock_not_confirmed relock #1', before: { acknowledged_at: null }, after: { acknowledged_at: AT, note: '门锁厂家明早来修' } }, clock);
  // the last login, made by signing in just now, moved to the one moment
  db.prepare('UPDATE admin_accounts SET last_login_at = ?').run(AT);
});

afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

/** Every date-and-time in the page's text (attributes, as the board's machine-readable datetime, left out). */
const timesIn = (html: string): string[] => html.replace(/<[^>]*>/g, ' ').match(/\d{4}[-/]\d{1,2}[-/]\d{1,2}[ T]+\d{1,2}:\d{2}(:\d{2})?/g) ?? [];

describe('times on the pages', () => {
  it('the configured zone differs from the process’s at the moment shown (else the test could not fail)', () => {
    expect(SHOWN).not.toBe(formatTime(AT));
  });

  it.each([
    ['/', 8],
    ['/api/admin-page', 6],
    ['/review', 2],
    ['/alarms', 4],
    ['/villagers/V001', 2],
    ['/board', 1],
  ] as const)('%s shows every time as %s in the store’s zone', async (url, atLeast) => {
    const res = await app.inject({ url, headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(200);
    const body = url.startsWith('/api/') ? Object.values((res.json() as { parts: Record<string, string> }).parts).join('\n') : res.body;
    const times = timesIn(body);
    expect(times.length, `${url}: ${times.join(' | ')}`).toBeGreaterThanOrEqual(atLeast);
    expect(new Set(times), url).toEqual(new Set([SHOWN]));
  });
});
