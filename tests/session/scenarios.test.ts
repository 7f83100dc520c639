/**
 * Scenario tests: the real daemon on simulated hardware, driven by the shipped fixtures.
 * Each asserts balances, ledger entries (each exactly once), inventory and review lines.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../harness/scenario/scenario.ts';
import { runScenario, type SimulationResult } from '../../harness/scenario/run.ts';
import { invariants } from './invariants.ts';

const run = (name: string): Promise<SimulationResult> => runScenario(loadScenario(path.join('fixtures/scenarios', `${name}.yaml`)));


const sessionSummary = (r: SimulationResult) => r.sessions.map((s) => ({ villager: s.villager, status: s.status, total: s.total_points, lines: s.lines.map((l) => `${l.sku}×${l.count}`), review: s.review.map((x) => `${x.slot}:${x.reason}`) }));

describe('scenarios on the simulated store', () => {
  it('plain purchase: one bag of salt, 3 points', async () => {
    const r = await run('plain-purchase');
    invariants(r);
    expect(r.balances).toEqual({ zhang: 47 });
    expect(sessionSummary(r)).toEqual([{ villager: 'zhang', status: 'settled', total: 3, lines: ['salt×1'], review: [] }]);
    expect(r.inventory).toEqual({ salt: 5, soap: 5 });
    expect(r.receipts[0]?.text).toBe('张三，您好！本次兑换：食盐 ×1（3 分），共 3 分。剩余积分 47 分。谢谢光临！');
  });

  it('the same purchase with the phone\'s QR code: the runner\'s code names the store\'s village, and the door opens for it', async () => {
    const s = loadScenario(path.join('fixtures/scenarios', 'plain-purchase.yaml'));
    const r = await runScenario({ ...s, steps: s.steps.map((st) => (st.kind === 'enter' ? { ...st, by: 'qr' as const } : st)) });
    invariants(r);
    expect(r.refused).toEqual([]);
    expect(r.balances).toEqual({ zhang: 47 });
  });

  it('take two, return one: pays for one', async () => {
    const r = await run('take-two-return-one');
    invariants(r);
    expect(r.balances).toEqual({ li: 15 });
    expect(sessionSummary(r)).toEqual([{ villager: 'li', status: 'settled', total: 5, lines: ['soap×1'], review: [] }]);
    expect(r.inventory).toEqual({ oil: 3, salt: 6, soap: 4 });
  });

  it('wrong-slot return: the moved soap is not charged, both slots are flagged for review', async () => {
    const r = await run('wrong-slot-return');
    invariants(r);
    expect(r.balances).toEqual({ wang: 17 });
    expect(sessionSummary(r)).toEqual([{ villager: 'wang', status: 'settled', total: 3, lines: ['salt×1'], review: ['A1:wrong_slot_return', 'A2:moved_out'] }]);
    expect(r.inventory).toEqual({ oil: 3, salt: 5, soap: 5 });
  });

  it('wrong-slot return onto a shelf also taken from: the soap kept is charged, the oil put down is not', async () => {
    const r = await run('wrong-slot-return-own-taken');
    invariants(r);
    expect(r.balances).toEqual({ wang: 45 });
    expect(sessionSummary(r)).toEqual([{ villager: 'wang', status: 'settled', total: 5, lines: ['soap×1'], review: ['A2:wrong_slot_return', 'B1:moved_out'] }]);
    expect(r.inventory).toEqual({ oil: 3, soap: 4 });
  });

  it('two villagers at once: the second is told to wait, then shops after the first left', async () => {
    const r = await run('two-villagers');
    invariants(r);
    expect(r.refused).toEqual([{ villager: 'li', reason: 'store_busy', step: 3 }]);
    expect(r.announcements.some((a) => a.reason === 'store_busy' && a.villager === 'li' && a.text.includes('请稍候'))).toBe(true);
    expect(r.balances).toEqual({ zhang: 20, li: 30 });
    expect(sessionSummary(r).map((s) => [s.villager, s.total])).toEqual([['zhang', 30], ['li', 10]]);
    expect(r.inventory).toEqual({ oil: 2, salt: 6, soap: 3 });
  });

  it('balance too small: charged down to the floor, debt recorded, the door still opened, next entry blocked', async () => {
    const r = await run('balance-too-small');
    invariants(r);
    expect(r.balances).toEqual({ zhao: 0 });
    expect(r.debts).toEqual({ zhao: 20 });
    expect(r.sessions[0]).toMatchObject({ total_points: 30, charged_points: 10, debt_points: 20, status: 'settled' });
    expect(r.refused).toEqual([{ villager: 'zhao', reason: 'blocked', step: 4 }]);
    expect(r.announcements.some((a) => a.reason === 'debt' && a.text.includes('20 分'))).toBe(true);
    expect(r.receipts[0]?.text).toContain('还欠 20 分');
    expect(r.inventory.oil).toBe(2);
  });

  describe.each(['entering', 'shopping', 'exiting', 'settling'])('power cut while %s', (phase) => {
    it('resumes and settles exactly once', async () => {
      const r = await run(`power-cut-${phase}`);
      invariants(r);
      expect(r.power_cuts).toEqual([{ step: expect.any(Number) as number, phase }]);
      expect(r.balances).toEqual({ zhang: 14 });
      expect(sessionSummary(r)).toEqual([{ villager: 'zhang', status: 'settled', total: 36, lines: ['salt×2', 'oil×1'], review: [] }]);
      expect(r.entries).toHaveLength(1);
      expect(r.inventory).toEqual({ oil: 2, salt: 4, soap: 5 });
    });
  });

  it('restock: a maintainer adds stock, no points move; a villager then buys from the new stock', async () => {
    const r = await run('restock');
    invariants(r);
    expect(r.sessions.map((s) => [s.villager, s.kind, s.status, s.total_points])).toEqual([['chen', 'restock', 'settled', 0], ['zhang', 'shopping', 'settled', 30]]);
    expect(r.balances).toEqual({ chen: 0, zhang: 20 });
    expect(r.entries.map((e) => e.villager)).toEqual(['zhang']);
    expect(r.inventory).toEqual({ oil: 4, salt: 10, soap: 5 });
    expect(r.receipts[0]?.text).toContain('补货完成：食盐+4、菜籽油+2');
  });

  it('an unknown face, then the same person by card; an enrolled face opens the door', async () => {
    const r = await run('unknown-face-then-card');
    invariants(r);
    expect(r.refused).toEqual([{ villager: 'sun', reason: 'unknown', step: 1 }]);
    expect(sessionSummary(r).map((s) => [s.villager, s.total, s.lines])).toEqual([['sun', 5, ['soap×1']], ['zhang', 3, ['salt×1']]]);
    expect(r.balances).toEqual({ zhang: 47, sun: 25 });
    expect(r.inventory).toEqual({ oil: 3, salt: 5, soap: 4 });
  }, 120_000);
});
