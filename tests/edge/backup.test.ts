/**
 * The nightly backup and the retention purge: a verified online copy restored and compared
 * row for row, the key copied apart, old copies pruned; and `store-edge restore` as a
 * maintainer runs it (refused while the daemon holds the folder, needs --yes).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { clearAlarm, raiseAlarm, recentAlarms } from '../../edge/ledger/alarms.ts';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { addVillager, getVillager, setVillagerStatus, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { allowLearning, refuseLearning } from '../../edge/ledger/face-learning.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { insertEntryEvent } from '../../edge/ledger/entry-events.ts';
import { insertTemplates, countTemplates, deleteTemplatesAndConsent } from '../../edge/ledger/face-templates.ts';
import { backupJob, retentionJob } from '../../edge/jobs/store-jobs.ts';
import { backupLedger, listCopies, stamp, verifyCopy, verifyCopyOffThread } from '../../edge/ledger/backup.ts';
import { restoreCopy } from '../../edge/ledger/restore-copy.ts';
import { lockDataDir } from '../../edge/data-dir.ts';
import { JobsConfigSchema, type JobsConfig } from '../../edge/jobs/config.ts';
import { Value } from '@sinclair/typebox/value';
import { tempDir } from '../ledger/helpers.ts';
import { MIGRATIONS } from '../../edge/ledger/migrations/index.ts';
import { APPLICATION_ID } from '../../edge/ledger/db.ts';
import { recordStore } from '../../edge/ledger/store-identity.ts';

const t = tempDir('backup-');
afterAll(() => t.cleanup());
const mode = (p: string): number => statSync(p).mode & 0o777;
const jobsConfig = (): JobsConfig => Value.Default(JobsConfigSchema, {}) as JobsConfig;
const sealed = { nonce: Buffer.alloc(12, 1), ciphertext: Buffer.alloc(512, 2), tag: Buffer.alloc(16, 3), quality: 0.9, source: 'camera' };

/** Every row of every table, in rowid order: what "the same ledger" means. */
function dump(db: Db): Record<string, unknown[]> {
  const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  return Object.fromEntries(tables.map((n) => [n, db.prepare(`SELECT * FROM "${n}" ORDER BY rowid`).all()]));
}

/**
 * A restored ledger is the copy plus the mark for the sync agent: the highest outbox seq the copy
 * had handed out (cloud-sync/agent/rollback.ts).
 */
function restoredFrom(copy: Record<string, unknown[]>): Record<string, unknown[]> {
  const highest = Math.max(0, ...(copy.outbox as { seq: number }[]).map((r) => r.seq));
  return { ...copy, meta: [...copy.meta!, { key: 'sync.outbox_rolled_back_at_seq', value: String(highest) }] };
}

function seed(db: Db, n: number): void {
  for (let i = 0; i < n; i++) {
    addVillager(db, { id: `V${i}`, name: `村民${i}`, village: 'qianjin' });
    applyEntry(db, { id: `award-${i}`, villagerId: `V${i}`, kind: 'award', points: 10 + i, reason: '打扫村道', origin: 'cli' }, { creditFloor: 0 });
    insertEntryEvent(db, { at: new Date().toISOString(), decision: 'admitted', by: 'card', villagerId: `V${i}`, detail: { card: 'PB-****01' } });
  }
}

