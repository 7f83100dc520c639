/**
 * The lock and a dead scale on one RS-485 bus: the scale's retries must not keep the door
 * waiting. Counted on the simulated wire (frames), never timed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { createDrivers } from '../../drivers/create.ts';
import { createSimulatedHardware } from '../../drivers/sim/hardware.ts';
import { captureLogger, until } from './helpers.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

describe('bus queue: an unlock and a dead scale', () => {
  it('the unlock goes out after the scale read on the wire, not after all its retries', async () => {
    const config = resolveDriversConfig({
      scales: { list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }], poll_interval_ms: 5 },
      lock: { input_poll_ms: 50, release_check_ms: 50 },
      modbus: { response_timeout_ms: 50, retries: 2, quiet_after_error_ms: 2 },
      scanner: { enabled: false },
    });
    const hw = createSimulatedHardware({ config, physics: { settleMs: 0, noiseG: 0, creepGPerMin: 0 }, seed: 1 });
    const { logger } = captureLogger();
    const drivers = createDrivers({ config, logger, simNetwork: hw.network });
    await drivers.start();
    stops.push(() => drivers.stop());
    const line = hw.lines.get('rs485');
    if (!line) throw new Error('no simulated line rs485');
    await until(() => drivers.scales.status()[0]?.health === 'ok', 5000, 'scale ok');
    const isScaleRead = (f: Buffer) => f[0] === 10 && f[1] === 3;
    // once the scale is known dead, the next scale read on the wire is a first attempt
    const firstAttempt = new Promise<number>((resolve) => {
      drivers.scales.on('health', (h) => {
        if (h.health === 'no_reply') void line.expectRequest(isScaleRead, { what: 'a first attempt to read the dead scale' }).then(() => resolve(line.stats.requests));
      });
    });
    line.injectFault({ kind: 'no_reply', unit: 10, times: Infinity });
    const seen = await firstAttempt;
    const result = await drivers.lock.unlock(300);
    expect(result.confirmed).toBe(true);
    // the frames from that first attempt on, up to the pulse
    const since = line.recent.slice(-(line.stats.requests - seen + 1));
    const pulse = since.findIndex((f) => f[0] === config.lock.unit_id && f[1] === 5);
    expect(pulse).toBeGreaterThan(0);
    expect(since.slice(0, pulse).filter(isScaleRead)).toHaveLength(1);
    line.clearFaults();
  });
});
