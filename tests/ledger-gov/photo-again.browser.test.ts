/**
 * A photo chosen again after a reload, on the villager's phone page (chromium through
 * playwright-core): the photo was uploaded, the report did not get through, the villager reloads
 * the page, chooses the same photo again and taps again. The page names the upload by the photo's
 * content and what it is for (the claim, or the self-report form), so the ledger answers the photo
 * it kept (request ids): one photo, not two, and the page says the photo was uploaded before.
 * Before, the upload's request id lived in the page only, and the same photo after a reload was a
 * second photo on the claim. Another photo, or the same one for another claim, is a new upload.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { pageProblems, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';
import { tinyJpeg } from './photos.ts';

const AGAIN = '这张照片已上传过，未重复保存 / this photo was uploaded before; it is not kept twice';

describe(`a photo chosen again after a reload (${ledgerDbKind})`, () => {
  let rig: BrowserRig;

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      await g.villager(g.a, 'zhao');
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const count = async (sql: string) => Number((await rig.g.db.query<{ n: number | string }>(sql, ['zhao']))[0]!.n);
  const photos = () => count('SELECT COUNT(*) AS n FROM gov_evidence WHERE villager_id = $1');
  const reported = () => count("SELECT COUNT(*) AS n FROM gov_claims WHERE villager_id = $1 AND status = 'reported'");
  const signIn = (page: Page) => rig.villagerSignIn(page, 'zhao');

  it('a claim: the same photo after a reload is the photo kept; another claim or photo is a new one', async () => {
    const task = async (title: string) => ((await rig.g.call(rig.g.va, 'POST', `/api/villages/${rig.g.a}/tasks`, { title, item: 'ENV-SWEEP-LANE', max_claimants: 5 })).json() as { id: string }).id;
    const east = await task('清扫村东巷道');
    const west = await task('清扫村西巷道');
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await signIn(page);
    await page.click(`button[data-task="${east}"]`);
    const reportEast = `button[data-claim="${east}.zhao"]`;
    await page.waitForSelector(reportEast);
    const photo = { name: 'lane.jpg', mimeType: 'image/jpeg', buffer: await tinyJpeg() };
    await page.setInputFiles(`li:has(${reportEast}) input[type=file]`, photo);
    // the photo is kept; the report never reaches the ledger (the network drops it)
    const cut = (route: { abort(code: string): Promise<void> }) => route.abort('failed');
    await page.route('**/report', cut);
    await page.click(reportEast);
    await expect.poll(() => page.textContent(`li:has(${reportEast}) .err`)).toContain('连不上村账本');
    await page.unroute('**/report', cut);
    expect({ photos: await photos(), reported: await reported() }).toEqual({ photos: 1, reported: 0 });

    // reloaded, the same photo chosen again: the one kept, said so
    await page.reload();
    await page.waitForSelector(reportEast);
    await page.setInputFiles(`li:has(${reportEast}) input[type=file]`, photo);
    await page.click(reportEast);
    await expect.poll(() => page.textContent('#claim-ok')).toBe(AGAIN);
    await expect.poll(() => reported()).toBe(1);
    expect(await photos()).toBe(1);
    const kept = (await rig.g.db.query<{ id: string }>('SELECT id FROM gov_evidence WHERE villager_id = $1', ['zhao']))[0]!.id;
    expect(((await rig.g.call(rig.g.va, 'GET', `/api/villages/${rig.g.a}/claims/${east}.zhao`)).json() as { evidence: string }).evidence).toBe(`photo:${kept}`);

    // the same photo for another claim is that claim's own photo, and says nothing of before
    await page.click(`button[data-task="${west}"]`);
    const reportWest = `button[data-claim="${west}.zhao"]`;
    await page.waitForSelector(reportWest);
    await page.setInputFiles(`li:has(${reportWest}) input[type=file]`, photo);
    await page.click(reportWest);
    await expect.poll(() => reported()).toBe(2);
    expect(await photos()).toBe(2);
    expect(await page.textContent('#claim-ok')).toBe('');
    await context.close();
    expect(problems.filter((p) => !/ERR_FAILED|status of 40/.test(p))).toEqual([]);
  }, 90_000);

  it('a self-report: the same photo after a reload is the photo kept; another photo is a new one', async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await signIn(page);
    const before = await photos();
    const photo = { name: 'gate.jpg', mimeType: 'image/jpeg', buffer: await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366aa' } }).jpeg().toBuffer() };
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    await page.setInputFiles('#self-photo', photo);
    const cut = (route: { abort(code: string): Promise<void> }) => route.abort('failed');
    await page.route('**/reports', cut);
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-error')).toContain('连不上村账本');
    await page.unroute('**/reports', cut);
    expect(await photos()).toBe(before + 1);

    await page.reload();
    await page.waitForSelector('#main-view:not([hidden])');
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    await page.setInputFiles('#self-photo', photo);
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-ok')).toBe(`已提交，等待村里审核 / sent; the village will review it\n${AGAIN}`);
    expect(await photos()).toBe(before + 1);

    // the next report (a new form) with another photo: a new upload, no word of before
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    await page.setInputFiles('#self-photo', { ...photo, buffer: await tinyJpeg() });
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => photos()).toBe(before + 2);
    await expect.poll(() => page.textContent('#self-ok')).toBe('已提交，等待村里审核 / sent; the village will review it');
    await context.close();
    expect(problems.filter((p) => !/ERR_FAILED|status of 40/.test(p))).toEqual([]);
  }, 90_000);
});
