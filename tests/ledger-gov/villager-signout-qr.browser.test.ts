/**
 * The phone page's sign-out (退出) in chromium at a phone's width (browser-rig.ts): the page kept
 * the store-door QR code (its picture and its token) after the villager signed out, and showed
 * it to the next person signing in on that phone until their own came. A token already issued
 * still opens the store door until it expires (the store checks it offline:
 * docs/governance-villagers.md), but the page no longer holds it: it is taken off at the tap,
 * before the ledger answers the sign-out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdRequests } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { verifyQrToken } from '../../edge/entry/credentials.ts';
import { browserRig, watchPage, type BrowserRig } from './browser-rig.ts';

describe(`the phone page's sign-out takes the QR code off the page (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      await g.villager(g.a, 'zhang');
      await g.villager(g.a, 'li');
    });
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('the code, its token and its time are gone at the tap on 退出, and the next villager never sees it', async () => {
    const problems: string[] = [];
    const context = await rig.phone();
    // 401: the page asks for its session before anyone signs in, and after the sign-out
    const page = watchPage(await context.newPage(), problems, /status of 401 /);
    await rig.villagerSignIn(page, 'zhang');
    await expect.poll(() => page.getAttribute('#qr', 'data-token')).not.toBeNull();
    const zhang = (await page.getAttribute('#qr', 'data-token'))!;
    expect(verifyQrToken(zhang, rig.g.qrPublic, { maxLifetimeS: 300, clockSkewS: 30 })).toMatchObject({ vid: 'zhang' });
    expect(await page.getAttribute('#qr', 'src')).toMatch(/^data:image\/svg/);

    // the ledger's answer held: the code is off the page before it comes
    const logout = await holdRequests(page, '**/m/logout');
    await page.click('#logout');
    await expect.poll(() => page.getAttribute('#qr', 'src')).toBeNull();
    expect(await page.getAttribute('#qr', 'data-token')).toBeNull();
    expect(await page.getAttribute('#qr', 'data-expires-at')).toBeNull();
    expect(await page.textContent('#qr-note')).not.toContain('有效至');
    await logout.answer();
    await page.waitForSelector('#login-view:not([hidden])');
    expect(await page.textContent('#login-error')).toBe('已退出 / signed out');
    expect(await page.getAttribute('#qr', 'src')).toBeNull();
    expect(await page.getAttribute('#qr', 'data-token')).toBeNull();

    // the next villager on this phone: the code on the page whenever the main view shows (the
    // main view and the code observed together) is never zhang's, and then li's own
    const seen: (string | null)[] = [];
    await page.exposeFunction('noteToken', (t: string | null) => void seen.push(t));
    await page.evaluate(() => {
      const g = globalThis as unknown as {
        document: { getElementById(id: string): { hidden: boolean; getAttribute(a: string): string | null } };
        noteToken(t: string | null): void;
        MutationObserver: new (cb: () => void) => { observe(t: unknown, o: unknown): void };
      };
      const main = g.document.getElementById('main-view');
      const qr = g.document.getElementById('qr');
      const look = () => { if (!main.hidden) g.noteToken(qr.getAttribute('data-token')); };
      new g.MutationObserver(look).observe(main, { attributes: true, attributeFilter: ['hidden'] });
      new g.MutationObserver(look).observe(qr, { attributes: true, attributeFilter: ['data-token', 'src'] });
    });
    await page.fill('#villager', 'li');
    await page.fill('#pin', '2468');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#main-view:not([hidden])');
    await expect.poll(() => page.getAttribute('#qr', 'data-token')).not.toBeNull();
    const li = (await page.getAttribute('#qr', 'data-token'))!;
    expect(verifyQrToken(li, rig.g.qrPublic, { maxLifetimeS: 300, clockSkewS: 30 })).toMatchObject({ vid: 'li' });
    expect(seen).not.toContain(zhang);
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);
});
