/**
 * A `clock_skew` alarm raised in an earlier run of the daemon is kept in the store's ledger
 * (the alarms table). The next run did not raise it, yet must clear it once the evidence says the
 * clock is fine: a stream event whose time is accepted (the clock not slow), or a fresh beat that
 * finds no row of this store unacknowledged for too long (not fast). Clearing an alarm that is
 * not raised leaves it be (edge/ops/alarms.ts AlarmBoard.clear).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClockSkewWatch, STREAK } from '../../cloud-sync/agent/clock-skew.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { activeAlarm } from '../../edge/ledger/alarms.ts';
import { silentLogger } from '../../edge/log.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig } from '../../harness/sync/rig.ts';

const t = (hhmmss: string): string => `2026-06-01T${hhmmss}.000Z`;
const AFTER = 600_000;
const SKEW = 300_000;

const watch = (): { seen: string[]; w: ClockSkewWatch } => {
  const seen: string[] = [];
  return { seen, w: new ClockSkewWatch({ log: silentLogger(), alarm: (d) => seen.push(d === undefined ? 'cleared' : 'raised') }) };
};

describe('clock_skew from an earlier run (not known at start)', () => {
  it('a stream event accepted clears it, once', () => {
    const { seen, w } = watch();
    w.accepted();
    w.accepted();
    expect(seen).toEqual(['cleared']);
  });

  it('a fresh beat finding no own row stuck clears it, once', () => {
    const { seen, w } = watch();
    w.ownRows(null, t('10:00:00'), AFTER, SKEW);
    w.ownRows(t('09:59:59'), t('10:00:00'), AFTER, SKEW);
    expect(seen).toEqual(['cleared']);
    w.accepted();
    expect(seen).toEqual(['cleared']);
  });

  it('not cleared while the other source raises it in this run', () => {
    const { seen, w } = watch();
    w.ownRows(t('10:00:00'), t('10:10:30'), AFTER, SKEW);
    w.accepted(); // the stream is fine, the rows are not
    expect(seen).toEqual(['raised']);
    expect(w.raised).toBe(true);
    w.ownRows(null, t('10:11:00'), AFTER, SKEW);
    expect(seen).toEqual(['raised', 'cleared']);
  });

  it('a stream still refused: the streak raises it, as in a run that began well', () => {
    const { seen, w } = watch();
    for (let i = 0; i < STREAK; i++) w.fromFuture(t('10:10:00'), t('10:00:00'));
    expect(seen).toEqual(['raised']);
  });
});

describe(`clock_skew kept from an earlier run of the daemon (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('is cleared after the restart at the first fresh beat finding the rows acknowledged', async () => {
    rig = await startRig();
    const wired: { board?: AlarmBoard } = {};
    // wired as the daemon wires it (edge/main.ts)
    const clockAlarm = (detail: string | undefined): void => {
      if (detail === undefined) wired.board?.clear('clock_skew', 'village ledger');
      else wired.board?.raise('clock_skew', 'village ledger', detail, 'critical');
    };
    const s = await rig.addStore(undefined, {}, undefined, { clockAlarm });
    await waitFor('the store heard by the ledger', () => s.agent.state().last_contact !== null);
    await s.stop();
    const board = new AlarmBoard(() => s.db, silentLogger());
    wired.board = board;
    // raised by the earlier run (its clock then ran fast), the daemon stopped before it cleared
    board.raise('clock_skew', 'village ledger', 'the village ledger answers, yet has acknowledged none of the rows…', 'critical');
    expect(activeAlarm(s.db, 'clock_skew', 'village ledger')).toBeDefined();
    await s.restart();
    await waitFor('the stale clock alarm cleared', () => activeAlarm(s.db, 'clock_skew', 'village ledger') === undefined);
  }, 60_000);
});
