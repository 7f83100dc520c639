/**
 * The ledger API stamps what it stores by its own clock (LedgerApiDeps.clock: a test's or the
 * demo's simulated time), not the machine's: a village added and a points entry posted carry the
 * clock's time, as the governance routes' awards do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

/** A day far from the machine's, so a stamp taken from the wrong clock cannot match it. */
const SIMULATED = new Date('2031-03-14T09:26:53.000Z');

describe(`the ledger API stamps records by its injected clock (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp({ clock: () => SIMULATED });
    await g.villager(g.a, 'zhang');
  });
  afterAll(async () => {
    await g.close();
  });

  it('a village added by the town is created at the clock\'s time', async () => {
    // govApp added both villages through POST /api/villages
    const rows = await g.db.query<{ created_at: string }>('SELECT created_at FROM villages WHERE id = $1', [g.a]);
    expect(rows[0]?.created_at).toBe(SIMULATED.toISOString());
  });

  it('an entry posted to /api/villages/:v/entries is created at the clock\'s time', async () => {
    const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { id: 'clock-road-1', villager: 'zhang', kind: 'award', points: 10, reason: '打扫村道' });
    expect(r.statusCode, r.body).toBe(201);
    const rows = await g.db.query<{ created_at: string }>('SELECT created_at FROM entries WHERE id = $1', ['clock-road-1']);
    expect(rows[0]?.created_at).toBe(SIMULATED.toISOString());
  });
});
