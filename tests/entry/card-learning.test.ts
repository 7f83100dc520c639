/**
 * Card-confirmed learning (edge/entry/card-adapt.ts, card-learning.ts, pending-review.ts): the
 * rule as a table; on the running door, an uncertain face completed by the villager's own card
 * leaves a pending template that takes no part in matching until a maintainer confirms it;
 * a stranger with a stolen card teaches the card's owner nothing; consent off, a late card,
 * the per-villager cap; expiry by the retention job; `faces learning --confirm/--reject`.
 */
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { Recognition } from '../../models/protocol.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { nearestOtherThan, pendingFrame, type WindowFrame } from '../../edge/entry/card-adapt.ts';
import { CardLearning } from '../../edge/entry/card-learning.ts';
import { confirmPendingTemplate, listPending, pendingThumbnail, rejectPendingTemplate } from '../../edge/entry/pending-review.ts';
import { EntryPipeline, type EntryDecision, type FaceRecogniser } from '../../edge/entry/pipeline.ts';
import { addTemplates, loadGallery, loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { issueQrToken } from '../../edge/entry/credentials.ts';
import type { FrameVerdict } from '../../edge/entry/decision.ts';
import { allowLearning, countLearned, refuseLearning } from '../../edge/ledger/face-learning.ts';
import { countPending } from '../../edge/ledger/face-pending.ts';
import { applyRetention } from '../../edge/ledger/retention.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { addCard } from '../../edge/ledger/credentials.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { isEdgeError } from '../../edge/errors.ts';
import { main } from '../../edge/cli/index.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { until } from '../drivers/helpers.ts';

/** A unit descriptor at distance `dist` from axis `base`, leaning toward axis `toward`. */
function unit(base: number, toward = base, dist = 0): Float32Array {
  const d = new Float32Array(128);
  const angle = 2 * Math.asin(dist / 2);
  d[base] = Math.cos(angle);
  if (toward !== base) d[toward] = Math.sin(angle);
  return d;
}
/** Halfway between two axes, nearer `a` by a little: the face of someone between two villagers. */
function between(a: number, b: number, lean: number): Float32Array {
  const d = new Float32Array(128);
  d[a] = Math.cos(Math.PI / 4 - lean);
  d[b] = Math.sin(Math.PI / 4 - lean);
  return d;
}
const unc = (villagerId: string, distance: number): FrameVerdict => ({ kind: 'uncertain', villagerId, distance, margin: 0.5 });

const RULE = { uncertain_threshold: 0.37, margin: 0.1, min_novelty: 0.08 };
const GALLERY = [
  { villagerId: 'wang', enrolled: [unit(0)], learned: [] },
  { villagerId: 'li', enrolled: [unit(10)], learned: [] },
];

describe('the card rule (which uncertain frame may be kept for the card\'s villager)', () => {
  const w = (...ds: Array<Float32Array | null>): WindowFrame[] => ds.map((descriptor) => ({ verdict: unc('wang', 0.33), descriptor }));
  it.each([
    ['the villager\'s own face, between the thresholds: the frame nearest them', w(unit(0, 1, 0.35), unit(0, 1, 0.32), unit(0, 2, 0.34)), 'wang', { index: 1 }],
    ['a stranger nearer another villager, with wang\'s card: nothing', w(unit(0, 1, 0.33), unit(10, 1, 0.3)), 'wang', { refused: 'nearer_other' }],
    ['the same window with li\'s card is refused too (wang\'s frame is nearer wang)', w(unit(0, 1, 0.33), unit(10, 1, 0.3)), 'li', { refused: 'nearer_other' }],
    ['beyond the loose threshold of the enrolment', w(unit(0, 1, 0.45), unit(0, 2, 0.5)), 'wang', { refused: 'beyond_loose' }],
    ['a face between two villagers, not clear of the other by the margin', w(between(0, 10, 0.03)), 'wang', { refused: 'ambiguous' }],
    ['a frame the villager already has', w(unit(0, 1, 0.05)), 'wang', { refused: 'not_novel' }],
    ['no descriptor at all', w(null, null), 'wang', { refused: 'no_descriptor' }],
    ['a card of someone never enrolled', w(unit(0, 1, 0.33)), 'zhao', { refused: 'not_enrolled' }],
  ])('%s', (_name, window, villager, expected) => {
    expect(pendingFrame(window, villager, GALLERY, RULE)).toMatchObject(expected);
  });

  it.each([
    ['the card\'s villager is the best hit: the runner-up', { best: { villagerId: 'wang', distance: 0.3 }, second: { villagerId: 'li', distance: 0.5 } }, 0.5],
    ['another villager is the best hit: that one', { best: { villagerId: 'li', distance: 0.28 }, second: { villagerId: 'wang', distance: 0.33 } }, 0.28],
    ['the card\'s villager alone in the gallery: nobody else', { best: { villagerId: 'wang', distance: 0.3 }, second: null }, Infinity],
    ['an empty gallery', { best: null, second: null }, Infinity],
  ])('the nearest other villager read off the top-2: %s', (_name, top, expected) => {
    expect(nearestOtherThan(top, 'wang')).toBe(expected);
  });

  it('refuses a window with a frame judged a spoof', () => {
    const window: WindowFrame[] = [{ verdict: { kind: 'spoof', real: 0.1, live: 0.1 }, descriptor: null }, { verdict: unc('wang', 0.33), descriptor: unit(0, 1, 0.33) }];
    expect(pendingFrame(window, 'wang', GALLERY, RULE)).toEqual({ refused: 'spoof_in_window' });
  });
});

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });
const NOON = Date.parse('2026-12-01T04:00:00Z');
const times = { detect: 1, landmarks: 1, descriptor: 1, liveness: 1, match: 0 };
const FACE: NonNullable<Recognition['face']> = {
  box: { x: 8, y: 8, width: 32, height: 32 }, score: 0.9,
  quality: { faceSize: 32, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 }, rejected: null, liveness: { real: 0.9, live: 0.9 },
};

