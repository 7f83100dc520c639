/**
 * The nightly scale auto-zero on simulated scales: only slots that are healthy, stable, empty
 * according to the ledger's stock and a little off zero are zeroed; every other slot is
 * skipped with its reason, each outcome logged; a store in use, or used a moment ago, is left
 * alone. Scheduled at its cron time by the job runner on fake timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { createDrivers, type Drivers } from '../../drivers/create.ts';
import { createSimulatedHardware, type SimulatedHardware } from '../../drivers/sim/hardware.ts';
import { expectEvent } from '../../drivers/sim/expect.ts';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { openSession } from '../../edge/ledger/sessions.ts';
import { autoZeroJob } from '../../edge/jobs/auto-zero.ts';
import { JobRunner } from '../../edge/jobs/runner.ts';
import { getJobRun } from '../../edge/ledger/job-runs.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { captureLogger, until } from '../drivers/helpers.ts';

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of stops.splice(0).reverse()) await s();
});

const autoZero = { cron: '0 3 * * *', empty_for_min: 60, max_offset_g: 100, min_offset_g: 2 };

async function shelves(): Promise<{ hw: SimulatedHardware; drivers: Drivers; db: Db }> {
  const config = resolveDriversConfig({
    scales: { list: ['S1', 'S2', 'S3', 'S4', 'S5'].map((slot, i) => ({ slot, unit_id: 11 + i, capacity_g: 5000 })), poll_interval_ms: 5, stable_window: 3 },
    lock: { input_poll_ms: 50 },
    modbus: { response_timeout_ms: 50, quiet_after_error_ms: 2, retries: 0 },
    scanner: { enabled: false },
  });
  const hw = createSimulatedHardware({ config, physics: { settleMs: 30, noiseG: 0.5, creepGPerMin: 0 }, seed: 3 });
  const drivers = createDrivers({ config, logger: pino({ level: 'silent' }), simNetwork: hw.network });
  const ready = new Set<string>();
  drivers.scales.on('ready', (r) => ready.add(r.slot));
  await drivers.start();
  stops.push(() => drivers.stop());
  await until(() => ready.size === 5, 10_000, 'all scales ready');
  const db = openLedger(':memory:');
  stops.push(() => closeLedger(db));
  upsertProduct(db, { sku: 'salt', name: '盐', price: 3, unitG: 250, toleranceG: 10 });
  for (const [i, slot] of ['S1', 'S2', 'S3', 'S4', 'S5'].entries()) upsertSlot(db, { slot, address: 11 + i, sku: 'salt', stock: slot === 'S2' ? 3 : 0 });
  return { hw, drivers, db };
}

/** Resolves once every scale has a stable reading that reflects what is on it now. */
async function settled(drivers: Drivers, want: Record<string, number>): Promise<void> {
  await until(() => drivers.scales.status().every((s) => want[s.slot] === undefined || (s.stable_g !== null && Math.abs(s.stable_g - want[s.slot]!) <= 2)), 10_000, `stable readings ${JSON.stringify(want)}`);
}

describe('scale auto-zero', () => {
  it('zeroes only the healthy, stable, empty slots that are off zero; the rest are skipped with their reason', async () => {
    const { hw, drivers, db } = await shelves();
    hw.scale('S1').setLoad(14); // drift on an empty slot
    hw.scale('S2').place(3, 250); // three packets: stock 3
    hw.scale('S3').setLoad(420); // stock 0 but something heavy on it
    hw.scale('S5').setLoad(1); // at zero already
    await settled(drivers, { S1: 14, S2: 750, S3: 420, S5: 1 });
    // S4 stops answering
    hw.lines.values().next().value!.injectFault({ kind: 'no_reply', unit: 14, times: Infinity });
    await until(() => drivers.scales.status().find((s) => s.slot === 'S4')!.health === 'no_reply', 10_000, 'S4 not answering');

    const { logger, lines } = captureLogger();
    const job = autoZeroJob({ config: autoZero, db: () => db, scales: () => drivers.scales, phase: () => 'idle', log: logger });
    const summary = await job.run(new Date());
    expect(summary).toBe('1 zeroed, 1 not_empty, 1 load_on_empty_slot, 1 not_healthy, 1 at_zero');
    const outcomes = lines.filter((l) => l.event === 'auto_zero_slot').map((l) => [l.slot, l.outcome]);
    expect(outcomes).toEqual([['S1', 'zeroed'], ['S2', 'not_empty'], ['S3', 'load_on_empty_slot'], ['S4', 'not_healthy'], ['S5', 'at_zero']]);
    // S1 reads zero now; the others kept what they had
    await expectEvent(drivers.scales, 'sweep', { what: 'a sweep after the zero' });
    await settled(drivers, { S1: 0, S2: 750, S3: 420 });
    expect(hw.scale('S1').loadG).toBe(14); // the load is still there: the module's zero moved
  });

  it('leaves the store alone while someone is inside, or when it was used less than empty_for_min ago', async () => {
    const { hw, drivers, db } = await shelves();
    hw.scale('S1').setLoad(14);
    await settled(drivers, { S1: 14 });
    const { logger } = captureLogger();
    let phase = 'shopping';
    const job = autoZeroJob({ config: autoZero, db: () => db, scales: () => drivers.scales, phase: () => phase, log: logger });
    expect(await job.run(new Date())).toContain('skipped: the store is in use (shopping)');
    phase = 'idle';
    addVillager(db, { id: 'zhang', name: '张三', village: 'v' });
    openSession(db, { id: 's1', kind: 'shopping', villagerId: 'zhang', enteredBy: 'card', state: 'shopping', context: {} }, () => new Date('2026-12-01T18:30:00Z'));
    expect(await job.run(new Date('2026-12-01T19:00:00Z'))).toContain('less than 60 min ago');
    await settled(drivers, { S1: 14 });
    expect(await job.run(new Date('2026-12-01T19:31:00Z'))).toBe('1 zeroed, 1 not_empty, 3 at_zero');
  });

  it('runs at 03:00 in the store time zone under the job runner', async () => {
    const { hw, drivers, db } = await shelves();
    hw.scale('S1').setLoad(9);
    await settled(drivers, { S1: 9 });
    // the bus's own timeouts must not run on fake timers: the runner sees the shelves as they are now
    const now = drivers.scales.status();
    await drivers.stop();
    const zeroed: string[] = [];
    const fake = { status: () => now, zero: (slot: string) => { zeroed.push(slot); return Promise.resolve(); } };
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], shouldAdvanceTime: true });
    vi.setSystemTime(new Date('2026-12-01T18:59:59.000Z')); // 02:59:59 in Shanghai
    const outcomes: string[] = [];
    const r = new JobRunner({
      jobs: [autoZeroJob({ config: autoZero, db: () => db, scales: () => fake, phase: () => 'idle', log: pino({ level: 'silent' }) })],
      timezone: 'Asia/Shanghai', db: () => db, health: new HealthBoard(), log: pino({ level: 'silent' }), onOutcome: (_j, o) => outcomes.push(o),
    });
    r.start();
    stops.push(() => r.stop());
    expect(zeroed).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    await r.idle();
    expect(outcomes, JSON.stringify(getJobRun(db, 'auto_zero'))).toEqual(['ok']);
    expect(zeroed, getJobRun(db, 'auto_zero')?.last_detail ?? '').toEqual(['S1']);
  });
});
