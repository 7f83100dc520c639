/**
 * The door as it stands when the session starts (tests/session/rig.ts). The lock driver starts
 * with the hardware, before the session, so its first reading (`initial`) can come before the
 * session listens: a visit resumed in `entering` must still learn that the door stands open.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { store, timings } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A is admitted, then the daemon stops before the door opens; the next start finds the door `door`. */
function restartWhileEntering(door: 'open' | 'closed') {
  const first = store();
  first.admit('A');
  expect(first.engine.phase).toBe('entering');
  first.engine.stop();
  const again = store({ db: first.db, start: false });
  again.lock.doorState = door; // read by the driver before the session listened: no event comes
  again.engine.start();
  return again;
}

describe('a visit resumed in entering', () => {
  it('with the door standing open (she went in while the daemon was down): the visit goes on, the next villager waits, her goods are hers', () => {
    const s = restartWhileEntering('open');
    expect(s.engine.phase).toBe('shopping');
    vi.advanceTimersByTime(timings.entering_timeout_ms + 5000); // past any entering wait
    expect(s.engine.phase).toBe('shopping');
    expect(s.engine.isStoreBusy('B')).toBe(true);
    expect(s.engine.admit('B', 'card')).toMatchObject({ ok: false, reason: 'store_busy' });
    s.lock.door('closed'); // the door closes behind her: activity, not an exit
    s.scales.rest('S1', 900); // A takes a soap
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 10 });
    expect(s.balance('A')).toBe(90);
    expect(s.engine.phase).toBe('idle');
  });

  it('with the door closed: still waiting for the door, which opening takes the visit inside', () => {
    const s = restartWhileEntering('closed');
    expect(s.engine.phase).toBe('entering');
    s.lock.door('open');
    expect(s.engine.phase).toBe('shopping');
  });
});

describe('a visit resumed while shopping, with the door standing open', () => {
  it('is the villager holding the door, not an exit', () => {
    const first = store();
    first.admit('A');
    first.lock.door('open');
    first.lock.door('closed');
    first.engine.stop();
    const again = store({ db: first.db, start: false });
    again.lock.doorState = 'open';
    again.engine.start();
    expect(again.engine.phase).toBe('shopping');
  });
});

describe('a door standing open at start with no visit open', () => {
  /** Nothing open in the ledger; the door stands open as the daemon starts (opened while it was down). */
  function startWithDoorOpen(leaveHoldMs: number) {
    let now = 1_000_000;
    const s = store({ config: { leave_hold_ms: leaveHoldMs }, now: () => now, start: false });
    s.lock.doorState = 'open';
    s.engine.start();
    return { s, later: (ms: number) => (now += ms) };
  }

  it.each([15_000, 0])('holds the next villager for as long as it stands open, not only session.leave_hold_ms (%i ms); nobody charged, the store free once it has closed', (hold) => {
    const { s, later } = startWithDoorOpen(hold);
    expect(s.engine.phase).toBe('idle');
    later(hold + 60_000); // the door is still open long after any leaver's hold
    vi.advanceTimersByTime(hold + 60_000);
    expect(s.engine.isStoreBusy('B')).toBe(true);
    expect(s.engine.admit('B', 'card')).toMatchObject({ ok: false, reason: 'store_busy' });
    s.scales.rest('S1', 900); // whoever opened it takes a soap: nobody's visit, nothing charged
    s.scales.emit('change', { slot: 'S1', delta_g: -100 });
    s.lock.door('closed');
    expect(s.engine.isStoreBusy('B')).toBe(false);
    expect(s.session('A')).toBeUndefined();
    expect(s.session('B')).toBeUndefined();
    expect(s.balance('A')).toBe(100);
    expect(s.balance('B')).toBe(100);
  });
});
