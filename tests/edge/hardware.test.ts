/**
 * Scale, lock, bus and scanner failures reach the health board (and so /healthz), said in English
 * and Chinese (edge/hardware-words.ts), and clear on recovery.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveDriversConfig } from '../../drivers/config.ts';
import { HardwarePart } from '../../edge/hardware.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { captureLogger, until } from '../drivers/helpers.ts';
import { pino } from 'pino';
import { Value } from '@sinclair/typebox/value';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { AlarmWatch } from '../../edge/ops/alarm-watch.ts';
import { AlarmsConfigSchema, type AlarmsConfig } from '../../edge/ops/alarms-config.ts';
import { alarmCells } from '../../edge/http/alarms-section.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function rig(opts: { scanner?: boolean } = {}) {
  const config = resolveDriversConfig({
    simulated: true,
    scales: { list: [{ slot: 'A', unit_id: 10, capacity_g: 5000 }], poll_interval_ms: 5, zero_drift_limit_g: 5 },
    lock: { input_poll_ms: 50, release_check_ms: 20, input_unread_polls: 3 },
    modbus: { response_timeout_ms: 50, quiet_after_error_ms: 2, reconnect_initial_ms: 20, reconnect_max_ms: 50 },
    scanner: opts.scanner ? { reconnect_initial_ms: 20, reconnect_max_ms: 50 } : { enabled: false },
  });
  const health = new HealthBoard();
  health.setPhase('running');
  const { logger } = captureLogger();
  const part = new HardwarePart({ config, health, physics: { settleMs: 0, noiseG: 0, creepGPerMin: 0 } }, logger);
  await part.start();
  stops.push(() => part.stop());
  const sim = part.sim;
  if (!sim) throw new Error('no simulator');
  await until(() => part.scales.status()[0]?.stable_g !== null, 5000, 'scale ready');
  const parts = () => health.report().parts;
  return { part, sim, health, parts };
}

describe('hardware health', () => {
  it('an implausible scale makes the store degraded with the slot and reason, cleared when it reads normally', async () => {
    const { sim, health, parts } = await rig();
    expect(health.report().status).toBe('ok');
    sim.scale('A').setLoad(-500);
    await until(() => parts()['scale A']?.health === 'degraded', 3000, 'scale A degraded');
    expect(health.report().status).toBe('degraded');
    expect(parts()['scale A']?.detail).toMatch(/implausible reading \(negative/);
    // said in both languages, as every other alarm's detail is
    expect(parts()['scale A']?.detail).toMatch(/ \/ 读数不合理（负值，-500 克），不予采信$/);
    sim.scale('A').setLoad(0);
    await until(() => parts()['scale A']?.health === 'ok', 3000, 'scale A ok again');
    expect(health.report().status).toBe('ok');
  });

  it('zero drift past the limit makes the store degraded until the slot is zeroed', async () => {
    const { part, sim, health, parts } = await rig();
    // settled steps under the change threshold (6 g) are drift; past 5 g it is reported
    for (const g of [4, 8]) {
      sim.scale('A').setLoad(g);
      await until(() => part.scales.status()[0]?.drift_g === g, 3000, `drift ${g} g`);
    }
    await until(() => parts()['scale A zero']?.health === 'degraded', 3000, 'zero drift reported');
    expect(parts()['scale A zero']?.detail).toMatch(/zero drifted [6-8] g/);
    expect(parts()['scale A zero']?.detail).toMatch(/ \/ 零点漂移 [6-8] 克；请在货位空着时归零$/);
    expect(health.report().status).toBe('degraded');
    await part.scales.zero('A');
    expect(parts()['scale A zero']?.health).toBe('ok');
    expect(health.report().status).toBe('ok');
  });

  it('the scale alarms the watch raises from these lines are bilingual, in Chinese on a Chinese /alarms page', async () => {
    const { sim, health, parts } = await rig();
    const db = openLedger(':memory:');
    stops.push(async () => closeLedger(db));
    const board = new AlarmBoard(() => db, pino({ level: 'silent' }));
    const watch = new AlarmWatch({ config: Value.Default(AlarmsConfigSchema, {}) as AlarmsConfig, board, health, db: () => db, dataDir: '/srv/store', log: pino({ level: 'silent' }), freeBytes: () => 50 * 2 ** 30 });
    sim.scale('A').setLoad(-500);
    await until(() => parts()['scale A']?.health === 'degraded', 3000, 'scale A degraded');
    watch.check();
    const alarm = board.active().find((a) => a.kind === 'scale_fault' && a.subject === 'A');
    expect(alarm?.detail).toMatch(/^scale A: implausible reading \(negative, -500 g\), not trusted \/ 读数不合理/);
    expect(alarmCells(alarm!, 'zh')).toContain('读数不合理（负值，-500 克），不予采信');
  });

  it('a failed unlock makes the lock degraded with the driver code, cleared by the next good unlock', async () => {
    const { part, sim, health, parts } = await rig();
    sim.unplug('rs485');
    await until(() => part.lock !== undefined && parts()['bus sim://rs485']?.health === 'degraded', 3000, 'bus degraded');
    await expect(part.lock.unlock(200)).rejects.toThrow();
    expect(parts()['lock unlock']).toMatchObject({ health: 'degraded', detail: expect.stringMatching(/PORT_UNAVAILABLE/) });
    // said in both languages, as the scale lines are: the bus's line and the unlock's
    expect(parts()['lock unlock']?.detail).toMatch(/^unlock failed \(PORT_UNAVAILABLE\): .* \/ 开锁失败（PORT_UNAVAILABLE）/);
    expect(parts()['bus sim://rs485']?.detail).toMatch(/^.+ \/ RS-485 总线连接中断（.+），正在重新连接$/);
    sim.plug('rs485');
    await until(() => parts()['bus sim://rs485']?.health === 'ok', 3000, 'bus up');
    await part.lock.unlock(200);
    expect(parts()['lock unlock']?.health).toBe('ok');
    await until(() => parts().lock?.health === 'ok', 3000, 'relocked');
    expect(health.report().status).toBe('ok');
  });

  it('a relay board gone silent (its inputs unread) makes `lock inputs` degraded and the door unknown, until it answers again', async () => {
    const { part, sim, health, parts } = await rig();
    await until(() => part.lock.doorState === 'closed', 3000, 'door read');
    const line = sim.lines.get('rs485');
    if (!line) throw new Error('no simulated line rs485');
    line.injectFault({ kind: 'no_reply', unit: 1, times: Infinity });
    await until(() => parts()['lock inputs']?.health === 'degraded', 10_000, 'lock inputs degraded');
    expect(parts()['lock inputs']?.detail).toMatch(/3 polls/);
    expect(parts()['lock inputs']?.detail).toMatch(/ \/ 继电器板的输入连续 3 次未读到：门磁和出门按钮状态未知$/);
    expect(part.lock.doorState).toBe('unknown');
    expect(health.report().status).toBe('degraded');
    line.clearFaults();
    await until(() => parts()['lock inputs']?.health === 'ok', 3000, 'lock inputs ok again');
    expect(part.lock.doorState).toBe('closed');
  });

  it('a relay that stays energised after the pulse makes the lock degraded, its alarm bilingual on the /alarms page', async () => {
    const { part, sim, health, parts } = await rig();
    const db = openLedger(':memory:');
    stops.push(async () => closeLedger(db));
    const board = new AlarmBoard(() => db, pino({ level: 'silent' }));
    const watch = new AlarmWatch({ config: Value.Default(AlarmsConfigSchema, {}) as AlarmsConfig, board, health, db: () => db, dataDir: '/srv/store', log: pino({ level: 'silent' }), freeBytes: () => 50 * 2 ** 30 });
    sim.relay.setStuckOn(true);
    stops.push(async () => sim.relay.setStuckOn(false));
    await part.lock.unlock(100);
    await until(() => parts().lock?.health === 'degraded', 3000, 'lock degraded');
    expect(parts().lock?.detail).toMatch(/^relay_stuck_on: relay still energised after the pulse and an off command \/ 继电器在脉冲和断开命令之后仍然吸合/);
    watch.check();
    const alarm = board.active().find((a) => a.kind === 'lock_not_confirmed' && a.subject === 'relock');
    expect(alarm?.detail).toMatch(/^lock: relay_stuck_on: .* \/ 继电器在脉冲和断开命令之后仍然吸合/);
    expect(alarmCells(alarm!, 'zh')).toContain('继电器在脉冲和断开命令之后仍然吸合');
  });

  it('a scanner whose port is lost makes it degraded with the reason in both languages, until it is back', async () => {
    const { part, sim, parts } = await rig({ scanner: true });
    await until(() => parts().scanner?.health === 'ok', 3000, 'scanner up');
    sim.unplug('scanner');
    await until(() => parts().scanner?.health === 'degraded', 3000, 'scanner degraded');
    expect(parts().scanner?.detail).toMatch(/^.+ \/ 扫码枪连接中断（.+），正在重新连接$/);
    sim.plug('scanner');
    await until(() => parts().scanner?.health === 'ok', 3000, 'scanner up again');
    expect(part.scanner).toBeDefined();
  });
});