function cli(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', dataDir], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('the backup job', () => {
  it('makes a verified copy that restores to the same rows, with the key copied apart', async () => {
    const dataDir = path.join(t.dir, 'store-1');
    mkdirSync(path.join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    const keyFile = path.join(dataDir, 'keys', 'face-templates.key');
    writeFileSync(keyFile, Buffer.alloc(32, 7), { mode: 0o600 });
    const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
    seed(db, 50);
    const before = dump(db);
    const job = backupJob({ config: jobsConfig(), dataDir, keyFile, db: () => db });
    const summary = await job.run(new Date('2026-12-01T18:30:00Z'));
    expect(summary).toContain('integrity ok');
    const copies = listCopies(path.join(dataDir, 'backups'));
    expect(copies.map((c) => path.basename(c.file))).toEqual(['ledger-20261201T183000Z.sqlite']);
    expect(mode(copies[0]!.file)).toBe(0o600);
    const keyCopy = path.join(dataDir, 'backup-keys', 'face-templates.key');
    expect(readFileSync(keyCopy)).toEqual(readFileSync(keyFile));
    expect(mode(keyCopy)).toBe(0o600);
    expect(mode(path.join(dataDir, 'backup-keys'))).toBe(0o700);

    // the store goes on after the copy; the restore brings back the rows of the copy
    seed2(db);
    closeLedger(db);
    const { kept } = restoreCopy(copies[0]!.file, path.join(dataDir, 'ledger.sqlite'), new Date(), { discardUnsent: true });
    expect(kept.length).toBeGreaterThanOrEqual(1);
    const restored = openLedger(path.join(dataDir, 'ledger.sqlite'));
    expect(dump(restored)).toEqual(restoredFrom(before));
    closeLedger(restored);
    // the replaced ledger is kept, with the rows written after the copy
    const old = new Database(kept.find((k) => k.includes('ledger.sqlite.before'))!, { readonly: true });
    expect((old.prepare("SELECT count(*) AS n FROM villagers WHERE id = 'late'").get() as { n: number }).n).toBe(1);
    old.close();
  });

  it('a restore after a crash keeps the replaced ledger whole: its WAL folded in or kept under the name SQLite pairs with it; the undo restores it', async () => {
    const live = path.join(t.dir, 'store-crash-live');
    const dataDir = path.join(t.dir, 'store-crash');
    mkdirSync(dataDir, { recursive: true });
    const db = openLedger(path.join(live, 'ledger.sqlite'));
    seed(db, 3);
    const copy = await backupLedger(db, path.join(dataDir, 'backups'), new Date('2026-12-01T02:30:00Z'));
    seed2(db);
    // the files as a power cut leaves them: the last transactions only in the WAL
    expect(statSync(path.join(live, 'ledger.sqlite-wal')).size).toBeGreaterThan(0);
    copyFileSync(path.join(live, 'ledger.sqlite'), path.join(dataDir, 'ledger.sqlite'));
    copyFileSync(path.join(live, 'ledger.sqlite-wal'), path.join(dataDir, 'ledger.sqlite-wal'));
    closeLedger(db);
    const target = path.join(dataDir, 'ledger.sqlite');
    const { kept } = restoreCopy(copy.file, target, new Date('2026-12-02T08:00:00Z'), { discardUnsent: true });
    const keptLedger = `${target}.before-restore-20261202T080000Z`;
    expect(kept[0]).toBe(keptLedger);
    for (const k of kept) expect(k.startsWith(keptLedger)).toBe(true);
    expect(readdirSync(dataDir).filter((f) => f.includes('.restoring'))).toEqual([]);
    const old = new Database(keptLedger, { readonly: true });
    expect((old.prepare("SELECT count(*) AS n FROM villagers WHERE id = 'late'").get() as { n: number }).n).toBe(1);
    old.close();
    // the undo: the kept ledger is a whole store ledger
    restoreCopy(keptLedger, target, new Date('2026-12-02T08:05:00Z'));
    const back = openLedger(target);
    expect(getVillager(back, 'late')).toBeDefined();
    closeLedger(back);
  });

  it('a restore keeps withdrawn consent withdrawn: the copy loses the templates and consent of villagers who withdrew after it was taken', async () => {
    const dataDir = path.join(t.dir, 'store-consent');
    mkdirSync(path.join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    const keyFile = path.join(dataDir, 'keys', 'face-templates.key');
    writeFileSync(keyFile, Buffer.alloc(32, 7), { mode: 0o600 });
    const file = path.join(dataDir, 'ledger.sqlite');
    const db = openLedger(file);
    for (const id of ['wu', 'zheng']) {
      addVillager(db, { id, name: id, village: 'qianjin' });
      setFaceConsent(db, id, 'self');
      insertTemplates(db, id, [sealed], new Date().toISOString());
    }
    allowLearning(db, 'zheng', 'self', 'test', new Date().toISOString());
    await backupJob({ config: jobsConfig(), dataDir, keyFile, db: () => db }).run(new Date('2026-12-02T01:00:00Z'));
    const copy = listCopies(path.join(dataDir, 'backups'))[0]!.file;
    // after the copy: wu withdraws consent (templates gone), zheng withdraws only the consent to learning
    deleteTemplatesAndConsent(db, 'wu');
    refuseLearning(db, 'zheng', 'test');
    closeLedger(db);
    const { withdrawals } = restoreCopy(copy, file, new Date(), { discardUnsent: true });
    expect(withdrawals).toEqual({ read: true, face: ['wu'], learning: ['zheng'] });
    const restored = openLedger(file);
    expect(countTemplates(restored, 'wu')).toBe(0);
    expect(countTemplates(restored, 'zheng')).toBe(1);
    expect(getVillager(restored, 'wu')?.faceConsentAt ?? null).toBeNull();
    expect(restored.prepare("SELECT count(*) AS n FROM face_learning_consent WHERE villager_id = 'zheng'").get()).toEqual({ n: 0 });
    closeLedger(restored);

    // a store PC installed afresh (villagers known, no consent given there, nothing withdrawn): the copy's consent and templates come back
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    const fresh = openLedger(file);
    for (const id of ['wu', 'zheng']) addVillager(fresh, { id, name: id, village: 'qianjin' });
    closeLedger(fresh);
    expect(restoreCopy(copy, file, new Date(Date.now() + 500), { discardUnsent: true }).withdrawals).toEqual({ read: true, face: [], learning: [] });
    const back = openLedger(file);
    expect([countTemplates(back, 'wu'), countTemplates(back, 'zheng')]).toEqual([1, 1]);
    closeLedger(back);

    // a copy taken by an older program (schema 8, before the pending templates of version 9):
    // the withdrawal is carried all the same (the copy is brought to the current schema first)
    const old = path.join(t.dir, 'store-consent-old.sqlite');
    const raw = new Database(old);
    for (const m of MIGRATIONS.filter((x) => x.version <= 8)) {
      raw.exec(m.sql);
      m.up?.(raw);
    }
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.pragma('user_version = 8');
    const at = new Date().toISOString();
    raw.prepare("INSERT INTO villagers (id, name, village, face_consent_at, face_consent_by, created_at, updated_at) VALUES ('wu', 'wu', 'qianjin', ?, 'self', ?, ?)").run(at, at, at);
    raw.prepare("INSERT INTO face_templates (villager_id, nonce, ciphertext, tag, quality, source, created_at) VALUES ('wu', ?, ?, ?, 0.9, 'camera', ?)").run(sealed.nonce, sealed.ciphertext, sealed.tag, at);
    raw.close();
    const withdrawn = openLedger(file);
    deleteTemplatesAndConsent(withdrawn, 'wu');
    closeLedger(withdrawn);
    expect(restoreCopy(old, file, new Date(Date.now() + 750), { discardUnsent: true }).withdrawals).toEqual({ read: true, face: ['wu'], learning: [] });
    const fromOld = openLedger(file);
    expect(countTemplates(fromOld, 'wu')).toBe(0);
    expect(getVillager(fromOld, 'wu')?.faceConsentAt ?? null).toBeNull();
    closeLedger(fromOld);

    // a replaced ledger that cannot be read carries nothing, and says so
    writeFileSync(file, 'not a database at all');
    const blind = restoreCopy(copy, file, new Date(Date.now() + 1000));
    expect(blind.withdrawals).toEqual({ read: false, face: [], learning: [] });
  });

  it('checks a copy on a worker thread with the same verdicts as on the calling thread', async () => {
    const dir = path.join(t.dir, 'verify');
    mkdirSync(dir, { recursive: true });
    const db = openLedger(path.join(dir, 'ledger.sqlite'));
    seed(db, 20);
    const good = await backupLedger(db, path.join(dir, 'copies'), new Date('2026-12-01T18:30:00Z'));
    closeLedger(db);
    expect(await verifyCopyOffThread(good.file)).toEqual(verifyCopy(good.file));
    // a copy with a page overwritten: both refuse it as corrupt
    const bad = path.join(dir, 'bad.sqlite');
    const bytes = readFileSync(good.file);
    bytes.fill(0xa5, 4096 * 2, 4096 * 3);
    writeFileSync(bad, bytes);
    await expect(verifyCopyOffThread(bad)).rejects.toMatchObject({ code: 'DB_CORRUPT' });
    expect(() => verifyCopy(bad)).toThrow(expect.objectContaining({ code: 'DB_CORRUPT' }));
    // not a ledger at all
    writeFileSync(path.join(dir, 'text.sqlite'), 'hello');
    await expect(verifyCopyOffThread(path.join(dir, 'text.sqlite'))).rejects.toMatchObject({ code: 'DB_CORRUPT' });
    await expect(verifyCopyOffThread(path.join(dir, 'missing.sqlite'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('copies on a worker while the store goes on writing: the copy is one consistent moment of the ledger', async () => {
    const dir = path.join(t.dir, 'busy');
    mkdirSync(dir, { recursive: true });
    const db = openLedger(path.join(dir, 'ledger.sqlite'));
    seed(db, 500);
    const entries = (d: Db): number => (d.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    const before = entries(db);
    const copying = backupLedger(db, path.join(dir, 'copies'), new Date('2026-12-01T18:30:00Z'));
    let done = false;
    let written = 0;
    void copying.finally(() => (done = true));
    // the door and the till write meanwhile, each write a transaction of its own
    while (!done) {
      applyEntry(db, { id: `busy-${written}`, villagerId: `V${written % 500}`, kind: 'award', points: 1, reason: '夜间奖励', origin: 'cli' }, { creditFloor: 0 });
      written++;
      await new Promise((r) => setImmediate(r));
    }
    const copy = await copying;
    const after = entries(db);
    expect(after).toBeGreaterThan(before); // the store did write during the copy
    closeLedger(db);
    const c = new Database(copy.file, { readonly: true });
    try {
      const n = (c.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
      expect(n).toBeGreaterThanOrEqual(before);
      expect(n).toBeLessThanOrEqual(after);
      // a moment, not a mixture: the outbox holds exactly the entries' rows of that moment
      const outbox = (c.prepare("SELECT count(*) AS n FROM outbox WHERE topic = 'entry'").get() as { n: number }).n;
      expect(outbox).toBe(n);
    } finally {
      c.close();
    }
  });

  it('a restore tells its progress: the check, the copy by bytes, the check of the result, to the end', async () => {
    const dir = path.join(t.dir, 'progress');
    mkdirSync(dir, { recursive: true });
    const db = openLedger(path.join(dir, 'ledger.sqlite'));
    seed(db, 300);
    const copy = await backupLedger(db, path.join(dir, 'copies'), new Date('2026-12-01T18:30:00Z'));
    closeLedger(db);
    const seen: Array<[number, number]> = [];
    restoreCopy(copy.file, path.join(dir, 'ledger.sqlite'), new Date('2026-12-02T08:00:00Z'), { progress: (done, total) => seen.push([done, total]) });
    const total = 3 * statSync(copy.file).size;
    expect(seen[0]).toEqual([0, total]);
    expect(seen[seen.length - 1]).toEqual([total, total]);
    expect(seen.every(([d, tot], i) => tot === total && (i === 0 || d >= seen[i - 1]![0]))).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    const restored = openLedger(path.join(dir, 'ledger.sqlite'));
    expect((restored.prepare('SELECT count(*) AS n FROM villagers').get() as { n: number }).n).toBe(300);
    closeLedger(restored);
  });

  it('keeps N days of copies and always the newest', async () => {
    const dataDir = path.join(t.dir, 'store-2');
    const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
    seed(db, 3);
    const config = { ...jobsConfig(), backup: { ...jobsConfig().backup, keep_days: 3 } };
    const job = backupJob({ config, dataDir, keyFile: path.join(dataDir, 'keys', 'none.key'), db: () => db });
    for (let day = 1; day <= 6; day++) await job.run(new Date(Date.UTC(2026, 11, day, 18, 30)));
    const names = listCopies(path.join(dataDir, 'backups')).map((c) => path.basename(c.file));
    expect(names).toEqual([1, 2, 3].map((i) => `ledger-${stamp(new Date(Date.UTC(2026, 11, 3 + i, 18, 30)))}.sqlite`));
    closeLedger(db);
  });
});

function seed2(db: Db): void {
  addVillager(db, { id: 'late', name: '晚到', village: 'qianjin' });
}

describe('the retention job', () => {
  it('deletes old door decisions and templates of villagers without consent or who left', () => {
    const dataDir = path.join(t.dir, 'store-3');
    const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
    const now = new Date('2026-12-01T19:15:00Z');
    const clockAt = (iso: string) => () => new Date(iso);
    for (const id of ['stays', 'withdrew', 'left-long-ago', 'left-yesterday']) {
      addVillager(db, { id, name: id, village: 'qianjin' });
      setFaceConsent(db, id, 'self');
      insertTemplates(db, id, [sealed], now.toISOString());
    }
    setFaceConsent(db, 'withdrew', null);
    setVillagerStatus(db, 'left-long-ago', 'left', clockAt('2026-10-01T00:00:00Z'));
    setVillagerStatus(db, 'left-yesterday', 'left', clockAt('2026-11-30T00:00:00Z'));
    insertEntryEvent(db, { at: '2026-01-01T00:00:00.000Z', decision: 'admitted', by: 'card', villagerId: 'stays', detail: {} });
    insertEntryEvent(db, { at: '2026-11-30T00:00:00.000Z', decision: 'admitted', by: 'card', villagerId: 'stays', detail: {} });
    // cleared alarms go after alarms.keep_days; active ones stay whatever their age
    raiseAlarm(db, { kind: 'scale_fault', subject: 'A1', severity: 'warning', detail: 'old' }, '2026-01-01T00:00:00.000Z');
    clearAlarm(db, 'scale_fault', 'A1', '2026-01-02T00:00:00.000Z', 'resolved');
    raiseAlarm(db, { kind: 'scale_fault', subject: 'A1', severity: 'warning', detail: 'recent' }, '2026-11-01T00:00:00.000Z');
    clearAlarm(db, 'scale_fault', 'A1', '2026-11-02T00:00:00.000Z', 'resolved');
    raiseAlarm(db, { kind: 'disk_low', subject: '/data', severity: 'warning', detail: 'still on' }, '2026-01-01T00:00:00.000Z');
    const summary = retentionJob({ config: jobsConfig(), dataDir, keyFile: '', db: () => db, alarmsKeepDays: 180 }).run(now) as string;
    expect(summary).toBe('deleted 1 door decisions, 1 templates without consent, 1 templates of villagers who left, 0 pending face templates expired or without consent, 1 cleared alarms');
    expect(recentAlarms(db, 10).map((a) => a.detail).sort()).toEqual(['recent', 'still on']);
    expect(['stays', 'withdrew', 'left-long-ago', 'left-yesterday'].map((id) => countTemplates(db, id))).toEqual([1, 0, 0, 1]);
    expect((db.prepare('SELECT count(*) AS n FROM entry_events').get() as { n: number }).n).toBe(1);
    closeLedger(db);
  });
});

describe('store-edge restore', () => {
  it('needs --yes, refuses while a daemon holds the folder, refuses a file that is not a ledger, then restores', async () => {
    const dataDir = path.join(t.dir, 'store-4');
    const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
    seed(db, 5);
    await backupJob({ config: jobsConfig(), dataDir, keyFile: '', db: () => db }).run(new Date('2026-12-01T18:30:00Z'));
    const before = dump(db);
    seed2(db);
    closeLedger(db);
    const copy = listCopies(path.join(dataDir, 'backups'))[0]!.file;

    const unconfirmed = await cli(dataDir, 'restore', copy);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('--yes');
    const missing = await cli(dataDir, 'restore', path.join(dataDir, 'nope.sqlite'), '--yes');
    expect(missing.code).toBe(2);
    const junk = path.join(dataDir, 'junk.sqlite');
    writeFileSync(junk, 'not a database at all, just words '.repeat(200));
    const notLedger = await cli(dataDir, 'restore', junk, '--yes');
    expect(notLedger.code, notLedger.stderr).toBe(2);

    const release = lockDataDir(dataDir);
    const locked = await cli(dataDir, 'restore', copy, '--yes');
    release();
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain('DATA_DIR_LOCKED');
    expect(locked.stderr).toContain(`pid ${process.pid}`);

    const ok = await cli(dataDir, 'restore', copy, '--yes', '--json', '--discard-unsent');
    expect(ok.code, ok.stderr).toBe(0);
    const out = JSON.parse(ok.stdout) as { kept: string[] };
    expect(out.kept.every((k) => existsSync(k))).toBe(true);
    const restored = openLedger(path.join(dataDir, 'ledger.sqlite'));
    expect(dump(restored)).toEqual(restoredFrom(before));
    closeLedger(restored);
  }, 120_000);

  it("refuses another store's copy (exit 2, bilingual) unless --other-store; a copy that records no store is restored with a warning", async () => {
    const dataDir = path.join(t.dir, 'store-a');
    const own = openLedger(path.join(dataDir, 'ledger.sqlite'));
    recordStore(own, { id: 'demo-store', village: 'demo-village' });
    closeLedger(own);
    const other = openLedger(path.join(t.dir, 'store-b', 'ledger.sqlite'));
    recordStore(other, { id: 'houjia-01', village: 'houjia' });
    addVillager(other, { id: 'HJ-777', name: '后家村李四', village: 'houjia' });
    const foreign = (await backupLedger(other, path.join(t.dir, 'store-b', 'backups'), new Date('2026-12-01T02:30:00Z'))).file;
    closeLedger(other);

    const refused = await cli(dataDir, 'restore', foreign, '--yes');
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('houjia-01');
    expect(refused.stderr).toContain('不是本门店 demo-store');
    expect(refused.stderr).toContain('--other-store');
    const still = openLedger(path.join(dataDir, 'ledger.sqlite'));
    expect(getVillager(still, 'HJ-777')).toBeUndefined();
    closeLedger(still);

    const forced = await cli(dataDir, 'restore', foreign, '--yes', '--other-store');
    expect(forced.code, forced.stderr).toBe(0);

    const old = openLedger(path.join(t.dir, 'store-c', 'ledger.sqlite'));
    const unrecorded = (await backupLedger(old, path.join(t.dir, 'store-c', 'backups'), new Date('2026-12-01T02:30:00Z'))).file;
    closeLedger(old);
    const warned = await cli(dataDir, 'restore', unrecorded, '--yes', '--discard-unsent');
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stdout).toContain('没有记录所属门店');
  }, 60_000);

  it('restoring into a folder without a ledger (a mistyped --data-dir) needs --fresh (a PC installed afresh)', async () => {
    const src = openLedger(path.join(t.dir, 'store-f', 'ledger.sqlite'));
    const copy = (await backupLedger(src, path.join(t.dir, 'store-f', 'backups'), new Date('2026-12-01T02:30:00Z'))).file;
    closeLedger(src);
    const typo = path.join(t.dir, 'store-f-typo');
    const refused = await cli(typo, 'restore', copy, '--yes');
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(path.join(typo, 'ledger.sqlite'));
    expect(existsSync(typo)).toBe(false);
    const fresh = await cli(typo, 'restore', copy, '--yes', '--fresh');
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(existsSync(path.join(typo, 'ledger.sqlite'))).toBe(true);
  }, 60_000);
});
