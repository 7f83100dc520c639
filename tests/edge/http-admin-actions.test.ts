/**
 * The admin page's first actions through `app.inject()`: blocking and unblocking a villager, the
 * audit log, and adding accounts, each with its refusals (no session → 401, no CSRF → 403, field
 * errors) and its audit records. The login, its lockout and sessions are in http-auth.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp, type App } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, getVillager, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { getAdminAccount } from '../../edge/ledger/admin-accounts.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, createAccount, signIn, TEST_AUTH, TEST_PASSWORD } from './admin-auth.ts';

const ledgers: Array<ReturnType<typeof tempLedger>> = [];
const apps: App[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
  for (const l of ledgers) l.cleanup();
});

function setup() {
  const ledger = tempLedger();
  ledgers.push(ledger);
  const health = new HealthBoard();
  health.setPhase('running');
  const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health, db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH }, pino({ level: 'silent' }));
  apps.push(app);
  return { app, db: ledger.db };
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

describe('actions', () => {
  it('block and unblock: 401 without a session, 403 without CSRF, field errors, audited with before and after', async () => {
    const { app, db } = setup();
    await createAccount(db);
    addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
    const s = await signIn(app);
    const url = '/api/villagers/V001/status';
    expect((await app.inject({ method: 'POST', url, payload: { status: 'blocked' } })).statusCode).toBe(401);
    const noCsrf = await app.inject({ method: 'POST', url, headers: { cookie: s.cookie }, payload: { status: 'blocked' } });
    expect(noCsrf.statusCode).toBe(403);
    const forged = await app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'x-csrf-token': 'forged' }, payload: { status: 'blocked' } });
    expect(forged.statusCode).toBe(403);
    expect(getVillager(db, 'V001')!.status).toBe('active');

    const badField = await app.inject({ method: 'POST', url, headers: s.post, payload: { status: 'gone' } });
    expect(badField.statusCode).toBe(400);
    expect(badField.json()).toMatchObject({ error: 'INVALID_ARGUMENT', zh: expect.stringContaining('须为以下之一：active, blocked') });
    expect(Object.keys(badField.json().fields)).toEqual(['status']);
    const unknown = await app.inject({ method: 'POST', url: '/api/villagers/NOBODY/status', headers: s.post, payload: { status: 'blocked' } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().zh).toBeTruthy();

    const blocked = await app.inject({ method: 'POST', url, headers: s.post, payload: { status: 'blocked' } });
    expect(blocked.statusCode).toBe(200);
    expect(blocked.json()).toMatchObject({ villager: { id: 'V001', status: 'blocked' } });
    expect(getVillager(db, 'V001')!.status).toBe('blocked');
    // the page's form: urlencoded with _csrf, answered with a redirect back
    const unblock = await app.inject({ method: 'POST', url, headers: { ...FORM, cookie: s.cookie }, payload: form({ _csrf: s.csrf, status: 'active' }) });
    expect(unblock.statusCode).toBe(303);
    expect(getVillager(db, 'V001')!.status).toBe('active');
    expect(listAudit(db)).toMatchObject([
      { actor: 'wang', action: 'villager.unblock', target: 'V001', before: { status: 'blocked' }, after: { status: 'active' } },
      { actor: 'wang', action: 'villager.block', target: 'V001', before: { status: 'active' }, after: { status: 'blocked' } },
    ]);

    setVillagerStatus(db, 'V001', 'left');
    const left = await app.inject({ method: 'POST', url, headers: s.post, payload: { status: 'active' } });
    expect(left.statusCode).toBe(409);
    expect(left.json().fields.status.zh).toBe('该村民已迁出');
    expect(listAudit(db)).toHaveLength(2);
  });

  it('lists the audit log newest first with a cursor, and shows it on the page', async () => {
    const { app, db } = setup();
    await createAccount(db);
    addVillager(db, { id: 'V9', name: '<b>九</b>', village: '前进村' });
    const s = await signIn(app);
    for (const status of ['blocked', 'active', 'blocked']) await app.inject({ method: 'POST', url: '/api/villagers/V9/status', headers: s.post, payload: { status } });
    const first = (await as(s)(app, '/api/audit?limit=2')).json();
    expect(first.items.map((i: { action: string }) => i.action)).toEqual(['villager.block', 'villager.unblock']);
    expect(first.items[0]).toMatchObject({ actor: 'wang', target: 'V9', before: { status: 'active' }, after: { status: 'blocked' } });
    expect(first.items[0].at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const rest = (await as(s)(app, `/api/audit?limit=2&before=${first.next}`)).json();
    expect(rest).toMatchObject({ items: [{ action: 'villager.block' }], next: null });
    expect((await as(s)(app, '/api/audit?limit=0')).statusCode).toBe(400);
    expect(db.prepare('SELECT count(*) AS n FROM audit_log').get()).toEqual({ n: 3 });
    expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    const page = (await as(s)(app, '/')).body;
    expect(page).toContain('<table id="audit">');
    expect(page).toContain('冻结村民');
    expect(page).toContain('data-action="unblock"'); // V9 is blocked: its button unblocks
    expect(page).not.toContain('<b>九</b>');
  });
});

describe('accounts', () => {
  it('a village admin adds an account (audited, field errors); a maintainer is refused with 403', async () => {
    const { app, db } = setup();
    await createAccount(db, 'cun', 'village_admin');
    await createAccount(db, 'wang', 'maintainer');
    const admin = await signIn(app, 'cun');
    const body = { username: 'li', display_name: '李会计', role: 'maintainer', password: TEST_PASSWORD, password_confirm: TEST_PASSWORD };
    expect((await app.inject({ method: 'POST', url: '/api/accounts', headers: { cookie: admin.cookie }, payload: body })).statusCode).toBe(403);
    const bad = await app.inject({ method: 'POST', url: '/api/accounts', headers: admin.post, payload: { ...body, username: 'L I', password_confirm: 'other' } });
    expect(bad.statusCode).toBe(400);
    expect(Object.keys(bad.json().fields).sort()).toEqual(['password_confirm', 'username']);
    const ok = await app.inject({ method: 'POST', url: '/api/accounts', headers: admin.post, payload: body });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toEqual({ account: { username: 'li', display_name: '李会计', role: 'maintainer' } });
    expect(listAudit(db)[0]).toMatchObject({ actor: 'cun', action: 'account.create', target: 'li', after: { via: 'admin page' } });
    const dup = await app.inject({ method: 'POST', url: '/api/accounts', headers: admin.post, payload: body });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().fields.username.zh).toContain('已存在');

    const maintainer = await signIn(app, 'wang');
    const refused = await app.inject({ method: 'POST', url: '/api/accounts', headers: maintainer.post, payload: { ...body, username: 'zhao' } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'FORBIDDEN', zh: '只有村管理员可以添加管理账号' });
    expect((await as(maintainer)(app, '/api/accounts')).json().items.map((a: { username: string }) => a.username)).toEqual(['cun', 'wang', 'li']);
    // the page: the list for everyone, the form for a village admin only; the form adds too
    expect((await as(maintainer)(app, '/')).body).not.toContain('id="account-add"');
    const page = (await as(admin)(app, '/')).body;
    expect(page).toContain('<td>李会计</td><td>门店维护员</td>');
    expect(page).toContain('id="account-add"');
    const viaForm = await app.inject({ method: 'POST', url: '/api/accounts', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: admin.cookie }, payload: new URLSearchParams({ ...body, username: 'zhou', _csrf: admin.csrf }).toString() });
    expect(viaForm.statusCode).toBe(303);
    expect(getAdminAccount(db, 'zhou')).toMatchObject({ role: 'maintainer' });
  });
});
