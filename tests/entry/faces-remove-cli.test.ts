/**
 * `faces remove` is the withdrawal of consent at the store PC: the villager's templates, the
 * consent and the enrolment photos kept with entry.store_photos all go (photos kept while
 * store_photos was on go even when it is off now); another villager's photos stay.
 */
import { execFile } from 'node:child_process';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { countTemplates, faceConsentOf } from '../../edge/ledger/face-templates.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { addTemplates, loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { SyntheticDescriptors } from '../../harness/synthetic-descriptors.ts';
import { tempDir, tempLedger } from '../ledger/helpers.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('faces-remove-');
const data = path.join(t.dir, 'data');
afterAll(() => t.cleanup());

function run(config: object, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = path.join(t.dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', data, '--config', file], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Villagers with consent, a template each and kept photos under `photoDir`. */
function enrolled(photoDir: string, ids: string[]): void {
  mkdirSync(data, { recursive: true });
  const db = openLedger(path.join(data, 'ledger.sqlite'));
  try {
    const key = loadOrCreateTemplateKey(path.join(data, 'keys', 'face-templates.key'));
    const synthetic = new SyntheticDescriptors(4);
    for (const id of ids) {
      addVillager(db, { id, name: id, village: 'v' });
      setFaceConsent(db, id, 'self');
      addTemplates(db, key, id, [{ descriptor: synthetic.unit(), quality: null, source: 'a.jpg' }], new Date().toISOString());
      const dir = path.join(data, photoDir, id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, '2026-12-01T08-00-00-000Z-a.jpg'), 'jpeg');
      writeFileSync(path.join(dir, '2026-12-01T08-00-00-000Z-b.jpg'), 'jpeg');
    }
  } finally {
    closeLedger(db);
  }
}

const ledger = <T>(fn: (db: ReturnType<typeof openLedger>) => T): T => {
  const db = openLedger(path.join(data, 'ledger.sqlite'));
  try {
    return fn(db);
  } finally {
    closeLedger(db);
  }
};

describe('faces remove', () => {
  it('deletes the templates, the consent and the kept enrolment photos; another villager\'s stay', async () => {
    enrolled('kept', ['A', 'B']);
    // store_photos is off now: photos kept while it was on go all the same
    const r = await run({ entry: { photo_dir: 'kept' } }, 'faces', 'remove', '--villager', 'A', '--yes', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ villager: 'A', removed: 1, photos: 2 });
    expect(existsSync(path.join(data, 'kept', 'A'))).toBe(false);
    expect(readdirSync(path.join(data, 'kept', 'B'))).toHaveLength(2);
    ledger((db) => {
      expect(countTemplates(db, 'A')).toBe(0);
      expect(faceConsentOf(db, 'A')?.faceConsentAt).toBeNull();
      expect(countTemplates(db, 'B')).toBe(1);
    });
    // nothing kept: nothing to delete, not an error
    const again = await run({ entry: { photo_dir: 'kept' } }, 'faces', 'remove', '--villager', 'A', '--yes', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ removed: 0, photos: 0 });
  });

  it('withdraws the face data of a villager whose id is . or .. (ledgers from before such ids were refused)', async () => {
    enrolled('kept', ['dots']);
    ledger((db) => {
      for (const id of ['.', '..']) {
        db.prepare("INSERT INTO villagers (id, name, village, created_at, updated_at, status_changed_at, face_consent_at, face_consent_by) VALUES (?, ?, 'v', '2026-12-01', '2026-12-01', '2026-12-01', '2026-12-01', 'self')").run(id, id);
        addTemplates(db, loadOrCreateTemplateKey(path.join(data, 'keys', 'face-templates.key')), id, [{ descriptor: new SyntheticDescriptors(5).unit(), quality: null, source: 'a.jpg' }], new Date().toISOString());
      }
    });
    for (const id of ['.', '..']) {
      const r = await run({ entry: { photo_dir: 'kept' } }, 'faces', 'remove', '--villager', id, '--yes', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ villager: id, removed: 1, photos: 0 });
      ledger((db) => {
        expect(countTemplates(db, id)).toBe(0);
        expect(faceConsentOf(db, id)?.faceConsentAt).toBeNull();
      });
    }
    // the photo folder and everyone's photos in it are untouched
    expect(readdirSync(path.join(data, 'kept', 'dots'))).toHaveLength(2);
  });

  it('refuses . and .. as the id of a new villager (they cannot name a folder of photos), bilingual', () => {
    const l = tempLedger();
    try {
      for (const id of ['.', '..']) {
        expect(() => addVillager(l.db, { id, name: id, village: 'v' })).toThrow(/villager id "\.{1,2}" cannot be \. or \.\./);
        expect(() => addVillager(l.db, { id, name: id, village: 'v' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', zh: expect.stringContaining('村民编号') }));
      }
      expect(addVillager(l.db, { id: '.a.', name: 'a', village: 'v' }).id).toBe('.a.');
    } finally {
      l.cleanup();
    }
  });

  it('refuses a villager id that would lead out of the photo folder, bilingual, before deleting anything', async () => {
    // a ledger from before such ids were refused may hold one
    ledger((db) => db.prepare("INSERT INTO villagers (id, name, village, created_at, updated_at, status_changed_at, face_consent_at, face_consent_by) VALUES ('../kept', 'x', 'v', '2026-12-01', '2026-12-01', '2026-12-01', '2026-12-01', 'self')").run());
    const r = await run({ entry: { photo_dir: 'kept' } }, 'faces', 'remove', '--villager', '../kept', '--yes');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot name a folder');
    expect(r.stderr).toContain('照片文件夹');
    expect(readdirSync(path.join(data, 'kept', 'B'))).toHaveLength(2);
  });
  it('asks for --yes before deleting anything, bilingual, exit 2', async () => {
    enrolled('kept', ['C']);
    const r = await run({ entry: { photo_dir: 'kept' } }, 'faces', 'remove', '--villager', 'C');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(r.stderr).toContain('确认');
    expect(readdirSync(path.join(data, 'kept', 'C'))).toHaveLength(2);
    ledger((db) => {
      expect(countTemplates(db, 'C')).toBe(1);
      expect(faceConsentOf(db, 'C')?.faceConsentAt).not.toBeNull();
    });
  });

  it('refuses a villager the ledger does not have (a mistyped id), exit 2, naming it', async () => {
    enrolled('kept', ['D']);
    const r = await run({ entry: { photo_dir: 'kept' } }, 'faces', 'remove', '--villager', 'DX', '--yes');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DX');
    expect(r.stderr).toContain('未知村民');
  });

  it('is audited as the admin page\'s withdrawal is (face.withdraw, actor cli, what was there before)', async () => {
    enrolled('kept', ['E']);
    const r = await run({ entry: { photo_dir: 'kept' } }, 'faces', 'remove', '--villager', 'E', '--yes', '--json');
    expect(r.code, r.stderr).toBe(0);
    ledger((db) => {
      const rec = listAudit(db, { limit: 5 }).find((a) => a.action === 'face.withdraw' && a.target === 'E');
      expect(rec).toMatchObject({ actor: 'cli', before: { templates: 1, consent_at: expect.any(String) }, after: { consent_at: null, templates: 0, photos: 2 } });
    });
  });

  it('another process holding an older snapshot (the daemon): the WAL is tried a bounded number of times, then a bilingual note says who empties it', async () => {
    enrolled('kept', ['R']);
    const reader = new Database(path.join(data, 'ledger.sqlite'), { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM face_templates').get();
      const r = await run({ entry: { photo_dir: 'kept' } }, 'faces', 'remove', '--villager', 'R', '--yes', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ villager: 'R', removed: 1 });
      expect(r.stderr).toMatch(/-wal could not be emptied yet: .*daily retention job/);
      expect(r.stderr).toContain('暂未清空');
      reader.exec('COMMIT');
    } finally {
      reader.close();
    }
    // no reader: emptied before exit, nothing to tell
    enrolled('kept', ['S']);
    const r = await run({ entry: { photo_dir: 'kept' } }, 'faces', 'remove', '--villager', 'S', '--yes', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('could not be emptied');
  }, 60_000);
});

