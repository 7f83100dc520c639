/**
 * Restoring a store onto a new PC: the backup job copies the store's sync signing key beside the
 * face-template key (jobs.backup.key_dir), and `restore --fresh --keys DIR` puts both where the
 * daemon reads them, so the store signs with the public key the village ledger holds for it.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { backupJob } from '../../edge/jobs/store-jobs.ts';
import { JobsConfigSchema, type JobsConfig } from '../../edge/jobs/config.ts';
import { loadConfig } from '../../edge/config/load.ts';
import { keyPaths, withKeysApart } from '../../edge/keys.ts';
import { loadOrCreateStoreKey } from '../../cloud-sync/agent/identity.ts';
import { newKeyPair } from '../../cloud-sync/protocol/sign.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('restore-keys-');
afterAll(() => t.cleanup());
const jobsConfig = (): JobsConfig => Value.Default(JobsConfigSchema, {}) as JobsConfig;
const mode = (p: string): number => statSync(p).mode & 0o777;
const publicOf = (pem: string): string => createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();

function cli(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', dataDir], { env: { ...process.env, STORE_EDGE_CONFIG: '', CREDENTIALS_DIRECTORY: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Where the daemon reads its keys for data folder `dataDir` (edge/main.ts: keyPaths of the loaded config). */
const daemonKeys = (dataDir: string) => keyPaths(withKeysApart(loadConfig({ dataDir, env: {} }).config, {}), {});

/** An old PC's store: a ledger, its face key and its sync key where the daemon keeps them, and one night's backup. */
async function oldPc(name: string): Promise<{ copy: string; keyDir: string; syncPublic: string; faceKey: Buffer }> {
  const dataDir = path.join(t.dir, name);
  mkdirSync(dataDir, { recursive: true });
  const keys = daemonKeys(dataDir);
  mkdirSync(path.dirname(keys.faceTemplates.file), { recursive: true, mode: 0o700 });
  const faceKey = Buffer.alloc(32, 9);
  writeFileSync(keys.faceTemplates.file, faceKey, { mode: 0o600 });
  const signing = loadOrCreateStoreKey(dataDir, 'store', keys.syncStore.file);
  const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
  addVillager(db, { id: 'V1', name: '村民一', village: 'demo-village' });
  const summary = await backupJob({ config: jobsConfig(), dataDir, keyFile: keys.faceTemplates.file, syncKeyFile: keys.syncStore.file, db: () => db }).run(new Date('2026-12-01T02:30:00Z')) as string;
  closeLedger(db);
  expect(summary).toContain('sync-store-key.pem');
  const keyDir = path.join(dataDir, 'backup-keys');
  return { copy: summary.split(' ')[0]!, keyDir, syncPublic: createPublicKey(signing.key).export({ type: 'spki', format: 'pem' }).toString(), faceKey };
}

describe('restoring onto a new PC with the keys', () => {
  it('the backup carries the sync key like the face key (0600 in a 0700 folder, apart from the copies)', async () => {
    const old = await oldPc('old-a');
    const copied = path.join(old.keyDir, 'sync-store-key.pem');
    expect(publicOf(readFileSync(copied, 'utf8'))).toBe(old.syncPublic);
    expect(mode(copied)).toBe(0o600);
    expect(mode(old.keyDir)).toBe(0o700);
    expect(path.dirname(old.copy)).not.toBe(old.keyDir);
  }, 60_000);

  it('backup → restore --fresh --keys into a new folder → the store signs with the same public key and reads the same face key', async () => {
    const old = await oldPc('old-b');
    const fresh = path.join(t.dir, 'new-b');
    const r = await cli(fresh, 'restore', old.copy, '--yes', '--fresh', '--keys', old.keyDir);
    expect(r.code, r.stderr).toBe(0);
    const keys = daemonKeys(fresh);
    expect(r.stdout).toContain(keys.syncStore.file);
    expect(r.stdout).toContain(keys.faceTemplates.file);
    // the daemon's own loader finds the key rather than making a new one
    const signing = loadOrCreateStoreKey(fresh, 'store', keys.syncStore.file);
    expect(createPublicKey(signing.key).export({ type: 'spki', format: 'pem' }).toString()).toBe(old.syncPublic);
    expect(readFileSync(keys.faceTemplates.file)).toEqual(old.faceKey);
    expect(mode(keys.syncStore.file)).toBe(0o600);
    expect(mode(keys.faceTemplates.file)).toBe(0o600);
  }, 60_000);

  it('refuses (exit 2, both languages, nothing replaced) to put a key over a different one already there', async () => {
    const old = await oldPc('old-c');
    const fresh = path.join(t.dir, 'new-c');
    mkdirSync(fresh, { recursive: true });
    const other = newKeyPair().privatePem;
    const target = daemonKeys(fresh).syncStore.file;
    writeFileSync(target, other, { mode: 0o600 });
    const r = await cli(fresh, 'restore', old.copy, '--yes', '--fresh', '--keys', old.keyDir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(target);
    expect(r.stderr).toMatch(/[\u4e00-\u9fff]/);
    expect(readFileSync(target, 'utf8')).toBe(other);
    expect(existsSync(path.join(fresh, 'ledger.sqlite'))).toBe(false);
  }, 60_000);

  it('refuses a keys folder that holds neither key (exit 2), and says after a --fresh restore without --keys that the keys were not restored', async () => {
    const old = await oldPc('old-d');
    const empty = path.join(t.dir, 'empty-keys');
    mkdirSync(empty);
    const fresh = path.join(t.dir, 'new-d');
    const bad = await cli(fresh, 'restore', old.copy, '--yes', '--fresh', '--keys', empty);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain(empty);
    expect(existsSync(path.join(fresh, 'ledger.sqlite'))).toBe(false);
    const r = await cli(fresh, 'restore', old.copy, '--yes', '--fresh');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('--keys');
    expect(r.stdout).toContain('sync-store-key.pem');
  }, 60_000);

  it('refuses (exit 2, nothing replaced) a keys folder whose sync key is not a key, before the ledger is touched', async () => {
    const old = await oldPc('old-e');
    const broken = path.join(t.dir, 'broken-keys');
    mkdirSync(broken);
    writeFileSync(path.join(broken, 'sync-store-key.pem'), '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
    const fresh = path.join(t.dir, 'new-e');
    const r = await cli(fresh, 'restore', old.copy, '--yes', '--fresh', '--keys', broken);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('sync-store-key.pem');
    expect(r.stderr).toContain('不是 PEM 格式的私钥');
    expect(existsSync(path.join(fresh, 'ledger.sqlite'))).toBe(false);
  }, 60_000);
});
