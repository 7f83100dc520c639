/**
 * The entry pipeline: frames → inference worker → k-of-n decision → door policy → unlock.
 * Scanned QR codes and passbook cards take their own path (code-entry.ts) to the same
 * admission (admission.ts): the policy, the visit written, the unlock. Every decision is an
 * event with its reason, and a row in entry_events.
 *
 * Only the newest frame is analysed: while the worker is busy, an arriving frame replaces
 * the waiting one (counted as dropped), never queues behind it.
 */
import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { AnalyseOptions, RgbFrame } from '../../models/face-engine.ts';
import type { Recognition } from '../../models/protocol.ts';
import type { QualityGate } from '../../models/quality.ts';
import { isModelError } from '../../models/errors.ts';
import type { Db } from '../ledger/db.ts';
import type { LedgerRules } from '../ledger/entries.ts';
import { DoorAdmission, type DoorLock, type EntryDecision, type StoreOccupancy } from './admission.ts';
import { CodeEntry } from './code-entry.ts';
import { irParams, qualityGate, type EntryConfig } from './config.ts';
import { IrFrames, judgeIr } from './liveness-ir.ts';
import { DoorLivenessGate, type ChallengePrompt } from './liveness-challenge.ts';
import { endStaleHold, frameVerdict, holdAfter, initialWindow, poolSum, type FrameVerdict, type WindowState } from './decision.ts';
import type { FrameSource } from './camera.ts';
import { asTemplateError, loadVillagerTemplates, sealedGalleryInSlices } from './templates.ts';
import type { SealedBatch } from '../../models/sealed.ts';
import type { DoorLearning } from './door-learning.ts';
import { cropFace, shrinkFrame, type CardLearning } from './card-learning.ts';

// the door's admission types, for the pipeline's users
export type { DoorLock, EntryDecision, EntryDecisionKind, SingleUse, StoreOccupancy } from './admission.ts';

/** The inference worker as the pipeline needs it (models/engine-client.ts fits). */
export interface FaceRecogniser {
  recognise(frame: RgbFrame, opts: Omit<AnalyseOptions, 'allFaces'>): Promise<Recognition>;
  /** The whole gallery from sealed rows, opened where the gallery lives (not on the main thread); the batch's buffer is handed over. */
  replaceSealedGallery(key: Uint8Array, batch: SealedBatch): Promise<number>;
  addTemplates(villagerId: string, descriptors: Float32Array[]): Promise<number>;
  removeVillager(villagerId: string): Promise<number>;
}

export interface FrameReport {
  verdict: FrameVerdict;
  times: Recognition['times'] | null;
  /** Frame arrival → verdict, ms. */
  totalMs: number;
}

export interface EntryEvents {
  decision: [EntryDecision];
  frame: [FrameReport];
  /** The door asks the person at it for a blink or a head turn (display and speaker). */
  prompt: [ChallengePrompt & { at: number }];
  /** A frame that could not be analysed, a lock that failed, a ledger that could not be read: logged, the loop goes on. */
  fault: [{ where: 'frame' | 'unlock' | 'camera' | 'record' | 'ledger'; message: string }];
}

export interface EntryPipelineDeps {
  config: EntryConfig;
  db: Db;
  recogniser: FaceRecogniser | null;
  lock: DoorLock;
  store: StoreOccupancy;
  camera: FrameSource | null;
  /** The infrared lens (entry.camera_ir): a face opens the door only if the IR frame agrees (liveness-ir.ts). */
  irCamera?: FrameSource | null;
  templateKey: Buffer;
  qrPublicKey: KeyObject | null;
  /** The store's village (store.village): a QR code issued for another village is refused. */
  village?: string | undefined;
  logger: Logger;
  /**
   * The store's ledger rules, for the standing the door judges: the credit floor (a balance
   * below it is debt) and, in a store that syncs, the offline spending limit. Absent: only the
   * recorded debt counts, and there is no offline limit.
   */
  rules?: LedgerRules | undefined;
  /** Learning at the door (entry.adapt.enabled): may keep the deciding frame of a face match as a template. */
  learning?: DoorLearning | undefined;
  /** Card-confirmed learning (entry.adapt.card.enabled): an uncertain face completed by the villager's own card or QR code may leave a pending template. */
  cardLearning?: CardLearning | undefined;
  now?: () => number;
}

interface PendingFrame { frame: RgbFrame; arrivedAt: number }

