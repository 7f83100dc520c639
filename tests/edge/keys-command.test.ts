/**
 * A CLI command never makes a face-template key: it reads the daemon's (keys_dir,
 * $CREDENTIALS_DIRECTORY, the data folder) or refuses, exit 2, saying where it looked and how to
 * point it at the key. A second key would seal templates the store cannot open, and the next
 * start would refuse the two keys (the store down).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../ledger/helpers.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';

const t = tempDir('keys-command-');
afterAll(() => t.cleanup());
const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');

function run(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, STORE_EDGE_CONFIG: '', CREDENTIALS_DIRECTORY: '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A store whose key is apart from the data, as `keys migrate --to` leaves it: data/ without keys, keys/ with it. */
function storeWithKeysApart(name: string): { data: string; keys: string; photo: string } {
  const data = path.join(t.dir, name, 'data');
  mkdirSync(path.join(data, 'keys'), { recursive: true, mode: 0o700 });
  const db = openLedger(path.join(data, 'ledger.sqlite'));
  addVillager(db, { id: 'V1', name: 'Zhang', village: 'demo-village' });
  closeLedger(db);
  const keys = path.join(t.dir, name, 'keys');
  mkdirSync(keys, { mode: 0o700 });
  writeFileSync(path.join(keys, 'face-templates.key'), Buffer.alloc(32, 7), { mode: 0o600 });
  // not an image: a command that found the key goes on and refuses the photo
  const photo = path.join(t.dir, name, 'not-a-photo.jpg');
  writeFileSync(photo, 'plain text');
  return { data, keys, photo };
}

describe('a faces command and the face-template key', () => {
  it('keys handed over by systemd (no keys_dir, no $CREDENTIALS_DIRECTORY in a root shell): enroll and learning --confirm refuse, exit 2, in both languages, naming where they looked; no key is made', async () => {
    const s = storeWithKeysApart('creds');
    const enrol = await run({}, 'faces', 'enroll', '--villager', 'V1', '--photo', s.photo, '--consent', '--data-dir', s.data);
    expect(enrol.code, enrol.stderr).toBe(2);
    expect(enrol.stderr).toContain('CONFIG_INVALID');
    expect(enrol.stderr).toContain(`no face-template key at ${path.join(s.data, 'keys', 'face-templates.key')}`);
    expect(enrol.stderr).toContain('keys_dir in the config: not set');
    expect(enrol.stderr).toContain('$CREDENTIALS_DIRECTORY: not set in this shell');
    expect(enrol.stderr).toContain('CREDENTIALS_DIRECTORY=/etc/store-edge/keys store-edge');
    expect(enrol.stderr).toContain('找不到人脸模板密钥');
    expect(enrol.stderr).not.toContain('内部错误');
    const confirm = await run({}, 'faces', 'learning', '--villager', 'V1', '--confirm', '1', '--data-dir', s.data);
    expect(confirm.code, confirm.stderr).toBe(2);
    expect(confirm.stderr).toContain('找不到人脸模板密钥');
    expect(readdirSync(path.join(s.data, 'keys'))).toEqual([]);
    // pointed at the key as the message says: the command goes on (and refuses the photo)
    const pointed = await run({ CREDENTIALS_DIRECTORY: s.keys }, 'faces', 'enroll', '--villager', 'V1', '--photo', s.photo, '--consent', '--data-dir', s.data);
    expect(pointed.code, pointed.stderr).toBe(2);
    expect(pointed.stderr).toContain('无法解码图片');
    expect(readdirSync(path.join(s.data, 'keys'))).toEqual([]);
  }, 60_000);

  it('faces remove needs no key: consent is withdrawn and no key is made', async () => {
    const s = storeWithKeysApart('remove');
    const r = await run({}, 'faces', 'remove', '--villager', 'V1', '--yes', '--json', '--data-dir', s.data);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ villager: 'V1', removed: 0 });
    expect(readdirSync(path.join(s.data, 'keys'))).toEqual([]);
  }, 60_000);

  it('after keys migrate and before keys_dir is set: refused; with keys_dir in the config: the key is found there', async () => {
    const s = storeWithKeysApart('migrated');
    const before = await run({}, 'faces', 'enroll', '--villager', 'V1', '--photo', s.photo, '--consent', '--data-dir', s.data);
    expect(before.code, before.stderr).toBe(2);
    expect(before.stderr).toContain('keys migrate --to DIR: add keys_dir: DIR to the config');
    expect(existsSync(path.join(s.data, 'keys', 'face-templates.key'))).toBe(false);
    const config = path.join(t.dir, 'migrated', 'store-edge.json');
    writeFileSync(config, JSON.stringify({ data_dir: s.data, keys_dir: s.keys }));
    const after = await run({}, 'faces', 'enroll', '--villager', 'V1', '--photo', s.photo, '--consent', '--config', config);
    expect(after.code, after.stderr).toBe(2);
    expect(after.stderr).toContain('无法解码图片');
    expect(existsSync(path.join(s.data, 'keys', 'face-templates.key'))).toBe(false);
  }, 60_000);
});
