/**
 * Driver overhead over real pseudo-terminals (socat): unlock (call → pulse frame written →
 * relay read back on) and a 16-scale sweep. A pty has no baud delay, so this measures our
 * own code; the wire time the same frames need at 9600 and 115200 baud is printed beside it.
 * `npm run bench:drivers -- --json` prints one JSON object on its last line.
 * The simulators run in this process, so their work is included in the figures.
 */
import { pino } from 'pino';
import { resolveDriversConfig } from '../drivers/config.ts';
import { LockDriver } from '../drivers/lock/lock-driver.ts';
import { ModbusBus } from '../drivers/modbus/bus.ts';
import { ScaleDriver } from '../drivers/scales/scale-driver.ts';
import { attachDeviceToSerial, createPtyPair } from '../drivers/sim/pty.ts';
import { RelaySim } from '../drivers/sim/relay-sim.ts';
import { RtuBusSim } from '../drivers/sim/rtu-bus.ts';
import { ScaleSim } from '../drivers/sim/scale-sim.ts';
import { wireMs } from '../drivers/transport/url.ts';

const json = process.argv.includes('--json');
const UNLOCKS = 500;
const SWEEPS = 300;
const SCALES = 16;
/** 3.5 character times of silence end each RTU frame. */
const FRAME_GAP_CHARS = 3.5;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const pair = await createPtyPair();
  const url = `serial://${pair.hostPath}?baud=115200`;
  const config = resolveDriversConfig({
    lock: { transport: url, release_check_ms: 10_000 },
    scales: { transport: url, list: Array.from({ length: SCALES }, (_, i) => ({ slot: `S${i + 1}`, unit_id: 10 + i, capacity_g: 5000 })) },
    scanner: { enabled: false },
  });
  const line = new RtuBusSim();
  line.add(new RelaySim());
  for (const s of config.scales.list) line.add(new ScaleSim({ unitId: s.unit_id, capacityG: s.capacity_g }, config.scales.registers));
  const device = await attachDeviceToSerial(line, pair.devicePath, 115200);
  const logger = pino({ level: 'warn' });
  const bus = new ModbusBus({ url, config: config.modbus, logger });
  await bus.start();
  if (bus.health !== 'up') throw new Error(`bus did not open: ${bus.health}`);
  const lock = new LockDriver({ bus, config: config.lock, logger });
  const scales = new ScaleDriver({ bus, config: config.scales, logger });

  for (let i = 0; i < 30; i++) await lock.unlock(3000);
  const unlock: number[] = [];
  for (let i = 0; i < UNLOCKS; i++) {
    const t0 = performance.now();
    await lock.unlock(3000);
    unlock.push(performance.now() - t0);
  }
  for (let i = 0; i < 10; i++) await scales.sweep();
  const sweep: number[] = [];
  for (let i = 0; i < SWEEPS; i++) {
    const r = await scales.sweep();
    if (r.failed > 0) throw new Error('a scale read failed during the benchmark');
    sweep.push(r.duration_ms);
  }
  const stats = bus.stats();
  await lock.stop();
  await scales.stop();
  await bus.stop();
  await device.close();
  await pair.close();

  // Bytes on the wire: unlock = FC05 (8 + 8) + FC01 (8 + 6); a scale read with the default
  // register map = weight FC03 (8 + 9) + status FC03 (8 + 7), two transactions per scale.
  const unlockBytes = 8 + 8 + 8 + 6;
  const scaleBytes = 8 + 9 + 8 + 7;
  const perTxBytes = (scaleBytes / 2) + 4 * FRAME_GAP_CHARS / 2; // two frames (request, reply) per transaction
  const out = {
    transport: 'pty',
    unlock_p50_ms: r3(pct(unlock, 50)),
    unlock_p99_ms: r3(pct(unlock, 99)),
    unlock_max_ms: r3(Math.max(...unlock)),
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
    sweeps: SWEEPS,
    bus_faults: Object.values(stats.faults).reduce((a, b) => a + b, 0),
    node: process.version,
  };
  if (!json) {
    console.log(`unlock   p50 ${out.unlock_p50_ms} ms  p99 ${out.unlock_p99_ms} ms  (wire: ${out.wire_unlock_ms_9600} ms @9600, ${out.wire_unlock_ms_115200} ms @115200)`);
    console.log(`sweep16  p50 ${out.sweep16_p50_ms} ms  p99 ${out.sweep16_p99_ms} ms  (wire: ${out.wire_sweep16_ms_9600} ms @9600, ${out.wire_sweep16_ms_115200} ms @115200)`);
  }
  console.log(JSON.stringify(out));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
