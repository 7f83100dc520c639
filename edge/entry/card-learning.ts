/**
 * Card-confirmed learning on the running door (`entry.adapt.card`): when the door said
 * `uncertain` and, within `within_s`, the same visit was completed with a villager's own card
 * or QR code, the frame of that uncertain window nearest the villager may be kept as a
 * *pending* template (edge/entry/card-adapt.ts has the rule, shared with `faces evaluate
 * --adapt`). A pending template takes no part in matching: a maintainer confirms or rejects it
 * (edge/entry/pending-review.ts), and it expires after `expire_days`.
 *
 * The pipeline hands every analysed frame here (`frame`) and says how each window ended
 * (`decided`); the card/QR path (code-entry.ts) says which card or QR code then opened the
 * door (`admitted`). Only with the villager's consent to learning, with liveness on, at most
 * `max_pending` per villager.
 *
 * The rule weighs each frame against every other villager. That comparison was made already,
 * where the gallery lives decrypted (the inference worker's 1:N search): each held frame keeps
 * its top-2 by identity, which names the nearest villager other than the card's. Only the card's
 * villager's own templates are opened here, so a card costs the main thread (shared with the
 * scales and the lock) the same in a store of ten villagers or ten thousand.
 */
import sharp from 'sharp';
import type { Db } from '../ledger/db.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { Box } from '../../models/quality.ts';
import { learningConsentOf, templateRowsOf } from '../ledger/face-learning.ts';
import { countPending, insertPending } from '../ledger/face-pending.ts';
import { choosePending, nearestOtherThan, type CardLearnRefusal, type OwnFaces, type TopTwo } from './card-adapt.ts';
import type { EntryConfig } from './config.ts';
import type { FaceOutcome, FrameVerdict } from './decision.ts';
import { checkRecognizer, openDescriptor, sealBytes, sealDescriptor } from './templates.ts';

/**
 * One analysed frame as kept for a possible card: its verdict, descriptor, the recogniser's
 * top-2 by identity for it (null when it was not searched) and a small crop of the face.
 */
export interface HeldFrame { verdict: FrameVerdict; descriptor: Float32Array | null; nearest: TopTwo | null; crop: RgbFrame | null }

export type CardLearnResult =
  | { kept: true; pending: number; distance: number; margin: number; enrolledDistance: number }
  | { kept: false; why: CardLearnRefusal | 'no_uncertain_visit' | 'liveness_off' | 'no_learning_consent' | 'pending_full' };

export interface CardLearningDeps {
  db: Db;
  key: Buffer;
  config: EntryConfig;
  now: () => number;
}

/** Side of the thumbnail shown to the maintainer, px. */
export const THUMB_SIZE = 112;
/** Width the pipeline shrinks a frame to before it goes to the engine (the crop comes from it). */
const SMALL_WIDTH = 320;

export class CardLearning {
  /** The face window's frames as stepWindow keeps them: frames with a face, since the window last reset. */
  private recent: HeldFrame[] = [];
  private held: { frames: HeldFrame[]; at: number } | null = null;
  /** Consecutive frames without a face (the face window resets at `match.face_gone_frames`). */
  private noFaceRun = 0;
  /** The face window reset after the held window was decided: the next face is another visit's. */
  private heldFaceGone = false;

  constructor(private readonly deps: CardLearningDeps) {}

  /**
   * Every analysed frame, in order. Kept as the door's face window keeps them (decision.ts
   * stepWindow): a frame without a face is not one of the window's; a run of
   * `face_gone_frames` of them resets it. The held window of an uncertain visit outlives its
   * face leaving the camera (the villager turns to the card reader), but not another face
   * coming after that: whoever stands there now is not who the window saw.
   */
  frame(f: HeldFrame): void {
    if (f.verdict.kind === 'no_face') {
      if (++this.noFaceRun >= this.deps.config.match.face_gone_frames) {
        this.recent = [];
        if (this.held) this.heldFaceGone = true;
      }
      return;
    }
    this.noFaceRun = 0;
    if (this.heldFaceGone) {
      this.held = null;
      this.heldFaceGone = false;
    }
    this.recent.push(f);
    const n = this.deps.config.match.n;
    if (this.recent.length > n) this.recent.splice(0, this.recent.length - n);
  }

  /** The window came to a decision: an uncertain one is held for a card; any other ends the visit's chance. */
  decided(kind: FaceOutcome['kind']): void {
    this.held = kind === 'uncertain' ? { frames: this.recent, at: this.deps.now() } : null;
    this.heldFaceGone = false;
    this.recent = [];
  }

