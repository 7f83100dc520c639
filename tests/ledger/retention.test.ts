/**
 * The face templates of a villager who left go `left_villager_templates_days` after they left,
 * whatever was written to their row since (an entry, a debt, the village ledger sending the row
 * again); a ledger of the version before keeps its villagers' last change as the moment.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import path from 'node:path';
import { APPLICATION_ID, closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { MIGRATIONS } from '../../edge/ledger/migrations/index.ts';
import { addVillager, setFaceConsent, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { applyRetention } from '../../edge/ledger/retention.ts';
import { allowLearning } from '../../edge/ledger/face-learning.ts';
import { insertPending } from '../../edge/ledger/face-pending.ts';
import { tempDir, tempLedger } from './helpers.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const DAY_MS = 86_400_000;
const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * DAY_MS);
const clock = (n: number) => () => day(n);
const rules = { creditFloor: 0 };
const keep = { entryEventsDays: 180, leftVillagerTemplatesDays: 30 };

describe('retention of the templates of villagers who left', () => {
  it('counts from the day the status became left, not from the last write to the row', () => {
    const t = tempLedger();
    cleanup = t.cleanup;
    const db = t.db;
    const withTemplate = (id: string) => {
      addVillager(db, { id, name: id, village: '前进村' }, clock(0));
      setFaceConsent(db, id, 'self', clock(0));
      db.prepare("INSERT INTO face_templates (villager_id, nonce, ciphertext, tag, created_at) VALUES (?, x'00', x'00', x'00', ?)").run(id, day(0).toISOString());
    };
    for (const id of ['entry', 'resent', 'again', 'later', 'viaLedger']) withTemplate(id);
    for (const id of ['entry', 'resent', 'again']) setVillagerStatus(db, id, 'left', clock(1));
    setVillagerStatus(db, 'later', 'left', clock(15));
    // day 20: an entry for one who left; day 25: the ledger sends a row again, the status set again
    applySnapshot(db, { villagers: [], entries: [{ id: 'late-1', villager: 'entry', kind: 'award', points: 1, created_at: day(20).toISOString() }] }, rules, clock(20));
    applySnapshot(db, { villagers: [{ id: 'resent', name: 'resent', village: '前进村', status: 'left' }, { id: 'viaLedger', name: 'viaLedger', village: '前进村', status: 'left' }], entries: [] }, rules, clock(25));
    setVillagerStatus(db, 'again', 'left', clock(25));

    const remaining = () => (db.prepare('SELECT villager_id FROM face_templates ORDER BY villager_id').pluck().all() as string[]);
    expect(applyRetention(db, keep, day(31))).toMatchObject({ templatesOfLeft: 3 });
    expect(remaining()).toEqual(['later', 'viaLedger']);
    expect(applyRetention(db, keep, day(45))).toMatchObject({ templatesOfLeft: 1 });
    expect(remaining()).toEqual(['viaLedger']);
    expect(applyRetention(db, keep, day(55))).toMatchObject({ templatesOfLeft: 1 });
    expect(remaining()).toEqual([]);
  });

  it('takes a departed villager\'s pending templates, thumbnails and consent to learning with the templates', () => {
    const t = tempLedger();
    cleanup = t.cleanup;
    const db = t.db;
    for (const id of ['gone', 'stays']) {
      addVillager(db, { id, name: id, village: '前进村' }, clock(0));
      setFaceConsent(db, id, 'self', clock(0));
      db.prepare("INSERT INTO face_templates (villager_id, nonce, ciphertext, tag, created_at) VALUES (?, x'00', x'00', x'00', ?)").run(id, day(0).toISOString());
      allowLearning(db, id, 'self', 'cli', day(0).toISOString());
      // a pending template with its thumbnail, open for a long time yet
      insertPending(db, id, { nonce: Buffer.from([0]), ciphertext: Buffer.from([0]), tag: Buffer.from([0]) }, { nonce: Buffer.from([1]), ciphertext: Buffer.from([1]), tag: Buffer.from([1]) },
        { distance: 0.3, enrolledDistance: 0.3, margin: 0.2, credential: 'card' }, day(1).toISOString(), day(400).toISOString());
    }
    setVillagerStatus(db, 'gone', 'left', clock(1));
    const left = (table: string) => db.prepare(`SELECT villager_id FROM ${table} ORDER BY villager_id`).pluck().all() as string[];
    applyRetention(db, keep, day(20));
    expect(left('face_pending_templates')).toEqual(['gone', 'stays']);
    expect(applyRetention(db, keep, day(31))).toMatchObject({ templatesOfLeft: 1, pendingTemplates: 1 });
    expect(left('face_templates')).toEqual(['stays']);
    expect(left('face_pending_templates')).toEqual(['stays']);
    expect(left('face_learning_consent')).toEqual(['stays']);
  });

  it('takes the last change of a row written before the column existed', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = path.join(t.dir, 'ledger.sqlite');
    const raw = new Database(file);
    const before = MIGRATIONS.filter((m) => m.version < 10);
    for (const m of before) {
      raw.exec(m.sql);
      m.up?.(raw);
    }
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.pragma(`user_version = ${before[before.length - 1]!.version}`);
    raw.prepare("INSERT INTO villagers (id, name, village, status, created_at, updated_at) VALUES ('old', 'old', '前进村', 'left', ?, ?)").run(day(0).toISOString(), day(3).toISOString());
    raw.close();
    const db = openLedger(file);
    expect(db.prepare("SELECT status_changed_at FROM villagers WHERE id = 'old'").pluck().get()).toBe(day(3).toISOString());
    closeLedger(db);
  });
});
