/**
 * A shelf that changes with no session open (someone stayed behind after the villager left, a
 * door propped after the visit ended) raises a persistent `idle_shelf_change` alarm per slot,
 * naming the slot, the product and about how many items; it clears when the weight comes back,
 * or by a maintainer's hand. Through the real daemon on simulated hardware
 * (fixtures/scenarios/idle-shelf-take.yaml).
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { listActiveAlarms, recentAlarms } from '../../edge/ledger/alarms.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { loadScenario } from '../../harness/scenario/scenario.ts';
import { runScenario } from '../../harness/scenario/run.ts';
import { tempDir } from '../ledger/helpers.ts';

describe('a shelf changing with nobody in the store', () => {
  const t = tempDir('idle-shelf-');
  afterAll(() => t.cleanup());

  it('raises idle_shelf_change for each slot, cleared when the weight comes back, and by hand', async () => {
    const r = await runScenario(loadScenario(path.join('fixtures/scenarios', 'idle-shelf-take.yaml')), { dataDir: t.dir });
    // nothing is charged for what left with no visit open
    expect(r.balances).toEqual({ zhang: 47 });
    expect(r.sessions).toHaveLength(1);
    const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
    try {
      const all = recentAlarms(db, 50).filter((a) => a.kind === 'idle_shelf_change');
      const active = listActiveAlarms(db).filter((a) => a.kind === 'idle_shelf_change');
      // soap: still gone, critical, named with the product and about how many
      expect(active.map((a) => [a.subject, a.severity])).toEqual([['slot A2', 'critical']]);
      const soap = active[0]!;
      expect(soap.detail).toContain('A2');
      expect(soap.detail).toContain('洗衣皂');
      expect(soap.detail).toContain('soap');
      expect(soap.detail).toMatch(/about 2 items/);
      expect(soap.detail).toMatch(/约 2 件/);
      // salt: taken, then put back: raised and cleared by itself
      const salt = all.find((a) => a.subject === 'slot A1');
      expect(salt).toMatchObject({ cleared_by: 'resolved' });
      expect(salt?.cleared_at).not.toBeNull();
      // the maintainer who has settled it clears it by hand (audited)
      const board = new AlarmBoard(() => db, pino({ level: 'silent' }));
      expect(board.clearByHand(soap.id, 'chen', 'counted the shelf, camera checked')).toMatchObject({ cleared: true });
      expect(listActiveAlarms(db).filter((a) => a.kind === 'idle_shelf_change')).toEqual([]);
    } finally {
      closeLedger(db);
    }
  }, 120_000);
});
