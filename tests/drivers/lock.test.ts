import { afterEach, describe, expect, it } from 'vitest';
import { isDriverError } from '../../drivers/errors.ts';
import type { LockEvents } from '../../drivers/lock/lock-driver.ts';
import { captureLogger, simulatedLock, until } from './helpers.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function rig(lockOverrides: Record<string, unknown> = {}) {
  const { logger, lines } = captureLogger();
  const { cfg, relay, line, bus, lock, network, stop } = await simulatedLock(logger, { lock: { input_poll_ms: 20, release_check_ms: 50, ...lockOverrides }, modbus: { response_timeout_ms: 50, quiet_after_error_ms: 2 } });
  stops.push(stop);
  const events: Array<{ name: keyof LockEvents; payload: unknown }> = [];
  for (const name of ['door', 'exit_button', 'unlocked', 'alarm', 'relocked'] as const) lock.on(name, (p: unknown) => events.push({ name, payload: p }));
  return { cfg, relay, line, bus, lock, events, lines, network };
}

describe('lock driver over the simulated relay board', () => {
  it('sends the board\'s timed pulse (FC05 to 0x0200 + coil), confirms the relay on, and sees it drop by itself', async () => {
    const { relay, line, lock, events } = await rig();
    const res = await lock.unlock(300);
    expect(res.pulse_ms).toBe(300);
    expect(relay.coil(0)).toBe(true);
    // the exact frame on the wire: unit 1, FC05, address 0x0200, 3 x 100 ms
    const pulseFrame = line.recent.find((f) => f[1] === 5);
    expect([...(pulseFrame ?? [])].slice(0, 6)).toEqual([1, 5, 0x02, 0x00, 0x00, 0x03]);
    await until(() => events.some((e) => e.name === 'relocked'), 2000, 'relocked');
    expect(relay.coil(0)).toBe(false);
    expect(events.filter((e) => e.name === 'alarm')).toEqual([]);
  });

  it('rounds the pulse up to the board\'s unit and refuses pulses beyond the limit', async () => {
    const { lock } = await rig();
    expect((await lock.unlock(250)).pulse_ms).toBe(300);
    await expect(lock.unlock(60_000)).rejects.toSatisfy((e) => isDriverError(e, 'CONFIG_INVALID'));
    await expect(lock.unlock(0)).rejects.toSatisfy((e) => isDriverError(e, 'CONFIG_INVALID'));
  });

  it('raises an alarm when the relay stays energised after the pulse (welded contact)', async () => {
    const { relay, lock, events } = await rig();
    relay.setStuckOn(true);
    await lock.unlock(100);
    await until(() => events.some((e) => e.name === 'alarm'), 2000, 'alarm');
    const alarm = events.find((e) => e.name === 'alarm')?.payload as { reason: string };
    expect(alarm.reason).toBe('relay_stuck_on');
    relay.setStuckOn(false);
  });

  it('switches off by command when the board kept the relay on, without an alarm', async () => {
    const { relay, lock, events, line } = await rig();
    await lock.unlock(100);
    // the board "forgot" its pulse timer: force the coil on with a plain FC05 behind the driver's back
    relay.handle({ unit: 1, fn: 5, address: 0, value: 0xff00 });
    await until(() => events.some((e) => e.name === 'relocked'), 2000, 'relocked');
    expect(relay.coil(0)).toBe(false);
    expect(line.recent.some((f) => f[1] === 5 && f[2] === 0 && f[3] === 0 && f[4] === 0 && f[5] === 0)).toBe(true);
    expect(events.some((e) => e.name === 'alarm')).toBe(false);
  });

  it('reports the door contact and exit button as edge events', async () => {
    const { relay, lock, events } = await rig();
    await until(() => lock.doorState === 'closed', 1000, 'initial door state');
    expect(relay.openDoor()).toBe(false); // locked
    await lock.unlock(1000);
    expect(relay.openDoor()).toBe(true);
    await until(() => lock.doorState === 'open', 1000, 'door open');
    relay.closeDoor();
    await until(() => lock.doorState === 'closed', 1000, 'door closed');
    relay.pressExit(100);
    await until(() => events.some((e) => e.name === 'exit_button' && (e.payload as { state: string }).state === 'pressed'), 1000, 'exit pressed');
    await until(() => lock.exitButtonState === 'released', 1000, 'exit released');
    const doors = events.filter((e) => e.name === 'door').map((e) => (e.payload as { state: string; initial: boolean }));
    expect(doors.map((d) => d.state)).toEqual(['closed', 'open', 'closed']);
    expect(doors[0]?.initial).toBe(true);
  });

  it('fails an unlock fast with PORT_UNAVAILABLE while the port is unplugged, and works again after replug', async () => {
    const { lock, network, bus } = await rig();
    const healths: string[] = [];
    bus.on('health', (h) => healths.push(h.health));
    network.unplug('rs485');
    await until(() => bus.health === 'degraded', 1000, 'degraded');
    await expect(lock.unlock(200)).rejects.toSatisfy((e) => isDriverError(e, 'PORT_UNAVAILABLE'));
    network.plug('rs485');
    await until(() => bus.health === 'up', 3000, 'reconnected');
    await expect(lock.unlock(200)).resolves.toMatchObject({ pulse_ms: 200 });
    expect(healths).toEqual(['degraded', 'up']);
    expect(bus.stats().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('stop() removes its timers: no input read is scheduled after stop, even from a poll in flight', async () => {
    const { lock, line, bus, cfg } = await rig();
    const isInputRead = (f: Buffer) => f[0] === cfg.lock.unit_id && f[1] === 2;
    // stop while an input read is on the wire, so its completion is what must not re-arm the loop
    await line.expectRequest(isInputRead, { what: 'an input read' });
    await lock.stop();
    // a request queued behind the one in flight: once it is answered, the in-flight poll has finished
    await bus.readBits('coils', cfg.lock.unit_id, cfg.lock.coil, 1, 'poll');
    const timers = lock as unknown as { pollTimer: unknown; releaseTimer: unknown };
    expect(timers.pollTimer).toBeNull();
    expect(timers.releaseTimer).toBeNull();
    // the poll loop runs only through pollTimer: nothing armed means no read will come
  });
});

describe('lock driver: one unlock after another', () => {
  it('a release check left from the previous unlock does not cut the next villager\'s pulse short', async () => {
    const { relay, line, lock, bus, cfg, events } = await rig();
    await lock.unlock(100);
    // the board "forgot" the first pulse, so the first release check will find the relay on
    relay.handle({ unit: 1, fn: 5, address: 0, value: 0xff00 });
    // the first release check's read of the relay is on the wire: the next villager unlocks now
    await line.expectRequest((f) => f[0] === cfg.lock.unit_id && f[1] === 1, { what: 'the release check reading the relay' });
    await lock.unlock(5000);
    // a lowest-priority read runs after anything the first check queued on its way
    const [on] = await bus.readBits('coils', cfg.lock.unit_id, cfg.lock.coil, 1, 'poll');
    expect(on).toBe(true);
    expect(relay.coil(0)).toBe(true);
    expect(events.filter((e) => e.name === 'relocked')).toEqual([]);
  });
});

describe('lock driver: the pulse went out but its readback was lost', () => {
  it.each([
    ['the relay drops by itself: relocked', false, 'relocked'],
    ['the relay stays on: the stuck-relay alarm', true, 'alarm'],
  ] as const)('resolves unconfirmed, and the release check still runs (%s)', async (_what, stuck, expected) => {
    const { relay, line, lock, cfg, events } = await rig();
    relay.setStuckOn(stuck);
    const isPulse = (f: Buffer) => f[0] === cfg.lock.unit_id && f[1] === 5 && f.readUInt16BE(2) === cfg.lock.pulse_base_address + cfg.lock.coil;
    const pulseSent = line.expectRequest(isPulse, { what: 'the pulse' });
    const result = lock.unlock(200);
    // the board has answered the pulse: from now on it is silent (every retry of the readback too)
    await pulseSent;
    line.injectFault({ kind: 'no_reply', unit: cfg.lock.unit_id, times: Infinity });
    const r = await result.then((v) => v, (e: unknown) => e);
    line.clearFaults();
    expect(r).toMatchObject({ pulse_ms: 200, confirmed: false });
    expect(events.find((e) => e.name === 'unlocked')?.payload).toMatchObject({ confirmed: false });
    await until(() => events.some((e) => e.name === expected), 3000, expected);
    if (stuck) expect((events.find((e) => e.name === 'alarm')?.payload as { reason: string }).reason).toBe('relay_stuck_on');
    relay.setStuckOn(false);
  });
});

describe('lock driver: the inputs unread for a while (a silent relay board)', () => {
  const doors = (events: Array<{ name: string; payload: unknown }>) => events.filter((e) => e.name === 'door').map((e) => e.payload as { state: string; initial: boolean });

  it('a door that moved while unread is reported, once read again, as a movement, not as the first reading', async () => {
    const { relay, line, lock, events, cfg } = await rig({ input_unread_polls: 3 });
    await until(() => lock.doorState === 'closed', 1000, 'initial door state');
    line.injectFault({ kind: 'no_reply', unit: cfg.lock.unit_id, times: Infinity });
    await until(() => lock.doorState === 'unknown', 5000, 'inputs unread');
    relay.openDoor({ force: true }); // opened from inside while the board was silent
    line.clearFaults();
    await until(() => lock.doorState === 'open', 5000, 'inputs read again');
    expect(doors(events).map((d) => [d.state, d.initial])).toEqual([['closed', true], ['open', false]]);
  });

  it('a door standing as it stood is not reported again: nothing moved', async () => {
    const { line, lock, events, cfg } = await rig({ input_unread_polls: 3 });
    await until(() => lock.doorState === 'closed', 1000, 'initial door state');
    line.injectFault({ kind: 'no_reply', unit: cfg.lock.unit_id, times: Infinity });
    await until(() => lock.doorState === 'unknown', 5000, 'inputs unread');
    line.clearFaults();
    await until(() => lock.doorState === 'closed', 5000, 'inputs read again');
    expect(doors(events).map((d) => [d.state, d.initial])).toEqual([['closed', true]]);
  });
});
