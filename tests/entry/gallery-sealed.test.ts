/**
 * The whole gallery leaves the main thread sealed: the door's start (and reloadAll) and the
 * enrolment's look-alike check (FACE_COLLISION) read the rows and hand them to the inference
 * worker, which opens them (models/sealed.ts). Checked with the real worker: no template is
 * decrypted on the main thread, the worker's gallery holds what loadGallery opens, and an
 * altered row is still refused naming its villager.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type * as Crypto from 'node:crypto';
import { EngineClient } from '../../models/engine-client.ts';
import { openBatch } from '../../models/sealed.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { findCollision, inProcess, storeTemplates } from '../../edge/entry/enrol.ts';
import { EntryPipeline } from '../../edge/entry/pipeline.ts';
import { addTemplates, loadGallery, loadOrCreateTemplateKey, sealedGallery } from '../../edge/entry/templates.ts';
import { inTransaction } from '../../edge/ledger/db.ts';
import { consentedSealedJoined, consentedSealedJoinedInSlices } from '../../edge/ledger/face-templates.ts';
import type { FaceRecogniser } from '../../edge/entry/pipeline.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { SyntheticDescriptors } from '../../harness/synthetic-descriptors.ts';

/** AES-GCM opens on this thread (the worker loads its own node:crypto, not this mock). */
const opens = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof Crypto>();
  return { ...real, createDecipheriv: (...a: Parameters<typeof real.createDecipheriv>) => { opens.count++; return real.createDecipheriv(...a); } };
});

const VILLAGERS = 300;
const id = (i: number): string => `v${String(i).padStart(3, '0')}`;
const synthetic = new SyntheticDescriptors(11, 128);
const ledger = tempLedger();
const key = loadOrCreateTemplateKey(path.join(ledger.dir, 'keys', 'face-templates.key'));
const config = resolveEntryConfig({});
const anchors: Float32Array[] = [];
let rows = 0;
const engine = new EngineClient({ detector: 'tiny', detectorInputSize: 160, detectorMinScore: 0.5, liveness: false });

beforeAll(async () => {
  inTransaction(ledger.db, 'test gallery', () => {
    for (let i = 0; i < VILLAGERS; i++) {
      const a = synthetic.unit();
      anchors.push(a);
      addVillager(ledger.db, { id: id(i), name: id(i), village: 'v' });
      // every 50th has no consent on record: their templates stay out of every gallery
      if (i % 50 !== 7) setFaceConsent(ledger.db, id(i), 'self');
      const n = addTemplates(ledger.db, key, id(i), [a, ...Array.from({ length: 2 + (i % 4) }, () => synthetic.near(a, 0.1))].map((d) => ({ descriptor: d, quality: 0.3, source: 'enrol' })), '2026-12-01T00:00:00Z');
      if (i % 50 !== 7) rows += n;
    }
  });
  await engine.start();
}, 120_000);

afterAll(async () => {
  await engine.stop();
  ledger.cleanup();
});

