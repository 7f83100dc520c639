/**
 * A data folder this user may not write (a backup mounted read-only, a copy owned by another
 * user): the commands that only read (balance, lists, `alarms list`) answer from it, opening the ledger
 * read-only and leaving no mark in the folder; a command that writes is refused, exit 1, and
 * nothing changes. Root ignores folder modes, so as root the CLI runs as `nobody` (uid 65534)
 * on a folder that user owns with mode 0555: a real refusal by the kernel, not a simulated one.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../ledger/helpers.ts';
import Database from 'better-sqlite3';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { LATEST_VERSION } from '../../edge/ledger/migrations/index.ts';
import { firstStartKey } from '../entry/store-key.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { silentLogger } from '../../edge/log.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('cli-read-only-');
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', t.dir], { env: { ...process.env, STORE_EDGE_CONFIG: '' }, ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}) }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Every file of the folder with its bytes, to show that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, name);
    out[name] = statSync(p).isDirectory() ? '(folder)' : readFileSync(p).toString('base64');
  }
  return out;
}

function chownTree(dir: string, uid: number): void {
  chownSync(dir, uid, uid);
  for (const name of readdirSync(dir, { recursive: true }) as string[]) chownSync(path.join(dir, name), uid, uid);
}

beforeAll(async () => {
  closeLedger(openLedger(path.join(t.dir, 'ledger.sqlite')));
  firstStartKey(t.dir);
  if (asRoot) chownTree(t.dir, NOBODY);
  expect((await run('villagers', 'add', '--id', 'zhang', '--name', '张三', '--village', '前进村')).code).toBe(0);
  expect((await run('points', 'award', '--villager', 'zhang', '--points', '15', '--reason', '清扫街道', '--id', 'e-1')).code).toBe(0);
  const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
  new AlarmBoard(() => db, silentLogger()).raise('scale_fault', 'A', 'scale A: the scale module does not answer / 秤模块没有应答');
  closeLedger(db);
  if (asRoot) chownTree(t.dir, NOBODY);
  // as in a copy of the folder: no command has held it yet
  rmSync(path.join(t.dir, 'store-edge.commands'), { recursive: true, force: true });
  chmodSync(t.dir, 0o555);
}, 120_000);
afterAll(() => {
  chmodSync(t.dir, 0o700);
  t.cleanup();
});

describe('a data folder that cannot be written', () => {
  it('answers balance and the lists from it, read-only, leaving nothing in it', async () => {
    const before = snapshot(t.dir);
    const bal = await run('balance', '--villager', 'zhang', '--json');
    expect(bal.code, bal.stderr).toBe(0);
    expect(JSON.parse(bal.stdout)).toEqual({ villager: 'zhang', balance: 15 });
    const list = await run('villagers', 'list', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: 'zhang', balance: 15 })]);
    const alarms = await run('alarms', 'list', '--json');
    expect(alarms.code, alarms.stderr).toBe(0);
    expect(JSON.parse(alarms.stdout)).toMatchObject({ active: [expect.objectContaining({ kind: 'scale_fault', subject: 'A' })] });
    expect(snapshot(t.dir)).toEqual(before);
  }, 120_000);

  it('refuses a command that writes, exit 1, naming the folder, and changes nothing', async () => {
    const before = snapshot(t.dir);
    const award = await run('points', 'award', '--villager', 'zhang', '--points', '5', '--reason', '扫雪', '--id', 'e-2');
    expect(award.code).toBe(1);
    expect(award.stderr).toContain('DB_IO');
    expect(award.stderr).toContain(t.dir);
    expect(award.stderr).toMatch(/EACCES|EROFS|EPERM/);
    expect(award.stderr).toContain('cannot be written');
    expect(award.stderr).toContain('不可写');
    expect(snapshot(t.dir)).toEqual(before);
  }, 120_000);

  it('refuses a ledger of an older schema (a backup of an earlier version): it cannot be updated there, and says how to read it', async () => {
    chmodSync(t.dir, 0o700);
    const raw = new Database(path.join(t.dir, 'ledger.sqlite'));
    raw.pragma(`user_version = ${LATEST_VERSION - 1}`);
    raw.close();
    if (asRoot) chownTree(t.dir, NOBODY);
    chmodSync(t.dir, 0o555);
    const before = snapshot(t.dir);
    const bal = await run('balance', '--villager', 'zhang', '--json');
    expect(bal.code).toBe(1);
    expect(bal.stderr).toContain('DB_IO');
    expect(bal.stderr).toContain(`older than this program's ${LATEST_VERSION}`);
    expect(bal.stderr).toContain('复制到可写的位置');
    expect(bal.stderr).not.toContain('INTERNAL');
    expect(snapshot(t.dir)).toEqual(before);
  }, 120_000);
});
