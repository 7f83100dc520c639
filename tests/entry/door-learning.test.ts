/**
 * Learning at the door on the running door (edge/entry/door-learning.ts): consent, the strict
 * rule, the daily cap, sealing, the audit, removal; the pipeline learning after a face match
 * and telling the gallery; `faces learning` from the command line.
 */
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { Recognition } from '../../models/protocol.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { DoorLearning } from '../../edge/entry/door-learning.ts';
import { EntryPipeline, type EntryDecision, type FaceRecogniser } from '../../edge/entry/pipeline.ts';
import { addTemplates, loadGallery, loadOrCreateTemplateKey, sealDescriptor } from '../../edge/entry/templates.ts';
import type { FrameVerdict } from '../../edge/entry/decision.ts';
import { allowLearning, countLearned, forgetLearned, insertLearned, learningConsentOf, refuseLearning, templateRowsOf } from '../../edge/ledger/face-learning.ts';
import { applyRetention } from '../../edge/ledger/retention.ts';
import { deleteTemplatesAndConsent } from '../../edge/ledger/face-templates.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { main } from '../../edge/cli/index.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { until } from '../drivers/helpers.ts';

function unit(base: number, toward = base, dist = 0): Float32Array {
  const d = new Float32Array(128);
  const angle = 2 * Math.asin(dist / 2);
  d[base] = Math.cos(angle);
  if (toward !== base) d[toward] = Math.sin(angle);
  return d;
}
const cand = (villagerId: string, distance: number, margin = 0.5): FrameVerdict => ({ kind: 'candidate', villagerId, distance, margin });

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

const NOON = Date.parse('2026-12-01T04:00:00Z'); // 12:00 in Asia/Shanghai

function setup(over: Record<string, unknown> = {}) {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  const key = loadOrCreateTemplateKey(path.join(l.dir, 'keys', 'face.key'));
  for (const [id, axis] of [['wang', 0], ['li', 10]] as const) {
    addVillager(l.db, { id, name: id, village: 'v' });
    setFaceConsent(l.db, id, 'self');
    addTemplates(l.db, key, id, [{ descriptor: unit(axis), quality: 0.3, source: `${id}.jpg` }], new Date(NOON - 86400_000).toISOString());
  }
  const config = resolveEntryConfig({ adapt: { enabled: true }, ...over });
  let now = NOON;
  const learning = new DoorLearning({ db: l.db, key, config, timeZone: 'Asia/Shanghai', now: () => now, logger: pino({ level: 'silent' }) });
  return { ...l, key, config, learning, setNow: (t: number) => { now = t; } };
}

