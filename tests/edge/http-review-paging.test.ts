/**
 * GET /api/review pages like the other lists: `{items, next}`, oldest first, `next` the cursor of
 * the next page (`after`) whenever more lines wait, null on the last; a line resolved between two
 * pages makes no other line skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { listOpenReview } from '../../edge/ledger/review.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  openSession(db, { id: 's1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(db, { sessionId: 's1', lines: [], review: ['A1', 'A2', 'A3', 'A4', 'A5'].map((slot) => ({ slot, reason: 'not_stable', deltaG: 20, detail: null })) }, rules);
  s = await signedIn(app, db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

type Page = { items: Array<{ id: number; slot: string }>; next: number | null };
const page = async (query: string): Promise<Page> => {
  const res = await as(s)(app, `/api/review?${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Page;
};

describe('GET /api/review pages', () => {
  it('next points at the next page while more lines wait, and is null on the last', async () => {
    const first = await page('limit=2');
    expect(first.items.map((i) => i.slot)).toEqual(['A1', 'A2']);
    expect(first.next).toBe(first.items[1]!.id);
    const second = await page(`limit=2&after=${first.next}`);
    expect(second.items.map((i) => i.slot)).toEqual(['A3', 'A4']);
    expect(second.next).not.toBeNull();
    const last = await page(`limit=2&after=${second.next}`);
    expect(last.items.map((i) => i.slot)).toEqual(['A5']);
    expect(last.next).toBeNull();
    // exactly as many as are left: no empty page after it
    expect((await page(`limit=3&after=${first.next}`)).next).toBeNull();
    expect((await page('limit=5')).next).toBeNull();
  });

  it('a line resolved between two pages makes none skipped', async () => {
    const first = await page('limit=2');
    ledger.db.prepare("UPDATE review_lines SET resolved_at = '2026-01-01T00:00:00.000Z', resolution = 'waived' WHERE id = ?").run(first.items[0]!.id);
    const second = await page(`limit=2&after=${first.next}`);
    expect(second.items.map((i) => i.slot)).toEqual(['A3', 'A4']);
    expect(listOpenReview(ledger.db).map((l) => l.slot)).toEqual(['A2', 'A3', 'A4', 'A5']);
  });

  it('a cursor that is not a line id is refused by name (400)', async () => {
    const res = await as(s)(app, '/api/review?after=abc');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { after: { zh: 'after：请填写整数', message: 'after: enter a whole number' } } });
  });
});
