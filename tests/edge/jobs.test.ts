/**
 * The scheduled jobs' runner on fake timers: a run at its cron time, no overlap, a failure
 * that degrades the job's health line and nothing else, and a run missed while the store was
 * off that runs at start.
 */
import { describe, it, expect, afterEach, vi } from 'vitest';
import { pino } from 'pino';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { JobRunner, checkSchedule, type Job, type JobOutcome } from '../../edge/jobs/runner.ts';
import { getJobRun } from '../../edge/ledger/job-runs.ts';

const log = pino({ level: 'silent' });

function runner(db: Db, jobs: Job[], health = new HealthBoard()): { r: JobRunner; health: HealthBoard; outcomes: Array<[string, JobOutcome]> } {
  const outcomes: Array<[string, JobOutcome]> = [];
  const r = new JobRunner({ jobs, timezone: 'Asia/Shanghai', db: () => db, health, log, onOutcome: (j, o) => outcomes.push([j, o]) });
  return { r, health, outcomes };
}

let db: Db | undefined;
afterEach(() => {
  vi.useRealTimers();
  if (db) closeLedger(db);
  db = undefined;
});

describe('the job runner', () => {
  it('runs a job at its time in the store time zone and records the run', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    // 02:29:58 in Shanghai (UTC+8)
    vi.setSystemTime(new Date('2026-12-01T18:29:58Z'));
    db = openLedger(':memory:');
    const seen: Date[] = [];
    const { r, outcomes } = runner(db, [{ name: 'backup', cron: '30 2 * * *', run: (now) => { seen.push(now); return 'copied'; } }]);
    r.start();
    expect(getJobRun(db, 'backup')?.next_due_at).toBe('2026-12-01T18:30:00.000Z');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2_500);
    await r.idle();
    expect(seen).toHaveLength(1);
    expect(outcomes).toEqual([['backup', 'ok']]);
    const row = getJobRun(db, 'backup')!;
    expect(row).toMatchObject({ last_outcome: 'ok', last_detail: 'copied', next_due_at: '2026-12-02T18:30:00.000Z' });
    expect(row.last_duration_ms).toBeGreaterThanOrEqual(0);
    await r.stop();
  });

  it('never runs a job twice at once: the second run is skipped and counted', async () => {
    db = openLedger(':memory:');
    let release!: () => void;
    const gate = new Promise<void>((res) => { release = res; });
    let started = 0;
    const { r } = runner(db, [{ name: 'slow', cron: 'off', run: async () => { started++; await gate; return 'done'; } }]);
    r.start();
    const first = r.run('slow');
    expect(await r.run('slow')).toBe('skipped');
    release();
    expect(await first).toBe('ok');
    expect(started).toBe(1);
    expect(r.snapshot().get('slow')!.outcomes).toEqual({ ok: 1, failed: 0, skipped: 1 });
    await r.stop();
  });

  it('a failing job degrades its health line, is recorded, and the next run clears it', async () => {
    db = openLedger(':memory:');
    let fail = true;
    const { r, health } = runner(db, [{ name: 'retention', cron: 'off', run: () => { if (fail) throw new Error('disk unplugged'); return 'ok'; } }]);
    r.start();
    health.set('ledger', 'ok');
    health.setPhase('running');
    expect(await r.run('retention')).toBe('failed');
    const report = health.report();
    expect(report.status).toBe('degraded');
    expect(report.parts['job retention']).toMatchObject({ health: 'degraded' });
    expect(report.parts['job retention']!.detail).toContain('disk unplugged');
    expect(getJobRun(db, 'retention')).toMatchObject({ last_outcome: 'failed', last_detail: 'disk unplugged' });
    fail = false;
    expect(await r.run('retention')).toBe('ok');
    expect(health.report().status).toBe('ok');
    await r.stop();
  });

  it('runs at start a run that was due while the store was off, and only that once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(new Date('2026-12-01T12:00:00Z'));
    db = openLedger(':memory:');
    let runs = 0;
    const job: Job = { name: 'backup', cron: '30 2 * * *', run: () => { runs++; return 'copied'; } };
    const first = runner(db, [job]);
    first.r.start();
    await first.r.stop();
    expect(runs).toBe(0);
    // the power comes back the next morning, after 02:30 Shanghai time
    vi.setSystemTime(new Date('2026-12-02T00:10:00Z'));
    const second = runner(db, [job]);
    second.r.start();
    await second.r.idle();
    expect(runs).toBe(1);
    expect(getJobRun(db, 'backup')!.next_due_at).toBe('2026-12-02T18:30:00.000Z');
    await second.r.stop();
    // started again the same day: nothing was missed
    const third = runner(db, [job]);
    third.r.start();
    await third.r.idle();
    expect(runs).toBe(1);
    await third.r.stop();
  });

  it('a run skipped by the schedule because the previous one is still going is counted as skipped', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(new Date('2026-12-01T12:00:00.500Z'));
    db = openLedger(':memory:');
    let release!: () => void;
    const gate = new Promise<void>((res) => { release = res; });
    let started = 0;
    // every second: the first run holds on, the next ticks find it still running
    const { r, outcomes } = runner(db, [{ name: 'slow', cron: '* * * * * *', run: async () => { started++; await gate; return 'done'; } }]);
    r.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(started).toBe(1);
    expect(r.snapshot().get('slow')!.outcomes.skipped).toBeGreaterThanOrEqual(1);
    expect(outcomes.some(([, o]) => o === 'skipped')).toBe(true);
    release();
    await r.idle();
    await r.stop();
  });

  it('a missed run that fails at start leaves the job degraded, not ok', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(new Date('2026-12-01T12:00:00Z'));
    db = openLedger(':memory:');
    const job: Job = { name: 'backup', cron: '30 2 * * *', run: () => { throw new Error('backup disk missing'); } };
    const first = runner(db, [job]);
    first.r.start();
    await first.r.stop();
    vi.setSystemTime(new Date('2026-12-02T00:10:00Z'));
    const second = runner(db, [job]);
    second.r.start();
    await second.r.idle();
    expect(getJobRun(db, 'backup')!.last_outcome).toBe('failed');
    expect(second.health.report().parts['job backup']).toMatchObject({ health: 'degraded' });
    expect(second.health.report().parts['job backup']!.detail).toContain('backup disk missing');
    await second.r.stop();
  });

  it('stopping the runner while a job runs keeps the job\'s next due time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(new Date('2026-12-01T18:29:58Z'));
    db = openLedger(':memory:');
    let release!: () => void;
    const gate = new Promise<void>((res) => { release = res; });
    let started = 0;
    const { r } = runner(db, [{ name: 'backup', cron: '30 2 * * *', run: async () => { started++; await gate; return 'copied'; } }]);
    r.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(started).toBe(1);
    const stopped = r.stop();
    release();
    await stopped;
    expect(getJobRun(db, 'backup')).toMatchObject({ last_outcome: 'ok', next_due_at: '2026-12-02T18:30:00.000Z' });
  });

  it('refuses a time zone or a cron expression it cannot understand, naming the key', () => {
    expect(() => checkSchedule([], 'Mars/Olympus')).toThrow(/jobs\.timezone/);
    expect(() => checkSchedule([{ name: 'backup', cron: 'every night', run: () => '' }], undefined)).toThrow(/jobs\.backup\.cron/);
    expect(() => checkSchedule([{ name: 'backup', cron: 'off', run: () => '' }], 'Asia/Shanghai')).not.toThrow();
  });
});
