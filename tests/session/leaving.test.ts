/**
 * A villager who pressed exit is settled before they reach the door (tests/session/rig.ts):
 * their door opening must not be taken for the next villager walking in.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { store } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function settledByButton(s: ReturnType<typeof store>): void {
  s.admit('A');
  s.lock.door('open');
  s.lock.door('closed');
  s.scales.rest('S1', 900);
  s.lock.exit();
  s.scales.sweep();
  expect(s.engine.phase).toBe('idle');
}

describe('after an exit by the button, until the villager has gone out through the door', () => {
  it('the next villager is held at the door; once the door opened and closed, let in', () => {
    const s = store();
    settledByButton(s);
    expect(s.engine.isStoreBusy('B')).toBe(true);
    expect(s.engine.admit('B', 'card')).toMatchObject({ ok: false, reason: 'store_busy' });
    s.lock.door('open'); // A walks out
    expect(s.engine.phase).toBe('idle');
    s.lock.door('closed');
    expect(s.engine.isStoreBusy('B')).toBe(false);
    expect(s.engine.admit('B', 'card')).toMatchObject({ ok: true });
    s.lock.door('open');
    expect(s.engine.phase).toBe('shopping');
  });

  it('a villager who went out before the settlement ended holds nobody', () => {
    const s = store();
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.lock.exit();
    s.lock.door('open'); // out while the shelves are weighed
    s.lock.door('closed');
    s.scales.sweep();
    expect(s.engine.phase).toBe('idle');
    expect(s.engine.isStoreBusy('B')).toBe(false);
  });

  it('the hold ends after session.leave_hold_ms if the door never moves, a real wait whatever the daemon\'s clock does', () => {
    let now = 1_000_000;
    const s = store({ config: { leave_hold_ms: 5000 }, now: () => now });
    settledByButton(s);
    expect(s.engine.isStoreBusy('B')).toBe(true);
    now -= 3_600_000; // the (simulated) clock set back an hour: the hold is not stretched
    vi.advanceTimersByTime(4999);
    expect(s.engine.isStoreBusy('B')).toBe(true);
    now += 7_200_000; // and two hours on: nor cut short
    expect(s.engine.isStoreBusy('B')).toBe(true);
    vi.advanceTimersByTime(1);
    expect(s.engine.isStoreBusy('B')).toBe(false);
  });
});

describe('a villager whose visit went inside without them (a door opening that was not theirs)', () => {
  it('is let in again on the same visit while the shelves are untouched; anyone else waits', () => {
    const s = store({ config: { leave_hold_ms: 0 } });
    settledByButton(s);
    const admitted = s.engine.admit('B', 'card');
    s.lock.door('open'); // A, leaving, opens the door: B's visit goes inside
    s.lock.door('closed');
    expect(s.engine.phase).toBe('shopping');
    expect(s.engine.isStoreBusy('B')).toBe(false);
    expect(s.engine.isStoreBusy('C')).toBe(true);
    expect(s.engine.admit('B', 'card')).toEqual(admitted);
    s.scales.rest('S2', 900); // B takes a soap: from now on it is a visit in progress
    s.scales.emit('change', { slot: 'S2', delta_g: -100 });
    expect(s.engine.isStoreBusy('B')).toBe(true);
  });
});
