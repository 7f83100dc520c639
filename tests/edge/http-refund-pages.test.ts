/**
 * Refund forms a maintainer can reach for every settled purchase with something left to refund:
 * /review pages through them (older purchases behind "更早的购物"), a villager's page lists theirs;
 * both post to the one refund route with its checks. A refused form (over what is left, as a
 * stale second tablet after a full refund sends; a reason of spaces or with a control character (a
 * pasted tab is a space); the same form
 * resent with another amount) gets its page again, the bilingual message beside the field and
 * what was typed kept; never raw JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, requireVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry, findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH, timeZone: 'Asia/Shanghai' }, pino({ level: 'silent' }));
let s: Signed;

/** 30 purchases of one oil (30 points) each: `old-00` by V001 first, then 29 by V002. */
beforeAll(async () => {
  const db = ledger.db;
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  addVillager(db, { id: 'V002', name: '李大爷', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 100, origin: 'cli' }, rules);
  applyEntry(db, { id: 'e2', villagerId: 'V002', kind: 'award', points: 2000, origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 100 });
  for (let i = 0; i < 30; i++) {
    const id = `${i === 0 ? 'old' : 'buy'}-${String(i).padStart(2, '0')}`;
    openSession(db, { id, kind: 'shopping', villagerId: i === 0 ? 'V001' : 'V002', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(db, { sessionId: id, lines: [{ sku: 'oil', slot: 'B1', count: 1 }], review: [] }, rules);
  }
  s = await signedIn(app, db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const page = async (url: string): Promise<string> => {
  const res = await as(s)(app, url);
  expect(res.statusCode, res.body).toBe(200);
  return res.body;
};
const sessionsOn = (html: string): string[] => [...html.matchAll(/<tr data-session="([^"]+)">/g)].map((m) => m[1]!);
/** The hidden fields of a purchase's refund form on a page. */
const formOf = (html: string, session: string): Record<string, string> => {
  const row = new RegExp(`<tr data-session="${session}">[\\s\\S]*?</tr>`).exec(html);
  expect(row, `a refund form for ${session}`).not.toBeNull();
  return Object.fromEntries([...row![0].matchAll(/type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
};
const send = (session: string, fields: Record<string, string>) =>
  app.inject({ method: 'POST', url: `/api/receipts/${session}/refund`, headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: new URLSearchParams(fields).toString() });
const href = (html: string, id: string): string => new RegExp(`<a href="([^"]+)" id="${id}"`).exec(html)?.[1]?.replaceAll('&amp;', '&') ?? '';

describe('every purchase with something left to refund can be refunded from the tablet', () => {
  it('/review pages through them, newest first, older ones behind a link; a form there answers with its page', async () => {
    const first = await page('/review');
    expect(sessionsOn(first)).toHaveLength(20);
    expect(sessionsOn(first)).not.toContain('old-00');
    const olderUrl = href(first, 'refunds-older');
    expect(olderUrl).toMatch(/^\/review\?refunds_before=buy-10#receipts$/);
    const older = await page(olderUrl.replace(/#.*/, ''));
    expect(sessionsOn(older)).toEqual(['buy-09', 'buy-08', 'buy-07', 'buy-06', 'buy-05', 'buy-04', 'buy-03', 'buy-02', 'buy-01', 'old-00']);
    expect(href(older, 'refunds-older')).toBe('');
    expect(href(older, 'refunds-newest')).toBe('/review#receipts');
    const form = formOf(older, 'buy-05');
    expect(form._before).toBe('buy-10');
    const done = await send('buy-05', { ...form, points: '30', reason: '油已过期' });
    expect([done.statusCode, done.headers.location]).toEqual([303, expect.stringMatching(/^\/review\?refunds_before=buy-10&done=[\w-]+#receipts$/)]);
    // refunded in full: no longer offered, the next one older takes its place on the pages
    expect(sessionsOn(await page('/review?refunds_before=buy-10'))).not.toContain('buy-05');
    expect(sessionsOn(await page('/review'))).toHaveLength(20);
    expect(findBalanceMismatches(ledger.db)).toEqual([]);
  });

  it('a villager\'s page lists their purchases with what is left, each with a refund form answered with that page', async () => {
    const v1 = await page('/villagers/V001');
    expect(v1).toContain('id="purchases"');
    expect(sessionsOn(v1)).toEqual(['old-00']);
    const form = formOf(v1, 'old-00');
    expect(form._page).toBe('villager');
    const before = requireVillager(ledger.db, 'V001').balance;
    const done = await send('old-00', { ...form, points: '10', reason: '少称了' });
    // back to that page, saying what was done once (./http-review-done.test.ts)
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toMatch(/^\/villagers\/V001\?done=[^#&]+#purchases$/);
    expect(requireVillager(ledger.db, 'V001').balance).toBe(before + 10);
    const after = await page('/villagers/V001');
    expect(/<tr data-session="old-00">[\s\S]*?<\/tr>/.exec(after)![0]).toMatch(/data-refunded>10<[\s\S]*max="20"/);
    // V002's 29 purchases (one refunded in full above): 20 on the page, the rest behind the link
    const v2 = await page('/villagers/V002');
    expect(sessionsOn(v2)).toHaveLength(20);
    const olderUrl = href(v2, 'refunds-older');
    expect(olderUrl).toMatch(/^\/villagers\/V002\?purchases_before=buy-10#purchases$/);
    const older = await page(olderUrl.replace(/#.*/, ''));
    expect(sessionsOn(older)).toEqual(['buy-09', 'buy-08', 'buy-07', 'buy-06', 'buy-04', 'buy-03', 'buy-02', 'buy-01']);
    const done2 = await send('buy-01', { ...formOf(older, 'buy-01'), points: '1', reason: '少称了' });
    expect(done2.headers.location).toMatch(/^\/villagers\/V002\?purchases_before=buy-10&done=[^#&]+#purchases$/);
  });
});

describe('a refused refund form gets its page again, the message beside the field, what was typed kept', () => {
  it('a stale second tablet after a full refund: the page, saying 0 are left, in both languages', async () => {
    const a = formOf(await page('/review'), 'buy-29');
    const b = formOf(await page('/review'), 'buy-29');
    expect((await send('buy-29', { ...a, points: '30', reason: '过期' })).statusCode).toBe(303);
    const stale = await send('buy-29', { ...b, points: '1', reason: '坏了' });
    expect(stale.statusCode).toBe(400);
    expect(stale.headers['content-type']).toContain('text/html');
    expect(stale.body).toContain('<h2 id="receipts">');
    expect(stale.body).toMatch(/id="refund-error" data-form="refund-buy-29">本次购物最多还能退 0 分[^<]*<br>a refund of this purchase must be 1–0 points/);
    expect(sessionsOn(stale.body)).not.toContain('buy-29');
  });

  it('a reason of spaces or with a control character, another amount on a resent form: each beside its field, the typed values kept; a pasted tab is a space', async () => {
    const form = formOf(await page('/review'), 'buy-28');
    const spaces = await send('buy-28', { ...form, points: '5', reason: '   ' });
    expect(spaces.statusCode).toBe(400);
    expect(spaces.headers['content-type']).toContain('text/html');
    const row = (html: string) => /<tr data-session="buy-28">[\s\S]*?<\/tr>/.exec(html)![0];
    expect(row(spaces.body)).toMatch(/data-field="reason">退分须写明原因 \/ a refund needs a reason/);
    expect(row(spaces.body)).toContain('name="points" type="number" min="1" max="30"');
    expect(row(spaces.body)).toMatch(/name="points"[^>]*value="5"/);
    expect(row(spaces.body)).toMatch(/name="reason"[^>]*autofocus/);

    // a control character pasted with the text (a backspace from a chat message): refused, named in Chinese
    const ctl = await send('buy-28', { ...form, points: '5', reason: '油\u0008过期' });
    expect(ctl.statusCode).toBe(400);
    expect(row(ctl.body)).toMatch(/data-field="reason">退分原因不能包含控制字符[^<]* \/ reason must not contain control characters/);
    expect(row(ctl.body)).toContain('value="油\u0008过期"');

    // a pasted tab is a space, as the box drops a pasted line break: the refund is made
    expect((await send('buy-28', { ...form, points: '5', reason: '油\t过期' })).statusCode).toBe(303);
    expect(ledger.db.prepare("SELECT reason FROM entries WHERE kind = 'refund' AND reference = 'buy-28'").all()).toEqual([{ reason: '退分：油 过期' }]);
    const changed = await send('buy-28', { ...form, points: '7', reason: '过期' });
    expect(changed.statusCode).toBe(409);
    expect(changed.headers['content-type']).toContain('text/html');
    expect(row(changed.body)).toMatch(/data-field="points">这张退分表单已经提交过（退 5 分）；如需再退，请重新打开页面 \/ this refund request was made already/);
    expect(row(changed.body)).toMatch(/name="points"[^>]*value="7"/);
    // the page shown again is a new form: sent, it refunds once more
    const again = formOf(changed.body, 'buy-28');
    expect(again.request).not.toBe(form.request);
    expect((await send('buy-28', { ...again, points: '7', reason: '过期' })).statusCode).toBe(303);
    expect((await as(s)(app, '/api/receipts/buy-28/refund')).json()).toMatchObject({ refunded: 12, left: 18 });
  });

  it('from a villager\'s page: that page again, with the message beside the field', async () => {
    const form = formOf(await page('/villagers/V001'), 'old-00');
    const over = await send('old-00', { ...form, points: '21', reason: '过期' });
    expect(over.statusCode).toBe(400);
    expect(over.body).toContain('id="purchases"');
    expect(over.body).toContain('data-consent=');
    const row = /<tr data-session="old-00">[\s\S]*?<\/tr>/.exec(over.body)![0];
    expect(row).toMatch(/data-field="points">本次购物最多还能退 20 分[^<]* \/ a refund of this purchase must be 1–20 points/);
    expect(row).toMatch(/name="points"[^>]*value="21"[^>]*autofocus/);
    expect(row).toMatch(/name="reason"[^>]*value="过期"/);
    // an API client still gets the JSON error
    const json = await app.inject({ method: 'POST', url: '/api/receipts/old-00/refund', headers: s.post, payload: { points: 21, reason: '过期' } });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { points: { zh: expect.stringContaining('最多还能退 20 分') } } });
  });
});