/** The engine as the door sees it: each frame shows `face`, matched against the gallery the ledger holds now. */
class Recogniser implements FaceRecogniser {
  seen = 0;
  added: string[] = [];
  /** null: nobody in front of the camera. */
  face: Float32Array | null = unit(0, 1, 0.33);
  constructor(private readonly gallery: () => Array<{ villagerId: string; descriptors: Float32Array[] }>) {}
  recognise(): Promise<Recognition> {
    this.seen++;
    const face = this.face;
    if (!face) return Promise.resolve({ faceCount: 0, face: null, match: null, times });
    const dist = (d: Float32Array) => Math.hypot(...d.map((x, i) => x - (face[i] as number)));
    const ranked = this.gallery().map((g) => ({ villagerId: g.villagerId, distance: Math.min(...g.descriptors.map(dist)) })).sort((a, b) => a.distance - b.distance);
    return Promise.resolve({ faceCount: 1, face: FACE, match: { best: ranked[0] ?? null, second: ranked[1] ?? null }, times, descriptor: face });
  }
  replaceSealedGallery(): Promise<number> { return Promise.resolve(0); }
  addTemplates(v: string): Promise<number> { this.added.push(v); return Promise.resolve(1); }
  removeVillager(): Promise<number> { return Promise.resolve(0); }
}

function setup(over: Record<string, unknown> = {}) {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  const key = loadOrCreateTemplateKey(path.join(l.dir, 'keys', 'face-templates.key'));
  for (const [id, axis] of [['wang', 0], ['li', 10]] as const) {
    addVillager(l.db, { id, name: id, village: 'v' });
    setFaceConsent(l.db, id, 'self');
    addTemplates(l.db, key, id, [{ descriptor: unit(axis), quality: 0.3, source: `${id}.jpg` }], new Date(NOON - 86400_000).toISOString());
    allowLearning(l.db, id, 'self', 'cli', new Date(NOON).toISOString());
  }
  addCard(l.db, 'PB-0000-WANG', 'wang', 'now');
  addCard(l.db, 'PB-0000-LIII', 'li', 'now');
  const config = resolveEntryConfig({ adapt: { card: { enabled: true }, ...((over.adapt as object | undefined) ?? {}) }, ...Object.fromEntries(Object.entries(over).filter(([k]) => k !== 'adapt')) });
  let now = NOON;
  const clock = () => now;
  const cardLearning = new CardLearning({ db: l.db, key, config, now: clock });
  const rec = new Recogniser(() => loadGallery(l.db, key, config));
  const qr = generateKeyPairSync('ed25519');
  const pipeline = new EntryPipeline({
    config, db: l.db, recogniser: rec, store: { isStoreBusy: () => false }, camera: null, lock: { unlock: () => Promise.resolve() },
    templateKey: key, qrPublicKey: qr.publicKey, logger: pino({ level: 'silent' }), cardLearning, now: clock,
  });
  const decisions: EntryDecision[] = [];
  pipeline.on('decision', (d) => decisions.push(d));
  cleanups.push(() => void pipeline.stop());
  const frame = (): RgbFrame => ({ width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).map((_, i) => (i * 7) % 251) });
  /** A person at the door showing `face` until the door decides; resolves with that decision. */
  async function showFace(face: Float32Array): Promise<EntryDecision> {
    rec.face = face;
    const before = decisions.length;
    while (decisions.length === before) {
      const seen = rec.seen;
      pipeline.offer(frame());
      await until(() => rec.seen > seen, 5000, `frame analysed (${rec.seen} seen, ${JSON.stringify(pipeline.stats)}, decisions ${JSON.stringify(decisions.map((d) => d.decision))})`);
    }
    return decisions[before] as EntryDecision;
  }
  /** `count` frames of `face` (null: nobody), each analysed before the next, whatever the door decides. */
  async function frames(face: Float32Array | null, count: number): Promise<void> {
    rec.face = face;
    for (let i = 0; i < count; i++) {
      const seen = rec.seen;
      pipeline.offer(frame());
      await until(() => rec.seen > seen && pipeline.stats.analysed === pipeline.stats.frames, 5000, 'frame analysed');
    }
  }
  const qrCode = (villagerId: string) => issueQrToken(qr.privateKey, villagerId, 60, now, 'v');
  return { ...l, key, config, cardLearning, pipeline, rec, decisions, showFace, frames, qrCode, setNow: (t: number) => { now = t; } };
}

