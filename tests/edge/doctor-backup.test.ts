/**
 * `store-edge doctor`'s backup line speaks of this PC's backups: the copies in its backup folder
 * (jobs.backup.dir), not the last run the ledger records, which a restored ledger brought from
 * the old PC ("last verified copy" of a PC that is gone).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { validateConfig } from '../../edge/config/load.ts';
import { runDoctor } from '../../edge/ops/doctor.ts';
import { backupLedger } from '../../edge/ledger/backup.ts';
import { recordJobEnd, recordJobStart } from '../../edge/ledger/job-runs.ts';
import { restoreCopy } from '../../edge/ledger/restore-copy.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('doctor-backup-');
afterAll(() => t.cleanup());

describe("store-edge doctor's backup line", () => {
  it('after a restore onto a new PC, says this PC has no copy yet (the recorded run came with the restore); then names the copy made here', async () => {
    const now = new Date('2026-12-05T12:40:00Z');
    // the old PC: a backup run recorded at 12:29, its copy in the old PC's folder
    const old = openLedger(path.join(t.dir, 'old-pc', 'ledger.sqlite'));
    recordJobStart(old, 'backup', '2026-12-05T12:29:00.000Z');
    recordJobEnd(old, 'backup', { at: '2026-12-05T12:29:30.000Z', outcome: 'ok', detail: 'copy', durationMs: 30_000, nextDueAt: null });
    const copy = (await backupLedger(old, path.join(t.dir, 'usb'), new Date('2026-12-05T12:30:00Z'))).file;
    closeLedger(old);
    // the new PC: the copy restored into a fresh data folder, its own backup folder empty
    const dataDir = path.join(t.dir, 'new-pc');
    mkdirSync(dataDir, { recursive: true });
    restoreCopy(copy, path.join(dataDir, 'ledger.sqlite'), now);
    const config = validateConfig({ data_dir: dataDir, entry: { face_enabled: false }, drivers: { simulated: true } });
    const before = (await runDoctor(config, 'test', now)).find((r) => r.check === 'backup')!;
    expect(before.status).toBe('warn');
    expect(before.detail).toContain(path.join(dataDir, 'backups'));
    expect(before.detail).toContain('2026-12-05T12:29:30.000Z');
    expect(before.detail).toMatch(/[\u4e00-\u9fff]/);
    expect(before.detail).not.toMatch(/^last verified copy/);

    // a backup made on this PC: the line names it
    const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
    const here = (await backupLedger(db, path.join(dataDir, 'backups'), new Date('2026-12-05T12:35:00Z'))).file;
    closeLedger(db);
    const after = (await runDoctor(config, 'test', now)).find((r) => r.check === 'backup')!;
    expect(after.status).toBe('ok');
    expect(after.detail).toContain(here);
  }, 60_000);
});
