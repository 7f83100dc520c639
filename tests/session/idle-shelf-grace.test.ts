/**
 * A slot still moving when the exit wait ended (a `not_stable` review line of the visit) comes to
 * rest after the receipt, with the store already idle: that change is most likely the visit's,
 * and raises `idle_shelf_change` as a warning only (never dropped unseen: one who stayed behind
 * could have emptied the slot in those seconds), never a critical theft. Any other slot's change, the slot's next change, and a change
 * once the store has been quiet longer than the grace (the longest exit wait) still raise. Times
 * are the events' own `at`: nothing waits.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { listActiveAlarms } from '../../edge/ledger/alarms.ts';
import { openSession } from '../../edge/ledger/sessions.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { IdleShelfWatch, type IdleChange } from '../../edge/ops/idle-shelf-watch.ts';
import { tempLedger } from '../ledger/helpers.ts';

const GRACE_MS = 10_000;

function setup() {
  const l = tempLedger();
  const source = new EventEmitter();
  const board = new AlarmBoard(() => l.db, pino({ level: 'silent' }));
  const watch = new IdleShelfWatch({ session: () => source, board, db: () => l.db, driftG: 5, settleGraceMs: GRACE_MS });
  watch.start();
  addVillager(l.db, { id: 'zhang', name: '张三', village: '前进村' });
  openSession(l.db, { id: 's1', kind: 'shopping', villagerId: 'zhang', enteredBy: 'card', state: 'settled', context: {} });
  // the settlement's review line for the slot the exit wait gave up on (sessions.ts settleSession writes these)
  l.db.prepare("INSERT INTO review_lines (session_id, slot, reason, delta_g, detail, created_at) VALUES ('s1', 'A1', 'not_stable', -200, 'still moving', '2026-01-01T00:00:00Z')").run();
  const state = (phase: string, at: number): boolean => source.emit('state', { phase, at, sessionId: phase === 'idle' ? null : 's1' });
  const change = (c: IdleChange): boolean => source.emit('unattended', c);
  const active = (): Array<[string, string]> => listActiveAlarms(l.db).filter((a) => a.kind === 'idle_shelf_change').map((a) => [a.subject, a.severity]);
  return { l, watch, state, change, active };
}

describe('idle shelf watch after a visit ends', () => {
  let done: (() => void) | undefined;
  afterEach(() => done?.());

  it('takes a slot coming to rest just after the receipt as most likely the visit\'s (a warning, not critical), and a later loss still raises', () => {
    const s = setup();
    done = () => { s.watch.stop(); s.l.cleanup(); };
    const t0 = 1_000_000;
    s.state('exiting', t0 - 12_000);
    s.state('settling', t0 - 1);
    s.state('settled', t0 - 1);
    s.state('idle', t0);
    // the slot the exit wait gave up on settles 3 s after the receipt: one bag of salt lighter
    s.change({ slot: 'A1', deltaG: -400, fromG: 2400, toG: 2000, at: t0 + 3_000 });
    expect(s.active()).toEqual([['slot A1', 'warning']]);
    // the store is quiet past the grace: someone stayed behind and takes a bar of soap
    s.change({ slot: 'A2', deltaG: -230, fromG: 1150, toG: 920, at: t0 + GRACE_MS + 1 });
    expect(s.active().sort()).toEqual([['slot A1', 'warning'], ['slot A2', 'critical']]);
    // and a second change of the settled slot after the grace raises, from the weight it came to rest at
    s.change({ slot: 'A1', deltaG: -400, fromG: 2000, toG: 1600, at: t0 + GRACE_MS + 2 });
    expect(s.active().sort()).toEqual([['slot A1', 'critical'], ['slot A2', 'critical']]);
  });

  it('within the grace, only the first change of a slot the visit left moving is the visit\'s', () => {
    const s = setup();
    done = () => { s.watch.stop(); s.l.cleanup(); };
    const t0 = 2_000_000;
    s.state('settled', t0 - 1);
    s.state('idle', t0);
    s.change({ slot: 'A1', deltaG: -400, fromG: 2400, toG: 2000, at: t0 + 1_000 });
    s.change({ slot: 'A1', deltaG: -400, fromG: 2000, toG: 1600, at: t0 + 2_000 });
    expect(s.active()).toEqual([['slot A1', 'critical']]);
    // a slot that was at rest when the visit settled: someone who stayed behind, at once
    s.change({ slot: 'A2', deltaG: -230, fromG: 1150, toG: 920, at: t0 + 2_500 });
    expect(s.active().sort()).toEqual([['slot A1', 'critical'], ['slot A2', 'critical']]);
  });

  it('gives no grace when the store was idle without a visit just settled (a start, a cancelled entry)', () => {
    const s = setup();
    done = () => { s.watch.stop(); s.l.cleanup(); };
    const t0 = 3_000_000;
    s.state('idle', t0);
    s.change({ slot: 'A1', deltaG: -400, fromG: 2400, toG: 2000, at: t0 + 1_000 });
    expect(s.active()).toEqual([['slot A1', 'critical']]);
  });
});