describe('card-confirmed learning at the door', () => {
  it('uncertain face + own card → pending (not matched with), confirmed → a learned template the door matches with', async () => {
    const s = setup();
    await s.pipeline.start();
    const face = unit(0, 1, 0.33);
    expect(await s.showFace(face)).toMatchObject({ decision: 'uncertain', unlocked: false });
    expect(await s.pipeline.presentCode('PB-0000-WANG')).toMatchObject({ decision: 'matched', by: 'card', villagerId: 'wang', unlocked: true });
    const pending = listPending(s.db, 'wang', new Date(NOON));
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ credential: 'card', distance: 0.33, enrolled_distance: 0.33, thumbnail: true });
    expect(listAudit(s.db, { limit: 1 })[0]).toMatchObject({ action: 'face.learn.pending', actor: 'door', target: 'wang' });
    // a thumbnail of the face, sealed at rest, opened for the maintainer
    const jpeg = pendingThumbnail(s.db, s.key, 'wang', pending[0]!.id, new Date(NOON));
    expect(jpeg?.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    // pending: the door still does not know the face
    expect(loadGallery(s.db, s.key, s.config).find((g) => g.villagerId === 'wang')?.descriptors).toHaveLength(1);
    s.setNow(NOON + 3600_000);
    expect(await s.showFace(face)).toMatchObject({ decision: 'uncertain' });
    // the maintainer confirms: the same face now opens the door
    const r = await confirmPendingTemplate(s.db, s.key, s.config, 'wang', pending[0]!.id, 'maintainer', new Date(NOON + 3600_000));
    expect(r.replaced).toBeNull();
    expect(countLearned(s.db, 'wang')).toBe(1);
    expect(countPending(s.db, new Date(NOON).toISOString(), 'wang')).toBe(0);
    expect(listAudit(s.db, { limit: 1 })[0]).toMatchObject({ action: 'face.learn.confirm', actor: 'maintainer', target: 'wang' });
    s.setNow(NOON + 7200_000);
    expect(await s.showFace(unit(0, 1, 0.34))).toMatchObject({ decision: 'matched', by: 'face', villagerId: 'wang', unlocked: true });
  });

  it('the uncertain window is the visit\'s only until the face window resets and another face comes: a card then keeps nothing of it', async () => {
    const s = setup();
    await s.pipeline.start();
    // someone near wang, uncertain; they walk off (the face window resets: face_gone_frames without a face)
    expect(await s.showFace(unit(0, 1, 0.33))).toMatchObject({ decision: 'uncertain' });
    await s.frames(null, s.config.match.face_gone_frames);
    // another person steps up (one frame: no decision yet) and wang's card opens the door
    await s.frames(unit(0, 2, 0.36), 1);
    expect(s.decisions).toHaveLength(1);
    expect(await s.pipeline.presentCode('PB-0000-WANG')).toMatchObject({ villagerId: 'wang', unlocked: true });
    expect(countPending(s.db, new Date(NOON).toISOString())).toBe(0);
    // the person who was uncertain steps off the camera to the card reader, nobody else comes: kept
    s.setNow(NOON + 60_000);
    expect(await s.showFace(unit(0, 1, 0.33))).toMatchObject({ decision: 'uncertain' });
    await s.frames(null, s.config.match.face_gone_frames);
    await s.pipeline.presentCode('PB-0000-WANG');
    expect(countPending(s.db, new Date(NOON).toISOString())).toBe(1);
  });

  it('the villager\'s QR code completes the visit as a card does', async () => {
    const s = setup();
    await s.pipeline.start();
    await s.showFace(unit(0, 1, 0.33));
    expect(await s.pipeline.presentCode(s.qrCode('wang'))).toMatchObject({ by: 'qr', villagerId: 'wang', unlocked: true });
    expect(listPending(s.db, 'wang', new Date(NOON))).toMatchObject([{ credential: 'qr' }]);
  });

  it('a stranger with a stolen card: nothing is kept for the card\'s owner', async () => {
    const s = setup();
    await s.pipeline.start();
    // nearer li than wang, and uncertain (li at 0.33): wang's card completes the visit
    expect(await s.showFace(unit(10, 1, 0.33))).toMatchObject({ decision: 'uncertain' });
    expect(await s.pipeline.presentCode('PB-0000-WANG')).toMatchObject({ villagerId: 'wang', unlocked: true });
    expect(countPending(s.db, new Date(NOON).toISOString())).toBe(0);
    // another stranger, uncertain toward li only and far beyond wang's enrolment, wang's card again
    s.setNow(NOON + 3600_000);
    expect(await s.showFace(unit(10, 0, 0.34))).toMatchObject({ decision: 'uncertain' });
    await s.pipeline.presentCode('PB-0000-WANG');
    expect(countPending(s.db, new Date(NOON).toISOString())).toBe(0);
    expect(listAudit(s.db, { limit: 20 }).some((a) => a.action === 'face.learn.pending')).toBe(false);
  });

  it('nothing without the consent to learning, for a card long after the face, or over max_pending', async () => {
    const s = setup({ adapt: { card: { enabled: true, max_pending: 1, within_s: 60 } } });
    await s.pipeline.start();
    refuseLearning(s.db, 'wang', 'cli');
    await s.showFace(unit(0, 1, 0.33));
    await s.pipeline.presentCode('PB-0000-WANG');
    expect(countPending(s.db, new Date(NOON).toISOString())).toBe(0);
    allowLearning(s.db, 'wang', 'self', 'cli', new Date(NOON).toISOString());
    // the card 61 s after the uncertain face is another visit (each visit after the door's cooldown)
    s.setNow(NOON + 60_000);
    await s.showFace(unit(0, 1, 0.33));
    s.setNow(NOON + 121_000);
    await s.pipeline.presentCode('PB-0000-WANG');
    expect(countPending(s.db, new Date(NOON).toISOString())).toBe(0);
    s.setNow(NOON + 3600_000);
    await s.showFace(unit(0, 1, 0.33));
    await s.pipeline.presentCode('PB-0000-WANG');
    s.setNow(NOON + 7200_000);
    await s.showFace(unit(0, 2, 0.33));
    await s.pipeline.presentCode('PB-0000-WANG');
    expect(countPending(s.db, new Date(NOON + 7200_000).toISOString(), 'wang')).toBe(1);
  });

  it('pending templates expire with the retention job (audited) and can no longer be confirmed; a rejected one is gone', async () => {
    const s = setup({ adapt: { card: { enabled: true, expire_days: 3 } } });
    await s.pipeline.start();
    await s.showFace(unit(0, 1, 0.33));
    await s.pipeline.presentCode('PB-0000-WANG');
    const [p] = listPending(s.db, 'wang', new Date(NOON));
    expect(p).toBeDefined();
    const later = new Date(NOON + 3 * 86400_000 + 1);
    await expect(confirmPendingTemplate(s.db, s.key, s.config, 'wang', p!.id, 'maintainer', later)).rejects.toThrow(/expired/);
    expect(applyRetention(s.db, { entryEventsDays: 30, leftVillagerTemplatesDays: 30 }, later)).toMatchObject({ pendingTemplates: 1 });
    expect(listAudit(s.db, { limit: 1 })[0]).toMatchObject({ action: 'face.learn.expire', actor: 'system', target: 'wang' });
    expect(countLearned(s.db, 'wang')).toBe(0);
    // another visit, rejected by the maintainer
    s.setNow(later.getTime());
    await s.showFace(unit(0, 2, 0.33));
    await s.pipeline.presentCode('PB-0000-WANG');
    const [q] = listPending(s.db, 'wang', later);
    rejectPendingTemplate(s.db, 'wang', q!.id, 'maintainer', later);
    expect(listAudit(s.db, { limit: 1 })[0]).toMatchObject({ action: 'face.learn.reject', actor: 'maintainer' });
    let err: unknown;
    try { await confirmPendingTemplate(s.db, s.key, s.config, 'wang', q!.id, 'maintainer', later); } catch (e) { err = e; }
    expect(isEdgeError(err, 'NOT_FOUND')).toBe(true);
  });

  it('confirming is refused once the villager withdrew the consent to learning', async () => {
    const s = setup();
    await s.pipeline.start();
    await s.showFace(unit(0, 1, 0.33));
    await s.pipeline.presentCode('PB-0000-WANG');
    const [p] = listPending(s.db, 'wang', new Date(NOON));
    // withdrawing deletes what is pending with what was learned
    refuseLearning(s.db, 'wang', 'cli');
    expect(countPending(s.db, new Date(NOON).toISOString(), 'wang')).toBe(0);
    await expect(confirmPendingTemplate(s.db, s.key, s.config, 'wang', p!.id, 'maintainer', new Date(NOON))).rejects.toThrow(/no pending face template/);
  });
});

