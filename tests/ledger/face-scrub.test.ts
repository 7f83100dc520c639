/**
 * Deleted face data leaves no recoverable bytes: after a withdrawal (and every other deletion
 * of templates: retention of villagers who left, learning refused, a learned template
 * replaced), neither the ledger file nor its -wal holds the sealed template's nonce, tag or
 * ciphertext (the key beside them would open them). secure_delete zeroes the freed bytes; a
 * checkpoint (TRUNCATE) takes the old pages out of the WAL, later when a reader holds them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Db } from '../../edge/ledger/db.ts';
import { addVillager, setFaceConsent, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { addTemplates, sealDescriptor } from '../../edge/entry/templates.ts';
import { withdrawFaceData } from '../../edge/entry/face-photos.ts';
import { applyRetention } from '../../edge/ledger/retention.ts';
import { allowLearning, insertLearned, refuseLearning } from '../../edge/ledger/face-learning.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { onScrubGivenUp, scrubBeforeExit, type ScrubGivenUp } from '../../edge/ledger/face-scrub.ts';
import { tempLedger } from './helpers.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const key = randomBytes(32);
const entry = resolveEntryConfig({});
const descriptor = (): Float32Array => {
  const d = new Float32Array(128).map(() => Math.random() - 0.5);
  const n = Math.hypot(...d);
  return d.map((x) => x / n);
};

type Sealed = { nonce: Buffer; ciphertext: Buffer; tag: Buffer };
const rowsOf = (db: Db, id: string, origin?: string): Sealed[] =>
  db.prepare(`SELECT nonce, ciphertext, tag FROM face_templates WHERE villager_id = ?${origin ? ' AND origin = ?' : ''}`).all(...(origin ? [id, origin] : [id])) as Sealed[];

/** Which of the sealed parts of `rows` are still somewhere in the ledger file or its -wal. */
function stillOnDisk(file: string, rows: readonly Sealed[]): string[] {
  const files = [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => ({ f, bytes: readFileSync(f) }));
  const found: string[] = [];
  rows.forEach((r, i) => {
    for (const part of ['nonce', 'ciphertext', 'tag'] as const) {
      for (const { f, bytes } of files) if (bytes.includes(r[part])) found.push(`template ${i} ${part} in ${f.endsWith('-wal') ? '-wal' : 'db'}`);
    }
  });
  return found;
}

/** A ledger with `ids` enrolled (consent and 3 templates each), some rows checkpointed into the file and some only in the WAL. */
function enrolled(ids: readonly string[]) {
  const t = tempLedger();
  cleanup = t.cleanup;
  for (const id of ids) {
    addVillager(t.db, { id, name: id, village: '前进村' });
    setFaceConsent(t.db, id, 'self');
    addTemplates(t.db, key, id, [{ descriptor: descriptor(), quality: 0.9, source: 'a.jpg' }, { descriptor: descriptor(), quality: 0.9, source: 'b.jpg' }], new Date().toISOString());
  }
  t.db.pragma('wal_checkpoint(PASSIVE)');
  for (const id of ids) addTemplates(t.db, key, id, [{ descriptor: descriptor(), quality: 0.9, source: 'c.jpg' }], new Date().toISOString());
  return t;
}

