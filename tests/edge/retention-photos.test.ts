/**
 * The retention of a villager who left takes all their face data, not only the templates: the
 * kept enrolment photos (data_dir/faces/photos/<id>/) and the consent go too, with an audit
 * row. Kept photos are private to the store's user (0600 in a 0700 folder).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { addVillager, getVillager, setFaceConsent, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { insertTemplates } from '../../edge/ledger/face-templates.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { retentionJob } from '../../edge/jobs/store-jobs.ts';
import { JobsConfigSchema, type JobsConfig } from '../../edge/jobs/config.ts';
import { keepEnrolmentPhoto } from '../../edge/entry/face-photos.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { tempLedger } from '../ledger/helpers.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const entry = resolveEntryConfig({});
const jobsConfig = (): JobsConfig => Value.Default(JobsConfigSchema, {}) as JobsConfig;
const sealed = { nonce: Buffer.alloc(12, 1), ciphertext: Buffer.alloc(512, 2), tag: Buffer.alloc(16, 3), quality: 0.9, source: 'camera' };
const mode = (p: string): number => statSync(p).mode & 0o777;

describe('retention of a villager who left', () => {
  it('deletes their kept photos and their consent with the templates, and audits it', () => {
    const t = tempLedger();
    cleanup = t.cleanup;
    const db = t.db;
    const now = new Date('2026-12-01T19:15:00Z');
    const src = path.join(t.dir, 'photo.jpg');
    writeFileSync(src, 'not really a jpeg', { mode: 0o644 });
    for (const id of ['gone', 'recent', 'stays']) {
      addVillager(db, { id, name: id, village: '前进村' });
      setFaceConsent(db, id, 'self');
      insertTemplates(db, id, [sealed], now.toISOString());
      keepEnrolmentPhoto(t.dir, entry, id, src, '2026-09-01T00:00:00.000Z');
    }
    setVillagerStatus(db, 'gone', 'left', () => new Date('2026-10-01T00:00:00Z'));
    setVillagerStatus(db, 'recent', 'left', () => new Date('2026-11-30T00:00:00Z'));
    const photos = (id: string) => path.join(t.dir, entry.photo_dir, id);

    const summary = retentionJob({ config: jobsConfig(), dataDir: t.dir, photoDir: entry.photo_dir, keyFile: '', db: () => db }).run(now) as string;
    expect(summary).toContain('1 templates of villagers who left');
    expect(summary).toContain('1 enrolment photos');
    expect(existsSync(photos('gone'))).toBe(false);
    expect(readdirSync(photos('recent'))).toHaveLength(1);
    expect(readdirSync(photos('stays'))).toHaveLength(1);
    expect(getVillager(db, 'gone')!.faceConsentAt).toBeNull();
    expect(getVillager(db, 'recent')!.faceConsentAt).not.toBeNull();
    const audit = listAudit(db, { limit: 10 }).filter((a) => a.target === 'gone');
    expect(audit.map((a) => a.action).sort()).toEqual(['face.retention', 'face.retention.photos']);
    expect(audit.find((a) => a.action === 'face.retention')).toMatchObject({ actor: 'system', before: { templates: 1 }, after: { consent_at: null, templates: 0 } });
    expect(audit.find((a) => a.action === 'face.retention.photos')).toMatchObject({ actor: 'system', before: { photos: 1 }, after: { photos: 0 } });
  });

  it('deletes photos left behind by an earlier run (a crash after the ledger) and of villagers without consent; folders it cannot place stay', async () => {
    const t = tempLedger();
    cleanup = t.cleanup;
    const db = t.db;
    addVillager(db, { id: 'withdrew', name: 'w', village: '前进村' });
    const stray = path.join(t.dir, entry.photo_dir, 'withdrew');
    const unknown = path.join(t.dir, entry.photo_dir, 'not-a-villager');
    for (const d of [stray, unknown]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'a.jpg'), 'x');
    }
    await retentionJob({ config: jobsConfig(), dataDir: t.dir, photoDir: entry.photo_dir, keyFile: '', db: () => db }).run(new Date());
    expect(existsSync(stray)).toBe(false);
    expect(existsSync(unknown)).toBe(true);
  });
});

describe('kept enrolment photos', () => {
  it('are created 0600 in a 0700 folder, whatever the mode of the photo they copy', () => {
    const t = tempLedger();
    cleanup = t.cleanup;
    const src = path.join(t.dir, 'photo.jpg');
    writeFileSync(src, 'x', { mode: 0o644 });
    keepEnrolmentPhoto(t.dir, entry, 'mama', src, '2026-09-01T00:00:00.000Z');
    const dir = path.join(t.dir, entry.photo_dir, 'mama');
    const [file] = readdirSync(dir);
    expect(mode(dir)).toBe(0o700);
    expect(mode(path.join(dir, file!))).toBe(0o600);
  });
});