describe('learning at the door', () => {
  it('needs the consent to learning, then keeps a confident frame sealed, audited, and in the gallery', () => {
    const s = setup();
    const frame = unit(0, 1, 0.15);
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], frame)).toEqual({ learned: false, why: 'no_learning_consent' });
    allowLearning(s.db, 'wang', 'self', 'cli', new Date(NOON).toISOString());
    const r = s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], frame);
    expect(r).toMatchObject({ learned: true, replaced: null });
    const rows = templateRowsOf(s.db, 'wang');
    expect(rows.map((x) => x.origin)).toEqual(['enrolled', 'learned']);
    // sealed: the descriptor's bytes are not in the row
    const plain = Buffer.from(frame.buffer);
    expect(rows[1]!.ciphertext.equals(plain)).toBe(false);
    expect(rows[1]!.ciphertext.includes(plain.subarray(0, 16))).toBe(false);
    const audit = listAudit(s.db, { limit: 5 }).find((a) => a.action === 'face.learn');
    expect(audit).toMatchObject({ actor: 'door', target: 'wang', after: { distance: 0.15, margin: 0.5 } });
    // the gallery the door loads holds it
    const g = loadGallery(s.db, s.key, s.config).find((e) => e.villagerId === 'wang');
    expect(g?.descriptors).toHaveLength(2);
  });

  it('refuses what is not confident, ambiguous, without liveness, beyond the anchor, or over the day', () => {
    const s = setup();
    allowLearning(s.db, 'wang', 'self', 'cli', new Date(NOON).toISOString());
    const f = unit(0, 1, 0.15);
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.27)], f)).toEqual({ learned: false, why: 'not_confident' });
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15, 0.12)], f)).toEqual({ learned: false, why: 'not_confident' });
    expect(s.learning.learn('wang', [{ kind: 'uncertain', villagerId: 'li', distance: 0.33, margin: 0 }, cand('wang', 0.15), cand('wang', 0.15)], f)).toEqual({ learned: false, why: 'ambiguous' });
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], null)).toEqual({ learned: false, why: 'no_descriptor' });
    const noLiveness = new DoorLearning({ db: s.db, key: s.key, config: resolveEntryConfig({ adapt: { enabled: true }, liveness: { enabled: false } }), now: () => NOON, logger: pino({ level: 'silent' }) });
    expect(noLiveness.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], f)).toEqual({ learned: false, why: 'liveness_off' });
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], unit(0, 1, 0.4))).toEqual({ learned: false, why: 'drift' });
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], f).learned).toBe(true);
    // one a day (the store's day, Asia/Shanghai): another novel frame the same evening is refused
    s.setNow(NOON + 9 * 3600_000); // 21:00
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], unit(0, 2, 0.15))).toEqual({ learned: false, why: 'daily_cap' });
    s.setNow(NOON + 13 * 3600_000); // 01:00 the next day
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], unit(0, 2, 0.15)).learned).toBe(true);
    // a frame no farther than min_novelty from one already kept adds nothing
    s.setNow(NOON + 48 * 3600_000);
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], unit(0, 2, 0.16))).toEqual({ learned: false, why: 'not_novel' });
    expect(countLearned(s.db, 'wang')).toBe(2);
  });

  it('keeps at most max_per_villager learned templates, replacing the most redundant to spread them', () => {
    const s = setup({ adapt: { enabled: true, max_per_villager: 2, max_per_day: 5 } });
    allowLearning(s.db, 'wang', 'self', 'cli', new Date(NOON).toISOString());
    const w = [cand('wang', 0.15), cand('wang', 0.15)];
    expect(s.learning.learn('wang', w, unit(0, 1, 0.15)).learned).toBe(true);
    expect(s.learning.learn('wang', w, unit(0, 1, 0.3)).learned).toBe(true);
    const r = s.learning.learn('wang', w, unit(0, 2, 0.2));
    expect(r).toMatchObject({ learned: true });
    expect(r.learned && r.replaced).toBeGreaterThan(0);
    expect(countLearned(s.db, 'wang')).toBe(2);
  });

  it('is removable: forget keeps the consent, refuse and withdrawing the face consent remove both', () => {
    const s = setup();
    allowLearning(s.db, 'wang', 'self', 'cli', new Date(NOON).toISOString());
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], unit(0, 1, 0.15)).learned).toBe(true);
    expect(forgetLearned(s.db, 'wang', 'cli')).toBe(1);
    expect(templateRowsOf(s.db, 'wang').map((r) => r.origin)).toEqual(['enrolled']);
    expect(learningConsentOf(s.db, 'wang')).not.toBeNull();
    s.setNow(NOON + 86400_000);
    expect(s.learning.learn('wang', [cand('wang', 0.15), cand('wang', 0.15)], unit(0, 1, 0.15)).learned).toBe(true);
    expect(refuseLearning(s.db, 'wang', 'cli')).toBe(1);
    expect(learningConsentOf(s.db, 'wang')).toBeNull();
    allowLearning(s.db, 'wang', 'self', 'cli', new Date(NOON).toISOString());
    deleteTemplatesAndConsent(s.db, 'wang');
    expect(learningConsentOf(s.db, 'wang')).toBeNull();
    expect(listAudit(s.db, { limit: 20 }).map((a) => a.action)).toEqual(expect.arrayContaining(['face.learning.allow', 'face.learning.forget', 'face.learning.refuse', 'face.learn']));
  });

  it('the retention job deletes learned templates left without a consent to learning (a crash between the two deletes)', () => {
    const s = setup();
    insertLearned(s.db, 'li', { ...sealDescriptor(s.key, 'li', unit(10, 11, 0.15)), quality: null, source: 'door' }, null, {});
    expect(applyRetention(s.db, { entryEventsDays: 30, leftVillagerTemplatesDays: 30 }, new Date(NOON))).toMatchObject({ templatesWithoutConsent: 1 });
    expect(templateRowsOf(s.db, 'li').map((r) => r.origin)).toEqual(['enrolled']);
  });
});

