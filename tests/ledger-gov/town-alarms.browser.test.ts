/**
 * The stores' alarm history on the ledger's /town page in a real browser (Debian's chromium
 * through playwright-core): a village account sees, among its store's recently cleared alarms,
 * the conflict a maintainer cleared by hand with who and why ("手动解除：wang，…"), and the
 * scale fault that resolved by itself without any hand, and what the store's alarm history
 * counted without listing (a door lock that came and went 753 times while the store was offline).
 * No script errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageProblems } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { browserRig, type BrowserRig } from './browser-rig.ts';
import { registerStore } from '../../cloud-sync/ledger/tables.ts';
import { recordAlarmList } from '../../cloud-sync/ledger/store-alarms.ts';
import { recordAlarmHistory } from '../../cloud-sync/ledger/store-alarm-history.ts';

describe(`the stores' alarm history on /town in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      await registerStore(g.db, g.a, 'shop1', 'k', 'unused');
      const start = Date.now() - 3_600_000;
      const t = (m: number): string => new Date(start + m * 60_000).toISOString();
      const conflict = { id: 4, kind: 'villager_id_taken', subject: 'villager wei', severity: 'warning' as const, detail: 'villager wei: id held by another village', raised_at: t(0), last_seen_at: t(0), seen: 1 };
      const scale = { id: 5, kind: 'scale_fault', subject: 'A1', severity: 'warning' as const, detail: 'no reply from unit 11', raised_at: t(1), last_seen_at: t(1), seen: 1 };
      await recordAlarmList(g.db, g.a, 'shop1', { at: t(2), active: [conflict, scale] }, new Date());
      await recordAlarmList(g.db, g.a, 'shop1', { at: t(3), active: [], cleared: [{ id: 4, kind: conflict.kind, subject: conflict.subject, raised_at: t(0), cleared_at: t(3), cleared_by: 'wang', note: '邻村已改号' }] }, new Date());
      await recordAlarmHistory(g.db, g.a, 'shop1', { at: t(4), since: t(-7 * 24 * 60), ended: [], unlisted: { count: 753, groups: [{ kind: 'lock_not_confirmed', subject: 'door', count: 753, first_raised_at: t(-3 * 24 * 60), last_cleared_at: t(-60) }] } }, new Date());
    });
    await rig.addStaff('clerk-a', rig.g.a, '甲村文书');
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('a conflict cleared by hand says who and why; a fault that resolved by itself says nothing of a hand; the alarms counted, not listed, are said', async () => {
    const context = await rig.desk();
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${rig.base}/town`);
    await page.waitForURL(/\/login\?next=%2Ftown$/);
    await rig.loginForm(page, 'clerk-a', '/town');
    const rows = page.locator('#alarms-recent tr');
    await expect.poll(() => rows.count()).toBe(3);
    const text = async (kind: string): Promise<string> => (await rows.filter({ hasText: kind }).textContent()) ?? '';
    expect(await text('村民编号已属别村')).toContain('（手动解除：wang，邻村已改号）');
    expect(await text('秤故障')).not.toContain('手动解除');
    expect(await text('未逐条列出')).toContain('另有 753 条已解除的告警未逐条列出门锁未确认（door） ×753');
    // the 401s of the visit without a session are the way to the login
    expect(problems.filter((p) => !/status of 401 /.test(p))).toEqual([]);
    await context.close();
  }, 60_000);
});
