/**
 * The admin page (`/`, and its changing parts), `/review` and `/alarms` in English with
 * `?lang=en` (or the remembered `lang` cookie), as /live, /villagers and /shelves are: headings,
 * buttons, table headers, statuses and reasons in English; what the store holds (villagers' and
 * products' names, the village, notes typed by a maintainer) stays as it was written. Chinese
 * stays the default.
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
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const log = pino({ level: 'silent' });
const ledger = tempLedger();
const rules = { creditFloor: 0 };
const board = new AlarmBoard(() => ledger.db, log);
const app = buildApp({
  store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH,
  sync: { state: () => ({ connected: false, outbox_pending: 2, last_acked_seq: 0, inbound_seq: 3, last_contact: null, refused: { forged: 1 } }) },
  ops: { metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: () => ({ ready: true, checks: {} }) as never, alarms: (limit) => ({ active: board.active(), recent: board.recent(limit) }), acknowledge: (id, by, note) => board.acknowledge(id, by, note) },
}, log);
let s: Signed;

/** What the store holds, written by people: left as it is in either language. */
const DATA = ['前进村积分超市', '王大妈', '李四', '前进村', '菜籽油', '门锁厂家明早来修', 'wang 师傅'];
/** The switch back to Chinese is written in Chinese, as on /live. */
const SWITCH = '中文';
const cjkLeft = (html: string): string[] => {
  let rest = html;
  for (const d of [...DATA, SWITCH]) rest = rest.split(d).join('');
  return [...new Set(rest.match(/[^\s<>"]*[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef][^\s<>"]*/g) ?? [])];
};

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  addVillager(db, { id: 'V002', name: '李四', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 50, reason: '垃圾分类', origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  openSession(db, { id: 'sess-1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(db, { sessionId: 'sess-1', lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [{ slot: 'B1', reason: 'not_whole_count', deltaG: -450, detail: null }] }, rules);
  insertEntryEvent(db, { at: new Date().toISOString(), decision: 'matched', by: 'card', villagerId: 'V001', detail: { card: 'PB-****01' } });
  insertEntryEvent(db, { at: new Date().toISOString(), decision: 'unknown', by: 'face', villagerId: null, detail: { frames: 3 } });
  const lock = board.raise('lock_not_confirmed', 'relock', 'relay did not confirm', 'critical');
  board.raise('scale_fault', 'B1', 'implausible reading');
  board.acknowledge(lock.id, 'wang', '门锁厂家明早来修');
  await createAccount(db, 'wang', 'village_admin');
  s = await signedIn(app, db);
  // a block, audited, so the audit log shows an action
  expect((await app.inject({ method: 'POST', url: '/api/villagers/V002/status', headers: s.post, payload: { status: 'blocked' } })).statusCode).toBe(200);
});

afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const get = (url: string, cookie = s.cookie) => app.inject({ url, headers: { cookie } });

describe('the admin pages in English', () => {
  it.each([
    ['/?lang=en', '王大妈', ['Store admin', 'Door log', 'Latest receipts', 'Stock', 'Sync with the village ledger', 'Villagers', 'Log out', 'Block', 'Audit log', 'Add account', 'Issue card']],
    ['/review?lang=en', '菜籽油', ['To review', 'Back to admin', 'Charge', 'Waive', 'Refund']],
    ['/alarms?lang=en', '门锁厂家明早来修', ['Alarms', 'Back to admin', 'Open alarms', 'Latest alarms', 'Acknowledge', 'lock not confirmed']],
  ] as const)('%s has English headings and buttons and no Chinese of its own', async (url, data, words) => {
    const res = await get(url);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<html lang="en">');
    for (const w of words) expect(res.body, w).toContain(w);
    expect(cjkLeft(res.body), url).toEqual([]);
    // the data is as it was written
    expect(res.body).toContain(data);
    expect(res.body).toContain(`?lang=zh`);
  });

  it('the admin page\'s changing parts come in the language remembered, and the switch holds for the pages opened from it', async () => {
    const parts = await get('/api/admin-page', `${s.cookie}; lang=en`);
    expect(parts.statusCode).toBe(200);
    const html = Object.values((parts.json() as { parts: Record<string, string> }).parts).join('');
    expect(html).toContain('Door log');
    expect(cjkLeft(html)).toEqual([]);
    const zhParts = Object.values(((await get('/api/admin-page', `${s.cookie}; lang=zh`)).json() as { parts: Record<string, string> }).parts).join('');
    expect(zhParts).toContain('门口记录');
    for (const url of ['/review', '/alarms', '/']) expect((await get(url, `${s.cookie}; lang=en`)).body, url).toContain('<html lang="en">');
  });

  it('Chinese stays the default', async () => {
    for (const [url, heading] of [['/', '门店管理'], ['/review', '待核对'], ['/alarms', '未解除的告警']] as const) {
      const res = await get(url);
      expect(res.body, url).toContain('<html lang="zh-CN">');
      expect(res.body, url).toContain(heading);
    }
  });
});
