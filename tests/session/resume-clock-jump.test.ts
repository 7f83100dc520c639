/**
 * A visit resumed while shopping whose idle time cannot be true: the store's clock jumped at
 * boot (an RTC reset put right by NTP, a clock set wrong), so now − activeAt is negative or
 * beyond the longest idle timeout the config allows. That quiet is unknown, not a villager gone:
 * the visit waits the whole idle timeout, as one saved without activeAt does, and the log says
 * why in both languages. A long but believable quiet still settles at once (resume-shopping).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionConfigSchema } from '../../edge/session/config.ts';
import { MAX_BELIEVABLE_QUIET_MS } from '../../edge/session/machine.ts';
import { store, timings } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const idle = timings.shopping_idle_timeout_ms;
const DAY = 86_400_000;

/** A goes in and takes a soap; the daemon stops; it starts again with its clock `jumpMs` on. */
function restartWithClock(jumpMs: number) {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const first = store({ now: clock });
  first.admit('A');
  first.lock.door('open', now);
  first.lock.door('closed', now);
  first.scales.rest('S1', 900);
  first.scales.emit('change', { slot: 'S1', delta_g: -100 });
  expect(first.engine.phase).toBe('shopping');
  first.engine.stop();
  now += jumpMs;
  const lines: { msg: string; quietMs?: number }[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as { msg: string }); done(); } }));
  const again = store({ db: first.db, scales: first.scales, now: clock, start: false, logger });
  again.engine.start();
  return { again, lines };
}

describe('a visit resumed after the clock jumped', () => {
  it('the bound is the longest idle timeout the config allows', () => {
    expect(MAX_BELIEVABLE_QUIET_MS).toBe(SessionConfigSchema.properties.shopping_idle_timeout_ms.maximum);
  });

  it.each([
    ['years ahead (an RTC reset fixed by NTP)', 3 * 365 * DAY],
    ['just past the bound', MAX_BELIEVABLE_QUIET_MS + 60_001],
    ['behind (a clock set back)', -3_600_000],
  ])('%s: she may still be inside; the whole idle timeout again, logged bilingually', (_name, jump) => {
    const { again, lines } = restartWithClock(jump);
    expect(again.engine.phase).toBe('shopping');
    const said = lines.find((l) => l.msg.includes('clock'));
    expect(said?.msg).toMatch(/[\u4e00-\u9fff].* \/ .*idle/);
    vi.advanceTimersByTime(idle - 1);
    expect(again.engine.phase).toBe('shopping');
    vi.advanceTimersByTime(1);
    expect(again.engine.phase).toBe('exiting');
    again.scales.sweep();
    again.scales.sweep();
    expect(again.session('A')).toMatchObject({ status: 'settled', totalPoints: 10 });
  });

  it('a long quiet within the bound (a store dark for hours): she went out, settled at once, nothing logged about the clock', () => {
    const { again, lines } = restartWithClock(20 * 3_600_000);
    expect(again.engine.phase).toBe('exiting');
    expect(lines.some((l) => l.msg.includes('clock'))).toBe(false);
  });
});
