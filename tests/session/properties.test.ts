/**
 * Property tests (fast-check): the cart conserves items and never charges a put-back; the
 * session machine settles at most once under any interleaving of events and power cuts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCart, type SlotWeighing } from '../../edge/session/cart.ts';
import { resolveSessionConfig } from '../../edge/session/config.ts';
import { transition, type SessionEvent, type SessionState, type Visit, type VisitPhase } from '../../edge/session/machine.ts';

const rules = resolveSessionConfig({}).weight;

/** Slots of distinct products; what was taken from each, and what was put back on it. */
const shelf = fc.array(fc.record({ unitG: fc.integer({ min: 60, max: 2000 }), stock: fc.integer({ min: 0, max: 12 }), take: fc.integer({ min: 0, max: 12 }), back: fc.integer({ min: 0, max: 12 }), noise: fc.integer({ min: -3, max: 3 }) }), { minLength: 1, maxLength: 6 });

type Shelf = Array<{ unitG: number; stock: number; take: number; back: number; noise: number }>;

function weigh(slots: Shelf): { weighings: SlotWeighing[]; net: Map<string, number> } {
  const net = new Map<string, number>();
  const weighings = slots.map((s, i) => {
    const taken = Math.min(s.take, s.stock);
    const back = Math.min(s.back, taken);
    net.set(`S${i}`, taken - back);
    return { slot: `S${i}`, sku: `p${i}`, unitG: s.unitG, toleranceG: Math.floor(s.unitG / 10), baselineG: s.stock * s.unitG, currentG: (s.stock - taken + back) * s.unitG + s.noise, stable: true };
  });
  return { weighings, net };
}

describe('computeCart (properties)', () => {
  it('charges exactly what left each slot, net of what was put back; a put-back alone is never charged', () => {
    fc.assert(fc.property(shelf, (slots) => {
      const { weighings, net } = weigh(slots);
      const cart = computeCart(weighings, rules, 'shopping');
      const charged = new Map(cart.lines.map((l) => [l.slot, l.count]));
      for (const [slot, n] of net) expect(charged.get(slot) ?? 0).toBe(n);
      expect(cart.review).toEqual([]);
    }));
  });

  it('an item moved to another slot is conserved: charged at most once over both slots, never on the slot it landed on', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 5 }), (moved, taken) => {
      // soap (230 g) moved from A to B (oil, 900 g); `taken` more soap left the store
      const w: SlotWeighing[] = [
        { slot: 'A', sku: 'soap', unitG: 230, toleranceG: 8, baselineG: 10 * 230, currentG: (10 - moved - taken) * 230, stable: true },
        { slot: 'B', sku: 'oil', unitG: 900, toleranceG: 15, baselineG: 3 * 900, currentG: 3 * 900 + moved * 230, stable: true },
      ];
      const cart = computeCart(w, rules, 'shopping');
      const soap = cart.lines.filter((l) => l.sku === 'soap').reduce((n, l) => n + l.count, 0);
      expect(soap).toBe(taken);
      expect(cart.lines.some((l) => l.slot === 'B')).toBe(false);
    }));
  });
});

const t = { enteringTimeoutMs: 1000, shoppingIdleTimeoutMs: 10_000, stabilityWaitMs: 50, exitSettleMaxMs: 200, resumeScalesTimeoutMs: 5000, settleRetryMs: 100, doorSettleMs: 0 };
const visit: Visit = { sessionId: 's', villagerId: 'A', kind: 'shopping', enteredBy: 'card', baseline: {}, openedAt: 0, doorOpenedAt: null, exitAt: null, exitBy: null, settleAttempts: 0, lastError: null };

type Act = SessionEvent | { type: 'power_cut' };
const act: fc.Arbitrary<Act> = fc.constantFrom<Act>(
  { type: 'door_opened', at: 1 }, { type: 'door_closed', at: 1 }, { type: 'exit_button', at: 2 }, { type: 'shelf_changed', at: 1 },
  { type: 'entering_timeout', shelvesTouched: true }, { type: 'entering_timeout', shelvesTouched: false }, { type: 'idle_timeout', at: 3 },
  { type: 'shelves_stable' }, { type: 'stability_timeout' }, { type: 'scales_reported' }, { type: 'scales_timeout' }, { type: 'retry', now: 4 },
  { type: 'effect_failed', error: 'io' }, { type: 'power_cut' },
);

describe('the session machine (properties)', () => {
  it('settles a visit at most once under any interleaving of events, failures and power cuts', () => {
    fc.assert(fc.property(fc.array(act, { maxLength: 60 }), fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }), (acts, commits) => {
      // the ledger row as the runner writes it; settlement closes it in the same transaction
      type Row = { phase: VisitPhase; visit: Visit; status: 'open' | 'settled' | 'cancelled' };
      const ledger: { row: Row | null } = { row: null };
      let state: SessionState = { phase: 'idle' };
      let settlements = 0;
      let tries = 0;
      const feed = (e: SessionEvent): void => {
        const queue: SessionEvent[] = [e];
        while (queue.length > 0) {
          const before = state;
          const step = transition(state, queue.shift() as SessionEvent, t);
          state = step.state;
          for (const f of step.effects) {
            const row = ledger.row;
            if ((f.type === 'persist' || f.type === 'open_session') && state.phase !== 'idle') {
              if (row === null || row.status === 'open') ledger.row = { phase: state.phase, visit: state.visit, status: 'open' };
            } else if (f.type === 'cancel_session' && before.phase !== 'idle' && row?.status === 'open') {
              ledger.row = { ...row, status: 'cancelled' };
            } else if (f.type === 'settle') {
              expect(row?.status).not.toBe('settled'); // never asked to settle a closed visit
              if (commits[tries++ % commits.length]) {
                settlements += 1;
                if (row) ledger.row = { ...row, status: 'settled' };
                queue.push({ type: 'settle_ok' });
              } else queue.push({ type: 'settle_failed', error: 'disk full' });
            } else if (f.type === 'issue_receipt') queue.push({ type: 'receipt_issued' });
          }
        }
      };
      feed({ type: 'admitted', visit });
      for (const a of acts) {
        if (a.type !== 'power_cut') feed(a);
        else {
          state = { phase: 'idle' };
          const r = ledger.row;
          if (r && r.status === 'open') feed({ type: 'resume', phase: r.phase, visit: r.visit, now: 5 });
        }
      }
      expect(settlements).toBeLessThanOrEqual(1);
      if (settlements === 1) expect(ledger.row).toMatchObject({ status: 'settled' });
    }), { numRuns: 500 });
  });
});
