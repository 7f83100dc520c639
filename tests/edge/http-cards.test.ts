/**
 * Passbook cards from the admin page: issue (random or given number), revoke, each audited
 * with the number masked; refusals with field-level errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { getCard } from '../../edge/ledger/credentials.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});
beforeAll(async () => {
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  s = await signedIn(app, ledger.db);
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('passbook cards', () => {
  it('issues a random number (JSON) and a given one (form), refuses a taken or malformed number and an unknown villager', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/cards/issue', payload: { villager: 'V001' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/cards/issue', headers: { cookie: s.cookie }, payload: { villager: 'V001' } })).statusCode).toBe(403);
    const random = await app.inject({ method: 'POST', url: '/api/cards/issue', headers: s.post, payload: { villager: 'V001' } });
    expect(random.statusCode, random.body).toBe(201);
    const no = random.json().card.card_no as string;
    expect(no).toMatch(/^PB-\w{4}-\w{4}$/);
    expect(getCard(ledger.db, no)).toMatchObject({ villagerId: 'V001', revokedAt: null });

    const form = await app.inject({ method: 'POST', url: '/api/cards/issue', headers: { ...FORM, cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf, villager: 'V001', card: 'PB-0042' }).toString() });
    expect(form.statusCode).toBe(201);
    expect(form.body).toContain('已为 王大妈 发卡：PB-0042');

    const taken = await app.inject({ method: 'POST', url: '/api/cards/issue', headers: s.post, payload: { villager: 'V001', card: 'PB-0042' } });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().fields.card.zh).toBe('该卡号已被使用');
    const malformed = await app.inject({ method: 'POST', url: '/api/cards/issue', headers: s.post, payload: { villager: 'V001', card: 'x y' } });
    expect(malformed.statusCode).toBe(400);
    expect(Object.keys(malformed.json().fields)).toEqual(['card']);
    const nobody = await app.inject({ method: 'POST', url: '/api/cards/issue', headers: s.post, payload: { villager: 'NOBODY' } });
    expect(nobody.statusCode).toBe(404);

    const audit = listAudit(ledger.db).filter((a) => a.action === 'card.issue');
    expect(audit.map((a) => a.after)).toEqual([{ card: 'PB-****42' }, { card: `PB-****${no.slice(-2)}` }]);
    expect(JSON.stringify(listAudit(ledger.db))).not.toContain('PB-0042');
  });

  it('revokes a card once; an unknown number is a 404 that does not echo it', async () => {
    const url = '/api/cards/revoke';
    expect((await app.inject({ method: 'POST', url, headers: { cookie: s.cookie }, payload: { card: 'PB-0042' } })).statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url, headers: s.post, payload: { card: 'PB-0042' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ card: 'PB-****42', revoked: true });
    expect(getCard(ledger.db, 'PB-0042')!.revokedAt).not.toBeNull();
    expect((await app.inject({ method: 'POST', url, headers: s.post, payload: { card: 'PB-0042' } })).json()).toEqual({ card: 'PB-****42', revoked: false });
    const unknown = await app.inject({ method: 'POST', url, headers: s.post, payload: { card: 'PB-9999' } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).not.toContain('PB-9999');
    expect(listAudit(ledger.db).filter((a) => a.action === 'card.revoke')).toHaveLength(1);
    const page = (await as(s)(app, '/')).body;
    expect(page).toContain('<form class="inline" method="post" id="card-issue" action="/api/cards/issue">');
    expect(page).toContain('挂失积分卡');
  });
});

describe('one card form sent twice', () => {
  const live = (villager: string) => ledger.db.prepare('SELECT card_no FROM cards WHERE villager_id = ? AND revoked_at IS NULL').pluck().all(villager) as string[];
  /** The hidden fields of a card form on a freshly shown page. */
  const hidden = async (url: string, formId: string) => {
    const form = new RegExp(`<form[^>]*id="${formId}"[\\s\\S]*?</form>`).exec((await as(s)(app, url)).body)![0];
    return Object.fromEntries([...form.matchAll(/type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  };
  const send = (fields: Record<string, string>) => app.inject({ method: 'POST', url: '/api/cards/issue', headers: { ...FORM, accept: 'text/html', cookie: s.cookie }, payload: new URLSearchParams(fields).toString() });

  it('issues one card (a double tap on the admin page or the villager page): the second answer is the same slip', async () => {
    addVillager(ledger.db, { id: 'V002', name: '李四', village: '前进村' });
    const admin = await hidden('/', 'card-issue');
    expect(Object.keys(admin).sort()).toEqual(['_csrf', 'request']);
    const audits = listAudit(ledger.db).length;
    const [a, b] = await Promise.all([1, 2].map(() => send({ ...admin, villager: 'V002', card: '' })));
    expect([a!.statusCode, b!.statusCode]).toEqual([201, 201]);
    expect(live('V002')).toHaveLength(1);
    const no = live('V002')[0]!;
    expect(a!.body).toContain(no);
    expect(b!.body).toContain(no);
    expect(listAudit(ledger.db)).toHaveLength(audits + 1);

    // the villager's page: its own form, its own id
    const page = await hidden('/villagers/V002', 'card-issue-slip');
    expect(Object.keys(page).sort()).toEqual(['_csrf', '_page', 'request', 'villager']);
    expect(page.request).not.toBe(admin.request);
    const c = await send(page);
    const d = await send(page);
    expect([c.statusCode, d.statusCode]).toEqual([201, 201]);
    expect(live('V002')).toHaveLength(2);
    // JSON: the same request answers 200 duplicate with the card it issued
    const json = await app.inject({ method: 'POST', url: '/api/cards/issue', headers: s.post, payload: { villager: 'V002', request: page.request } });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({ duplicate: true, card: { villager_id: 'V002', card_no: live('V002').find((n) => n !== no) } });
    // the same form changed to another villager is refused, not taken for a new card
    const other = await app.inject({ method: 'POST', url: '/api/cards/issue', headers: s.post, payload: { villager: 'V001', request: page.request } });
    expect(other.statusCode).toBe(409);
    expect(other.json().fields.villager.zh).toContain('已经提交过');
    expect(live('V002')).toHaveLength(2);
  });
});
