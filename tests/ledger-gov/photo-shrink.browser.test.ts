/**
 * A phone's photo (4000×3000, 5 MB and more, taken turned: EXIF orientation 6) chosen on the
 * ledger's pages in chromium: what reaches the ledger is the photo shrunk by the browser, at most
 * 1600 px a side (the ledger keeps at most 2048), upright, a JPEG a fraction of the size. Once on
 * the village office's record form (登记加扣分), once on the villager's phone page (自行申报).
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageProblems, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';

/** A photo as a phone's camera makes it: 4000×3000 of grain, stored on its side with "turn 90°" in its EXIF. */
const phonePhoto = () => sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
  .jpeg({ quality: 80 }).withMetadata({ orientation: 6 }).toBuffer();

describe(`photos are shrunk in the browser before they are sent (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let photo: Buffer;

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      await g.villager(g.a, 'wang');
    });
    await rig.addStaff('clerk-a', rig.g.a);
    photo = await phonePhoto();
    expect(photo.length).toBeGreaterThan(4 * 1024 * 1024);
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  /** The bytes of each upload (POST …/evidence) as they reach the ledger. */
  const uploadSizes = () => rig.bodiesTo('POST', `/api/villages/${rig.g.a}/evidence`);
  /** The photo a claim's evidence names, as the ledger kept it. */
  const kept = async (evidence: string) => {
    const id = /^photo:(ev-[A-Za-z0-9_-]+)/.exec(evidence)![1];
    const [p] = await rig.g.db.query<{ width: number; height: number }>('SELECT width, height FROM gov_evidence WHERE id = $1', [id]);
    return { width: Number(p!.width), height: Number(p!.height) };
  };
  const claimsOf = (villager: string) => rig.api<{ claims: { item_code: string; evidence: string }[] }>('GET', `/claims?villager=${villager}`);

  it('the record form sends the photo shrunk to 1600 px, upright', async () => {
    const context = await rig.desk();
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.staffSignIn(page, 'clerk-a');
    problems.length = 0; // the login page's first look at its session is a 401
    const sizes = uploadSizes();
    await page.fill('#record-villager', 'wang');
    await page.selectOption('#record-item', 'DED-LITTER');
    await page.setInputFiles('#record-photo', { name: 'IMG_0001.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.click('#record-form button[type=submit]');
    await expect.poll(() => page.textContent('#record-ok'), { timeout: 30_000 }).toContain('已登记');
    expect(sizes.length).toBe(1);
    expect(sizes[0]).toBeLessThan(photo.length / 3);
    const [claim] = (await claimsOf('wang')).claims.filter((c) => c.item_code === 'DED-LITTER');
    expect(await kept(claim!.evidence)).toEqual({ width: 1200, height: 1600 });
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);

  it("the villager's self-report sends the photo shrunk to 1600 px, upright", async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.villagerSignIn(page, 'wang');
    problems.length = 0;
    const sizes = uploadSizes();
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    await page.setInputFiles('#self-photo', { name: 'IMG_0002.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-ok'), { timeout: 30_000 }).toContain('已提交');
    expect(sizes.length).toBe(1);
    expect(sizes[0]).toBeLessThan(photo.length / 3);
    const [claim] = (await claimsOf('wang')).claims.filter((c) => c.item_code === 'ENV-SWEEP-LANE');
    expect(await kept(claim!.evidence)).toEqual({ width: 1200, height: 1600 });
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);
});
