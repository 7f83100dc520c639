/**
 * Keys apart from the data: where each key is read from (keys_dir, systemd's
 * $CREDENTIALS_DIRECTORY, or the data folder), keys moved out of the data folder at start with
 * nothing lost, two different keys refused, a read-only credentials folder explained, and
 * `store-edge keys migrate` (dry run, then --yes).
 */
import { describe, expect, it, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { validateConfig } from '../../edge/config/load.ts';
import { StoreDaemon } from '../../edge/main.ts';
import { keyPaths, migrateKeys, withKeysApart } from '../../edge/keys.ts';
import { tempDir } from '../ledger/helpers.ts';
import { loadOrCreateStoreKey } from '../../cloud-sync/agent/identity.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { recordedStore } from '../../edge/ledger/store-identity.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { addTemplates } from '../../edge/entry/templates.ts';

const t = tempDir('keys-');
afterAll(() => t.cleanup());
const log = pino({ level: 'silent' });
const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');

const config = (dataDir: string, extra: Record<string, unknown> = {}) => validateConfig({ data_dir: dataDir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false }, jobs: { enabled: false }, alarms: { enabled: false }, ...extra });
const mode = (p: string) => statSync(p).mode & 0o777;

async function startStop(c: ReturnType<typeof config>): Promise<void> {
  const d = new StoreDaemon(c, log);
  try {
    await d.start();
  } finally {
    await d.stop();
  }
}

describe('where the keys are read from', () => {
  it('the data folder by default; keys_dir, or else $CREDENTIALS_DIRECTORY, when set', () => {
    const c = config('/srv/data');
    expect(keyPaths(c, {})).toEqual({
      faceTemplates: { file: '/srv/data/keys/face-templates.key', legacy: '/srv/data/keys/face-templates.key' },
      syncStore: { file: '/srv/data/sync-store-key.pem', legacy: '/srv/data/sync-store-key.pem' },
      adminSession: { file: '/srv/data/keys/admin-session.key', legacy: '/srv/data/keys/admin-session.key' },
    });
    const creds = keyPaths(c, { CREDENTIALS_DIRECTORY: '/run/credentials/store-edge.service' });
    expect(creds.faceTemplates.file).toBe('/run/credentials/store-edge.service/face-templates.key');
    expect(creds.syncStore.file).toBe('/run/credentials/store-edge.service/sync-store-key.pem');
    const apart = keyPaths({ ...c, keys_dir: '/etc/store-edge/keys' }, { CREDENTIALS_DIRECTORY: '/run/x' });
    expect(apart.adminSession.file).toBe('/etc/store-edge/keys/admin-session.key');
    // a face key placed by hand stays where it was put
    const own = { ...c, keys_dir: '/etc/store-edge/keys', entry: { ...c.entry, key_file: '/mnt/usb/face.key' } };
    expect(keyPaths(own, {}).faceTemplates.file).toBe('/mnt/usb/face.key');
    expect(withKeysApart({ ...c, keys_dir: '/etc/store-edge/keys' }, {}).entry.key_file).toBe('/etc/store-edge/keys/face-templates.key');
  });
});

