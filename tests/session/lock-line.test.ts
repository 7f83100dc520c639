/**
 * The session over the real lock driver and the relay board simulator (drivers/sim/lock-rig.ts)
 * when the RS-485 line to the board goes quiet for a moment: a villager leaving by the door is
 * still seen to leave, charged, and the store is free for the next one. The scales are the fakes
 * of rig.ts. Modbus timeouts are short and retries off so that a silent line shows quickly.
 */
import { afterEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { simulatedLock } from '../../drivers/sim/lock-rig.ts';
import { resolveSessionConfig } from '../../edge/session/config.ts';
import { StoreSessionEngine } from '../../edge/session/engine.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { until } from '../drivers/helpers.ts';
import { FakeScales, seedLedger } from './rig.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function storeOnLock(lock: Record<string, unknown>) {
  const logger = pino({ level: 'silent' });
  const rig = await simulatedLock(logger, { lock: { input_poll_ms: 20, ...lock }, modbus: { response_timeout_ms: 20, retries: 0 } });
  stops.push(rig.stop);
  const db = seedLedger();
  const scales = new FakeScales();
  scales.rest('S1', 1000);
  scales.rest('S2', 1000);
  const engine = new StoreSessionEngine({ db: () => db, config: resolveSessionConfig({ stability_wait_ms: 50, exit_settle_max_ms: 200, door_settle_ms: 0 }), rules: { creditFloor: 0 }, lock: rig.lock, scales, logger });
  stops.push(async () => engine.stop());
  const pulses: boolean[] = [];
  engine.on('lock', (l) => pulses.push(l.released));
  await until(() => rig.lock.doorState === 'closed', 2000, 'the first door reading');
  engine.start();
  /** A is let in by card: the pulse, her push on the door, the door closing behind her. */
  const letIn = async (pulseMs: number): Promise<void> => {
    expect(engine.admit('A', 'card').ok).toBe(true);
    await rig.lock.unlock(pulseMs);
    engine.onEntryDecision({ by: 'card', decision: 'matched', villagerId: 'A', unlocked: true });
    expect(rig.relay.openDoor()).toBe(true);
    await until(() => engine.phase === 'shopping', 2000, 'A inside');
    rig.relay.closeDoor();
  };
  /** A takes one soap (10 points). */
  const takeSoap = (): void => {
    scales.move('S1');
    scales.rest('S1', 900);
    scales.sweep();
  };
  /** The exit is weighed on sweeps: the scales go on sweeping until the visit is settled. */
  const settled = (): Promise<void> => until(() => {
    scales.sweep();
    return engine.phase === 'idle';
  }, 5000, 'the visit settled');
  const silence = (): void => rig.line.injectFault({ kind: 'no_reply', unit: rig.cfg.lock.unit_id, times: Infinity });
  return { rig, db, engine, pulses, letIn, takeSoap, settled, silence };
}

it('a villager leaving by the door while the lock inputs go unread for a moment is seen leaving once they are read again', async () => {
  const s = await storeOnLock({ input_unread_polls: 3 });
  await s.letIn(100);
  await until(() => s.pulses.at(-1) === false, 5000, 'the lock closed again after the pulse');
  s.takeSoap();
  s.silence(); // the board stops answering: the driver no longer knows the door
  await until(() => s.rig.lock.doorState === 'unknown', 5000, 'inputs unread');
  s.rig.relay.openDoor({ force: true }); // A opens the door from inside and goes out meanwhile
  s.rig.line.clearFaults();
  await until(() => s.engine.phase !== 'shopping', 5000, 'her exit seen');
  await s.settled();
  s.rig.relay.closeDoor();
  expect(getVillager(s.db, 'A')?.balance).toBe(90);
  expect(s.engine.isStoreBusy('B')).toBe(false);
});

it('a villager leaving by the door after a pulse whose release check got no answer is seen leaving: the pulse ended on the board\'s clock', async () => {
  const s = await storeOnLock({ release_check_ms: 50 });
  const alarms: string[] = [];
  s.rig.lock.on('alarm', (a) => alarms.push(a.reason));
  let relocked = 0;
  s.rig.lock.on('relocked', () => (relocked += 1));
  expect(s.engine.admit('A', 'card').ok).toBe(true);
  await s.rig.lock.unlock(300);
  // the line goes quiet just as the release check reads the relay (the read is the next coil read)
  void s.rig.line.expectRequest((f) => {
    if (f[0] !== s.rig.cfg.lock.unit_id || f[1] !== 1) return false;
    s.silence();
    return true;
  }, { what: 'the release check', timeoutMs: 10_000 });
  s.engine.onEntryDecision({ by: 'card', decision: 'matched', villagerId: 'A', unlocked: true });
  expect(s.rig.relay.openDoor()).toBe(true);
  await until(() => alarms.length > 0, 5000, 'the release check to give up');
  s.rig.line.clearFaults();
  expect(alarms).toEqual(['release_unconfirmed']);
  expect(relocked).toBe(0);
  expect(s.rig.relay.coil(s.rig.cfg.lock.coil)).toBe(false); // the board dropped the relay by itself
  await until(() => s.engine.phase === 'shopping', 5000, 'A inside');
  s.rig.relay.closeDoor();
  await until(() => s.rig.lock.doorState === 'closed', 5000, 'the door closed behind her');
  s.takeSoap();
  s.rig.relay.openDoor({ force: true }); // A leaves by the handle from inside
  await until(() => s.engine.phase !== 'shopping', 5000, 'her exit seen');
  await s.settled();
  expect(getVillager(s.db, 'A')?.balance).toBe(90);
  expect(s.engine.isStoreBusy('B')).toBe(false);
});
