/**
 * A visit resumed while shopping (tests/session/rig.ts): the idle timeout counts from the last
 * door or shelf activity the store saw, the time the daemon was down included, as it would had
 * the daemon never stopped. A villager who went out while it was down is settled as soon as the
 * scales have reported, not a whole timeout after the restart.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { store, timings } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const idle = timings.shopping_idle_timeout_ms;
const mark = Math.min(60_000, idle / 10); // her last activity was before its record + this (machine.ts activeMarkMs)

/** A goes in and (if `takes`) takes a soap; the daemon stops; `downMs` later it starts again on the same shelves. */
function downWhileShopping(opts: { takes: boolean; downMs: number; doorAtStart?: 'open' | 'closed' }) {
  let now = 1_000_000;
  const clock = () => now;
  const first = store({ now: clock });
  first.admit('A');
  // the lock stamps its events with the machine's clock; the visit records them on the store's (the engine's)
  first.lock.door('open');
  first.lock.door('closed');
  if (opts.takes) {
    first.scales.rest('S1', 900);
    first.scales.emit('change', { slot: 'S1', delta_g: -100 });
  }
  expect(first.engine.phase).toBe('shopping');
  first.engine.stop();
  now += opts.downMs;
  const again = store({ db: first.db, scales: first.scales, now: clock, start: false });
  again.lock.doorState = opts.doorAtStart ?? 'closed';
  again.engine.start();
  return { again, later: (ms: number) => (now += ms) };
}

describe('a visit resumed while shopping', () => {
  it('quiet for longer than the idle timeout while the daemon was down: she is gone by the store\'s own rule, settled once the scales report, charged for what she took', () => {
    const { again } = downWhileShopping({ takes: true, downMs: idle + mark });
    expect(again.engine.phase).toBe('exiting');
    again.scales.sweep(); // every scale reported since the start
    again.scales.sweep(); // at rest: the exit wait ends
    expect(again.engine.phase).toBe('idle');
    const row = again.session('A')!;
    expect(row).toMatchObject({ status: 'settled', totalPoints: 10 });
    expect((row.context as { exitBy: string }).exitBy).toBe('idle_timeout');
    expect(again.balance('A')).toBe(90);
    expect(again.engine.isStoreBusy('B')).toBe(false);
  });

  it('she took nothing: an empty visit, nothing charged', () => {
    const { again } = downWhileShopping({ takes: false, downMs: idle + mark });
    again.scales.sweep();
    again.scales.sweep();
    expect(again.session('A')).toMatchObject({ status: 'settled', totalPoints: 0 });
    expect(again.balance('A')).toBe(100);
  });

  it('a short restart: the idle timeout goes on from her last activity (as recorded, at most a tenth of the timeout old), not from the start', () => {
    const { again } = downWhileShopping({ takes: true, downMs: 4000 });
    expect(again.engine.phase).toBe('shopping');
    vi.advanceTimersByTime(idle - 4000 + mark - 1);
    expect(again.engine.phase).toBe('shopping');
    vi.advanceTimersByTime(1);
    expect(again.engine.phase).toBe('exiting');
  });

  it('the door standing open at start: someone is at it, the full idle timeout again', () => {
    const { again } = downWhileShopping({ takes: true, downMs: idle + mark, doorAtStart: 'open' });
    expect(again.engine.phase).toBe('shopping');
    vi.advanceTimersByTime(idle - 1);
    expect(again.engine.phase).toBe('shopping');
    vi.advanceTimersByTime(1);
    expect(again.engine.phase).toBe('exiting');
  });
});