describe('the sealed gallery', () => {
  it('opens to exactly what loadGallery opens, without the villagers who have not consented', () => {
    const batch = sealedGallery(ledger.db, config);
    expect(batch.owners).toHaveLength(rows);
    const opened = openBatch(key, batch);
    const loaded = loadGallery(ledger.db, key, config);
    expect([...opened.keys()].sort()).toEqual(loaded.map((e) => e.villagerId).sort());
    expect(opened.has(id(7))).toBe(false);
    for (const e of loaded) expect((opened.get(e.villagerId) ?? []).map((d) => Array.from(d))).toEqual(e.descriptors.map((d) => Array.from(d)));
  });

  it('the door\'s start and the collision check open no template on the main thread; the worker finds the look-alike', async () => {
    const pipeline = new EntryPipeline({
      config, db: ledger.db, recogniser: engine, lock: { unlock: () => Promise.resolve() }, store: { isStoreBusy: () => false },
      camera: null, templateKey: key, qrPublicKey: null, logger: pino({ level: 'silent' }),
    });
    opens.count = 0;
    await pipeline.start();
    await pipeline.reloadAll();
    await pipeline.stop();
    const lookAlike = [{ descriptor: synthetic.near(anchors[123] as Float32Array, 0.05), quality: 0.3, source: 'new.jpg' }];
    const stranger = [{ descriptor: synthetic.unit(), quality: 0.3, source: 'other.jpg' }];
    const viaWorker = await findCollision(ledger.db, key, 'newcomer', lookAlike, config, engine);
    expect(await findCollision(ledger.db, key, 'newcomer', stranger, config, engine)).toBeNull();
    expect(opens.count).toBe(0);
    expect(viaWorker).toMatchObject({ villagerId: id(123), source: 'new.jpg' });
    // the command line's path (this thread) decides the same, to the last digit
    expect(await findCollision(ledger.db, key, 'newcomer', lookAlike, config, inProcess)).toEqual(viaWorker);
    expect(opens.count).toBeGreaterThan(0);
    // a villager's own templates are no collision with their new ones
    expect(await findCollision(ledger.db, key, id(123), lookAlike, config, engine)).toBeNull();
    await expect(storeTemplates(ledger.db, key, config, 'newcomer', lookAlike, 'now', engine)).rejects.toMatchObject({ code: 'FACE_COLLISION', details: { villager: id(123) } });
  });

  it('the worker\'s gallery is the ledger\'s: as many rows as consented templates', async () => {
    expect(await engine.replaceSealedGallery(key, sealedGallery(ledger.db, config))).toBe(rows);
  });

  it('an altered row is refused, naming its villager, when the worker opens it', async () => {
    const pipeline = new EntryPipeline({
      config, db: ledger.db, recogniser: engine, lock: { unlock: () => Promise.resolve() }, store: { isStoreBusy: () => false },
      camera: null, templateKey: key, qrPublicKey: null, logger: pino({ level: 'silent' }),
    });
    const victim = ledger.db.prepare('SELECT id, ciphertext FROM face_templates WHERE villager_id = ? LIMIT 1').get(id(42)) as { id: number; ciphertext: Buffer };
    const altered = Buffer.from(victim.ciphertext);
    altered[5] = (altered[5] as number) ^ 1;
    ledger.db.prepare('UPDATE face_templates SET ciphertext = ? WHERE id = ?').run(altered, victim.id);
    try {
      await expect(pipeline.reloadAll()).rejects.toMatchObject({ code: 'FACE_TEMPLATE_UNREADABLE', details: { villager: id(42) }, zh: expect.stringContaining('无法解密') });
      await expect(findCollision(ledger.db, key, 'newcomer', [{ descriptor: synthetic.unit(), quality: 0.3, source: 'x.jpg' }], config, engine)).rejects.toMatchObject({ code: 'FACE_TEMPLATE_UNREADABLE', details: { villager: id(42) } });
    } finally {
      ledger.db.prepare('UPDATE face_templates SET ciphertext = ? WHERE id = ?').run(victim.ciphertext, victim.id);
    }
  });

  it('is read in slices of one snapshot: a removal committed between two slices is not half in it', async () => {
    const whole = consentedSealedJoined(ledger.db);
    const reading = consentedSealedJoinedInSlices(ledger.db, 100);
    // the first slice was read when the call began; this runs between two slices
    const removed = ledger.db.prepare('DELETE FROM face_templates WHERE villager_id = ?').run(id(250)).changes;
    expect(removed).toBeGreaterThan(0);
    const sliced = await reading;
    try {
      expect(sliced.map(([v, j]) => [v, Buffer.from(j).toString('hex')]).sort()).toEqual(whole.map(([v, j]) => [v, Buffer.from(j).toString('hex')]).sort());
      expect(consentedSealedJoined(ledger.db).length).toBe(whole.length - removed);
    } finally {
      // put them back for the other tests
      const rowsOf = whole.filter(([v]) => v === id(250));
      for (const [v, j] of rowsOf) ledger.db.prepare('INSERT INTO face_templates (villager_id, nonce, tag, ciphertext, quality, source, created_at) VALUES (?, ?, ?, ?, 0.3, ?, ?)').run(v, j.subarray(0, 12), j.subarray(12, 28), j.subarray(28), 'enrol', 'x');
    }
  });

  it('a villager reloaded while the whole gallery is read is reloaded again once it is in place', async () => {
    const ops: string[] = [];
    const recogniser: FaceRecogniser = {
      recognise: () => Promise.reject(new Error('no frame')),
      replaceSealedGallery: () => { ops.push('replace'); return Promise.resolve(0); },
      addTemplates: (v) => { ops.push(`add ${v}`); return Promise.resolve(0); },
      removeVillager: (v) => { ops.push(`remove ${v}`); return Promise.resolve(0); },
    };
    const pipeline = new EntryPipeline({
      config, db: ledger.db, recogniser, lock: { unlock: () => Promise.resolve() }, store: { isStoreBusy: () => false },
      camera: null, templateKey: key, qrPublicKey: null, logger: pino({ level: 'silent' }),
    });
    const all = pipeline.reloadAll();
    const one = pipeline.reloadVillager(id(5));
    await Promise.all([all, one]);
    const replace = ops.indexOf('replace');
    expect(replace).toBeGreaterThan(-1);
    expect(ops.slice(replace + 1)).toEqual([`remove ${id(5)}`, `add ${id(5)}`]);
  });
});