describe('the door learns after it opened by face', () => {
  const times = { detect: 1, landmarks: 1, descriptor: 1, liveness: 1, match: 0 };
  const face: NonNullable<Recognition['face']> = {
    box: { x: 0, y: 0, width: 100, height: 100 }, score: 0.9,
    quality: { faceSize: 100, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 }, rejected: null, liveness: { real: 0.9, live: 0.9 },
  };
  class Recogniser implements FaceRecogniser {
    seen = 0;
    added: Array<[string, number]> = [];
    constructor(private readonly distance: number) {}
    recognise(): Promise<Recognition> {
      this.seen++;
      return Promise.resolve({ faceCount: 1, face, match: { best: { villagerId: 'wang', distance: this.distance }, second: { villagerId: 'li', distance: 0.9 } }, times, descriptor: unit(0, 1, this.distance) });
    }
    replaceSealedGallery(): Promise<number> { return Promise.resolve(0); }
    addTemplates(v: string, d: Float32Array[]): Promise<number> { this.added.push([v, d.length]); return Promise.resolve(d.length); }
    removeVillager(): Promise<number> { return Promise.resolve(0); }
  }

  async function present(distance: number) {
    const s = setup();
    allowLearning(s.db, 'wang', 'self', 'cli', new Date(NOON).toISOString());
    const rec = new Recogniser(distance);
    const pipeline = new EntryPipeline({
      config: s.config, db: s.db, recogniser: rec, store: { isStoreBusy: () => false }, camera: null, lock: { unlock: () => Promise.resolve() },
      templateKey: s.key, qrPublicKey: null, logger: pino({ level: 'silent' }), learning: s.learning,
    });
    const decisions: EntryDecision[] = [];
    pipeline.on('decision', (d) => decisions.push(d));
    await pipeline.start();
    const frame = (): RgbFrame => ({ width: 1, height: 1, data: Uint8Array.of(1, 0, 0) });
    for (let i = 0; i < 2; i++) { pipeline.offer(frame()); await until(() => rec.seen === i + 1, 2000, 'frame'); }
    await until(() => decisions.length === 1, 2000, 'decision');
    await pipeline.stop();
    return { s, rec, decisions };
  }

  it('a confident match: the door opens, keeps the frame and tells the gallery', async () => {
    const { s, rec, decisions } = await present(0.15);
    expect(decisions[0]).toMatchObject({ decision: 'matched', villagerId: 'wang', unlocked: true });
    expect(countLearned(s.db, 'wang')).toBe(1);
    expect(rec.added).toEqual([['wang', 2]]);
  });

  it('a match under the door\'s threshold but not under the learning rule opens the door and teaches nothing', async () => {
    const { s, rec, decisions } = await present(0.203);
    expect(decisions[0]).toMatchObject({ decision: 'matched', unlocked: true });
    expect(countLearned(s.db, 'wang')).toBe(0);
    expect(rec.added).toEqual([]);
  });
});

describe('faces learning (command line)', () => {
  it('lists, allows, forgets and refuses, and refuses bad input with exit 2', async () => {
    const s = setup();
    const dataDir = s.dir;
    let out = '';
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((x: string | Uint8Array) => { out += String(x); return true; });
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((x: string | Uint8Array) => { err += String(x); return true; });
    const run = (...args: string[]) => main(['node', 'store-edge', 'faces', 'learning', '--data-dir', dataDir, ...args]);
    try {
      // the CLI opens the ledger itself
      closeLedger(s.db);
      expect(await run('--villager', 'wang', '--allow', '--json')).toBe(0);
      expect(JSON.parse(out.trim().split('\n').pop() as string)).toMatchObject({ villager: 'wang', enrolled: 1, learned: [], learning_consent: { by: 'self' } });
      expect(await run('--villager', 'wang', '--allow', '--refuse')).toBe(2);
      expect(err).toMatch(/at most one/);
      expect(err).toMatch(/只能选一个/);
      expect(await run('--villager', 'nobody')).toBe(2);
      // A guardian's consent is recorded as the consent to recognition is; a blank name is no consent.
      out = '';
      expect(await run('--villager', 'wang', '--allow', '--guardian', '王母', '--json')).toBe(0);
      expect(JSON.parse(out.trim().split('\n').pop() as string)).toMatchObject({ learning_consent: { by: 'guardian:王母' } });
      expect(await run('--villager', 'wang', '--allow', '--guardian', '  ')).toBe(2);
      expect(err).toMatch(/监护人姓名不能为空/);
      out = '';
      expect(await run('--villager', 'wang', '--refuse', '--json')).toBe(0);
      expect(JSON.parse(out.trim())).toMatchObject({ learning_consent: null });
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
    const db = openLedger(path.join(dataDir, 'ledger.sqlite'));
    expect(listAudit(db, { limit: 5 }).map((a) => a.action)).toEqual(['face.learning.refuse', 'face.learning.allow', 'face.learning.allow']);
    closeLedger(db);
  });
});