  /** A card or QR code opened the door for `villagerId`: keep a pending template if the rule allows. */
  async admitted(villagerId: string, credential: 'card' | 'qr'): Promise<CardLearnResult> {
    const { db, key, config } = this.deps;
    const cfg = config.adapt.card;
    const held = this.held;
    // one card per uncertain visit: whatever happens now, the window is used up
    this.held = null;
    const now = this.deps.now();
    if (!held || now - held.at > cfg.within_s * 1000) return { kept: false, why: 'no_uncertain_visit' };
    if (!config.liveness.enabled) return { kept: false, why: 'liveness_off' };
    if (!learningConsentOf(db, villagerId)) return { kept: false, why: 'no_learning_consent' };
    const nowIso = new Date(now).toISOString();
    if (countPending(db, nowIso, villagerId) >= cfg.max_pending) return { kept: false, why: 'pending_full' };
    const frames = held.frames;
    const choice = choosePending(frames, ownFaces(db, key, config, villagerId), (index) => nearestOther(frames[index] as HeldFrame, villagerId),
      { uncertain_threshold: config.match.uncertain_threshold, margin: config.match.margin, min_novelty: config.adapt.min_novelty });
    if ('refused' in choice) return { kept: false, why: choice.refused };
    const frame = frames[choice.index] as HeldFrame;
    const thumb = frame.crop ? sealBytes(key, villagerId, 'thumbnail', await thumbnailJpeg(frame.crop)) : null;
    const expires = new Date(now + cfg.expire_days * 86_400_000).toISOString();
    const pending = insertPending(db, villagerId, sealDescriptor(key, villagerId, frame.descriptor as Float32Array), thumb,
      { distance: choice.distance, enrolledDistance: choice.enrolledDistance, margin: choice.margin, credential }, nowIso, expires);
    return { kept: true, pending, distance: choice.distance, margin: choice.margin, enrolledDistance: choice.enrolledDistance };
  }
}

/** The card's villager's templates, split into enrolled and learned: the only ones opened for a card. */
function ownFaces(db: Db, key: Buffer, config: EntryConfig, villagerId: string): OwnFaces | undefined {
  const rows = templateRowsOf(db, villagerId);
  if (rows.length === 0) return undefined;
  const open = (origin: string) => rows.filter((r) => r.origin === origin).map((r) => openDescriptor(key, villagerId, r));
  const own = { enrolled: open('enrolled'), learned: open('learned') };
  checkRecognizer([{ villagerId, descriptors: [...own.enrolled, ...own.learned] }], config);
  return own;
}

/**
 * The frame's distance to the nearest villager other than the card's, from the recogniser's
 * top-2. A descriptor that was never searched cannot be weighed against the others: it counts
 * as nearer someone else, and the window teaches nothing.
 */
function nearestOther(frame: HeldFrame, villagerId: string): number {
  return frame.nearest ? nearestOtherThan(frame.nearest, villagerId) : 0;
}

/**
 * A copy of the frame at most SMALL_WIDTH wide, taken before the frame's buffer goes to the
 * engine (it is transferred, not copied): ~0.3 ms, only while card-confirmed learning is on.
 */
export function shrinkFrame(frame: RgbFrame): { small: RgbFrame; scale: number } {
  const step = Math.max(1, Math.ceil(frame.width / SMALL_WIDTH));
  const width = Math.floor(frame.width / step);
  const height = Math.floor(frame.height / step);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = ((y * step) * frame.width + x * step) * 3;
      const o = (y * width + x) * 3;
      data[o] = frame.data[s] as number;
      data[o + 1] = frame.data[s + 1] as number;
      data[o + 2] = frame.data[s + 2] as number;
    }
  }
  return { small: { width, height, data }, scale: 1 / step };
}

/** The face (its box in full-frame pixels, enlarged by a fifth) cut from the shrunken copy; null when it falls outside. */
export function cropFace(small: RgbFrame, scale: number, box: Box): RgbFrame | null {
  const pad = 0.2;
  const x0 = Math.max(0, Math.floor((box.x - box.width * pad) * scale));
  const y0 = Math.max(0, Math.floor((box.y - box.height * pad) * scale));
  const x1 = Math.min(small.width, Math.ceil((box.x + box.width * (1 + pad)) * scale));
  const y1 = Math.min(small.height, Math.ceil((box.y + box.height * (1 + pad)) * scale));
  const width = x1 - x0;
  const height = y1 - y0;
  if (width < 8 || height < 8) return null;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(small.data.subarray(((y0 + y) * small.width + x0) * 3, ((y0 + y) * small.width + x1) * 3), y * width * 3);
  return { width, height, data };
}

export async function thumbnailJpeg(crop: RgbFrame): Promise<Buffer> {
  return sharp(Buffer.from(crop.data.buffer, crop.data.byteOffset, crop.data.byteLength), { raw: { width: crop.width, height: crop.height, channels: 3 } })
    .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'cover' }).jpeg({ quality: 80 }).toBuffer();
}
