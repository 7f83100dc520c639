/**
 * drivers/modbus/reply-deadline.ts with a hand-driven clock: each row says how late each timer
 * fires (ms past its due time) and whether the deadline is declared after it.
 */
import { describe, expect, it } from 'vitest';
import { LATE_SLACK_MS, MAX_RESTARTS, replyDeadline } from '../../drivers/modbus/reply-deadline.ts';

function rig() {
  let clock = 1000;
  const timers: Array<{ fn: () => void; due: number; cleared: boolean; fired: boolean }> = [];
  return {
    opts: {
      now: () => clock,
      setTimer: (fn: () => void, ms: number) => {
        const t = { fn, due: clock + ms, cleared: false, fired: false };
        timers.push(t);
        return t;
      },
      clearTimer: (h: unknown) => void ((h as { cleared: boolean }).cleared = true),
    },
    /** Fires the newest timer `late` ms after its due time. */
    fire(late: number): void {
      const t = timers.at(-1)!;
      clock = t.due + late;
      if (t.cleared || t.fired) return;
      t.fired = true;
      t.fn();
    },
    /** Timers still to fire. */
    get armed(): number {
      return timers.filter((t) => !t.cleared && !t.fired).length;
    },
  };
}

describe('the reply deadline', () => {
  const table: Array<[string, number[], boolean, number]> = [
    ['a punctual timer declares it', [0], true, 0],
    ['a timer late within the slack declares it', [LATE_SLACK_MS], true, 0],
    ['a stalled loop restarts the response time', [LATE_SLACK_MS + 1], false, 1],
    ['after a stall, a punctual timer declares it', [500, 3], true, 1],
    ['two stalls, then punctual', [500, 800, 0], true, 2],
    [`stalls in a row: declared after ${MAX_RESTARTS} restarts`, Array.from({ length: MAX_RESTARTS + 1 }, () => 1000), true, MAX_RESTARTS],
  ];
  it.each(table)('%s', (_what, lateness, expired, restarts) => {
    const r = rig();
    let calls = 0;
    const d = replyDeadline(() => (calls += 1), { ms: 200, ...r.opts });
    for (const late of lateness) r.fire(late);
    expect(calls).toBe(expired ? 1 : 0);
    expect(d.restarts).toBe(restarts);
  });

  it('cancelled (the reply came), it never fires, stalled or not', () => {
    const r = rig();
    let calls = 0;
    const d = replyDeadline(() => (calls += 1), { ms: 200, ...r.opts });
    r.fire(900);
    d.cancel();
    r.fire(0);
    expect(calls).toBe(0);
    expect(r.armed).toBe(0);
  });
});
