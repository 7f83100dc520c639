import { expect } from 'vitest';
import type { SimulationResult } from '../../harness/scenario/run.ts';

/** Ledger-wide checks every scenario run must pass: balance = sum, nothing left open, one redemption per charged session. */
export function invariants(r: SimulationResult): void {
  expect(r.invariants).toEqual({ balance_mismatches: 0, open_sessions: 0 });
  const ids = r.entries.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const s of r.sessions.filter((x) => x.charged_points > 0)) {
    expect(r.entries.filter((e) => e.id === `redemption:${s.id}`)).toEqual([{ id: `redemption:${s.id}`, villager: s.villager, kind: 'redemption', points: -s.charged_points }]);
  }
  expect(r.receipts.length).toBe(r.sessions.filter((s) => s.status === 'settled').length);
}
