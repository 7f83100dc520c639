/**
 * An item that needs a witness (需证明人) may carry a photo too: the witness's name and a photo
 * together, as one claim's evidence (`photo:ev-… 证明人：…`, the photo first). On the village
 * office's record form, on the villager's phone page (a claimed task and a self-report), and in
 * the claims to decide, where both are shown: the photo's link and the witness's name. The ledger
 * checks the photo of such evidence as it checks a photo alone: a villager's claim cannot name a
 * photo that is not theirs behind a witness's name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageProblems, phoneContext } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { tinyJpeg } from './photos.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';

type Claim = { id: string; item_code: string; origin: string; evidence: string };

describe(`a witness and a photo together (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let photo: Buffer;
  let task: string;
  let zhang: string;

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      zhang = await g.villager(g.a, 'zhang');
      await g.villager(g.a, 'li');
    });
    await rig.addStaff('clerk-a', rig.g.a);
    photo = await tinyJpeg();
    task = (await rig.api<{ id: string }>('POST', '/tasks', { title: '帮邻居收麦子', item: 'CIV-HELP-NEIGHBOUR', points: 3, max_claimants: 3 })).id;
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });
  const claimsOf = async (villager: string) => (await rig.api<{ claims: Claim[] }>('GET', `/claims?villager=${villager}&status=reported`)).claims;
  const BOTH = (witness: string) => new RegExp(`^photo:ev-[A-Za-z0-9_-]+ ${witness}$`);

  it('the record form files a witness item with the witness and a photo; the claims list shows both', async () => {
    const context = await rig.desk();
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.staffSignIn(page, 'clerk-a');
    problems.length = 0; // the login page's first look at its session is a 401
    await page.fill('#record-villager', 'li');
    await page.selectOption('#record-item', 'CIV-GOOD-DEED');
    expect(await page.isVisible('#record-witness')).toBe(true);
    expect(await page.isVisible('#record-photo')).toBe(true);
    await page.fill('#record-points', '6');
    await page.fill('#record-witness', '村主任');
    await page.setInputFiles('#record-photo', { name: 'deed.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.click('#record-form button[type=submit]');
    await expect.poll(() => page.textContent('#record-ok')).toContain('已登记');
    const [claim] = (await claimsOf('li')).filter((c) => c.item_code === 'CIV-GOOD-DEED');
    expect(claim!.evidence).toMatch(BOTH('证明人：村主任'));
    const cell = page.locator(`#claims tr[data-claim="${claim!.id}"] td.evidence`);
    await expect.poll(() => cell.textContent()).toBe('查看照片 Photo 证明人：村主任');
    expect(await cell.locator('a').getAttribute('href')).toBe(`/api/villages/${rig.g.a}/evidence/${/ev-[A-Za-z0-9_-]+/.exec(claim!.evidence)![0]}`);
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);

  it("the phone page reports a witness item's claim and self-report with the witness and a photo", async () => {
    const context = await phoneContext(rig.browser);
    const page = await context.newPage();
    const problems = pageProblems(page);
    await rig.villagerSignIn(page, 'zhang');
    problems.length = 0;
    await page.click(`button[data-task="${task}"]`);
    const button = `button[data-claim="${task}.zhang"]`;
    await page.waitForSelector(button);
    const row = page.locator(`li:has(${button})`);
    await row.getByLabel('证明人姓名').fill('王大妈');
    await row.locator('input[type=file]').setInputFiles({ name: 'wheat.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.click(button);
    await expect.poll(() => page.textContent('#claims')).toContain('帮邻居收麦子 · 待审核');
    expect((await claimsOf('zhang')).find((c) => c.origin === 'task')!.evidence).toMatch(BOTH('王大妈'));

    await page.selectOption('#self-item', 'CIV-HELP-NEIGHBOUR');
    expect(await page.isVisible('#self-witness')).toBe(true);
    expect(await page.isVisible('#self-photo')).toBe(true);
    await page.fill('#self-witness', '李大爷');
    await page.setInputFiles('#self-photo', { name: 'help.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-ok')).toBe('已提交，等待村里审核 / sent; the village will review it');
    expect((await claimsOf('zhang')).find((c) => c.origin === 'self')!.evidence).toMatch(BOTH('李大爷'));
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);

  it("the ledger checks the photo beside a witness's name: another villager's photo is refused", async () => {
    const up = await rig.g.upload(rig.g.va, `/api/villages/${rig.g.a}/evidence`, photo, { fields: { villager: 'li' } });
    expect(up.statusCode, up.body).toBe(201);
    const ref = (up.json() as { ref: string }).ref;
    const r = await rig.g.call(zhang, 'POST', `/api/villages/${rig.g.a}/reports`, { item: 'CIV-HELP-NEIGHBOUR', evidence: `${ref} 王大妈` });
    expect({ status: r.statusCode, field: r.json().field }).toEqual({ status: 400, field: 'evidence' });
  });
});
