/**
 * The villager's phone page (/m/) in chromium at a phone's width (browser-rig.ts): a reversal in
 * the history said only 冲正：<reason>, so an elderly villager could not tell which award it undid.
 * Now the ledger gives the line the entry it reverses (`GET …/me`, `reverses`: reason, date and
 * points, as the passbook's lines), and the page says so in plain words:
 * 冲正：撤销 2026年3月1日「参加村民会议」加的 2 分，原因：….
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { browserRig, watchPage, type BrowserRig } from './browser-rig.ts';

describe(`the phone page's history names what a reversal undoes (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let li: string;
  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      li = await g.villager(g.a, 'li');
    });
    const { id } = await rig.api<{ id: string }>('POST', '/reports', { villager: 'li', item: 'GOV-MEETING' });
    await rig.api('POST', `/claims/${id}/approve`);
    await rig.api('POST', `/claims/${id}/reverse`, { reason: '当天未参加，误记' });
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
  });

  /** A date as the village reads it (UTC+8): 年, 月, 日 and the page's short form. */
  const village = (iso: string) => {
    const d = new Date(Date.parse(iso) + 8 * 3_600_000);
    return { words: `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日`, short: `${d.getUTCFullYear()}/${d.getUTCMonth() + 1}/${d.getUTCDate()}` };
  };

  it('the API gives a reversal the entry it undoes; the page names its item, date and points', async () => {
    const me = (await rig.g.call(li, 'GET', `/api/villages/${rig.g.a}/me`)).json() as { history: { id: string; kind: string; reason: string; created_at: string; reverses: { reason: string; date: string; points: number } | null }[] };
    const award = me.history.find((h) => h.kind === 'award')!;
    const reversal = me.history.find((h) => h.kind === 'adjustment')!;
    expect(reversal.reverses).toEqual({ reason: '参加村民会议', date: award.created_at, points: 2 });
    expect(award.reverses).toBeNull();

    const problems: string[] = [];
    const context = await rig.phone();
    // 401: the page asks for its session before the villager signs in
    const page = watchPage(await context.newPage(), problems, /status of 401 /);
    await rig.villagerSignIn(page, 'li');
    await expect.poll(() => page.locator('#history li').count()).toBe(2);
    const lines = await page.locator('#history li span:first-child').allTextContents();
    expect(lines).toEqual([
      `${village(reversal.created_at).short} 冲正：撤销 ${village(award.created_at).words}「参加村民会议」加的 2 分，原因：当天未参加，误记`,
      `${village(award.created_at).short} 参加村民会议`,
    ]);
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);
});
