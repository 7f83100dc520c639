/**
 * One-time login codes (一次性登录码) from the village office page (/village) in chromium: a village
 * account presses 登录码 beside a villager without a PIN, confirms, and the code is shown once on a
 * slip (printed alone) that the villager then uses on the phone page (/m/); closed, the slip
 * forgets it. A double tap issues one code; an answer lost on the network leaves the button ready,
 * and pressing again leaves one code that signs in; a villager who is blocked or left is refused
 * (409, both languages) and nothing is issued; cancelling the confirmation sends nothing. A town
 * account has no 登录码. Codes are counted in the database and by the audit log (login-code.issue).
 * 退出手机 (a lost phone) signs a villager out of every phone after a confirmation and says how
 * many; a new code does the same, said on the slip (on the screen, not the paper).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { holdRequests, loseAnswers } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { browserRig, SHOTS, watchPage, type BrowserRig } from './browser-rig.ts';

const CODE = /^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/;

describe(`one-time login codes on the village office page (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  const problems: string[] = [];
  // 401 the first visit, 409 the blocked villager, ERR_FAILED an answer the test drops (loseAnswers)
  const watch = (page: Page) => watchPage(page, problems, /status of 40[19] |net::ERR_FAILED/);
  /** A page signed in as `username`, the village's villagers listed. */
  const office = async (username: string) => {
    const page = watch(await (await rig.desk()).newPage());
    await rig.staffSignIn(page, username, '/village');
    return page;
  };
  const button = (page: Page, villager: string) => page.locator(`#villagers tr[data-villager="${villager}"] button[data-login-code]`);
  /** The villager's codes in the ledger: how many, how many still sign in, how many issues the audit log holds. */
  const codes = async (villager: string) => {
    const rows = await rig.g.db.query<{ used_at: string | null }>('SELECT used_at FROM gov_login_codes WHERE villager_id = $1', [villager]);
    const issued = await rig.g.db.query<{ detail: string }>('SELECT detail FROM gov_events WHERE subject = $1 AND action = $2', [`villager:${villager}`, 'login-code.issue']);
    return { codes: rows.length, open: rows.filter((r) => r.used_at === null).length, issued: issued.length };
  };
  const login = (villager: string, code: string) => rig.g.call(undefined, 'POST', '/api/villager/login', { village: rig.g.a, villager, code });
  /** The slip's code once it shows. */
  const slipCode = async (page: Page) => {
    await page.waitForSelector('#code-slip[open]');
    const code = (await page.textContent('#slip-code'))!;
    expect(code).toMatch(CODE);
    return code;
  };

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      // villagers without a PIN, as the office registers them; one blocked, one who left
      for (const [id, body] of Object.entries({ zhao: { name: '赵大爷' }, qian: { name: '钱奶奶' }, sun: { name: '孙伯' }, wang: { name: '王五', status: 'blocked' }, zhou: { name: '周六', status: 'left' } })) {
        expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/${id}`, body)).statusCode).toBe(200);
      }
    });
    await rig.addStaff('clerk-a', rig.g.a, '甲村文书');
    await rig.addStaff('town-office', undefined, '镇办公室');
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('issues a code after a confirmation, shows it once on a slip that prints alone, and the villager signs in with it on the phone page', async () => {
    const page = await office('clerk-a');
    // Cancelled: nothing is sent.
    const asked: string[] = [];
    page.once('dialog', (d) => void (asked.push(d.message()), d.dismiss()));
    await button(page, 'zhao').click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain('为 赵大爷（zhao） 发一次性登录码？');
    await expect.poll(() => button(page, 'zhao').isEnabled()).toBe(true);
    expect(await codes('zhao')).toEqual({ codes: 0, open: 0, issued: 0 });

    page.once('dialog', (d) => void d.accept());
    await button(page, 'zhao').click();
    const code = await slipCode(page);
    expect(await page.textContent('#slip-villager')).toBe('赵大爷（zhao）');
    expect(await page.textContent('#slip-village')).toBe(`村（村编号 ${rig.g.a}）`);
    // the office on the ledger's own computer (127.0.0.1) has no address a phone can open
    expect(await page.textContent('#slip-address')).toBe('村账本手机页 /m/（网址请问村委会）');
    expect(await page.textContent('#slip-id')).toBe('zhao');
    const [row] = await rig.g.db.query<{ expires_at: string; created_at: string }>('SELECT expires_at, created_at FROM gov_login_codes WHERE villager_id = $1', ['zhao']);
    expect(Date.parse(row!.expires_at) - Date.parse(row!.created_at)).toBe(7 * 86_400_000);
    expect(await page.textContent('#slip-expires')).toBe(await page.evaluate((iso) => new Date(iso).toLocaleString('zh-CN', { hour12: false }), row!.expires_at));
    expect(await codes('zhao')).toEqual({ codes: 1, open: 1, issued: 1 });

    await page.screenshot({ path: path.join(SHOTS, 'ledger-village-office-login-code.png') });
    // 打印 prints the slip alone: the page's bars, lists and the slip's own buttons stay off the paper.
    await page.evaluate(() => {
      const w = globalThis as unknown as { printed: number; print: () => void };
      w.printed = 0;
      w.print = () => void w.printed++;
    });
    await page.click('#slip-print');
    expect(await page.evaluate(() => (globalThis as unknown as { printed: number }).printed)).toBe(1);
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('#main-view')).toBe(false);
    expect(await page.isVisible('header.bar')).toBe(false);
    expect(await page.isVisible('#slip-code')).toBe(true);
    expect(await page.isVisible('#slip-print')).toBe(false);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-village-office-login-code-print.png') });
    await page.emulateMedia({ media: 'screen' });

    // Closed, the code is gone from the page.
    await page.click('#slip-close');
    await expect.poll(() => page.locator('#code-slip[open]').count()).toBe(0);
    expect(await page.textContent('body')).not.toContain(code);

    // The villager types it (small letters, no dash) on the phone page and is signed in; it works once.
    const phone = watch(await (await rig.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, locale: 'zh-CN' })).newPage());
    await phone.goto(`${rig.base}/m/?village=${rig.g.a}`);
    await phone.waitForSelector('#login-view:not([hidden])');
    await phone.fill('#villager', 'zhao');
    await phone.click('#tab-code');
    await phone.fill('#code', code.replace('-', '').toLowerCase());
    await phone.click('#login-form button[type=submit]');
    await phone.waitForSelector('#main-view:not([hidden])');
    await expect.poll(() => phone.textContent('#who')).toContain('赵大爷');
    expect((await login('zhao', code)).statusCode).toBe(401);
    await phone.context().close();
    await page.context().close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('a double tap issues one code; an answer lost leaves the button ready, and pressing again leaves one code that signs in', async () => {
    const page = await office('clerk-a');
    let asked = 0;
    page.on('dialog', (d) => void (asked++, d.accept()));
    const sent: string[] = [];
    page.on('request', (q) => void (q.url().endsWith('/login-codes') && sent.push(q.method())));

    // Double tap, the request held while the second tap lands: one confirmation, one request, one code.
    const held = await holdRequests(page, '**/login-codes');
    await button(page, 'qian').dblclick();
    await expect.poll(() => sent).toEqual(['POST']);
    expect(await button(page, 'qian').isDisabled()).toBe(true);
    await held.answer();
    const code = await slipCode(page);
    expect({ asked, sent }).toEqual({ asked: 1, sent: ['POST'] });
    expect(await codes('qian')).toEqual({ codes: 1, open: 1, issued: 1 });
    await page.click('#slip-close');
    expect((await login('qian', code)).statusCode).toBe(200);

    // The code issued, its answer lost: the page says so in both languages, nothing shows, the button is ready.
    const lost = await loseAnswers(page, '**/login-codes');
    await button(page, 'sun').click();
    const line = page.locator('#villagers tr[data-villager=sun] [data-error=""]');
    await expect.poll(() => line.textContent()).toBe('连不上村账本，请检查网络后再试 / the ledger cannot be reached; check the network');
    await expect.poll(() => button(page, 'sun').isEnabled()).toBe(true);
    expect({ lost: lost.lost(), slip: await page.locator('#code-slip[open]').count(), ...(await codes('sun')) }).toEqual({ lost: 1, slip: 0, codes: 1, open: 1, issued: 1 });
    // Pressed again (the same request id): the lost code is voided, the one shown is the one that works.
    await button(page, 'sun').click();
    const again = await slipCode(page);
    expect(await line.textContent()).toBe('');
    expect(await codes('sun')).toEqual({ codes: 2, open: 1, issued: 2 });
    await page.click('#slip-close');
    expect((await login('sun', again)).statusCode).toBe(200);
    expect(await codes('sun')).toEqual({ codes: 2, open: 0, issued: 2 });
    await page.context().close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('a villager who is blocked or left is refused in both languages, and nothing is issued', async () => {
    const page = await office('clerk-a');
    page.on('dialog', (d) => void d.accept());
    const line = (v: string) => page.locator(`#villagers tr[data-villager=${v}] [data-error=""]`);
    await button(page, 'wang').click();
    await expect.poll(() => line('wang').textContent()).toBe('村民 wang 已冻结，不能发登录码，请先解除冻结 / villager wang is blocked (status blocked): a login code cannot sign in until the village unblocks them; unblock first');
    await button(page, 'zhou').click();
    await expect.poll(() => line('zhou').textContent()).toBe('村民 zhou 已离村，不能发登录码 / villager zhou has left the village (status left): a login code could never sign in');
    // The same beside a villager looked up by id (one past the list's first 1,000).
    await page.fill('#lookup-villager', 'wang');
    await page.click('#lookup-form button[type=submit]');
    await page.locator('#lookup-ok button[data-login-code=wang]').click();
    await expect.poll(() => page.textContent('#lookup-error')).toContain('村民 wang 已冻结，不能发登录码');
    expect(await page.locator('#code-slip[open]').count()).toBe(0);
    expect(await page.textContent('#slip-code')).toBe('');
    expect([await codes('wang'), await codes('zhou')]).toEqual([{ codes: 0, open: 0, issued: 0 }, { codes: 0, open: 0, issued: 0 }]);
    await page.context().close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('a town account has no 登录码', async () => {
    const page = await office('town-office');
    await page.selectOption('#village', rig.g.a);
    await page.click('#choose-form button[type=submit]');
    await expect.poll(() => page.locator('#villagers tr[data-villager]').count()).toBe(5);
    expect(await page.locator('button[data-login-code]').count()).toBe(0);
    expect(await page.locator('#villagers-card th', { hasText: '登录码' }).isVisible()).toBe(false);
    await page.fill('#lookup-villager', 'zhao');
    await page.click('#lookup-form button[type=submit]');
    await expect.poll(() => page.textContent('#lookup-ok')).toContain('赵大爷（zhao）');
    expect(await page.locator('button[data-login-code]').count()).toBe(0);
    expect(await page.locator('button[data-sign-out]').count()).toBe(0);
    await page.context().close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('退出手机 signs a villager out of every phone after a confirmation, says how many; a new code does too, said on the slip', async () => {
    // 老王 signed in on two phones (a bearer token and the phone page's cookie), 李 on one
    for (const id of ['laowang', 'li']) {
      expect((await rig.g.call(rig.g.va, 'PUT', `/api/villages/${rig.g.a}/villagers/${id}`, { name: id === 'laowang' ? '老王' : '李四' })).statusCode).toBe(200);
      expect((await rig.g.call(rig.g.va, 'PUT', `/api/villages/${rig.g.a}/villagers/${id}/pin`, { pin: '2468' })).statusCode).toBe(200);
    }
    const signIn = async (id: string) => ((await rig.g.call(undefined, 'POST', '/api/villager/login', { village: rig.g.a, villager: id, pin: '2468' })).json() as { token: string }).token;
    const me = async (token: string) => (await rig.g.call(token, 'GET', `/api/villages/${rig.g.a}/me`)).statusCode;
    const wang = [await signIn('laowang'), await signIn('laowang')];
    const li = await signIn('li');
    const page = await office('clerk-a');
    const out = page.locator('#villagers tr[data-villager="laowang"] button[data-sign-out]');
    const done = page.locator('#villagers tr[data-villager="laowang"] [data-done=""]');
    // Cancelled: nobody is signed out.
    const asked: string[] = [];
    page.once('dialog', (d) => void (asked.push(d.message()), d.dismiss()));
    await out.click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain('结束 老王（laowang） 在所有手机上的登录？');
    await expect.poll(() => out.isEnabled()).toBe(true);
    expect([await me(wang[0]!), await me(wang[1]!)]).toEqual([200, 200]);

    page.once('dialog', (d) => void d.accept());
    await out.click();
    await expect.poll(() => done.textContent()).toBe('已结束 老王（laowang） 的 2 个手机登录：这些手机不能再用积分，进店二维码约 2 分钟内失效 / laowang is signed out of 2 phones; a QR code already shown expires within about 2 minutes');
    expect([await me(wang[0]!), await me(wang[1]!), await me(li)]).toEqual([401, 401, 200]);
    expect(await rig.g.db.query('SELECT action FROM gov_events WHERE subject = $1 AND action = $2', ['villager:laowang', 'villager.sign-out'])).toHaveLength(1);

    // Looked up by id: the same button, nothing left to end, said so.
    await page.fill('#lookup-villager', 'laowang');
    await page.click('#lookup-form button[type=submit]');
    page.once('dialog', (d) => void d.accept());
    await page.locator('#lookup-ok button[data-sign-out=laowang]').click();
    await expect.poll(() => page.textContent('#lookup-ok [data-done=""]')).toBe('老王（laowang） 没有已登录的手机 / no phone of laowang was signed in');

    // A new login code (his phone replaced) signs out the phone he signed in on since, and the slip says so.
    const again = await signIn('laowang');
    page.once('dialog', (d) => void d.accept());
    await button(page, 'laowang').click();
    await slipCode(page);
    expect(await page.textContent('#slip-ended')).toBe('老王（laowang） 之前登录的 1 个手机已退出登录（丢失的手机不能再用积分）。/ The 1 phone signed in before is signed out.');
    expect(await me(again)).toBe(401);
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('#slip-ended')).toBe(false);
    await page.emulateMedia({ media: 'screen' });
    await page.screenshot({ path: path.join(SHOTS, 'ledger-village-office-sign-out.png') });
    await page.click('#slip-close');
    expect(await page.textContent('#slip-ended')).toBe('');
    await page.context().close();
    expect(problems).toEqual([]);
  }, 120_000);
});
