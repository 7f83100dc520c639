/**
 * The door moved while the daemon was down: the relay board simulator (drivers/sim/lock-rig.ts)
 * keeps the door as it was left, and a new lock driver and session start on it, as after a
 * restart (the sim-hardware process outlives the daemon the same way). The scales are the fakes
 * of rig.ts.
 */
import { afterEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { simulatedLock } from '../../drivers/sim/lock-rig.ts';
import { LockDriver } from '../../drivers/lock/lock-driver.ts';
import type { Db } from '../../edge/ledger/db.ts';
import { listSessions } from '../../edge/ledger/sessions.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { resolveSessionConfig } from '../../edge/session/config.ts';
import { StoreSessionEngine } from '../../edge/session/engine.ts';
import { until } from '../drivers/helpers.ts';
import { FakeScales, seedLedger } from './rig.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

type Line = { level: number; msg: string; event?: string };

async function hardware() {
  const rig = await simulatedLock(pino({ level: 'silent' }), { lock: { input_poll_ms: 20 } });
  stops.push(rig.stop);
  await rig.lock.stop(); // the daemon of each test starts its own lock driver on this board
  const scales = new FakeScales();
  scales.rest('S1', 1000);
  scales.rest('S2', 1000);
  return { rig, scales };
}

/** A daemon on the board: its own lock driver and session, logging to `lines`. */
async function daemon(hw: Awaited<ReturnType<typeof hardware>>, db: Db) {
  const lines: Line[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const lock = new LockDriver({ bus: hw.rig.bus, config: hw.rig.cfg.lock, logger });
  await lock.start(); // the hardware starts before the session
  const engine = new StoreSessionEngine({ db: () => db, config: resolveSessionConfig({ stability_wait_ms: 50, exit_settle_max_ms: 200, door_settle_ms: 0, leave_hold_ms: 60_000 }), rules: { creditFloor: 0 }, lock, scales: hw.scales, logger });
  engine.start();
  const stop = async (): Promise<void> => {
    engine.stop();
    await lock.stop();
  };
  stops.push(stop);
  return { lock, engine, lines, stop };
}

it('a door found open at start with no visit open: logged in both languages, nobody charged, nobody let in until it has closed', async () => {
  const hw = await hardware();
  const db = seedLedger();
  const first = await daemon(hw, db);
  await until(() => first.lock.doorState === 'closed', 5000, 'the first door reading');
  await first.stop();
  hw.rig.relay.openDoor({ force: true }); // while the daemon is down
  const again = await daemon(hw, db);
  await until(() => again.lines.some((l) => l.event === 'door_open_at_start'), 5000, 'the door found open, logged');
  const line = again.lines.find((l) => l.event === 'door_open_at_start')!;
  expect(line.level).toBe(40);
  expect(line.msg).toMatch(/门.*\/.*door/);
  expect(again.engine.phase).toBe('idle');
  // whoever opened it may still be inside: the next villager waits until the door has closed
  expect(again.engine.isStoreBusy('B')).toBe(true);
  expect(again.engine.admit('B', 'card')).toMatchObject({ ok: false, reason: 'store_busy' });
  hw.rig.relay.closeDoor();
  await until(() => again.lock.doorState === 'closed', 5000, 'the door closed');
  expect(again.engine.isStoreBusy('B')).toBe(false);
  expect(listSessions(db)).toEqual([]);
  for (const v of ['A', 'B']) expect(getVillager(db, v)?.balance).toBe(100);
});

it('a door found closed at start, as it was left: nothing logged about it, the store free', async () => {
  const hw = await hardware();
  const db = seedLedger();
  const d = await daemon(hw, db);
  await until(() => d.lock.doorState === 'closed', 5000, 'the first door reading');
  await until(() => d.engine.phase === 'idle' && !d.engine.isStoreBusy('B'), 5000, 'the store free');
  expect(d.lines.some((l) => l.event === 'door_open_at_start')).toBe(false);
});

it('a visit entering when the daemon went down, the door opened and left open meanwhile: she is inside, charged only for what she takes', async () => {
  const hw = await hardware();
  const db = seedLedger();
  const first = await daemon(hw, db);
  await until(() => first.lock.doorState === 'closed', 5000, 'the first door reading');
  expect(first.engine.admit('A', 'card').ok).toBe(true);
  await first.stop();
  hw.rig.relay.openDoor({ force: true }); // she pushes the door while the daemon is down
  const again = await daemon(hw, db);
  await until(() => again.engine.phase === 'shopping', 5000, 'her visit inside');
  expect(again.lines.some((l) => l.event === 'door_open_at_start')).toBe(false);
  hw.rig.relay.closeDoor();
  hw.scales.move('S1');
  hw.scales.rest('S1', 900);
  hw.scales.sweep();
  hw.rig.relay.pressExit(100);
  await until(() => {
    hw.scales.sweep();
    return again.engine.phase === 'idle';
  }, 5000, 'her visit settled');
  expect(listSessions(db).find((s) => s.villagerId === 'A')).toMatchObject({ status: 'settled', totalPoints: 10 });
  expect(getVillager(db, 'A')?.balance).toBe(90);
});