describe('card-confirmed learning without the recogniser\'s top-2', () => {
  it('a frame whose descriptor was never searched against the gallery cannot be weighed: the window teaches nothing', async () => {
    const s = setup();
    const verdict = unc('wang', 0.33);
    s.cardLearning.frame({ verdict, descriptor: unit(0, 1, 0.33), nearest: { best: { villagerId: 'wang', distance: 0.33 }, second: { villagerId: 'li', distance: 1.4 } }, crop: null });
    s.cardLearning.frame({ verdict, descriptor: unit(0, 2, 0.34), nearest: null, crop: null });
    s.cardLearning.decided('uncertain');
    expect(await s.cardLearning.admitted('wang', 'card')).toEqual({ kept: false, why: 'nearer_other' });
    // the same window with both frames searched leaves a pending template
    s.cardLearning.frame({ verdict, descriptor: unit(0, 1, 0.33), nearest: { best: { villagerId: 'wang', distance: 0.33 }, second: { villagerId: 'li', distance: 1.4 } }, crop: null });
    s.cardLearning.frame({ verdict, descriptor: unit(0, 2, 0.34), nearest: { best: { villagerId: 'wang', distance: 0.34 }, second: { villagerId: 'li', distance: 1.4 } }, crop: null });
    s.cardLearning.decided('uncertain');
    expect(await s.cardLearning.admitted('wang', 'card')).toMatchObject({ kept: true, distance: expect.closeTo(0.33, 5) });
  });
});