describe('moving the keys out of the data folder', () => {
  it('at start: the same keys, now only in the keys folder (0700/0600); the store starts again on them', async () => {
    const data = path.join(t.dir, 'a', 'data');
    await startStop(config(data));
    const face = path.join(data, 'keys', 'face-templates.key');
    const session = path.join(data, 'keys', 'admin-session.key');
    const faceKey = readFileSync(face);
    const sessionKey = readFileSync(session);
    const keysDir = path.join(t.dir, 'a', 'etc-keys');
    await startStop(config(data, { keys_dir: keysDir }));
    expect(existsSync(face)).toBe(false);
    expect(existsSync(session)).toBe(false);
    expect(readFileSync(path.join(keysDir, 'face-templates.key'))).toEqual(faceKey);
    expect(readFileSync(path.join(keysDir, 'admin-session.key'))).toEqual(sessionKey);
    expect(mode(keysDir)).toBe(0o700);
    expect(mode(path.join(keysDir, 'face-templates.key'))).toBe(0o600);
    // a second start finds them there and makes no new ones
    await startStop(config(data, { keys_dir: keysDir }));
    expect(readFileSync(path.join(keysDir, 'face-templates.key'))).toEqual(faceKey);
    expect(existsSync(face)).toBe(false);
  }, 60_000);

  it("at start: the store's sync key beside the ledger, found readable by others, is made 0600 with a log line", async () => {
    const data = path.join(t.dir, 'sync-mode', 'data');
    mkdirSync(data, { recursive: true });
    const syncKey = path.join(data, 'sync-store-key.pem');
    loadOrCreateStoreKey(data, 'k1');
    chmodSync(syncKey, 0o644);
    const lines: string[] = [];
    const d = new StoreDaemon(config(data), pino({ level: 'info' }, { write: (s: string) => lines.push(s) }));
    try {
      await d.start();
    } finally {
      await d.stop();
    }
    expect(mode(syncKey)).toBe(0o600);
    expect(lines.join('')).toContain(`已收紧文件权限: ${syncKey} 644 → 600`);
    // the daemon also records which store the ledger is (store-edge restore refuses another's copy by it)
    const db = openLedger(path.join(data, 'ledger.sqlite'));
    expect(recordedStore(db)).toEqual({ id: 'demo-store', village: 'demo-village' });
    closeLedger(db);
  }, 60_000);

  it('refuses two different keys, and explains a read-only credentials folder', () => {
    const data = path.join(t.dir, 'b', 'data');
    mkdirSync(path.join(data, 'keys'), { recursive: true });
    writeFileSync(path.join(data, 'keys', 'face-templates.key'), Buffer.alloc(32, 1));
    const keysDir = path.join(t.dir, 'b', 'keys');
    mkdirSync(keysDir, { recursive: true });
    writeFileSync(path.join(keysDir, 'face-templates.key'), Buffer.alloc(32, 2));
    expect(() => migrateKeys(config(data, { keys_dir: keysDir }), { env: {} })).toThrow(/two different face-templates.key/);
    // nothing was touched
    expect(readFileSync(path.join(data, 'keys', 'face-templates.key'))).toEqual(Buffer.alloc(32, 1));

    const creds = path.join(t.dir, 'b', 'creds');
    mkdirSync(creds, { mode: 0o500 });
    chmodSync(creds, 0o500);
    if (process.getuid?.() === 0) return; // root writes anywhere: the read-only case cannot be made here
    expect(() => migrateKeys(config(data), { env: { CREDENTIALS_DIRECTORY: creds } })).toThrow(/LoadCredential=face-templates.key/);
  });

  it('a keys folder that is the data folder\'s own keys/ by another path (a symlink) moves nothing and deletes nothing; keys migrate refuses it as inside the data folder', async () => {
    const data = path.join(t.dir, 'same', 'data');
    mkdirSync(path.join(data, 'keys'), { recursive: true });
    writeFileSync(path.join(data, 'keys', 'face-templates.key'), Buffer.alloc(32, 5), { mode: 0o600 });
    writeFileSync(path.join(data, 'keys', 'admin-session.key'), Buffer.alloc(32, 6), { mode: 0o600 });
    closeLedger(openLedger(path.join(data, 'ledger.sqlite'))); // the store's, as its first start left it
    const link = path.join(t.dir, 'same', 'link');
    symlinkSync(data, link);
    expect(migrateKeys(config(data, { keys_dir: path.join(link, 'keys') }), { env: {} })).toEqual([]);
    const cli = await run('keys', 'migrate', '--to', path.join(link, 'keys'), '--data-dir', data, '--yes');
    expect(cli.code, cli.stderr).toBe(2);
    expect(cli.stderr).toContain(`--to ${path.join(link, 'keys')} points through a symbolic link to ${path.join(data, 'keys')}, which is inside the data folder`);
    expect(readFileSync(path.join(data, 'keys', 'face-templates.key'))).toEqual(Buffer.alloc(32, 5));
    expect(readFileSync(path.join(data, 'keys', 'admin-session.key'))).toEqual(Buffer.alloc(32, 6));
  });
});

