/**
 * /metrics and /readyz on the daemon running on simulated hardware: the text is parsed by a
 * Prometheus text-format parser, a card at the door is counted by reason and as an unlock,
 * and an unplugged scanner makes /readyz answer 503 naming it.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { validateConfig } from '../../edge/config/load.ts';
import { StoreDaemon } from '../../edge/main.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { addCard } from '../../edge/ledger/credentials.ts';
import { tempDir } from '../ledger/helpers.ts';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createAccount, signInHttp } from './admin-auth.ts';
import { samplePath } from '../../harness/portraits.ts';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function sample(families: PromFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

describe('/metrics and /readyz', () => {
  it('count the door by reason, report the outbox, the jobs, RSS and event-loop delay; readiness names an unplugged device', async () => {
    const t = tempDir('metrics-');
    const config = validateConfig({ data_dir: t.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false }, jobs: { timezone: 'Asia/Shanghai' } });
    const daemon = new StoreDaemon(config, pino({ level: 'silent' }));
    try {
      await daemon.start();
      const base = daemon.httpAddress!;
      const scrape = async (): Promise<PromFamily[]> => {
        const res = await fetch(new URL('/metrics', base));
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('text/plain');
        return parsePrometheusTextFormat(await res.text());
      };
      const db = daemon.db;
      addVillager(db, { id: 'V001', name: '王大妈', village: 'demo-village' });
      applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 50, reason: '垃圾分类', origin: 'cli' }, { creditFloor: 0 });
      addCard(db, 'PB-0001', 'V001', new Date().toISOString());

      // no login needed for these two, while the admin API asks for one
      expect((await fetch(new URL('/api/store', base))).status).toBe(401);
      const before = await scrape();
      expect(before.find((f) => f.name === 'store_door_decisions_total')?.type).toBe('COUNTER');
      expect(sample(before, 'store_unlocks_total')).toBe(0);
      // the outbox holds the villager, the award and the card until a village ledger takes them
      expect(sample(before, 'store_outbox_depth')).toBeGreaterThanOrEqual(2);
      expect(sample(before, 'process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
      expect(before.some((f) => f.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
      expect(sample(before, 'store_job_runs', { job: 'backup', outcome: 'ok' })).toBe(0);
      // memory per thread: only the main thread without face entry, and no tfjs loaded in it
      const heapUsed = sample(before, 'store_thread_memory_bytes', { thread: 'main', kind: 'heap_used' })!;
      expect(heapUsed).toBeGreaterThan(1_000_000);
      expect(sample(before, 'store_thread_memory_bytes', { thread: 'main', kind: 'heap_total' })).toBeGreaterThanOrEqual(heapUsed);
      expect(sample(before, 'store_thread_memory_bytes', { thread: 'main', kind: 'external' })).toBeGreaterThan(0);
      expect(sample(before, 'store_thread_memory_bytes', { thread: 'main', kind: 'wasm' })).toBeUndefined();
      expect(before.find((f) => f.name === 'store_thread_memory_bytes')!.metrics.some((m) => m.labels?.thread === 'inference')).toBe(false);

      const sim = daemon.hardware!.sim!;
      expect(sim.scanner.scan('NOT-A-CARD')).toBe(true);
      expect(sim.scanner.scan('PB-0001')).toBe(true);
      const after = await waitFor('both decisions counted', async () => {
        const f = await scrape();
        return sample(f, 'store_unlocks_total') === 1 && sample(f, 'store_door_decisions_total', { decision: 'invalid_code' }) === 1 ? f : undefined;
      });
      expect(sample(after, 'store_door_decisions_total', { decision: 'matched', by: 'card' })).toBe(1);

      expect(await daemon.jobs!.run('backup')).toBe('ok');
      const jobs = await scrape();
      expect(sample(jobs, 'store_job_runs', { job: 'backup', outcome: 'ok' })).toBe(1);
      expect(sample(jobs, 'store_job_last_failed', { job: 'backup' })).toBe(0);

      const ready = await fetch(new URL('/readyz', base));
      const body = (await ready.json()) as { ready: boolean; checks: Record<'database' | 'serial' | 'broker' | 'camera' | 'camera_ir' | 'models', { ok: boolean; reason?: string }> };
      expect(ready.status, JSON.stringify(body)).toBe(200);
      expect(body.checks.database).toEqual({ ok: true });
      expect(body.checks.serial.ok).toBe(true);
      expect(body.checks.broker).toEqual({ ok: true, reason: 'not configured' });
      expect(body.checks.camera_ir).toEqual({ ok: true, reason: 'not configured' });

      sim.unplug('scanner');
      const notReady = await waitFor('readiness to see the scanner gone', async () => {
        const res = await fetch(new URL('/readyz', base));
        return res.status === 503 ? ((await res.json()) as typeof body) : undefined;
      });
      expect(notReady.ready).toBe(false);
      expect(notReady.checks.serial.ok).toBe(false);
      expect(notReady.checks.serial.reason).toContain('scanner');
      expect(notReady.checks.database.ok).toBe(true);
    } finally {
      await daemon.stop();
      t.cleanup();
    }
  }, 120_000);

  it('with face entry the inference worker\'s memory is on /metrics apart from the main thread\'s: its heap, and its wasm memory once frames are analysed', async () => {
    const t = tempDir('metrics-worker-');
    const config = validateConfig({
      data_dir: t.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' },
      entry: { face_enabled: true, detector: 'tiny', camera: { kind: 'files', path: samplePath(2), loop: true } },
    });
    const daemon = new StoreDaemon(config, pino({ level: 'silent' }));
    try {
      await daemon.start();
      const base = daemon.httpAddress!;
      const scrape = async (): Promise<PromFamily[]> => parsePrometheusTextFormat(await (await fetch(new URL('/metrics', base))).text());
      const m = await waitFor('frames analysed and the worker\'s memory reported', async () => {
        const f = await scrape();
        return (sample(f, 'store_camera_frames_total') ?? 0) > 0 && sample(f, 'store_thread_memory_bytes', { thread: 'inference', kind: 'heap_used' }) !== undefined ? f : undefined;
      }, 120_000);
      const mem = (thread: string, kind: string): number | undefined => sample(m, 'store_thread_memory_bytes', { thread, kind });
      expect(mem('inference', 'heap_used')).toBeGreaterThan(1_000_000);
      expect(mem('inference', 'heap_total')).toBeGreaterThanOrEqual(mem('inference', 'heap_used')!);
      // the worker loaded tfjs's wasm backend (at least its 16 MiB initial memory); the main thread did not
      expect(mem('inference', 'wasm')).toBeGreaterThanOrEqual(16 * 2 ** 20);
      expect(mem('inference', 'tensors')).toBeGreaterThanOrEqual(0);
      expect(mem('main', 'heap_used')).toBeGreaterThan(1_000_000);
      expect(mem('main', 'wasm')).toBeUndefined();
      // the worker's own isolate, not the main thread's numbers again
      const worker = await daemon.entry!.faceEngine!.memory();
      expect(worker).not.toBeNull();
      expect(worker!.wasm).toBeGreaterThanOrEqual(16 * 2 ** 20);
    } finally {
      await daemon.stop();
      t.cleanup();
    }
  }, 240_000);

  it('an infrared lens configured with face entry is on /readyz: one that cannot be opened makes it 503 naming camera_ir with its reason', async () => {
    const t = tempDir('readyz-ir-');
    const config = validateConfig({
      data_dir: t.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' },
      entry: { face_enabled: true, detector: 'tiny', camera: { kind: 'files', path: samplePath(2), loop: true }, camera_ir: { kind: 'v4l2', device: '/dev/video-no-such-ir-lens' }, camera_retry_max_ms: 1000 },
    });
    const daemon = new StoreDaemon(config, pino({ level: 'silent' }));
    try {
      await daemon.start();
      const base = daemon.httpAddress!;
      type Body = { ready: boolean; checks: Record<'camera' | 'camera_ir', { ok: boolean; reason?: string }> };
      const down = await waitFor('readiness to name the IR lens that cannot be opened', async () => {
        const res = await fetch(new URL('/readyz', base));
        const body = (await res.json()) as Body;
        return res.status === 503 && body.checks.camera_ir.reason?.startsWith('camera_ir: degraded') ? body : undefined;
      });
      expect(down.ready).toBe(false);
      expect(down.checks.camera_ir.ok).toBe(false);
      // the reason says why: the device the source could not open
      expect(down.checks.camera_ir.reason).toContain('/dev/video-no-such-ir-lens');
      // the door camera itself is fine: only the IR lens holds readiness back
      expect(down.checks.camera).toEqual({ ok: true });
    } finally {
      await daemon.stop();
      t.cleanup();
    }
  }, 180_000);

  it('alarms are on /api/alarms (with a login) and counted on /metrics; the door\'s latency, the serial buses and the camera rate are there', async () => {
    const t = tempDir('alarms-');
    // a backup folder that cannot be made (a file is in the way) fails the backup job; a disk
    // limit no disk meets raises the disk alarm at the first check
    writeFileSync(path.join(t.dir, 'not-a-folder'), '');
    const config = validateConfig({
      data_dir: t.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false },
      jobs: { backup: { dir: 'not-a-folder/backups' } }, alarms: { check_s: 1, disk_free_min_mb: 10_000_000 },
    });
    const daemon = new StoreDaemon(config, pino({ level: 'silent' }));
    try {
      await daemon.start();
      const base = daemon.httpAddress!;
      const scrape = async (): Promise<PromFamily[]> => parsePrometheusTextFormat(await (await fetch(new URL('/metrics', base))).text());
      expect((await fetch(new URL('/api/alarms', base))).status).toBe(401);
      await createAccount(daemon.db);
      const admin = await signInHttp(base);

      expect(await daemon.jobs!.run('backup')).toBe('failed');
      type Alarms = { active: Array<{ kind: string; subject: string; severity: string; detail: string; seen: number }>; recent: unknown[] };
      const alarms = await waitFor('both alarms listed', async () => {
        const body = (await (await admin.get('/api/alarms')).json()) as Alarms;
        return body.active.length === 2 ? body : undefined;
      });
      expect(alarms.active.map((a) => a.kind).sort()).toEqual(['disk_low', 'job_failed']);
      const job = alarms.active.find((a) => a.kind === 'job_failed')!;
      expect(job.subject).toBe('backup');
      expect(job.detail).toContain('job backup failed');
      expect(alarms.active.find((a) => a.kind === 'disk_low')!.severity).toBe('critical');

      const m = await scrape();
      expect(sample(m, 'store_alarms_active', { kind: 'job_failed', severity: 'warning' })).toBe(1);
      expect(sample(m, 'store_alarms_active', { kind: 'disk_low', severity: 'critical' })).toBe(1);
      expect(sample(m, 'store_alarms_raised_total', { kind: 'job_failed' })).toBe(1);
      // the disk alarm is seen at every check but raised once
      await waitFor('the disk alarm seen again', async () => ((await (await admin.get('/api/alarms')).json()) as Alarms).active.find((a) => a.kind === 'disk_low')!.seen >= 2 || undefined);
      expect(sample(await scrape(), 'store_alarms_raised_total', { kind: 'disk_low' })).toBe(1);

      // a card at the door: the unlock latency is observed; the buses count their requests
      const db = daemon.db;
      addVillager(db, { id: 'V001', name: '王大妈', village: 'demo-village' });
      applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 50, reason: '垃圾分类', origin: 'cli' }, { creditFloor: 0 });
      addCard(db, 'PB-0001', 'V001', new Date().toISOString());
      daemon.hardware!.sim!.scanner.scan('PB-0001');
      const after = await waitFor('the unlock latency observed', async () => {
        const f = await scrape();
        const h = f.find((x) => x.name === 'store_entry_unlock_latency_seconds')?.metrics[0] as { buckets?: Record<string, string> } | undefined;
        return h?.buckets?.['+Inf'] === '1' ? f : undefined;
      }, 10_000).catch(async (err: unknown) => {
        const f = await scrape();
        throw new Error(`${(err as Error).message}: ${JSON.stringify(f.filter((x) => x.name.startsWith('store_door') || x.name.startsWith('store_entry_unlock') || x.name === 'store_unlocks_total'))}`);
      });
      expect(after.find((f) => f.name === 'store_entry_stage_seconds')?.type).toBe('HISTOGRAM');
      expect(sample(after, 'store_camera_fps')).toBe(0);
      const requests = after.find((f) => f.name === 'store_serial_requests')!.metrics;
      expect(requests.length).toBeGreaterThanOrEqual(1);
      expect(requests.every((r) => Number(r.value) > 0)).toBe(true);
      expect(after.some((f) => f.name === 'store_serial_errors')).toBe(true);
    } finally {
      await daemon.stop();
      t.cleanup();
    }
  }, 120_000);
});
