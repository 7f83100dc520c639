/**
 * The session engine reads the daemon's clock (SimulationOptions.clock, edge/main.ts), as the
 * admin page and the sync agent do: a visit's recorded times (its ledger row, its saved
 * context, its points entry, what it tells observers) are the daemon's time, not the system's,
 * even where the lock driver stamps its events with the machine's. Its timers stay real ones.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listEntries } from '../../edge/ledger/entries.ts';
import { store } from './rig.ts';

/** Far from any machine's clock; stepped by hand so each step shows its own time. */
const T0 = Date.parse('2031-03-04T05:06:07.000Z');

// the machine's clock stands still (the lock driver stamps its events with it): the daemon's alone moves
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-12-05T05:00:00.000Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("a visit's recorded times follow the daemon's clock", () => {
  it('admission, door, exit and settlement are stamped with the given clock', () => {
    let t = T0;
    const s = store({ clock: () => new Date(t) });
    const states: number[] = [];
    const receipts: number[] = [];
    s.engine.on('state', (e) => states.push(e.at));
    s.engine.on('receipt', (r) => receipts.push(r.at));

    s.admit('A'); // opened at T0
    t += 60_000;
    s.lock.door('open'); // the driver stamps the machine's time; the visit records the daemon's
    s.lock.door('closed');
    s.scales.rest('S1', 900);
    t += 60_000;
    s.lock.exit();
    s.scales.sweep();
    expect(s.engine.phase).toBe('idle');

    const row = s.session('A')!;
    expect(row.status).toBe('settled');
    expect(row.openedAt).toBe(new Date(T0).toISOString());
    expect(row.closedAt).toBe(new Date(T0 + 120_000).toISOString());
    const ctx = row.context as { openedAt: number; doorOpenedAt: number; activeAt: number; exitAt: number };
    expect(ctx).toMatchObject({ openedAt: T0, doorOpenedAt: T0 + 60_000, exitAt: T0 + 120_000 });
    const charge = listEntries(s.db, 'A').find((e) => e.kind === 'redemption');
    expect(charge?.createdAt).toBe(new Date(T0 + 120_000).toISOString());
    expect(states.every((at) => at >= T0 && at <= T0 + 120_000)).toBe(true);
    expect(receipts).toEqual([T0 + 120_000]);
    expect(s.faults).toEqual([]);
  });
});
