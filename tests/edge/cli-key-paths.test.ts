/**
 * Bad places given for keys and the village ledger's file are bad input: exit 2, in Chinese and
 * English, naming the flag; never an internal error with a stack, and nothing moved or written.
 * An unwritable folder: root-owned and the command run as nobody (as root), or closed to this user.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../ledger/helpers.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';

const t = tempDir('cli-key-paths-');
afterAll(() => t.cleanup());
const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const asRoot = process.getuid?.() === 0;

function run(args: string[], opts: { asOther?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const other = opts.asOther && asRoot ? { uid: 65534, gid: 65534 } : {};
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, STORE_EDGE_CONFIG: '', CREDENTIALS_DIRECTORY: '', DATABASE_URL: '' }, ...other }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A store as its first start leaves it, with its face-template key in the data folder. */
function store(name: string): string {
  const data = path.join(t.dir, name, 'data');
  mkdirSync(path.join(data, 'keys'), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(data, 'keys', 'face-templates.key'), Buffer.alloc(32, 4), { mode: 0o600 });
  closeLedger(openLedger(path.join(data, 'ledger.sqlite')));
  return data;
}

/** A folder this command may not write: root's, for nobody; else closed to this user. */
function unwritableFolder(name: string): string {
  const dir = path.join(t.dir, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(t.dir, 0o755);
  chmodSync(dir, asRoot ? 0o755 : 0o555);
  return dir;
}

function expectRefused(r: { code: number; stderr: string }, flag: string, en: string, zh: string): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain('INVALID_ARGUMENT');
  expect(r.stderr).toContain(flag);
  expect(r.stderr).toContain(en);
  expect(r.stderr).toContain(zh);
  expect(r.stderr).not.toContain('内部错误');
}

describe('keys migrate --to', () => {
  it('a file, not a folder: exit 2 naming --to, nothing moved', async () => {
    const data = store('file');
    const file = path.join(t.dir, 'file', 'passwd');
    writeFileSync(file, 'root:x:0:0\n');
    expectRefused(await run(['keys', 'migrate', '--to', file, '--yes', '--data-dir', data]), '--to', 'is not a folder', '不是文件夹');
    expectRefused(await run(['keys', 'migrate', '--to', path.join(file, 'keys'), '--yes', '--data-dir', data]), '--to', 'is not a folder', '不是文件夹');
    expect(readFileSync(file, 'utf8')).toBe('root:x:0:0\n');
    expect(readFileSync(path.join(data, 'keys', 'face-templates.key'))).toEqual(Buffer.alloc(32, 4));
  }, 60_000);

  it('the data folder itself or a folder in it: exit 2, the keys stay where they were', async () => {
    const data = store('inside');
    for (const to of [data, path.join(data, 'keys'), path.join(data, 'elsewhere')]) {
      expectRefused(await run(['keys', 'migrate', '--to', to, '--yes', '--data-dir', data]), '--to', 'is inside the data folder', '在数据目录');
    }
    expect(readdirSync(data).filter((f) => !f.startsWith('ledger.sqlite'))).toEqual(['keys']);
    expect(readdirSync(path.join(data, 'keys'))).toEqual(['face-templates.key']);
  }, 60_000);

  it('a symbolic link into the data folder, a path through one, or the data folder by its real path when --data-dir is a link: exit 2 naming --to and where it really points, the keys stay where they were', async () => {
    const data = store('linked');
    const links = path.join(t.dir, 'linked', 'links');
    mkdirSync(links);
    symlinkSync(path.join(data, 'keys'), path.join(links, 'to-keys')); // the data folder's own keys folder
    symlinkSync(data, path.join(links, 'to-data'));
    symlinkSync(path.join(data, 'vault'), path.join(links, 'dangling')); // a folder not made yet
    const cases: Array<[string, string, string]> = [
      [path.join(links, 'to-keys'), path.join(data, 'keys'), data],
      [path.join(links, 'to-data', 'elsewhere', 'keys'), path.join(data, 'elsewhere', 'keys'), data],
      [path.join(links, 'dangling'), path.join(data, 'vault'), data],
      // the data folder given by a link, --to by the real path
      [path.join(data, 'keys'), path.join(data, 'keys'), path.join(links, 'to-data')],
    ];
    for (const [to, really, dataDir] of cases) {
      const r = await run(['keys', 'migrate', '--to', to, '--yes', '--data-dir', dataDir]);
      expectRefused(r, '--to', 'is inside the data folder', '在数据目录');
      expect(r.stderr).toContain(to);
      expect(r.stderr).toContain(really);
    }
    expect(readdirSync(data).filter((f) => !f.startsWith('ledger.sqlite'))).toEqual(['keys']);
    expect(readdirSync(path.join(data, 'keys'))).toEqual(['face-templates.key']);
  }, 60_000);

  it('a folder in a kernel file system (/proc, /sys), which holds no files: exit 2 naming --to at once (a recursive mkdir under /proc never returned), nothing moved', async () => {
    const data = store('pseudo');
    for (const to of ['/proc/store-edge-keys-test', '/sys/kernel/store-edge-keys-test', '/proc/store-edge-keys-test/deeper']) {
      expectRefused(await run(['keys', 'migrate', '--to', to, '--yes', '--data-dir', data]), '--to', 'cannot hold files', '不能存放文件');
    }
    expect(readFileSync(path.join(data, 'keys', 'face-templates.key'))).toEqual(Buffer.alloc(32, 4));
  }, 60_000);

  it('a folder this user may not write: exit 2 naming --to, nothing moved', async () => {
    const data = store('ro-migrate');
    const ro = unwritableFolder('ro-migrate-keys');
    if (asRoot) {
      // the store's folder is the user's who runs the command, as a maintainer's own store is
      chmodSync(path.dirname(data), 0o755);
      for (const p of [data, ...readdirSync(data, { recursive: true }).map((f) => path.join(data, String(f)))]) chownSync(p, 65534, 65534);
    }
    expectRefused(await run(['keys', 'migrate', '--to', path.join(ro, 'keys'), '--yes', '--data-dir', data], { asOther: true }), '--to', 'cannot be written', '不可写');
    expect(readdirSync(ro)).toEqual([]);
    expect(readFileSync(path.join(data, 'keys', 'face-templates.key'))).toEqual(Buffer.alloc(32, 4));
  }, 60_000);
});

describe('the village ledger\'s files in a folder this user may not write', () => {
  it('ledger keygen --out and ledger serve --db: exit 2 naming the flag, nothing written', async () => {
    const ro = unwritableFolder('ro-ledger');
    expectRefused(await run(['ledger', 'keygen', '--out', path.join(ro, 'key.pem')], { asOther: true }), '--out', 'cannot be written', '不可写');
    expectRefused(await run(['ledger', 'serve', '--db', path.join(ro, 'v.sqlite'), '--port', '0'], { asOther: true }), '--db', 'cannot be written', '不可写');
    expect(readdirSync(ro)).toEqual([]);
    // a ledger file there already, not this user's to write
    chmodSync(ro, 0o755);
    writeFileSync(path.join(ro, 'old.sqlite'), '', { mode: asRoot ? 0o644 : 0o444 });
    if (!asRoot) chmodSync(ro, 0o555);
    expectRefused(await run(['ledger', 'serve', '--db', path.join(ro, 'old.sqlite'), '--port', '0'], { asOther: true }), '--db', 'cannot be written', '不可写');
    expect(readdirSync(ro)).toEqual(['old.sqlite']);
  }, 60_000);
});
