import { afterEach, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { createDrivers, type Drivers } from '../../drivers/create.ts';
import type { WeightChange } from '../../drivers/scales/reading.ts';
import { createSimulatedHardware } from '../../drivers/sim/hardware.ts';
import { captureLogger, until } from './helpers.ts';
import { expectEvent } from '../../drivers/sim/expect.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

/** Resolves after `n` more complete sweeps of the scales. */
async function sweeps(drivers: Drivers, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expectEvent(drivers.scales, 'sweep', { what: `sweep ${i + 1} of ${n}` });
}

async function store(n: number, physics = { settleMs: 40, noiseG: 2, creepGPerMin: 0 }) {
  const config = resolveDriversConfig({
    scales: { list: Array.from({ length: n }, (_, i) => ({ slot: `S${i + 1}`, unit_id: 10 + i, capacity_g: 5000 })), poll_interval_ms: 5 },
    lock: { input_poll_ms: 50 },
    modbus: { response_timeout_ms: 50, quiet_after_error_ms: 2 },
    scanner: { enabled: false },
  });
  const hw = createSimulatedHardware({ config, physics, seed: 7 });
  const { logger, lines } = captureLogger();
  const drivers = createDrivers({ config, logger, simNetwork: hw.network });
  const changes: WeightChange[] = [];
  const ready = new Set<string>();
  drivers.scales.on('change', (c) => changes.push(c));
  drivers.scales.on('ready', (r) => ready.add(r.slot));
  await drivers.start();
  stops.push(() => drivers.stop());
  await until(() => ready.size === n, 10_000, 'all scales ready');
  return { hw, drivers, changes, lines, config };
}

describe('scales on a 16-scale simulated bus', () => {
  it('items taken and returned on different scales give exactly the right stable change events, none from noise', async () => {
    const { hw, drivers, changes } = await store(16);
    hw.scale('S3').place(5, 250); // stocking: 5 x 250 g
    hw.scale('S12').place(10, 48);
    await until(() => changes.length === 2, 5000, 'stocking changes');
    hw.scale('S3').take(2, 250); // shopper takes two
    hw.scale('S12').take(1, 48);
    hw.scale('S7').place(1, 500); // wrong-slot return shows as a change on S7
    await until(() => changes.length === 5, 5000, 'shopping changes');
    hw.scale('S3').place(1, 250); // puts one back
    await until(() => changes.length === 6, 5000, 'return');
    // then nothing happens for several sweeps (counted, not timed): noise must not produce events
    await sweeps(drivers, 5);
    const bySlot = (slot: string) => changes.filter((c) => c.slot === slot).map((c) => c.delta_g);
    expect(changes).toHaveLength(6);
    expect(changes.every((c) => c.stable)).toBe(true);
    // noise is ±2 g, so each delta is within a few grams of the true one
    const near = (got: number[] | undefined, want: number[]) => {
      expect(got?.length).toBe(want.length);
      want.forEach((w, i) => expect(Math.abs((got?.[i] ?? NaN) - w)).toBeLessThanOrEqual(3));
    };
    near(bySlot('S3'), [1250, -500, 250]);
    near(bySlot('S12'), [480, -48]);
    near(bySlot('S7'), [500]);
    for (const c of changes) expect(c.delta_g).toBe(c.to_g - c.from_g);
  });

  it('slow creep is absorbed as drift, not reported as items, and raises zero_drift past the limit', async () => {
    let t = Date.now();
    const config = resolveDriversConfig({
      scales: { list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }], poll_interval_ms: 5, zero_drift_limit_g: 5 },
      scanner: { enabled: false },
    });
    const hw = createSimulatedHardware({ config, physics: { settleMs: 0, noiseG: 1, creepGPerMin: 60, creepMaxG: 30 }, now: () => t });
    const { logger } = captureLogger();
    const drivers = createDrivers({ config, logger, simNetwork: hw.network });
    const changes: WeightChange[] = [];
    const drift: number[] = [];
    drivers.scales.on('change', (c) => changes.push(c));
    drivers.scales.on('zero_drift', (d) => drift.push(d.drift_g));
    await drivers.start();
    stops.push(() => drivers.stop());
    await until(() => drivers.scales.status()[0]?.stable_g !== null, 5000, 'ready');
    // creep of 60 g/min: advance simulated time 0.5 s per sweep, for 12 s of sim time
    for (let i = 0; i < 24; i++) {
      t += 500;
      await sweeps(drivers, 1);
    }
    await sweeps(drivers, config.scales.stable_window + 1);
    expect(changes).toEqual([]);
    expect(drift.length).toBe(1);
    expect(drivers.scales.status()[0]?.drift_g).toBeGreaterThan(5);
    // auto-zero when the caller knows the slot is empty
    await drivers.scales.zero('A');
    await until(() => drivers.scales.status()[0]?.stable_g !== null, 5000, 'ready after zero');
    expect(Math.abs(drivers.scales.status()[0]?.stable_g ?? 99)).toBeLessThanOrEqual(2);
    expect(drivers.scales.status()[0]?.drift_g).toBe(0);
  });

  it('flags implausible readings (overload, beyond capacity, far negative) and does not turn them into changes', async () => {
    const { hw, drivers, changes } = await store(2);
    const flagged: string[] = [];
    drivers.scales.on('implausible', (e) => flagged.push(`${e.slot}:${e.reason}`));
    hw.scale('S1').setLoad(5500); // beyond capacity + overshoot
    hw.scale('S2').setLoad(-200); // far negative: a lifted platform, a broken cell
    await until(() => flagged.length === 2, 3000, 'implausible flags');
    expect(flagged.sort()).toEqual(['S1:beyond_capacity', 'S2:negative']);
    hw.scale('S1').setLoad(7000); // now the module's overload bit too
    await until(() => flagged.includes('S1:overload'), 3000, 'overload');
    await sweeps(drivers, 3);
    expect(changes).toEqual([]);
    expect(drivers.scales.status().map((s) => s.health)).toEqual(['implausible', 'implausible']);
    hw.scale('S1').setLoad(0);
    await until(() => drivers.scales.status()[0]?.health === 'ok', 3000, 'back to ok');
  });

  it('after an outage the last weight is stale: no stable weight while the scale is silent, nor when it first answers again, until a fresh one settles', async () => {
    const { hw, drivers, changes } = await store(1);
    hw.scale('S1').place(4, 250);
    await until(() => changes.length === 1, 5000, 'stocked');
    const line = hw.lines.get('rs485');
    if (!line) throw new Error('no simulated line rs485');
    line.injectFault({ kind: 'no_reply', unit: 10, times: Infinity });
    await until(() => drivers.scales.status()[0]?.health === 'no_reply', 5000, 'no_reply');
    expect(drivers.scales.status()[0]?.stable_g).toBeNull();
    hw.scale('S1').take(2, 250); // taken while nobody could see it
    // what a caller sees at the very moment the scale is reported healthy again
    const atRecovery = new Promise<number | null | undefined>((resolve) => {
      drivers.scales.on('health', (h) => {
        if (h.health === 'ok') resolve(drivers.scales.status()[0]?.stable_g);
      });
    });
    line.clearFaults();
    expect(await atRecovery).toBeNull();
    // then a fresh weight settles, and the items taken during the outage show as a change
    await until(() => changes.length === 2, 5000, 'change after recovery');
    expect(Math.abs((changes[1]?.delta_g ?? 0) + 500)).toBeLessThanOrEqual(3);
    expect(Math.abs((drivers.scales.status()[0]?.stable_g ?? 0) - 500)).toBeLessThanOrEqual(3);
  });

  it('emits motion (stable: false) while a slot settles, before the change', async () => {
    const { hw, drivers, changes } = await store(1, { settleMs: 80, noiseG: 2, creepGPerMin: 0 });
    const motions: WeightChange[] = [];
    drivers.scales.on('motion', (m) => motions.push(m));
    hw.scale('S1').place(3, 100);
    await until(() => changes.length === 1, 3000, 'change');
    expect(motions.length).toBe(1);
    expect(motions[0]?.stable).toBe(false);
  });

  it('restores the simulated state from a snapshot (daemon restart keeps the shelves)', () => {
    const config = resolveDriversConfig({ scales: { list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }] } });
    const hw = createSimulatedHardware({ config });
    hw.scale('A').place(4, 125);
    hw.relay.pressExit(1000);
    const saved = JSON.parse(JSON.stringify(hw.snapshot())) as ReturnType<typeof hw.snapshot>;
    const hw2 = createSimulatedHardware({ config });
    hw2.restore(saved);
    expect(hw2.scale('A').itemCount(125)).toBe(4);
    expect(hw2.scale('A').loadG).toBe(500);
    expect(hw2.relay.lockReleased()).toBe(true);
  });
});
