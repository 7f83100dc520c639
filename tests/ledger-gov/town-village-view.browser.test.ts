/**
 * /town as a village's accountant sees it, in chromium: titled for the village (not 镇 Town
 * roll-up), the month fields filled with the period shown, the months' table naming the village
 * (its name beside its code), and the most-used items chart counting in whole approvals (no 0.2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';

describe(`/town for a village account (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      expect((await g.call(g.town, 'POST', '/api/villages', { id: 'qianjin', name: '前进村' })).statusCode).toBe(201);
      await g.villager(g.a, 'zhang');
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'zhang' });
      expect(r.statusCode, r.body).toBe(201);
      expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${(r.json() as { id: string }).id}/approve`, {})).statusCode).toBe(200);
    });
    await rig.addStaff('acct-a', rig.g.a);
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('is titled for the village, fills the months, names the village and counts approvals in whole numbers', async () => {
    const context = await rig.desk();
    const page = await context.newPage();
    await rig.staffSignIn(page, 'acct-a', '/town');
    // the roll-up's first query starts its worker (SQLite), slow on a loaded machine
    await expect.poll(() => page.textContent('#months'), { timeout: 60_000 }).toContain(rig.g.a);
    const title = await page.textContent('header h1');
    expect(title).toContain('本村');
    expect(title).not.toMatch(/Town|镇/);
    expect(await page.title()).not.toMatch(/镇/);
    const scope = await page.textContent('#scope');
    const [, from, to] = /^(\d{4}-\d{2}) 至 (\d{4}-\d{2})/.exec(scope ?? '') ?? [];
    expect({ from: await page.inputValue('#from'), to: await page.inputValue('#to') }).toEqual({ from, to });
    // the village's name (gov-app names it 村) beside its code
    expect(await page.locator('#months tr').first().locator('td').nth(1).textContent()).toBe('村');
    const ticks = await page.evaluate(() => {
      const w = globalThis as unknown as { Chart: { getChart(id: string): { scales: Record<string, { ticks: { value: number }[] }> } } };
      return w.Chart.getChart('chart-items').scales.x!.ticks.map((t) => t.value);
    });
    expect(ticks.length).toBeGreaterThan(1);
    expect(ticks.filter((v) => !Number.isInteger(v))).toEqual([]);
    await context.close();
  }, 120_000);
});