describe('deleted face templates leave no bytes in the ledger file or its WAL', () => {
  it('withdrawal: the nonce, ciphertext and tag of each template are gone; another villager\'s stay', () => {
    const t = enrolled(['mama', 'other']);
    const mama = rowsOf(t.db, 'mama');
    const other = rowsOf(t.db, 'other');
    expect(mama).toHaveLength(3);
    expect(stillOnDisk(t.file, mama).length).toBeGreaterThan(0);
    expect(withdrawFaceData(t.db, t.dir, entry, 'mama').templates).toBe(3);
    expect(stillOnDisk(t.file, mama)).toEqual([]);
    // the search finds what is there: the other villager's templates are still on disk
    expect(stillOnDisk(t.file, other).length).toBeGreaterThanOrEqual(9);
  });

  it('retention of a villager who left, learning refused, a learned template replaced', () => {
    const t = enrolled(['gone', 'learner', 'replaced']);
    const gone = rowsOf(t.db, 'gone');
    setVillagerStatus(t.db, 'gone', 'left', () => new Date(Date.now() - 100 * 86_400_000));
    for (const id of ['learner', 'replaced']) allowLearning(t.db, id, 'self', 'cli', new Date().toISOString());
    insertLearned(t.db, 'learner', { ...sealDescriptor(key, 'learner', descriptor()), quality: null, source: 'door' }, null, {});
    const old = insertLearned(t.db, 'replaced', { ...sealDescriptor(key, 'replaced', descriptor()), quality: null, source: 'door' }, null, {});
    const learned = rowsOf(t.db, 'learner', 'learned');
    const replacedRow = rowsOf(t.db, 'replaced', 'learned');
    expect(learned).toHaveLength(1);

    expect(applyRetention(t.db, { entryEventsDays: 180, leftVillagerTemplatesDays: 30 }, new Date()).templatesOfLeft).toBe(3);
    expect(stillOnDisk(t.file, gone)).toEqual([]);
    expect(refuseLearning(t.db, 'learner', 'cli')).toBe(1);
    expect(stillOnDisk(t.file, learned)).toEqual([]);
    insertLearned(t.db, 'replaced', { ...sealDescriptor(key, 'replaced', descriptor()), quality: null, source: 'door' }, old, {});
    expect(stillOnDisk(t.file, replacedRow)).toEqual([]);
  });

  it('a reader holding the old pages: the withdrawal does not wait for it, and the WAL is emptied once it ends', async () => {
    const t = enrolled(['mama']);
    const mama = rowsOf(t.db, 'mama');
    const reader = new Database(t.file, { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM face_templates').get();
      const t0 = Date.now();
      withdrawFaceData(t.db, t.dir, entry, 'mama');
      // the busy timeout (5 s) is not waited out on the door's thread
      expect(Date.now() - t0).toBeLessThan(2000);
      // while the reader's snapshot needs them, the old pages stay in the WAL
      expect(stillOnDisk(t.file, mama).length).toBeGreaterThan(0);
      reader.exec('COMMIT');
    } finally {
      reader.close();
    }
    await vi.waitFor(() => expect(stillOnDisk(t.file, mama)).toEqual([]), { timeout: 20_000, interval: 50 });
  });

  it('a reader that keeps its snapshot: the retries are bounded, then one bilingual warning; the daily retention job empties the WAL', async () => {
    const t = enrolled(['mama']);
    const mama = rowsOf(t.db, 'mama');
    const warnings: Array<{ info: ScrubGivenUp; message: string }> = [];
    onScrubGivenUp(t.db, (info, message) => warnings.push({ info, message }), [10, 20, 40]);
    const reader = new Database(t.file, { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM face_templates').get();
      withdrawFaceData(t.db, t.dir, entry, 'mama');
      await vi.waitFor(() => expect(warnings).toHaveLength(1), { timeout: 20_000, interval: 20 });
      expect(warnings[0]!.info).toEqual({ file: t.file, retries: 3 });
      expect(warnings[0]!.message).toMatch(/deleted face data may still be in .*-wal/);
      expect(warnings[0]!.message).toContain('已删除的人脸数据');
      expect(stillOnDisk(t.file, mama).length).toBeGreaterThan(0);
      reader.exec('COMMIT');
    } finally {
      reader.close();
    }
    // no more retries once given up: nothing empties the WAL by itself
    expect(stillOnDisk(t.file, mama).length).toBeGreaterThan(0);
    expect(warnings).toHaveLength(1);
    applyRetention(t.db, { entryEventsDays: 180, leftVillagerTemplatesDays: 30 }, new Date());
    expect(stillOnDisk(t.file, mama)).toEqual([]);
  });

  it('a process about to exit: scrubBeforeExit tries a bounded number of times on its thread', () => {
    const t = enrolled(['mama']);
    const mama = rowsOf(t.db, 'mama');
    const reader = new Database(t.file, { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM face_templates').get();
      withdrawFaceData(t.db, t.dir, entry, 'mama');
      expect(scrubBeforeExit(t.db, 3, 10)).toBe(false);
      expect(stillOnDisk(t.file, mama).length).toBeGreaterThan(0);
      reader.exec('COMMIT');
    } finally {
      reader.close();
    }
    expect(scrubBeforeExit(t.db, 3, 10)).toBe(true);
    expect(stillOnDisk(t.file, mama)).toEqual([]);
  });
});
