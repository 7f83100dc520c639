/**
 * Alarms: kept in the ledger, one active row per (kind, subject) however often the condition
 * is seen, cleared when it is resolved; the watcher raises and clears them from the parts'
 * health lines, the free disk, the outbox, the clock and the jobs, on fake timers.
 */
import { describe, it, expect, afterEach, vi } from 'vitest';
import { pino } from 'pino';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { AlarmBoard, villagerIdTakenAlarm } from '../../edge/ops/alarms.ts';
import { addVillager, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { AlarmWatch, alarmOfHealthLine } from '../../edge/ops/alarm-watch.ts';
import { AlarmsConfigSchema, type AlarmsConfig } from '../../edge/ops/alarms-config.ts';
import { Value } from '@sinclair/typebox/value';
import { enqueueOutbox, markOutboxAcked } from '../../edge/ledger/outbox.ts';
import { recentAlarms } from '../../edge/ledger/alarms.ts';
import type { AlarmRow } from '../../edge/ledger/alarms.ts';

const log = pino({ level: 'silent' });
const config = (over: Record<string, unknown> = {}): AlarmsConfig => Value.Default(AlarmsConfigSchema, { check_s: 10, ...over }) as AlarmsConfig;

let db: Db | undefined;
afterEach(() => {
  vi.useRealTimers();
  if (db) closeLedger(db);
  db = undefined;
});

function board(d: Db): { b: AlarmBoard; raised: AlarmRow[]; cleared: AlarmRow[] } {
  const b = new AlarmBoard(() => d, log);
  const raised: AlarmRow[] = [];
  const cleared: AlarmRow[] = [];
  b.on('raised', (r) => raised.push(r));
  b.on('cleared', (r) => cleared.push(r));
  return { b, raised, cleared };
}

describe('the alarm board', () => {
  it('keeps one active alarm per kind and subject, counts repeats, and clears it', () => {
    db = openLedger(':memory:');
    const { b, raised, cleared } = board(db);
    b.raise('scale_fault', 'A1', 'no reply');
    b.raise('scale_fault', 'A1', 'still no reply');
    b.raise('scale_fault', 'A2', 'implausible');
    expect(raised.map((r) => r.subject)).toEqual(['A1', 'A2']);
    const a1 = b.active().find((a) => a.subject === 'A1')!;
    expect(a1).toMatchObject({ kind: 'scale_fault', seen: 2, detail: 'still no reply', cleared_at: null });
    expect(b.raisedCount.get('scale_fault')).toBe(2);

    expect(b.clear('scale_fault', 'A1')?.cleared_by).toBe('resolved');
    expect(b.clear('scale_fault', 'A1')).toBeUndefined();
    expect(cleared).toHaveLength(1);
    expect(b.active().map((a) => a.subject)).toEqual(['A2']);
    // the same fault again is a new alarm, and the history keeps both
    b.raise('scale_fault', 'A1', 'no reply again');
    expect(raised).toHaveLength(3);
    expect(recentAlarms(db, 10).filter((a) => a.subject === 'A1').map((a) => a.cleared_at === null)).toEqual([true, false]);
  });

  it('an alarm the ledger cannot store (a full disk) is still told and listed', () => {
    db = openLedger(':memory:');
    const broken = new AlarmBoard(() => { throw new Error('SQLITE_FULL'); }, log);
    const told: string[] = [];
    broken.on('raised', (r) => told.push(r.kind));
    broken.raise('disk_low', '/data', '3 MiB free', 'critical');
    broken.raise('disk_low', '/data', '2 MiB free', 'critical');
    expect(told).toEqual(['disk_low']);
    expect(broken.active()).toMatchObject([{ kind: 'disk_low', seen: 2, detail: '2 MiB free' }]);
    expect(broken.clear('disk_low', '/data')?.cleared_by).toBe('resolved');
    expect(broken.active()).toEqual([]);
  });

  it('an alarm the ledger could not store is not raised a second time once the ledger stores it again', () => {
    db = openLedger(':memory:');
    const d = db;
    let full = true;
    const b = new AlarmBoard(() => { if (full) throw new Error('SQLITE_FULL'); return d; }, log);
    const told: string[] = [];
    b.on('raised', (r) => told.push(r.detail));
    b.raise('disk_low', '/data', '3 MiB free', 'critical');
    full = false;
    b.raise('disk_low', '/data', '900 MiB free', 'critical');
    expect(told).toEqual(['3 MiB free']);
    expect(b.raisedCount.get('disk_low')).toBe(1);
    expect(b.active()).toMatchObject([{ kind: 'disk_low', subject: '/data', detail: '900 MiB free' }]);
    expect(b.active()[0]!.id).toBeGreaterThan(0);
    expect(b.clear('disk_low', '/data')?.cleared_by).toBe('resolved');
    expect(b.active()).toEqual([]);
  });
});

describe('health lines that are alarms', () => {
  it.each([
    ['lock', 'lock_not_confirmed', 'relock'],
    ['lock unlock', 'lock_not_confirmed', 'unlock'],
    ['camera', 'camera_gone', 'camera'],
    ['scale A1', 'scale_fault', 'A1'],
    ['scale A1 zero', 'scale_fault', 'A1 zero'],
  ])('%s → %s (%s)', (line, kind, subject) => {
    expect(alarmOfHealthLine(line)).toEqual({ kind, subject });
  });
  it.each(['ledger', 'http', 'bus sim://rs485', 'face engine', 'job backup'])('%s is none', (line) => {
    expect(alarmOfHealthLine(line)).toBeUndefined();
  });
});

describe('the alarm watch', () => {
  function watch(d: Db, over: { free?: () => number; wall?: () => number; mono?: () => number; config?: Record<string, unknown> } = {}) {
    const health = new HealthBoard();
    health.setPhase('running');
    const { b, raised, cleared } = board(d);
    const w = new AlarmWatch({
      config: config(over.config), board: b, health, db: () => d, dataDir: '/srv/store', log,
      freeBytes: over.free ?? (() => 50 * 2 ** 30), ...(over.wall ? { wallMs: over.wall } : {}), ...(over.mono ? { monoMs: over.mono } : {}),
    });
    return { w, b, health, raised, cleared };
  }

  it('raises a scale fault once while it lasts and clears it when the scale answers again', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });
    db = openLedger(':memory:');
    const { w, health, raised, cleared, b } = watch(db);
    health.set('scale A1', 'ok');
    health.set('lock', 'ok');
    w.start();
    expect(raised).toEqual([]);
    health.set('scale A1', 'degraded', 'the scale module does not answer');
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(raised.map((r) => [r.kind, r.subject])).toEqual([['scale_fault', 'A1']]);
    expect(b.active()[0]).toMatchObject({ seen: 3, detail: 'scale A1: the scale module does not answer' });
    health.set('lock', 'degraded', 'release_not_confirmed: coil still on');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(raised.at(-1)).toMatchObject({ kind: 'lock_not_confirmed', subject: 'relock', severity: 'critical' });
    health.set('scale A1', 'ok');
    health.set('lock', 'ok');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(cleared.map((r) => r.kind).sort()).toEqual(['lock_not_confirmed', 'scale_fault']);
    expect(b.active()).toEqual([]);
    w.stop();
  });

  it('a camera that goes away is an alarm; a part being stopped is not', () => {
    db = openLedger(':memory:');
    const { w, health, raised } = watch(db);
    health.set('camera', 'degraded', 'ffmpeg exited: /dev/video0: No such device');
    health.set('scale B1', 'stopped');
    w.check();
    expect(raised.map((r) => [r.kind, r.detail])).toEqual([['camera_gone', 'camera: ffmpeg exited: /dev/video0: No such device']]);
  });

  it('disk nearly full: a warning under the limit, critical under a quarter, cleared with room again', () => {
    db = openLedger(':memory:');
    let free = 900 * 2 ** 20;
    const { w, b, cleared } = watch(db, { free: () => free });
    w.check();
    expect(b.active()).toMatchObject([{ kind: 'disk_low', subject: '/srv/store', severity: 'warning' }]);
    expect(b.active()[0]!.detail).toContain('900 MiB free');
    free = 100 * 2 ** 20;
    w.check();
    expect(b.active()).toMatchObject([{ kind: 'disk_low', severity: 'critical', seen: 2 }]);
    free = 5 * 2 ** 30;
    w.check();
    expect(b.active()).toEqual([]);
    expect(cleared).toHaveLength(1);
  });

  it('outbox growing: too many rows, or the oldest waiting too long; cleared once acknowledged', () => {
    db = openLedger(':memory:');
    let now = Date.parse('2026-12-01T10:00:00Z');
    const { w, b } = watch(db, { wall: () => now, mono: () => now, config: { outbox_pending_max: 3, outbox_age_max_min: 30 } });
    enqueueOutbox(db, 'product', { n: 1 }, '2026-12-01T09:50:00.000Z');
    w.check();
    expect(b.active()).toEqual([]);
    now += 25 * 60_000; // the oldest row has waited 35 min
    w.check();
    expect(b.active()).toMatchObject([{ kind: 'outbox_growing', subject: 'outbox' }]);
    expect(b.active()[0]!.detail).toContain('1 rows wait');
    markOutboxAcked(db, 1, new Date(now).toISOString());
    w.check();
    expect(b.active()).toEqual([]);
    for (let i = 0; i < 3; i++) enqueueOutbox(db, 'product', { n: i }, new Date(now).toISOString());
    w.check();
    expect(b.active()[0]!.detail).toContain('3 rows wait');
  });

  it('a clock jump raises the clock alarm, which clears after a quiet period', () => {
    db = openLedger(':memory:');
    let wall = Date.parse('2026-12-01T10:00:00Z');
    let mono = 1_000;
    const { w, b } = watch(db, { wall: () => wall, mono: () => mono, config: { clock_jump_s: 120, clock_jump_clear_min: 60 } });
    const tick = (ms: number, jump = 0) => { wall += ms + jump; mono += ms; w.check(); };
    w.check();
    tick(10_000);
    tick(10_000, 60_000); // a minute: within the bound (NTP slewing, a small step)
    expect(b.active()).toEqual([]);
    tick(10_000, -3_600_000); // the clock went back an hour
    expect(b.active()).toMatchObject([{ kind: 'clock_jump' }]);
    expect(b.active()[0]!.detail).toContain('-3600 s');
    tick(30 * 60_000);
    expect(b.active()).toHaveLength(1);
    tick(31 * 60_000);
    expect(b.active()).toEqual([]);
  });

  it('a failed job raises job_failed naming the job and the error; its next good run clears it', () => {
    db = openLedger(':memory:');
    const { w, b } = watch(db);
    w.jobOutcome('backup', 'failed', 'ENOSPC: no space left on device');
    w.jobOutcome('backup', 'skipped');
    expect(b.active()).toMatchObject([{ kind: 'job_failed', subject: 'backup' }]);
    expect(b.active()[0]!.detail).toContain('ENOSPC');
    w.jobOutcome('backup', 'ok');
    expect(b.active()).toEqual([]);
  });

  it('villager_id_taken stays while that villager is in the register, and clears once they left (registered again under another id)', () => {
    db = openLedger(':memory:');
    const { w, b } = watch(db);
    addVillager(db, { id: 'wei', name: '魏八', village: 'v' });
    villagerIdTakenAlarm(b)(['wei']);
    w.check();
    expect(b.active()).toMatchObject([{ kind: 'villager_id_taken', subject: 'villager wei' }]);
    setVillagerStatus(db, 'wei', 'left');
    w.check();
    expect(b.active()).toEqual([]);
  });

  it("tells its listeners (the village's list, the live page) of an alarm acknowledged or cleared in the ledger by the CLI, at its next check, once", () => {
    db = openLedger(':memory:');
    const { w, b, cleared } = watch(db);
    const acknowledged: AlarmRow[] = [];
    b.on('acknowledged', (r) => acknowledged.push(r));
    addVillager(db, { id: 'wei', name: '魏八', village: 'v' });
    villagerIdTakenAlarm(b)(['wei']);
    const scale = b.raise('job_failed', 'backup', 'ENOSPC', 'warning', { occurrence: true });
    const wei = b.active()[0]!;
    w.check();
    // `store-edge alarms …`: another process, its own board on the same ledger
    const cli = new AlarmBoard(() => db!, log);
    cli.acknowledge(scale.id, 'cli', null);
    cli.clearByHand(wei.id, 'cli', '村委已核实');
    expect([acknowledged, cleared]).toEqual([[], []]);
    w.check();
    expect(acknowledged.map((a) => [a.id, a.acknowledged_by])).toEqual([[scale.id, 'cli']]);
    expect(cleared.map((a) => [a.id, a.cleared_by])).toEqual([[wei.id, 'cli']]);
    w.check();
    // what the daemon did itself is not told twice
    b.clear('job_failed', 'backup');
    w.check();
    expect(acknowledged).toHaveLength(1);
    expect(cleared.map((a) => a.id)).toEqual([wei.id, scale.id]);
  });
});
