/**
 * A `clock_skew` alarm raised in an earlier run of the daemon is kept in the store's ledger
 * (the alarms table). The next run did not raise it, yet must clear it once this run has shown
 * well the condition that raised it, read from its text: a stream event whose time is accepted
 * (the clock not slow), or the ledger acknowledging rows this run sent (not fast). A fresh beat
 * finding no row stuck is no evidence after a restart: every row's first sending starts again
 * at a connection, so no row has waited long enough yet (a review found the alarm cleared at the
 * first beat that way, with the clock still fast). Clearing an alarm that is not raised leaves it
 * be (edge/ops/alarms.ts AlarmBoard.clear).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClockSkewWatch, STREAK } from '../../cloud-sync/agent/clock-skew.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { activeAlarm } from '../../edge/ledger/alarms.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { silentLogger } from '../../edge/log.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig } from '../../harness/sync/rig.ts';

const t = (hhmmss: string): string => `2026-06-01T${hhmmss}.000Z`;
const AFTER = 600_000;
const SKEW = 300_000;
/** The two conditions' alarm texts as an earlier run wrote them (clock-skew.ts). */
const FAST_TEXT = 'the village ledger answers, yet has acknowledged none of the rows this store has been sending it since …';
const SLOW_TEXT = '3 village stream events running were issued in the future (the last 900 s ahead of this store\'s clock, …';

const watch = (standing?: string): { seen: string[]; w: ClockSkewWatch } => {
  const seen: string[] = [];
  return { seen, w: new ClockSkewWatch({ log: silentLogger(), alarm: (d) => seen.push(d === undefined ? 'cleared' : 'raised'), standing: () => standing }) };
};

describe('clock_skew from an earlier run (not known at start)', () => {
  it('raised for a slow clock: a stream event accepted clears it, once; beats and acks do not', () => {
    const { seen, w } = watch(SLOW_TEXT);
    w.ownRows(null, t('10:00:00'), AFTER, SKEW);
    w.acked();
    expect(seen).toEqual([]);
    w.accepted();
    w.accepted();
    expect(seen).toEqual(['cleared']);
  });

  it('raised for a fast clock: a fresh beat finding no row stuck does not clear it (every row just sent again), an ack of this run\'s rows does, once', () => {
    const { seen, w } = watch(FAST_TEXT);
    w.ownRows(null, t('10:00:00'), AFTER, SKEW);
    w.ownRows(t('09:59:59'), t('10:00:00'), AFTER, SKEW);
    w.accepted();
    expect(seen).toEqual([]);
    w.acked();
    w.acked();
    expect(seen).toEqual(['cleared']);
  });

  it('a fast clock still wrong after the restart: its rows get stuck again and it stays raised', () => {
    const { seen, w } = watch(FAST_TEXT);
    w.ownRows(t('10:00:00'), t('10:00:30'), AFTER, SKEW);
    w.ownRows(t('10:00:00'), t('10:10:30'), AFTER, SKEW);
    expect(seen).toEqual(['raised']);
    expect(w.raised).toBe(true);
  });

  it('a text naming neither condition wants both shown well', () => {
    const { seen, w } = watch('the store clock is wrong');
    w.accepted();
    expect(seen).toEqual([]);
    w.acked();
    expect(seen).toEqual(['cleared']);
  });

  it('none standing: the first evidence tells nothing to clear, and a later condition raises as in a run that began well', () => {
    const { seen, w } = watch(undefined);
    w.ownRows(null, t('10:00:00'), AFTER, SKEW);
    expect(seen).toEqual(['cleared']);
    w.ownRows(null, t('10:00:01'), AFTER, SKEW);
    expect(seen).toEqual(['cleared']);
    w.ownRows(t('10:00:00'), t('10:10:30'), AFTER, SKEW);
    expect(seen).toEqual(['cleared', 'raised']);
  });

  it('not cleared while the other source raises it in this run', () => {
    const { seen, w } = watch(SLOW_TEXT);
    w.ownRows(t('10:00:00'), t('10:10:30'), AFTER, SKEW);
    w.accepted(); // the stream is fine, the rows are not
    expect(seen).toEqual(['raised']);
    expect(w.raised).toBe(true);
    w.ownRows(null, t('10:11:00'), AFTER, SKEW);
    expect(seen).toEqual(['raised', 'cleared']);
  });

  it('a stream still refused: the streak raises it, as in a run that began well', () => {
    const { seen, w } = watch(SLOW_TEXT);
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

  it('a fast clock\'s alarm stands after the restart through the ledger\'s beats, and clears when the ledger acknowledges a row this run sent', async () => {
    rig = await startRig();
    const wired: { board?: AlarmBoard } = {};
    // wired as the daemon wires it (edge/main.ts)
    const clockAlarm = (detail: string | undefined): void => {
      if (detail === undefined) wired.board?.clear('clock_skew', 'village ledger');
      else wired.board?.raise('clock_skew', 'village ledger', detail, 'critical');
    };
    const s = await rig.addStore(undefined, {}, undefined, { clockAlarm });
    await waitFor('the store heard by the ledger', () => s.agent.state().last_contact !== null);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-0', villager: 'zhang', kind: 'award', points: 10, created_at: new Date().toISOString() });
    await waitFor('the award at the store', () => getVillager(s.db, 'zhang')?.balance === 10);
    await s.stop();
    const board = new AlarmBoard(() => s.db, silentLogger());
    wired.board = board;
    // raised by the earlier run (its clock then ran fast), the daemon stopped before it cleared
    board.raise('clock_skew', 'village ledger', FAST_TEXT, 'critical');
    const restartedAt = new Date().toISOString();
    await s.restart();
    // fresh beats find no row stuck (none in flight): no evidence the clock is not fast
    await waitFor('a fresh beat after the restart', () => (s.agent.state().last_contact ?? '') > restartedAt);
    const first = s.agent.state().last_contact!;
    await waitFor('another fresh beat', () => (s.agent.state().last_contact ?? '') > first);
    expect(activeAlarm(s.db, 'clock_skew', 'village ledger')).toBeDefined();
    applyEntry(s.db, { id: 'red-1', villagerId: 'zhang', kind: 'redemption', points: -4, origin: 'store' }, { creditFloor: 0 });
    await waitFor('the row at the ledger', async () => (await balanceOf(rig!.ledgerDb, 'zhang')) === 6);
    await waitFor('the stale clock alarm cleared', () => activeAlarm(s.db, 'clock_skew', 'village ledger') === undefined);
  }, 60_000);
});