describe('faces learning --confirm / --reject (command line)', () => {
  it('lists pending templates, confirms one, refuses bad input with exit 2', async () => {
    const s = setup();
    await s.pipeline.start();
    await s.showFace(unit(0, 1, 0.33));
    await s.pipeline.presentCode('PB-0000-WANG');
    s.setNow(NOON + 3600_000);
    await s.showFace(unit(0, 2, 0.33));
    await s.pipeline.presentCode('PB-0000-WANG');
    await s.pipeline.stop();
    closeLedger(s.db);
    let out = '';
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((x: string | Uint8Array) => { out += String(x); return true; });
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((x: string | Uint8Array) => { err += String(x); return true; });
    const run = (...args: string[]) => main(['node', 'store-edge', 'faces', 'learning', '--data-dir', s.dir, '--villager', 'wang', ...args]);
    try {
      expect(await run('--json')).toBe(0);
      const listed = JSON.parse(out.trim()) as { pending: Array<{ id: number }> };
      expect(listed.pending).toHaveLength(2);
      const [a, b] = listed.pending as [{ id: number }, { id: number }];
      expect(await run('--confirm', 'x')).toBe(2);
      expect(await run('--confirm', String(a.id), '--reject', String(b.id))).toBe(2);
      expect(err).toMatch(/只能选一个/);
      expect(await run('--confirm', '9999')).toBe(2);
      expect(err).toMatch(/no pending face template 9999/);
      out = '';
      err = '';
      const code = await run('--confirm', String(a.id), '--json');
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(JSON.parse(out.trim())).toMatchObject({ learned: [{}], pending: [{ id: b.id }] });
      out = '';
      expect(await run('--reject', String(b.id), '--json')).toBe(0);
      expect(JSON.parse(out.trim())).toMatchObject({ pending: [] });
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
    const db = openLedger(path.join(s.dir, 'ledger.sqlite'));
    expect(listAudit(db, { limit: 2 }).map((x) => [x.action, x.actor])).toEqual([['face.learn.reject', 'cli'], ['face.learn.confirm', 'cli']]);
    closeLedger(db);
  });
});