/** A spoof decision's `spoofHold` (entry_events detail): it begins the hold, or the hold was already on. */
const holdWord = (before: WindowState): 'started' | 'held' => (before.spoofHeldSince === null ? 'started' : 'held');

export class EntryPipeline extends EventEmitter<EntryEvents> {
  private state: WindowState = initialWindow();
  private liveness: DoorLivenessGate | undefined;
  private waiting: PendingFrame | null = null;
  private busy = false;
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};
  readonly stats = { frames: 0, dropped: 0, analysed: 0, failed: 0 };
  /** Villagers reloaded while the whole gallery is being read (loadGallery). */
  private reloadedMeanwhile: Set<string> | null = null;
  private readonly onFrame = (f: RgbFrame): void => this.offer(f);
  private readonly ir = new IrFrames();
  private readonly onIrFrame = (f: RgbFrame): void => this.ir.put(f, performance.now());
  private readonly onCameraStatus = (s: { state: string; reason?: string }): void => {
    if (s.state === 'down') this.emit('fault', { where: 'camera', message: s.reason ?? 'down' });
  };

  /** Resolved once: the hot loop passes it with every frame. */
  private readonly gate: QualityGate;
  /** The policy, the visit and the unlock, for a face and for a card or QR code alike. */
  private readonly door: DoorAdmission;
  private readonly codes: CodeEntry;

  constructor(private readonly deps: EntryPipelineDeps) {
    super();
    this.gate = qualityGate(deps.config.quality);
    const now = (): number => this.now();
    this.door = new DoorAdmission({
      db: deps.db, lock: deps.lock, store: deps.store, unlockPulseMs: deps.config.unlock_pulse_ms, rules: deps.rules, logger: deps.logger, now,
      reports: { decision: (d) => this.emit('decision', d), fault: (where, message) => this.emit('fault', { where, message }) },
    });
    this.codes = new CodeEntry({ db: deps.db, config: deps.config, qrPublicKey: deps.qrPublicKey, village: deps.village, door: this.door, cardLearning: deps.cardLearning, logger: deps.logger, now });
  }

  private now(): number { return (this.deps.now ?? Date.now)(); }

  async start(): Promise<void> {
    await this.loadGallery();
    this.running = true;
    const cam = this.deps.camera;
    if (cam && this.deps.recogniser && this.deps.config.face_enabled) {
      cam.on('frame', this.onFrame);
      cam.on('status', this.onCameraStatus);
      await cam.start();
    }
    const ir = this.deps.irCamera;
    if (ir && this.deps.recogniser && this.deps.config.face_enabled) {
      ir.on('frame', this.onIrFrame);
      await ir.start();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.waiting = null;
    const cam = this.deps.camera;
    if (cam) {
      cam.off('frame', this.onFrame);
      cam.off('status', this.onCameraStatus);
      await cam.stop();
    }
    const ir = this.deps.irCamera;
    if (ir) {
      ir.off('frame', this.onIrFrame);
      await ir.stop();
    }
    await this.idle;
  }

  /** Reloads the whole gallery (after the inference worker restarted). */
  async reloadAll(): Promise<void> {
    await this.loadGallery();
  }

  /**
   * The whole gallery to the recogniser, still sealed: the worker opens it (2,000 villagers ×
   * 3–6 templates held this thread ~0.1 s of CPU when it was opened here; bench/gallery-load.ts).
   * The rows are read from one snapshot in slices across turns; a villager reloaded meanwhile is
   * reloaded again once the gallery is in place (the snapshot may not hold the change).
   */
  private async loadGallery(): Promise<void> {
    const r = this.deps.recogniser;
    if (!r) return;
    const meanwhile = new Set<string>();
    this.reloadedMeanwhile = meanwhile;
    try {
      const batch = await sealedGalleryInSlices(this.deps.db, this.deps.config);
      await r.replaceSealedGallery(this.deps.templateKey, batch);
    } catch (err) {
      throw asTemplateError(err);
    } finally {
      if (this.reloadedMeanwhile === meanwhile) this.reloadedMeanwhile = null;
    }
    for (const id of meanwhile) await this.reloadVillager(id);
  }

  /** Re-reads one villager's templates after enrolment or removal (CLI, admin page). */
  async reloadVillager(villagerId: string): Promise<void> {
    const r = this.deps.recogniser;
    if (!r) return;
    // a whole gallery being read: its snapshot may predate this change, so it is made again after it
    this.reloadedMeanwhile?.add(villagerId);
    await r.removeVillager(villagerId);
    const entry = loadVillagerTemplates(this.deps.db, this.deps.templateKey, villagerId, this.deps.config);
    if (entry) await r.addTemplates(villagerId, entry.descriptors);
  }

  /** Hands a frame to the pipeline; the pipeline owns (and transfers) its buffer. */
  offer(frame: RgbFrame): void {
    if (!this.running || !this.deps.recogniser) return;
    this.stats.frames++;
    if (this.waiting) this.stats.dropped++;
    this.waiting = { frame, arrivedAt: performance.now() };
    if (!this.busy) this.pump();
  }

  private pump(): void {
    this.busy = true;
    this.idle = new Promise((resolve) => { this.markIdle = resolve; });
    void this.drain().finally(() => {
      this.busy = false;
      this.markIdle();
      // a frame offered after the loop's last look but before this ran would otherwise wait for the next one
      if (this.running && this.waiting) this.pump();
    });
  }

  private async drain(): Promise<void> {
    while (this.running && this.waiting) {
      const job = this.waiting;
      this.waiting = null;
      // whatever a frame's turn throws is a fault, never an unhandled rejection (Node ends the process on one)
      try {
        await this.process(job);
      } catch (err) {
        this.frameFault(err);
      }
    }
  }

  /** A frame's turn failed past the analysis (the door's own faults are reported where they happen): a fault, and the next frame is looked at. */
  private frameFault(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.deps.logger.error({ err: message }, 'frame not handled / 画面处理失败');
    try {
      this.emit('fault', { where: 'frame', message });
    } catch (listenerErr) {
      this.deps.logger.error({ err: (listenerErr as Error).message }, 'entry fault listener failed');
    }
  }

  private async process(job: PendingFrame): Promise<void> {
    const cfg = this.deps.config;
    const recogniser = this.deps.recogniser;
    if (!recogniser) return;
    let rec: Recognition;
    // the frame's buffer goes to the engine: a small copy stays for a pending template's thumbnail
    const shrunk = this.deps.cardLearning ? shrinkFrame(job.frame) : null;
    try {
      this.liveness ??= new DoorLivenessGate(cfg.liveness, cfg.frame_rate);
      rec = await recogniser.recognise(job.frame, {
        gate: this.gate,
        liveness: cfg.liveness.enabled,
        // the passive check's texture cue and liveness net run in the engine, where the frame goes
        ...this.liveness.passive.analyseOptions,
        // match.cohort_scale: the worker's search also gives the face's cohort distance
        ...(cfg.match.cohort_scale !== undefined ? { cohort: true } : {}),
        // match.pool: the worker also searches the window's pool with this face added
        ...(cfg.match.pool ? { pool: poolSum(this.state, cfg.match) } : {}),
      });
      this.stats.analysed++;
    } catch (err) {
      this.stats.failed++;
      const message = isModelError(err) ? `${err.code}: ${err.message}` : String(err);
      this.deps.logger.warn({ err: message }, 'frame not analysed');
      this.emit('fault', { where: 'frame', message });
      return;
    }
    const verdict = frameVerdict(rec, cfg.match, cfg.liveness);
    const box = rec.face?.box;
    this.deps.cardLearning?.frame({ verdict, descriptor: rec.descriptor ?? null, nearest: rec.match, crop: shrunk && box ? cropFace(shrunk.small, shrunk.scale, box) : null });
    this.emit('frame', { verdict, times: rec.times, totalMs: performance.now() - job.arrivedAt });
    const windowBefore = this.state.window;
    const now = this.now();
    // a spoof hold past entry.match.spoof_hold_ms is over; whether one is on tells a spoof decision that begins one
    const before = endStaleHold(this.state, now, cfg.match);
    const { state, outcome, prompt } = this.liveness.step(before, verdict, rec.face?.landmarks, now, cfg.match, rec.face ?? undefined);
    this.state = state;
    if (prompt) this.prompt(prompt);
    if (!outcome) return;
    this.deps.cardLearning?.decided(outcome.kind);
    // the challenge's outcome (kind, result, attempts, time) goes with the decision into entry_events
    const challenge = outcome.challenge ? { challenge: outcome.challenge } : {};
    if (outcome.kind === 'matched' && this.deps.irCamera) {
      const refused = this.irRefusal(rec.face?.landmarks, job.arrivedAt);
      if (refused) {
        // a screen the infrared lens saw through stays refused until the face leaves (decision.ts spoofHeldSince)
        const hold = refused.decision === 'spoof' ? { spoofHold: holdWord(this.state) } : {};
        if (refused.decision === 'spoof') this.state = { ...this.state, spoofHeldSince: holdAfter(this.state, 'spoof', now) };
        this.door.record({ at: this.now(), by: 'face', decision: refused.decision, villagerId: null, unlocked: false, detail: { frames: outcome.frames, seen: refused.why, ir: refused.ir, nearest: outcome.villagerId, ...hold, ...challenge }, latencyMs: null });
        return;
      }
    }
    if (outcome.kind === 'matched') {
      const d = await this.door.admit('face', outcome.villagerId, { distance: outcome.distance, margin: outcome.margin, frames: outcome.frames, ...challenge }, job.arrivedAt);
      // never from a challenged match (nor an uncertain one, a card or a QR code: those are not `matched` by face)
      if (d.unlocked && !outcome.challenge) await this.learnFrom(outcome.villagerId, [...windowBefore, verdict].slice(-cfg.match.n), rec.descriptor);
    } else if (outcome.kind === 'uncertain') {
      // the nearest villager is kept for the maintainer, never announced: the person may be a stranger
      this.door.record({ at: this.now(), by: 'face', decision: 'uncertain', villagerId: null, unlocked: false, detail: { frames: outcome.frames, seen: outcome.detail, nearest: outcome.nearest, distance: outcome.distance, ...challenge }, latencyMs: null });
    } else {
      // the door announces a spoof once per hold, at the decision that begins it (session/front-door.ts)
      const hold = outcome.kind === 'spoof' ? { spoofHold: holdWord(before) } : {};
      this.door.record({ at: this.now(), by: 'face', decision: outcome.kind, villagerId: null, unlocked: false, detail: { frames: outcome.frames, seen: outcome.detail, ...hold, ...challenge }, latencyMs: null });
    }
  }

  /** After the door opened by face: learning at the door, if on; a failure is logged, the door goes on. */
  private async learnFrom(villagerId: string, window: FrameVerdict[], descriptor: Float32Array | undefined): Promise<void> {
    const learning = this.deps.learning;
    if (!learning) return;
    try {
      const r = learning.learn(villagerId, window, descriptor);
      if (!r.learned) return;
      await this.reloadVillager(villagerId);
      this.deps.logger.info({ event: 'face_learned', villagerId, template: r.template, replaced: r.replaced }, 'face template learned at the door / 门口学习了人脸模板');
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, villagerId }, 'learning at the door failed / 门口学习失败');
    }
  }

  /**
   * The IR frame of the same moment must show skin and eyes where the RGB landmarks are:
   * otherwise a spoof (a screen is dark in IR, a print flat or dotted); no IR frame, or no
   * landmarks to look at, or part of the face outside the IR frame: uncertain (card or QR
   * code). Null: the IR frame agrees.
   */
  private irRefusal(landmarks: Float32Array | undefined, arrivedAt: number): { decision: 'spoof' | 'uncertain'; why: string; ir: Record<string, unknown> | null } | null {
    const cfg = this.deps.config.ir;
    const frame = this.ir.near(arrivedAt, cfg.max_skew_ms);
    if (!frame) return { decision: 'uncertain', why: `no infrared frame within ${cfg.max_skew_ms} ms`, ir: null };
    if (!landmarks) return { decision: 'uncertain', why: 'no landmarks to find the face in the infrared frame', ir: null };
    const j = judgeIr(frame, landmarks, irParams(cfg));
    const ir = { verdict: j.verdict, skin: Math.round(j.skin), eyeContrast: Math.round(j.eyeContrast * 1000) / 1000, texture: Math.round(j.texture * 1000) / 1000 };
    if (j.verdict === 'ir_out_of_view') return { decision: 'uncertain', why: 'the face is partly outside the infrared frame', ir: { verdict: j.verdict } };
    return j.verdict === 'ok' ? null : { decision: 'spoof', why: `infrared ${j.verdict}`, ir };
  }

  private prompt(p: ChallengePrompt): void {
    this.deps.logger.info({ event: 'entry_challenge', kind: p.kind, attempt: p.attempt, attempts: p.attempts }, 'liveness challenge / 活体动作提示');
    try {
      this.emit('prompt', { ...p, at: this.now() });
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'entry prompt listener failed');
    }
  }

  /** A line from the QR/card scanner (code-entry.ts). Resolves with the decision (also emitted). */
  presentCode(line: string): Promise<EntryDecision> {
    return this.codes.present(line);
  }
}
