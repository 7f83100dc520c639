/**
 * Driver overhead over real pseudo-terminals (socat) and serialport's real bindings:
 * unlock (call → pulse frame written → relay read back on) and a 16-scale sweep.
 * A pty has no baud delay, so this measures our own code; the wire time the same frames
 * need at 9600 and 115200 baud is printed beside it.
 *
 * The simulated boards run in their own process (drivers/sim/server.ts), as real boards are
 * not in the daemon's process; `--in-process-sim` puts them back in this one for comparison.
 * Before measuring, the driver side runs the traffic a daemon runs from start (input polls,
 * sweeps, unlocks) so V8 has compiled the hot path; the first, cold unlock is reported apart.
 * `npm run bench:drivers -- --json` prints one JSON object on its last line.
 */
import { cpus, loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import { resolveDriversConfig } from '../drivers/config.ts';
import { LockDriver } from '../drivers/lock/lock-driver.ts';
import { ModbusBus } from '../drivers/modbus/bus.ts';
import { ScaleDriver } from '../drivers/scales/scale-driver.ts';
import { spawnSimHardware, startSimHardware, type RunningSimHardware } from '../drivers/sim/spawn.ts';
import { wireMs } from '../drivers/transport/url.ts';

const json = process.argv.includes('--json');
const inProcessSim = process.argv.includes('--in-process-sim');
const UNLOCKS = 1000;
const BUSY_UNLOCKS = 300;
const SWEEPS = 300;
const WARMUP_ROUNDS = 40; // each: one sweep and 50 unlocks
const SCALES = 16;
/** 3.5 character times of silence end each RTU frame. */
const FRAME_GAP_CHARS = 3.5;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const list = Array.from({ length: SCALES }, (_, i) => ({ slot: `S${i + 1}`, unit_id: 10 + i, capacity_g: 5000 }));
  const simOpts = { drivers: { scales: { list }, scanner: { enabled: false } }, transport: 'pty' as const, baud: 115_200 };
  const sim: RunningSimHardware = inProcessSim ? await startSimHardware(simOpts) : await spawnSimHardware(simOpts);
  const url = sim.urls.lock;
  if (!url.startsWith('serial://')) throw new Error(`expected a pty, got ${url}`);
  const config = resolveDriversConfig({
    lock: { transport: url, release_check_ms: 10_000, input_poll_ms: 100 },
    scales: { transport: url, list, poll_interval_ms: 0 },
    scanner: { enabled: false },
  });
  const logger = pino({ level: 'warn' });
  const bus = new ModbusBus({ url, config: config.modbus, logger });
  await bus.start();
  if (bus.health !== 'up') throw new Error(`bus did not open: ${bus.health}`);
  const lock = new LockDriver({ bus, config: config.lock, logger });
  const scales = new ScaleDriver({ bus, config: config.scales, logger });

  let t0 = performance.now();
  await lock.unlock(3000);
  const unlockFirst = performance.now() - t0;

  for (let i = 0; i < WARMUP_ROUNDS; i++) {
    await scales.sweep();
    for (let j = 0; j < 50; j++) await lock.unlock(3000);
  }

  const gcs: Array<{ start: number; end: number }> = [];
  const gcObserver = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  // Idle bus: the definition of the target (call → pulse written → readback confirmed).
  const unlock: number[] = [];
  const unlockAt: number[] = [];
  for (let i = 0; i < UNLOCKS; i++) {
    t0 = performance.now();
    await lock.unlock(3000);
    unlock.push(performance.now() - t0);
    unlockAt.push(t0);
  }
  const slowWithGc = unlock.filter((d, i) => d > 2 && gcs.some((g) => g.end >= (unlockAt[i] as number) && g.start <= (unlockAt[i] as number) + d)).length;

  const sweep: number[] = [];
  for (let i = 0; i < SWEEPS; i++) {
    const r = await scales.sweep();
    if (r.failed > 0) throw new Error('a scale read failed during the benchmark');
    sweep.push(r.duration_ms);
  }

  // As in the store: scales swept back to back and door inputs polled while someone is let in.
  // An unlock waits for at most the one transaction already on the wire, then goes first.
  await lock.start();
  await scales.start();
  const busy: number[] = [];
  for (let i = 0; i < BUSY_UNLOCKS; i++) {
    await sleep(1 + (i % 7));
    t0 = performance.now();
    await lock.unlock(3000);
    busy.push(performance.now() - t0);
  }
  gcObserver.disconnect();
  const stats = bus.stats();
  await lock.stop();
  await scales.stop();
  await bus.stop();
  await sim.stop();

  // Bytes on the wire: unlock = FC05 (8 + 8) + FC01 (8 + 6); a scale read with the default
  // register map = weight FC03 (8 + 9) + status FC03 (8 + 7), two transactions per scale.
  const unlockBytes = 8 + 8 + 8 + 6;
  const scaleBytes = 8 + 9 + 8 + 7;
  const perTxBytes = scaleBytes / 2 + (4 * FRAME_GAP_CHARS) / 2; // two frames (request, reply) per transaction
  const out = {
    transport: 'pty',
    sim: inProcessSim ? 'in-process' : 'separate-process',
    unlock_p50_ms: r3(pct(unlock, 50)),
    unlock_p99_ms: r3(pct(unlock, 99)),
    unlock_max_ms: r3(Math.max(...unlock)),
    unlock_first_ms: r3(unlockFirst),
    unlock_busy_p50_ms: r3(pct(busy, 50)),
    unlock_busy_p99_ms: r3(pct(busy, 99)),
    sweep16_p50_ms: r3(pct(sweep, 50)),
    sweep16_p99_ms: r3(pct(sweep, 99)),
    sweep16_transactions: SCALES * 2,
    wire_ms_per_transaction_9600: r3(wireMs(perTxBytes, 9600)),
    wire_ms_per_transaction_115200: r3(wireMs(perTxBytes, 115200)),
    wire_unlock_ms_9600: r3(wireMs(unlockBytes + 4 * FRAME_GAP_CHARS, 9600)),
    wire_unlock_ms_115200: r3(wireMs(unlockBytes + 4 * FRAME_GAP_CHARS, 115200)),
    wire_sweep16_ms_9600: r3(wireMs(SCALES * (scaleBytes + 4 * FRAME_GAP_CHARS), 9600)),
    wire_sweep16_ms_115200: r3(wireMs(SCALES * (scaleBytes + 4 * FRAME_GAP_CHARS), 115200)),
    unlocks: UNLOCKS,
    busy_unlocks: BUSY_UNLOCKS,
    sweeps: SWEEPS,
    unlocks_over_2ms_during_gc: slowWithGc,
    gc_pauses: gcs.length,
    bus_faults: Object.values(stats.faults).reduce((a, b) => a + b, 0),
    // Other processes on the machine steal the CPU from this one; read tails with it in mind.
    loadavg_1m: r3(loadavg()[0] ?? 0),
    cpus: cpus().length,
    node: process.version,
  };
  if (!json) {
    console.log(`unlock   p50 ${out.unlock_p50_ms} ms  p99 ${out.unlock_p99_ms} ms  first ${out.unlock_first_ms} ms  while polling p99 ${out.unlock_busy_p99_ms} ms  (wire: ${out.wire_unlock_ms_9600} ms @9600, ${out.wire_unlock_ms_115200} ms @115200)`);
    console.log(`sweep16  p50 ${out.sweep16_p50_ms} ms  p99 ${out.sweep16_p99_ms} ms  (wire: ${out.wire_sweep16_ms_9600} ms @9600, ${out.wire_sweep16_ms_115200} ms @115200)`);
  }
  console.log(JSON.stringify(out));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
