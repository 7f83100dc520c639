/**
 * The phone page's 改密码 (Change PIN) form in a real browser (Debian's chromium through
 * playwright-core) at a phone's width. Found by a tester acting as an elderly villager: the PIN
 * could be set by the village office only, and a villager who wanted another one had to go there.
 * Now the signed-in page has the current PIN and the new one twice: refusals said beside their
 * field in both languages (two new PINs that differ, a PIN that is not 4 to 8 digits, a wrong
 * current PIN with the tries left and then the minutes to wait, counted with the logins), a double
 * tap sending once, and a change that signs the other phones out while this one stays signed in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { pageProblems, pageWidth, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import type { GovApp } from './gov-app.ts';
import { browserRig, VILLAGER_PIN, type BrowserRig } from './browser-rig.ts';

describe(`the phone page changes the villager's own PIN in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let g: GovApp;
  /** Zhang's other phone: a session made before the change. */
  let otherPhone: string;

  beforeAll(async () => {
    rig = await browserRig(async (app) => {
      g = app;
      otherPhone = await g.villager(g.a, 'zhang');
      await g.villager(g.a, 'li');
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const failures = async (id: string) => (await g.db.query<{ failures: number | string }>('SELECT failures FROM gov_login_failures WHERE login = $1', [`${g.a}/${id}`])).map((f) => Number(f.failures));
  const fill = async (page: Page, current: string, pin: string, again: string) => {
    await page.fill('#pin-current', current);
    await page.fill('#pin-new', pin);
    await page.fill('#pin-again', again);
  };
  /** Refusals the test provokes are logged by chromium as failed loads: everything else is a problem. */
  const unexpected = (problems: string[]) => problems.filter((p) => !/status of (400|403|429) /.test(p));
  const ready = (page: Page) => expect.poll(() => page.isEnabled('#pin-submit')).toBe(true);

  it('refuses beside the field, counts a wrong current PIN once for a double tap, and changes the PIN keeping this phone signed in', async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.villagerSignIn(page, 'zhang');
    problems.length = 0; // the login page's first look at its session is a 401
    await page.locator('#pin-card').scrollIntoViewIfNeeded();
    expect(await page.textContent('#pin-card h2')).toBe('改密码 Change PIN');
    // large, clear words: the form's text as the login's, and nothing wider than the phone
    const size = (sel: string) => page.locator(sel).evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(el).fontSize);
    const sizes = { label: await size('label[for=pin-new]'), input: await size('#pin-new'), button: await size('#pin-submit') };
    expect(sizes).toEqual({ label: await size('label[for=villager]'), input: await size('#villager'), button: await size('#self-submit') });
    expect(Number.parseFloat(sizes.label)).toBeGreaterThanOrEqual(17);
    const width = await pageWidth(page);
    expect(width.page).toBeLessThanOrEqual(width.layout);

    // two new PINs that differ; a new PIN that is no 4 to 8 digits: said beside their fields, nothing counted
    await fill(page, VILLAGER_PIN, '1357', '1358');
    await page.click('#pin-submit');
    await expect.poll(() => page.textContent('#pin-again-error')).toBe('两次输入的新密码不一致，请重新输入 / the two new PINs differ; type the new PIN again');
    await ready(page);
    await fill(page, VILLAGER_PIN, '12', '12');
    await page.click('#pin-submit');
    await expect.poll(() => page.textContent('#pin-new-error')).toBe('密码须为 4 到 8 位数字 / pin must be 4 to 8 digits');
    expect(await page.textContent('#pin-again-error')).toBe('');
    await ready(page);
    expect(await failures('zhang')).toEqual([]);

    // a wrong current PIN, double tapped: one request, one count, said beside the field, which is emptied for the next try
    const sent: string[] = [];
    page.on('request', (r) => { if (r.method() === 'PUT' && r.url().endsWith('/me/pin')) sent.push(r.url()); });
    await fill(page, '9999', '1357', '1357');
    await page.dblclick('#pin-submit');
    await expect.poll(() => page.textContent('#pin-current-error')).toBe('当前密码不正确 / the current PIN is wrong');
    await ready(page);
    expect(sent).toHaveLength(1);
    expect(await failures('zhang')).toEqual([1]);
    expect(await page.inputValue('#pin-current')).toBe('');
    expect(await page.inputValue('#pin-new')).toBe('1357');
    for (const left of [null, 2]) {
      await page.fill('#pin-current', '8888');
      await page.click('#pin-submit');
      await expect.poll(failures.bind(null, 'zhang')).toEqual([left === null ? 2 : 3]);
      await ready(page);
      if (left !== null) expect(await page.textContent('#pin-current-error')).toBe(`当前密码不正确，还可再试 ${left} 次 / the current PIN is wrong; ${left} tries left`);
    }

    // the right one: done, the other phone signed out, this one still signed in (after a reload too)
    await page.fill('#pin-current', VILLAGER_PIN);
    await page.click('#pin-submit');
    await expect.poll(() => page.textContent('#pin-ok')).toBe('密码已改好，以后请用新密码登录 / PIN changed; sign in with the new PIN from now on\n其他 1 部手机上的登录已退出 / signed out on 1 other phone');
    expect([await page.inputValue('#pin-current'), await page.inputValue('#pin-new'), await page.inputValue('#pin-again')]).toEqual(['', '', '']);
    expect(await page.textContent('#pin-current-error')).toBe('');
    expect(await failures('zhang')).toEqual([]);
    await page.screenshot({ path: 'test-results/ledger-villager-pin.png', fullPage: true });
    expect((await g.call(otherPhone, 'GET', `/api/villages/${g.a}/me`)).statusCode).toBe(401);
    await page.reload();
    await page.waitForSelector('#main-view:not([hidden])');
    expect(await page.textContent('#who')).toBe('村民zhang（zhang）');
    // the old PIN no longer signs in, the new one does
    expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'zhang', pin: VILLAGER_PIN })).statusCode).toBe(401);
    expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'zhang', pin: '1357' })).statusCode).toBe(200);
    const audit = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { action: string; actor: string; detail: unknown }[] };
    expect(audit.events.filter((e) => e.action === 'pin.change')).toMatchObject([{ actor: 'villager:zhang', detail: { sessions_ended: 1 } }]);
    expect(unexpected(problems)).toEqual([]);
    await context.close();
  }, 120_000);

  it('wrong current PINs after wrong logins meet the lock, which says how many minutes to wait', async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.villagerSignIn(page, 'li');
    problems.length = 0;
    // four wrong logins elsewhere: the page's wrong current PIN is the fifth
    for (let k = 0; k < 4; k++) expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'li', pin: '0000' })).statusCode).toBe(401);
    await fill(page, '9999', '1357', '1357');
    await page.click('#pin-submit');
    await expect.poll(() => page.textContent('#pin-current-error')).toBe('当前密码不正确；错误次数过多，请约 15 分钟后再试 / the current PIN is wrong; too many wrong tries: try again in about 15 minutes');
    await ready(page);
    // locked: the right PIN waits too, and the page stays signed in
    await page.fill('#pin-current', VILLAGER_PIN);
    await page.click('#pin-submit');
    await expect.poll(() => page.textContent('#pin-current-error')).toBe('密码错误次数过多，请约 15 分钟后再试 / too many wrong PINs or codes; try again in about 15 minutes');
    await ready(page);
    expect(await page.isVisible('#main-view')).toBe(true);
    expect((await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager: 'li', pin: VILLAGER_PIN })).statusCode).toBe(429);
    await page.screenshot({ path: 'test-results/ledger-villager-pin-locked.png', fullPage: true });
    expect(unexpected(problems)).toEqual([]);
    await context.close();
  }, 120_000);
});
