/**
 * The data folder belongs to one daemon and keeps its secrets: the lock file, the modes of the
 * ledger and key files, and a clear DB_IO when the folder cannot be created.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { DataDirPart, LOCK_FILE, ensureDataDir, lockDataDir, secureKeysDir } from '../../edge/data-dir.ts';
import { daemonPid } from '../../edge/ops/doctor.ts';
import { loadOrCreateStoreKey } from '../../cloud-sync/agent/identity.ts';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { tempDir, codeOf } from '../ledger/helpers.ts';

const t = tempDir('data-dir-');
afterAll(() => t.cleanup());
const mode = (p: string): number => statSync(p).mode & 0o777;

describe('the data folder lock', () => {
  it('is taken with our pid, refused while held, and released at stop', () => {
    const dir = path.join(t.dir, 'lock-1');
    ensureDataDir(dir);
    const release = lockDataDir(dir);
    const file = path.join(dir, LOCK_FILE);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(String(process.pid));
    expect(mode(file)).toBe(0o600);
    let err: unknown;
    try {
      lockDataDir(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'DATA_DIR_LOCKED', details: { pid: process.pid } });
    expect((err as { zh: string }).zh).toContain(`pid ${process.pid}`);
    release();
    expect(existsSync(file)).toBe(false);
    lockDataDir(dir)();
  });

  it('takes over a lock whose holder is dead, or that holds no pid', async () => {
    const dir = path.join(t.dir, 'lock-2');
    ensureDataDir(dir);
    // a pid that existed and is gone: a child that has exited
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await new Promise((resolve) => child.on('exit', resolve));
    writeFileSync(path.join(dir, LOCK_FILE), `${pid}\n`);
    const release = lockDataDir(dir);
    expect(readFileSync(path.join(dir, LOCK_FILE), 'utf8').split('\n')[0]).toBe(String(process.pid));
    release();
    writeFileSync(path.join(dir, LOCK_FILE), 'garbage');
    lockDataDir(dir)();
    // our own pid in a lock we do not hold: written by an earlier process with the same pid
    writeFileSync(path.join(dir, LOCK_FILE), `${process.pid}\n`);
    lockDataDir(dir)();
  });

  it('takes over a lock left from before a reboot whose pid now belongs to another process; doctor does not call it running', async () => {
    const dir = path.join(t.dir, 'lock-reboot');
    ensureDataDir(dir);
    const file = path.join(dir, LOCK_FILE);
    const sleeper = spawn('sleep', ['300']);
    try {
      await new Promise((resolve) => sleeper.on('spawn', resolve));
      // a lock of the old format (a pid only) naming a process that is not node
      writeFileSync(file, `${sleeper.pid}\n`);
      expect(daemonPid(dir)).toBeUndefined();
      lockDataDir(dir)();
      // a node process that is alive, but the lock is from another boot, or from another process with its pid
      const parent = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
      const start = parent.slice(parent.lastIndexOf(')') + 2).split(' ')[19]!;
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      writeFileSync(file, `${process.ppid}\n00000000-0000-0000-0000-000000000000\n${start}\n`);
      expect(daemonPid(dir)).toBeUndefined();
      lockDataDir(dir)();
      writeFileSync(file, `${process.ppid}\n${boot}\n${Number(start) + 1}\n`);
      lockDataDir(dir)();
      // the same process in this boot still holds it
      writeFileSync(file, `${process.ppid}\n${boot}\n${start}\n`);
      expect(daemonPid(dir)).toBe(process.ppid);
      expect(codeOf(() => lockDataDir(dir))).toBe('DATA_DIR_LOCKED');
    } finally {
      sleeper.kill();
    }
  });

  it('refuses a lock held by another live process, naming its pid', () => {
    const dir = path.join(t.dir, 'lock-3');
    ensureDataDir(dir);
    writeFileSync(path.join(dir, LOCK_FILE), `${process.ppid}\n`);
    expect(codeOf(() => lockDataDir(dir))).toBe('DATA_DIR_LOCKED');
  });
});

describe('file modes', () => {
  it('creates the ledger and its WAL 0600', () => {
    const dir = path.join(t.dir, 'modes-new');
    const file = path.join(dir, 'ledger.sqlite');
    const db = openLedger(file);
    db.prepare("INSERT INTO meta (key, value) VALUES ('x', 'y')").run();
    expect(mode(dir)).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}-wal`)).toBe(0o600);
    closeLedger(db);
  });

  it('tightens an existing world-readable ledger and WAL in a 0755 folder, telling the caller', () => {
    const dir = path.join(t.dir, 'modes-old');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = path.join(dir, 'ledger.sqlite');
    const first = openLedger(file);
    first.prepare("INSERT INTO meta (key, value) VALUES ('x', 'y')").run();
    chmodSync(file, 0o644);
    chmodSync(`${file}-wal`, 0o644);
    // `first` stays open: its WAL is there, as after a power cut
    const fixed: string[] = [];
    const db = openLedger(file, { onModeFixed: (f) => fixed.push(`${path.basename(f.path)} ${f.from}`) });
    expect(fixed).toEqual(['ledger.sqlite 644', 'ledger.sqlite-wal 644']);
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}-wal`)).toBe(0o600);
    closeLedger(db);
    first.close();
  });

  it('creates keys/ 0700 and tightens an open one and its files', () => {
    const dir = path.join(t.dir, 'keys');
    mkdirSync(path.join(dir, 'keys'), { recursive: true, mode: 0o755 });
    chmodSync(path.join(dir, 'keys'), 0o755);
    writeFileSync(path.join(dir, 'keys', 'qr.pem'), 'secret', { mode: 0o644 });
    chmodSync(path.join(dir, 'keys', 'qr.pem'), 0o644);
    const fixed = secureKeysDir(dir).map((f) => `${path.basename(f.path)} ${f.from}→${f.to}`);
    expect(fixed).toEqual(['keys 755→700', 'qr.pem 644→600']);
    expect(secureKeysDir(dir)).toEqual([]);
    const fresh = path.join(t.dir, 'keys-fresh');
    mkdirSync(fresh);
    secureKeysDir(fresh);
    expect(mode(path.join(fresh, 'keys'))).toBe(0o700);
  });

  it('the data folder part locks, logs each tightened file and releases', () => {
    const dir = path.join(t.dir, 'part');
    mkdirSync(path.join(dir, 'keys'), { recursive: true });
    chmodSync(path.join(dir, 'keys'), 0o755);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    const part = new DataDirPart(dir, log);
    part.start();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    expect(lines.join('')).toContain('已收紧文件权限');
    part.stop();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });
});

describe('the key files outside keys/', () => {
  it("the data folder part tightens the store's sync key beside the ledger (and any key path it is given), with the log line; loading the sync key tightens it too", () => {
    const dir = path.join(t.dir, 'sync-key');
    mkdirSync(dir, { recursive: true });
    const syncKey = path.join(dir, 'sync-store-key.pem');
    loadOrCreateStoreKey(dir, 'k1');
    chmodSync(syncKey, 0o644);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    const part = new DataDirPart(dir, log, [syncKey, path.join(dir, 'keys', 'absent.key')]);
    part.start();
    part.stop();
    expect(mode(syncKey)).toBe(0o600);
    expect(lines.join('')).toContain(`已收紧文件权限: ${syncKey} 644 → 600`);

    chmodSync(syncKey, 0o640);
    loadOrCreateStoreKey(dir, 'k1');
    expect(mode(syncKey)).toBe(0o600);
  });

});

describe('a data folder that cannot be created', () => {
  it('is a DB_IO naming the path, from the folder and from the ledger', () => {
    const blocker = path.join(t.dir, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const dir = path.join(blocker, 'data');
    let err: unknown;
    try {
      ensureDataDir(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'DB_IO', details: { path: dir } });
    expect((err as { zh: string }).zh).toContain('无法创建数据文件夹');
    expect(codeOf(() => openLedger(path.join(dir, 'ledger.sqlite')))).toBe('DB_IO');
  });
});
