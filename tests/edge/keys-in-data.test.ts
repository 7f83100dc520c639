/**
 * Keys kept apart, yet really inside the data folder: a `keys_dir`, or the face-template key's
 * backups (`jobs.backup.key_dir`), that lies in the data folder as written or through a symbolic
 * link. It still works, so it is a warning, not a refusal: logged at the daemon's start and shown
 * by `store-edge doctor` (row `keys`), both languages, naming the field and where it really is.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../../edge/config/load.ts';
import { KeysPart } from '../../edge/keys-part.ts';
import { runDoctor } from '../../edge/ops/doctor.ts';
import { tempDir } from '../ledger/helpers.ts';
import { captureLogger } from '../drivers/helpers.ts';

const t = tempDir('keys-in-data-');
afterAll(() => t.cleanup());

const config = (dataDir: string, extra: Record<string, unknown> = {}) => validateConfig({ data_dir: dataDir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false }, alarms: { enabled: false }, ...extra });

/** A data folder with a face-template key, and a folder outside it. */
function store(name: string): { data: string; outside: string } {
  const data = path.join(t.dir, name, 'data');
  mkdirSync(path.join(data, 'keys'), { recursive: true });
  writeFileSync(path.join(data, 'keys', 'face-templates.key'), Buffer.alloc(32, 1), { mode: 0o600 });
  const outside = path.join(t.dir, name, 'outside');
  mkdirSync(outside);
  return { data, outside };
}

/** What the keys part warns at start, as logged. */
function startWarnings(c: ReturnType<typeof config>): Array<Record<string, unknown>> {
  const { logger, lines } = captureLogger();
  new KeysPart(c, logger).start();
  return lines.filter((l) => l.level === 40 && l.field !== undefined);
}

async function keysRow(c: ReturnType<typeof config>) {
  const rows = await runDoctor(c, 'test');
  return rows.find((r) => r.check === 'keys');
}

describe('keys kept apart, yet really inside the data folder', () => {
  it('a keys_dir that is a symbolic link into the data folder: warned at start and by doctor, naming keys_dir and where it really is', async () => {
    const { data, outside } = store('keys-link');
    const link = path.join(outside, 'keys');
    mkdirSync(path.join(data, 'secret'));
    symlinkSync(path.join(data, 'secret'), link);
    const c = config(data, { keys_dir: link, jobs: { enabled: false, backup: { key_dir: path.join(outside, 'backup-keys') } } });
    const warned = startWarnings(c);
    expect(warned.map((l) => l.field)).toEqual(['keys_dir']);
    expect(warned[0]!.real_path).toBe(path.join(data, 'secret'));
    expect(warned[0]!.msg).toContain(`the keys folder (keys_dir ${link}) points through a symbolic link to ${path.join(data, 'secret')}, which is inside the data folder ${data}`);
    expect(warned[0]!.msg).toContain('密钥文件夹');
    expect(warned[0]!.msg).toContain('move the keys in it');

    const row = await keysRow(c);
    expect(row?.status).toBe('warn');
    expect(row?.detail).toContain(`keys_dir ${link}) points through a symbolic link to ${path.join(data, 'secret')}`);
    expect(row?.fix).toContain('set keys_dir to that folder');
  });

  it('a keys_dir written inside the data folder is warned too', async () => {
    const { data, outside } = store('keys-inside');
    const c = config(data, { keys_dir: path.join(data, 'secret'), jobs: { enabled: false, backup: { key_dir: path.join(outside, 'backup-keys') } } });
    const warned = startWarnings(c);
    expect(warned.map((l) => l.field)).toEqual(['keys_dir']);
    expect(warned[0]!.msg).toContain(`(keys_dir ${path.join(data, 'secret')}) is inside the data folder ${data}`);
    expect((await keysRow(c))?.status).toBe('warn');
  });

  it("the face-template key's backups in jobs.backup.key_dir through a symbolic link into the data folder: warned at start and by doctor", async () => {
    const { data, outside } = store('backup-link');
    const link = path.join(outside, 'backup-keys');
    mkdirSync(path.join(data, 'backup-keys'));
    symlinkSync(path.join(data, 'backup-keys'), link);
    const c = config(data, { keys_dir: path.join(outside, 'keys'), jobs: { enabled: false, backup: { key_dir: link } } });
    const warned = startWarnings(c);
    expect(warned.map((l) => l.field)).toEqual(['jobs.backup.key_dir']);
    expect(warned[0]!.msg).toContain(`points through a symbolic link to ${path.join(data, 'backup-keys')}, which is inside the data folder`);
    expect(warned[0]!.msg).toContain('人脸模板密钥的备份');
    const row = await keysRow(c);
    expect(row?.status).toBe('warn');
    expect(row?.fix).toContain('set jobs.backup.key_dir to another medium');
  });

  it('keys and their backups really apart: no warning, doctor says where the keys are', async () => {
    const { data, outside } = store('apart');
    const c = config(data, { keys_dir: path.join(outside, 'keys'), jobs: { enabled: false, backup: { key_dir: path.join(outside, 'backup-keys') } } });
    expect(startWarnings(c)).toEqual([]);
    expect(await keysRow(c)).toMatchObject({ status: 'ok', detail: `${path.join(outside, 'keys')}, apart from the data folder / 密钥与数据分开存放` });
    // the default (keys in the data folder) works: no warning either
    expect(await keysRow(config(data, { jobs: { enabled: false } }))).toMatchObject({ status: 'ok' });
  });
});
