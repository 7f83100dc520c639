/**
 * Resolving the review queue from the admin page: charge (a redemption entry, once) or waive,
 * each audited, with CSRF and field-level errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, requireVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry, getEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { getReviewLine, listOpenReview } from '../../edge/ledger/review.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 50, reason: '垃圾分类', origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  openSession(db, { id: 's1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(db, { sessionId: 's1', lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [{ slot: 'B1', reason: 'not_whole_count', deltaG: -450, detail: null }, { slot: 'A2', reason: 'not_stable', deltaG: 20, detail: null }] }, rules);
  s = await signedIn(app, db);
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('review queue', () => {
  it('lists the open lines with the villager, on the admin page, with charge and waive forms on /review', async () => {
    const res = await as(s)(app, '/api/review');
    expect(res.statusCode).toBe(200);
    const { items, next } = res.json();
    expect(next).toBeNull();
    expect(items).toMatchObject([
      { session_id: 's1', villager_id: 'V001', villager_name: '王大妈', slot: 'B1', reason: 'not_whole_count', delta_g: -450, resolved_at: null },
      { slot: 'A2', reason: 'not_stable' },
    ]);
    const page = (await as(s)(app, '/')).body;
    expect(page).toContain('<table id="review-queue">');
    expect(page).toContain('重量不是整件数（-450 克）');
    expect(page).toContain('<a href="/review">去处理</a>');
    // the forms are on /review, which does not reload itself while points are typed
    const review = (await as(s)(app, '/review')).body;
    expect(review).toContain(`action="/api/review/${items[0].id}/resolve"`);
    expect(review).not.toContain('http-equiv="refresh"');
    expect((await app.inject('/review')).statusCode).toBe(303);
  });

  it('charges a line once: a redemption entry, the balance and the audit log; refusals are clear', async () => {
    const [line] = listOpenReview(ledger.db);
    const url = `/api/review/${line!.id}/resolve`;
    expect((await app.inject({ method: 'POST', url, payload: { resolution: 'charge', points: 15 } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url, headers: { cookie: s.cookie }, payload: { resolution: 'charge', points: 15 } })).statusCode).toBe(403);
    const noPoints = await app.inject({ method: 'POST', url, headers: s.post, payload: { resolution: 'charge' } });
    expect(noPoints.statusCode).toBe(400);
    expect(noPoints.json().fields).toEqual({ points: { message: 'required for a charge: a whole number from 1', zh: '补扣时必填，须为正整数' } });
    const negative = await app.inject({ method: 'POST', url, headers: s.post, payload: { resolution: 'charge', points: -3 } });
    expect(negative.statusCode).toBe(400);
    expect(Object.keys(negative.json().fields)).toEqual(['points']);
    const badKind = await app.inject({ method: 'POST', url, headers: s.post, payload: { resolution: 'refund' } });
    expect(Object.keys(badKind.json().fields)).toEqual(['resolution']);
    const balance = requireVillager(ledger.db, 'V001').balance;

    const ok = await app.inject({ method: 'POST', url, headers: s.post, payload: { resolution: 'charge', points: 15 } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ review: { resolution: 'charged 15', resolved_at: expect.any(String) }, entry: { id: `review:s1:${line!.id}`, points: -15, balance_after: balance - 15 }, debt: 0 });
    expect(getEntry(ledger.db, `review:s1:${line!.id}`)).toMatchObject({ kind: 'redemption', origin: 'admin', reference: 's1' });
    expect(requireVillager(ledger.db, 'V001').balance).toBe(balance - 15);
    expect(listAudit(ledger.db)[0]).toMatchObject({ actor: 'wang', action: 'review.charge', target: `s1#${line!.id}`, before: { resolution: null, villager: 'V001' }, after: { resolution: 'charged 15', entry: `review:s1:${line!.id}`, charged: 15, debt: 0 } });

    const again = await app.inject({ method: 'POST', url, headers: s.post, payload: { resolution: 'waive' } });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'ALREADY_SETTLED' });
    expect(again.json().zh).toContain('已处理');
    expect(requireVillager(ledger.db, 'V001').balance).toBe(balance - 15);
    const unknown = await app.inject({ method: 'POST', url: '/api/review/99999/resolve', headers: s.post, payload: { resolution: 'waive' } });
    expect(unknown.statusCode).toBe(404);
  });

  it('waives a line from the page form: no entry, resolved, audited, gone from the queue', async () => {
    const [line] = listOpenReview(ledger.db);
    const entries = (ledger.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    const res = await app.inject({ method: 'POST', url: `/api/review/${line!.id}/resolve`, headers: { ...FORM, cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf, resolution: 'waive' }).toString() });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(/^\/review\?done=[\w-]+$/);
    expect(getReviewLine(ledger.db, line!.id)).toMatchObject({ resolution: 'waived' });
    expect((ledger.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n).toBe(entries);
    expect(listAudit(ledger.db)[0]).toMatchObject({ action: 'review.waive', after: { resolution: 'waived', entry: null, charged: 0 } });
    expect(listOpenReview(ledger.db)).toEqual([]);
    expect((await as(s)(app, '/review')).body).toContain('没有待核对的记录');
  });

  it("refuses a charge whose entry id another entry holds (409): the line stays open, nothing is charged", async () => {
    const db = ledger.db;
    openSession(db, { id: 's2', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: 's2', lines: [], review: [{ slot: 'B1', reason: 'not_stable', deltaG: -900, detail: null }] }, rules);
    const [line] = listOpenReview(db);
    // the id a charge of this line makes, already held by another entry (e.g. a ledger restored from an older backup)
    addVillager(db, { id: 'V002', name: '李四', village: '前进村' });
    applyEntry(db, { id: `review:s2:${line!.id}`, villagerId: 'V002', kind: 'award', points: 40, origin: 'ledger' }, rules);
    const balance = requireVillager(db, 'V001').balance;
    const res = await app.inject({ method: 'POST', url: `/api/review/${line!.id}/resolve`, headers: s.post, payload: { resolution: 'charge', points: 30 } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'ENTRY_ID_TAKEN' });
    expect(res.json().zh).toContain('已被另一条记录使用');
    expect(getReviewLine(db, line!.id)).toMatchObject({ resolved_at: null });
    expect(requireVillager(db, 'V001').balance).toBe(balance);
  });

  it('offers only "acknowledge" for lines whose goods were charged at settlement, and refuses to charge them again', async () => {
    const db = ledger.db;
    addVillager(db, { id: 'V003', name: '赵六', village: '前进村' });
    applyEntry(db, { id: 'e3', villagerId: 'V003', kind: 'award', points: 100, origin: 'cli' }, rules);
    upsertSlot(db, { slot: 'C1', address: 21, sku: 'oil', stock: 0 });
    openSession(db, { id: 's3', kind: 'shopping', villagerId: 'V003', enteredBy: 'card', state: 'shopping', context: {} });
    // the ledger never heard from: offline, with 20 points a day; one oil (30) from a slot the ledger thinks empty
    settleSession(db, { sessionId: 's3', lines: [{ sku: 'oil', slot: 'C1', count: 1 }], review: [{ slot: 'A2', reason: 'not_stable', deltaG: 20, detail: null }] }, { creditFloor: 0, offline: { dailyLimit: 20, offlineAfterS: 60 } });
    expect(requireVillager(db, 'V003').balance).toBe(70);
    const lines = listOpenReview(db).filter((l) => l.session_id === 's3');
    expect(lines.map((l) => l.reason).sort()).toEqual(['not_stable', 'offline_limit', 'stock_clipped']);
    const paid = lines.filter((l) => l.reason !== 'not_stable');
    const unpaid = lines.find((l) => l.reason === 'not_stable')!;

    const page = (await as(s)(app, '/review')).body;
    const row = (id: number) => new RegExp(`<tr data-review="${id}">[\\s\\S]*?</tr>`).exec(page)![0];
    for (const l of paid) {
      expect(row(l.id)).toContain('data-action="acknowledge"');
      expect(row(l.id)).not.toMatch(/data-action="(charge|correct|waive)"/);
      expect(row(l.id)).toContain('已照常扣分');
    }
    expect(row(unpaid.id)).toMatch(/data-action="charge"[\s\S]*data-action="waive"/);
    expect(row(unpaid.id)).not.toContain('data-action="acknowledge"');

    for (const l of paid) {
      for (const payload of [{ resolution: 'charge', points: 30 }, { resolution: 'correct', sku: 'oil', count: 1 }, { resolution: 'waive' }]) {
        const res = await app.inject({ method: 'POST', url: `/api/review/${l.id}/resolve`, headers: s.post, payload });
        expect(res.statusCode, `${l.reason} ${payload.resolution}`).toBe(409);
        expect(res.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { resolution: { zh: expect.stringContaining('结算时已经扣过分') } } });
      }
    }
    expect(requireVillager(db, 'V003').balance).toBe(70);
    const notPaid = await app.inject({ method: 'POST', url: `/api/review/${unpaid.id}/resolve`, headers: s.post, payload: { resolution: 'acknowledge' } });
    expect(notPaid.statusCode).toBe(400);
    expect(notPaid.json().zh).toContain('还没有扣分');

    for (const l of paid) {
      const res = await app.inject({ method: 'POST', url: `/api/review/${l.id}/resolve`, headers: { ...FORM, cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf, resolution: 'acknowledge' }).toString() });
      expect(res.statusCode).toBe(303);
      expect(getReviewLine(db, l.id)).toMatchObject({ resolution: 'acknowledged' });
      expect(listAudit(db)[0]).toMatchObject({ action: 'review.acknowledge', after: { resolution: 'acknowledged', entry: null, charged: 0 } });
    }
    expect(requireVillager(db, 'V003').balance).toBe(70);
  });
});

describe('a restock session\'s review line', () => {
  it('is only waived: a charge, correction or acknowledgement is refused (409), and the page offers only 免扣', async () => {
    const db = ledger.db;
    addVillager(db, { id: 'M01', name: '老陈', village: '前进村' });
    applyEntry(db, { id: 'e-m01', villagerId: 'M01', kind: 'award', points: 100, origin: 'cli' }, rules);
    openSession(db, { id: 'restock-1', kind: 'restock', villagerId: 'M01', enteredBy: 'card', state: 'restocking', context: {} });
    // a delivery onto B1 that is not a whole number of bottles: nothing was sold
    settleSession(db, { sessionId: 'restock-1', lines: [], review: [{ slot: 'B1', reason: 'not_whole_count', deltaG: 2300, detail: null }] }, rules);
    const line = listOpenReview(db).find((l) => l.session_id === 'restock-1')!;
    expect(line.session_kind).toBe('restock');
    expect((await as(s)(app, '/api/review')).json().items.find((i: { id: number }) => i.id === line.id)).toMatchObject({ session_kind: 'restock' });

    const row = new RegExp(`<tr data-review="${line.id}"[^>]*>[\\s\\S]*?</tr>`).exec((await as(s)(app, '/review')).body)![0];
    expect(row).toContain('data-action="waive"');
    expect(row).not.toMatch(/data-action="(charge|correct|acknowledge)"/);
    expect(row).toContain('补货记录');

    for (const payload of [{ resolution: 'charge', points: 30 }, { resolution: 'correct', sku: 'oil', count: 1 }, { resolution: 'acknowledge' }]) {
      const res = await app.inject({ method: 'POST', url: `/api/review/${line.id}/resolve`, headers: s.post, payload });
      expect(res.statusCode, payload.resolution).toBe(409);
      expect(res.json()).toMatchObject({ error: 'INVALID_ARGUMENT', message: expect.stringContaining('restock'), zh: expect.stringContaining('补货记录不扣分'), fields: { resolution: { zh: '补货记录只能免扣' } } });
    }
    expect(requireVillager(db, 'M01').balance).toBe(100);
    expect(getReviewLine(db, line.id)).toMatchObject({ resolved_at: null });

    const waived = await app.inject({ method: 'POST', url: `/api/review/${line.id}/resolve`, headers: s.post, payload: { resolution: 'waive' } });
    expect(waived.statusCode).toBe(200);
    expect(getReviewLine(db, line.id)).toMatchObject({ resolution: 'waived' });
    expect(listAudit(db)[0]).toMatchObject({ action: 'review.waive', target: `restock-1#${line.id}` });
    expect(requireVillager(db, 'M01').balance).toBe(100);
  });
});

describe('fields a resolution does not take', () => {
  it('are refused by name (400), before anything is charged or waived', async () => {
    const db = ledger.db;
    openSession(db, { id: 's-fields', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: 's-fields', lines: [], review: [{ slot: 'A2', reason: 'moved_out', deltaG: -240, detail: null }] }, rules);
    const line = listOpenReview(db).find((l) => l.session_id === 's-fields')!;
    const balance = requireVillager(db, 'V001').balance;
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ resolution: 'waive', points: 50 }, ['points']],
      [{ resolution: 'charge', points: 5, sku: 'oil', count: 2 }, ['sku', 'count']],
      [{ resolution: 'correct', sku: 'oil', count: 1, points: 5 }, ['points']],
      [{ resolution: 'acknowledge', count: 1 }, ['count']],
    ];
    for (const [payload, named] of cases) {
      const res = await app.inject({ method: 'POST', url: `/api/review/${line.id}/resolve`, headers: s.post, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json()).toMatchObject({ error: 'INVALID_ARGUMENT', zh: expect.stringContaining('不接受') });
      expect(Object.keys(res.json().fields).sort()).toEqual([...named].sort());
      for (const f of named) expect(res.json().fields[f]).toEqual({ message: expect.stringContaining('not taken'), zh: expect.stringContaining('不接受此字段') });
    }
    expect(getReviewLine(db, line.id)).toMatchObject({ resolved_at: null });
    expect(requireVillager(db, 'V001').balance).toBe(balance);
  });
});

describe('the /review forms sent from a browser', () => {
  const BROWSER = { ...FORM, accept: 'text/html,application/xhtml+xml' };
  it('a resent form gets the page back (resolved once); another refusal gets the page with the message beside the line', async () => {
    const db = ledger.db;
    addVillager(db, { id: 'V010', name: '孙七', village: '前进村' });
    applyEntry(db, { id: 'e-v010', villagerId: 'V010', kind: 'award', points: 100, origin: 'cli' }, rules);
    openSession(db, { id: 's-twice', kind: 'shopping', villagerId: 'V010', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: 's-twice', lines: [], review: [{ slot: 'A2', reason: 'moved_out', deltaG: -240, detail: null }, { slot: 'A3', reason: 'moved_out', deltaG: -120, detail: null }] }, rules);
    const [one, two] = listOpenReview(db).filter((l) => l.session_id === 's-twice');
    const balance = requireVillager(db, 'V010').balance;
    const send = (id: number, fields: Record<string, string>) => app.inject({ method: 'POST', url: `/api/review/${id}/resolve`, headers: { ...BROWSER, cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf, ...fields }).toString() });
    const first = await send(one!.id, { resolution: 'charge', points: '8' });
    const second = await send(one!.id, { resolution: 'charge', points: '8' });
    expect([first.statusCode, second.statusCode]).toEqual([303, 303]);
    expect(second.headers.location).toBe('/review');
    expect(requireVillager(db, 'V010').balance).toBe(balance - 8); // charged once
    expect(listAudit(db).filter((a) => a.target === `s-twice#${one!.id}`)).toHaveLength(1);

    // a different decision on a line resolved already: the page, saying so, not JSON
    const other = await send(one!.id, { resolution: 'waive' });
    expect(other.statusCode).toBe(409);
    expect(other.headers['content-type']).toContain('text/html');
    expect(other.body).toContain('已处理');
    // a refusal on an open line: the page with the message in that line's row
    const zero = await send(two!.id, { resolution: 'correct', sku: 'nothing', count: '1' });
    expect(zero.statusCode).toBe(404);
    expect(zero.headers['content-type']).toContain('text/html');
    const row = new RegExp(`<tr data-review="${two!.id}"[^>]*>[\\s\\S]*?</tr>`).exec(zero.body)![0];
    expect(row).toContain('未知商品 nothing');
    expect(row).toContain('data-action="charge"');
    // JSON clients still get the JSON refusal
    const json = await app.inject({ method: 'POST', url: `/api/review/${one!.id}/resolve`, headers: s.post, payload: { resolution: 'charge', points: 8 } });
    expect(json.statusCode).toBe(409);
    expect(json.json()).toMatchObject({ error: 'ALREADY_SETTLED' });
  });
});
