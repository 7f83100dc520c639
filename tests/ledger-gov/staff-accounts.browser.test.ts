/**
 * The staff accounts page (/accounts) in a real browser (Debian's chromium through
 * playwright-core), on the ledger's own app and port: the town signs in, adds a village
 * account (a refusal shown beside its field, what was typed kept), disables and enables
 * another village's account; the new account signs in and sees its own village's accounts
 * only, the other village's data answers 404, and it sets its own password (the current one
 * first) and carries on. No script errors, no CSP violations.
 * Screenshots go to test-results/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { holdRequests } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { STAFF_PASSWORD } from './gov-app.ts';
import { browserRig, SHOTS, watchPage, type BrowserRig } from './browser-rig.ts';

const NEW_PASSWORD = 'village clerk pw';

describe(`staff accounts page in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  const problems: string[] = [];
  // 400, 401, 403 and 404 are refusals the test provokes (a short password, another village's data)
  const watch = (page: Page) => watchPage(page, problems, /status of 40[0134] /);
  const rowOf = (page: Page, username: string) => page.locator(`#accounts tr[data-user="${username}"]`);
  const signIn = (page: Page, username: string, password: string) => rig.loginForm(page, username, '/accounts', password);

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      await g.villager(g.b, 'wang');
    });
    await rig.addStaff('town-office', undefined, '镇办公室');
    await rig.addStaff('clerk-b', rig.g.b, '乙村文书');
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('the town adds a village account; signed in as it, the other village is out of sight', async () => {
    const context = await rig.desk();
    const page = watch(await context.newPage());
    // No session: to the login, and back.
    await page.goto(`${rig.base}/accounts`);
    await page.waitForURL(/\/login\?next=%2Faccounts$/);
    await signIn(page, 'town-office', STAFF_PASSWORD);
    expect(await page.textContent('#who')).toBe('镇办公室（镇级 Town）');
    await expect.poll(() => page.locator('#accounts tr').count()).toBe(2);
    expect(await rowOf(page, 'clerk-b').textContent()).toContain('乙村文书');

    // Add a village account: a refusal beside its field, what was typed kept.
    await page.fill('#add-username', 'clerk-a');
    await page.fill('#add-display_name', '甲村文书');
    await page.selectOption('#add-role', 'village');
    await page.selectOption('#add-village', rig.g.a);
    await page.fill('#add-password', 'short');
    await page.fill('#add-password_confirm', 'short');
    await page.click('#add-form button[type=submit]');
    await expect.poll(() => page.textContent('#add-password-error')).toBe('密码至少 10 位 / at least 10 characters');
    expect(await page.inputValue('#add-username')).toBe('clerk-a');
    expect(await page.inputValue('#add-display_name')).toBe('甲村文书');
    expect(await page.inputValue('#add-village')).toBe(rig.g.a);
    await page.fill('#add-password', NEW_PASSWORD);
    await page.fill('#add-password_confirm', `${NEW_PASSWORD}!`);
    await page.click('#add-form button[type=submit]');
    await expect.poll(() => page.textContent('#add-password_confirm-error')).toContain('两次输入的密码不一致');
    expect(await page.textContent('#add-password-error')).toBe('');
    await page.fill('#add-password_confirm', NEW_PASSWORD);
    const sent: string[] = [];
    page.on('request', (r) => { if (r.method() !== 'GET' && r.url().includes('/api/staff')) sent.push(`${r.method()} ${new URL(r.url()).pathname}`); });
    await page.click('#add-form button[type=submit]');
    await expect.poll(() => page.textContent('#add-ok'), { timeout: 30_000 }).toBe('已添加账号 clerk-a / account clerk-a added');
    await expect.poll(() => rowOf(page, 'clerk-a').textContent()).toContain('甲村文书');
    expect(await page.inputValue('#add-username')).toBe('');
    expect(sent.splice(0)).toEqual(['POST /api/staff']);

    // Disable another village's account, then enable it again.
    page.once('dialog', (d) => void d.accept());
    await rowOf(page, 'clerk-b').locator('button[data-action=disable]').click();
    await expect.poll(() => rowOf(page, 'clerk-b').textContent()).toContain('已停用');
    // A double click on 启用 enables once. The line above the table that said 已停用 is cleared as the
    // request goes and keeps its place while it runs: the button stays under the second click.
    const enable = rowOf(page, 'clerk-b').locator('button[data-action=enable]');
    const where = await enable.boundingBox();
    const requests = await holdRequests(page, '**/enable');
    await enable.dblclick();
    await expect.poll(() => page.textContent('#list-ok')).toBe('');
    expect(await enable.boundingBox()).toEqual(where);
    await requests.answer();
    await expect.poll(() => rowOf(page, 'clerk-b').textContent()).toContain('正常');
    expect(await page.textContent('#list-ok')).toBe('已启用：clerk-b / enabled: clerk-b');
    expect(sent.splice(0)).toEqual(['POST /api/staff/clerk-b/disable', 'POST /api/staff/clerk-b/enable']);
    // The town's own row offers no 停用.
    expect(await rowOf(page, 'town-office').locator('button[data-action=disable]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-staff-accounts-town.png'), fullPage: true });
    const audit = (await rig.g.call(rig.g.town, 'GET', `/api/villages/${rig.g.a}/audit`)).json() as { events: { action: string; subject: string; detail: { by?: string } }[] };
    expect(audit.events).toContainEqual(expect.objectContaining({ action: 'staff.create', subject: 'staff:clerk-a', detail: expect.objectContaining({ by: 'town-office' }) }));

    // Sign out, and in as the new village account.
    await page.click('#logout');
    await page.waitForURL(/\/login\?next=%2Faccounts$/);
    await signIn(page, 'clerk-a', NEW_PASSWORD);
    expect(await page.textContent('#who')).toBe(`甲村文书（村级 Village · ${rig.g.a}）`);
    await expect.poll(() => page.locator('#accounts tr').count()).toBe(1);
    const table = await page.textContent('#accounts');
    expect(table).toContain('clerk-a');
    expect(table).not.toContain('clerk-b');
    expect(table).not.toContain('town-office');
    // It adds village accounts of its own village only: the form offers nothing else.
    expect(await page.locator('#add-village option').evaluateAll((os: unknown[]) => os.map((o) => (o as { value: string }).value))).toEqual([rig.g.a]);
    expect(await page.isDisabled('#add-role')).toBe(true);
    expect(await page.isDisabled('#add-village')).toBe(true);
    // The other village's data answers 404 to this session, as if it did not exist.
    const statuses = await page.evaluate(async (b: string) => {
      const get = async (u: string) => (await fetch(u, { credentials: 'same-origin' })).status;
      return [await get(`/api/villages/${b}/claims`), await get(`/api/villages/${b}/villagers/wang`), await get(`/api/villages/${b}/rollup`)];
    }, rig.g.b);
    expect(statuses).toEqual([404, 404, 404]);

    // Its own password: the current one first; the page carries on signed in with the new one.
    await rowOf(page, 'clerk-a').locator('button[data-action=password]').click();
    await page.waitForSelector('#password-card:not([hidden])');
    expect(await page.isVisible('#pw-current_password')).toBe(true);
    await page.fill('#pw-current_password', 'not my password');
    await page.fill('#pw-password', 'a newer clerk pw');
    await page.fill('#pw-password_confirm', 'a newer clerk pw');
    await page.click('#password-form button[type=submit]');
    await expect.poll(() => page.textContent('#pw-current_password-error'), { timeout: 30_000 }).toBe('当前密码不正确 / the current password is wrong');
    expect(await page.inputValue('#pw-password')).toBe('a newer clerk pw');
    // A double click changes it once (a second change, sent with the session the first one ended,
    // would sign the page out). The form opened afresh: no message line cleared, the button where it was.
    await page.click('#pw-cancel');
    await rowOf(page, 'clerk-a').locator('button[data-action=password]').click();
    await page.fill('#pw-current_password', NEW_PASSWORD);
    await page.fill('#pw-password', 'a newer clerk pw');
    await page.fill('#pw-password_confirm', 'a newer clerk pw');
    sent.length = 0;
    await page.dblclick('#password-form button[type=submit]');
    await expect.poll(() => page.textContent('#list-ok'), { timeout: 30_000 }).toBe('已修改我的密码 / your password is changed');
    expect(sent).toEqual(['PUT /api/staff/clerk-a/password']);
    // A change right after it passes the CSRF check with the new session's token.
    await page.fill('#add-username', 'clerk-a2');
    await page.fill('#add-display_name', '甲村会计');
    await page.fill('#add-password', 'another clerk pw');
    await page.fill('#add-password_confirm', 'another clerk pw');
    // A double click adds once: one request, and no refusal of the name as taken beside the success.
    sent.length = 0;
    await page.dblclick('#add-form button[type=submit]');
    await expect.poll(() => page.textContent('#add-ok'), { timeout: 30_000 }).toBe('已添加账号 clerk-a2 / account clerk-a2 added');
    await expect.poll(() => page.isEnabled('#add-form button[type=submit]')).toBe(true);
    expect(await page.textContent('#add-username-error')).toBe('');
    expect(sent).toEqual(['POST /api/staff']);
    // the page says so before it reads the list again (accounts.js): wait for the new row
    await expect.poll(() => page.locator('#accounts tr').count(), { timeout: 30_000 }).toBe(2);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-staff-accounts-village.png'), fullPage: true });
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('the login goes on to a path of this site only: a `next` that a browser would read as another site goes to /town', async () => {
    const context = await rig.desk();
    const offSite: string[] = [];
    await context.route((url) => url.host !== new URL(rig.base).host, (route) => {
      offSite.push(route.request().url());
      return route.abort();
    });
    const page = watch(await context.newPage());
    await page.goto(`${rig.base}/login?next=${encodeURIComponent('/accounts?from=login')}`);
    await rig.loginForm(page, 'town-office', '/accounts');
    expect(page.url()).toBe(`${rig.base}/accounts?from=login`);
    // Signed in: each link sends the browser on at once, to /town unless `next` is a path here.
    for (const next of ['/\t/evil.example/a', '/\r\n/evil.example/b', '//evil.example/c', '/\\evil.example/d', '/.//evil.example/e', '/x/..//evil.example/f', 'https://evil.example/g', 'javascript:alert(1)']) {
      await page.goto(`${rig.base}/login?next=${encodeURIComponent(next)}`);
      await page.waitForURL((u) => u.pathname !== '/login', { timeout: 10_000 });
      expect({ next, at: page.url() }).toEqual({ next, at: `${rig.base}/town` });
    }
    expect(offSite).toEqual([]);
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);
});