describe('two different face-template keys: which one to keep', () => {
  /** A store whose templates were sealed by the data folder's key, and another key in the keys folder. */
  function twoKeys(name: string, templates: boolean): { data: string; keysDir: string } {
    const data = path.join(t.dir, name, 'data');
    mkdirSync(path.join(data, 'keys'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(data, 'keys', 'face-templates.key'), Buffer.alloc(32, 1), { mode: 0o600 });
    const db = openLedger(path.join(data, 'ledger.sqlite'));
    if (templates) {
      addVillager(db, { id: 'V1', name: 'Zhang', village: 'v' });
      setFaceConsent(db, 'V1', 'self');
      const d = new Float32Array(128).fill(1 / Math.sqrt(128));
      addTemplates(db, Buffer.alloc(32, 1), 'V1', [{ descriptor: d, quality: null, source: 'a.jpg' }, { descriptor: d, quality: null, source: 'b.jpg' }], new Date().toISOString());
    }
    closeLedger(db);
    const keysDir = path.join(t.dir, name, 'keys');
    mkdirSync(keysDir, { mode: 0o700 });
    writeFileSync(path.join(keysDir, 'face-templates.key'), Buffer.alloc(32, 2), { mode: 0o600 });
    return { data, keysDir };
  }

  it('names the key that opens the stored templates (no command that does not exist), bilingual, exit 2 from keys migrate; nothing deleted', async () => {
    const s = twoKeys('which', true);
    const legacy = path.join(s.data, 'keys', 'face-templates.key');
    const r = await run('keys', 'migrate', '--to', s.keysDir, '--data-dir', s.data, '--yes');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('CONFIG_INVALID');
    expect(r.stderr).toContain(`of 2 stored templates checked, the data folder's opens 2, the keys folder's 0: keep ${legacy}, copy ${path.join(s.keysDir, 'face-templates.key')} away and delete it`);
    expect(r.stderr).toContain(`请保留 ${legacy}`);
    expect(r.stderr).not.toContain('faces list');
    expect(readFileSync(legacy)).toEqual(Buffer.alloc(32, 1));
    expect(readFileSync(path.join(s.keysDir, 'face-templates.key'))).toEqual(Buffer.alloc(32, 2));
  }, 60_000);

  it('with no template stored yet: either may go', () => {
    const s = twoKeys('none', false);
    expect(() => migrateKeys(config(s.data, { keys_dir: s.keysDir }), { env: {} })).toThrow(/no face template is stored yet, so neither sealed anything/);
  });
});

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, STORE_EDGE_CONFIG: '', CREDENTIALS_DIRECTORY: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('store-edge keys migrate', () => {
  it('says what it would move, moves with --yes, and needs --to', async () => {
    const data = path.join(t.dir, 'c', 'data');
    mkdirSync(path.join(data, 'keys'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(data, 'keys', 'face-templates.key'), Buffer.alloc(32, 9), { mode: 0o600 });
    writeFileSync(path.join(data, 'sync-store-key.pem'), 'PEM', { mode: 0o600 });
    closeLedger(openLedger(path.join(data, 'ledger.sqlite'))); // the store's, as its first start left it
    const to = path.join(t.dir, 'c', 'keys');
    const dry = await run('keys', 'migrate', '--to', to, '--data-dir', data, '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { moved: boolean; moves: Array<{ key: string; action: string }> };
    expect(plan.moved).toBe(false);
    expect(plan.moves.map((m) => m.key).sort()).toEqual(['faceTemplates', 'syncStore']);
    expect(existsSync(to)).toBe(false);
    const done = await run('keys', 'migrate', '--to', to, '--data-dir', data, '--yes');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('已移动 moved');
    expect(readFileSync(path.join(to, 'face-templates.key'))).toEqual(Buffer.alloc(32, 9));
    expect(readFileSync(path.join(to, 'sync-store-key.pem'), 'utf8')).toBe('PEM');
    expect(existsSync(path.join(data, 'sync-store-key.pem'))).toBe(false);
    const again = await run('keys', 'migrate', '--to', to, '--data-dir', data);
    expect(again.stdout).toContain('no key left in the data folder');
    const bad = await run('keys', 'migrate', '--data-dir', data);
    expect(bad.code).toBe(2);
  }, 60_000);

  it("following its advice with keys the daemon's user cannot read (root's, 0700/0600) stops the start with a bilingual CONFIG_INVALID (exit 2) naming the file and the way out; the advice says so", async () => {
    const root = path.join(t.dir, 'unreadable');
    const data = path.join(root, 'data');
    const keysDir = path.join(root, 'keys');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    mkdirSync(path.join(data, 'keys'), { mode: 0o700 });
    writeFileSync(path.join(data, 'keys', 'face-templates.key'), Buffer.alloc(32, 3), { mode: 0o600 });
    closeLedger(openLedger(path.join(data, 'ledger.sqlite'))); // the store's, as its first start left it
    const moved = await run('keys', 'migrate', '--to', keysDir, '--data-dir', data, '--yes');
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain('LoadCredential=face-templates.key:');
    expect(moved.stdout).toContain(`chown -R store-edge: ${keysDir}`);
    expect(moved.stdout).toContain('守护进程的运行用户必须能读取');
    // the daemon runs as another user than the one who moved the keys: as root here, nobody (65534);
    // otherwise this user, with the folder closed to its owner too
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      chmodSync(t.dir, 0o711);
      chmodSync(root, 0o755);
      // the data folder is the service user's, as systemd's StateDirectory= makes it
      for (const d of [data, path.join(data, 'keys'), ...readdirSync(data).filter((f) => f.startsWith('ledger.sqlite')).map((f) => path.join(data, f))]) chownSync(d, 65534, 65534);
    } else {
      chmodSync(keysDir, 0o000);
    }
    const configFile = path.join(root, 'config.json');
    writeFileSync(configFile, JSON.stringify({ data_dir: data, keys_dir: keysDir, demo: true, demo_loop: false, http: { port: 0 }, entry: { face_enabled: false }, jobs: { enabled: false }, alarms: { enabled: false } }), { mode: 0o644 });
    const started = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, 'start', '--config', configFile], { timeout: 90_000, env: { ...process.env, STORE_EDGE_CONFIG: '', CREDENTIALS_DIRECTORY: '' }, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) }, (err, _stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr });
      });
    });
    if (!asRoot) chmodSync(keysDir, 0o700);
    expect(started.code, started.stderr).toBe(2);
    expect(started.stderr).toContain('CONFIG_INVALID');
    expect(started.stderr).toContain(keysDir);
    expect(started.stderr).toContain('无法被守护进程的运行用户');
    expect(started.stderr).toContain('must be readable by the user the daemon runs as');
    expect(started.stderr).toContain('LoadCredential=');
    expect(started.stderr).not.toContain('内部错误');
  }, 120_000);
});
