/**
 * `store-edge doctor` against the simulated hardware served over tcp:// (as real RS-485 and
 * serial ports would be): everything present → exit 0; one device unplugged or missing →
 * non-zero, naming it and what to do.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startSimHardware, type RunningSimHardware } from '../../drivers/sim/spawn.ts';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { validateConfig } from '../../edge/config/load.ts';
import { runDoctor } from '../../edge/ops/doctor.ts';
import { backupLedger } from '../../edge/ledger/backup.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('doctor-');
const layout = { scales: { list: [{ slot: 'A1', unit_id: 11, capacity_g: 5000 }, { slot: 'A2', unit_id: 12, capacity_g: 5000 }] } };
let sim: (RunningSimHardware & { stop(): Promise<void> }) | undefined;

function configInput(urls: { lock: string; scales: string; scanner: string }, scales = layout.scales.list) {
  return {
    data_dir: t.dir,
    entry: { face_enabled: false },
    drivers: {
      simulated: false,
      lock: { transport: urls.lock },
      scales: { transport: urls.scales, list: scales },
      scanner: { transport: urls.scanner, reconnect_initial_ms: 20 },
      modbus: { response_timeout_ms: 200, retries: 1 },
    },
  };
}

function doctor(configFile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'doctor', '--config', configFile], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  sim = await startSimHardware({ drivers: layout, seed: 1 });
  closeLedger(openLedger(path.join(t.dir, 'ledger.sqlite')));
});
afterAll(async () => {
  await sim?.stop();
  t.cleanup();
});

describe('store-edge doctor', () => {
  it('passes with every device present, and fails naming the scanner once it is unplugged', async () => {
    const file = path.join(t.dir, 'config.json');
    writeFileSync(file, JSON.stringify(configInput(sim!.urls)));
    const good = await doctor(file);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toMatch(/lock \(unit 1 on tcp:\/\/[^)]+\)\s+ok/);
    expect(good.stdout).toMatch(/scale A2 \(unit 12 on [^)]+\)\s+ok/);
    expect(good.stdout).toMatch(/scanner \([^)]+\)\s+ok/);

    await sim!.client.unplug('scanner');
    try {
      const bad = await doctor(file);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/scanner \([^)]+\)\s+FAIL/);
      expect(bad.stdout).toContain('dialout');
      expect(bad.stdout).toMatch(/lock \(unit 1 on [^)]+\)\s+ok/);
      expect(bad.stderr).toContain('CHECKS_FAILED');
      expect(bad.stderr).toContain('scanner');
      expect(bad.stderr).toContain('项检查未通过');
    } finally {
      await sim!.client.plug('scanner');
    }
  }, 120_000);

  it('names a scale that does not answer on the line, and only that one', async () => {
    const config = validateConfig(configInput(sim!.urls, [...layout.scales.list, { slot: 'B1', unit_id: 13, capacity_g: 5000 }]));
    const rows = await runDoctor(config, 'test');
    const failed = rows.filter((r) => r.status === 'fail');
    expect(failed.map((r) => r.check)).toEqual([expect.stringMatching(/^scale B1 \(unit 13 on /)]);
    expect(failed[0]!.fix).toContain('slot B1');
    expect(rows.find((r) => r.check === 'database')?.status).toBe('ok');
  }, 60_000);

  it("without a ledger, its advice names the newest copy where the backups really are (an absolute jobs.backup.dir) and the restore that works there, in both languages", async () => {
    const dataDir = path.join(t.dir, 'no-ledger');
    const backups = path.join(t.dir, 'usb-disk', 'store-backups');
    const src = openLedger(path.join(t.dir, 'old-pc', 'ledger.sqlite'));
    await backupLedger(src, backups, new Date('2026-12-01T02:30:00Z'));
    const newest = (await backupLedger(src, backups, new Date('2026-12-02T02:30:00Z'))).file;
    closeLedger(src);
    const config = validateConfig({ data_dir: dataDir, entry: { face_enabled: false }, drivers: { simulated: true }, jobs: { backup: { dir: backups } } });
    const rows = await runDoctor(config, 'test');
    const db = rows.find((r) => r.check === 'database')!;
    expect(db.status).toBe('fail');
    const command = `store-edge restore ${newest} --yes --fresh --data-dir ${dataDir}`;
    const [en, zh] = db.fix!.split(' / ');
    expect(en).toContain(command);
    expect(zh).toContain(command);
    expect(zh).toMatch(/[\u4e00-\u9fff]/);
    expect(db.fix).not.toContain(path.join(dataDir, backups));
  }, 60_000);
});
