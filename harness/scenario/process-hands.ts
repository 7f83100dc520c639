/**
 * Hands and observer for a daemon in another process (the process runner): the hands are the
 * sim-hardware process's control client and the camera's watched folder; the observer reads
 * the session phase the daemon persists in the ledger (through a read-only handle) and is fed
 * the daemon's JSON log lines (observeLogLine in world.ts).
 *
 * "The daemon has seen it" is judged from the bus: after a change on the shelves, until every
 * scale has settled and the daemon has read the shelves enough times to call them stable; after
 * the door moved, until it has polled the relay board's inputs a few times.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimHardwareClient } from '../../drivers/index.ts';
import type { Db } from '../../edge/ledger/db.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { SequencePlayer } from './replay.ts';
import type { StoreHands, StoreObservations, StoreObserver } from './world.ts';

type Until = (check: () => boolean | Promise<boolean>, ms: number, what: string) => Promise<void>;

/** How long the door must stay without a face decision before a face has left the camera. */
const FACE_QUIET_MS = 1000;
/** Relay-board input polls after a door movement before the daemon is taken to have seen it. */
const DOOR_POLLS = 4;

export class LedgerObserver implements StoreObserver {
  private readonly query: () => string;
  constructor(ro: Db, readonly seen: StoreObservations) {
    const q = ro.prepare("SELECT state FROM store_sessions WHERE status = 'open'");
    this.query = () => (q.get() as { state: string } | undefined)?.state ?? 'idle';
  }
  phase(): string {
    return this.query();
  }
}

export interface ProcessHandsOptions {
  client: () => SimHardwareClient;
  /** The `files` camera's watched folder. */
  cameraDir: string;
  /** JPEG portraits by villager id, and what the camera sees with nobody at the door. */
  faces: Map<string, Buffer>;
  emptyDoorway: () => Buffer;
  /** Scale slots on the shelf bus and the scale driver's stable window (reads per scale to call it stable). */
  slots: number;
  stableWindow: number;
  seen: StoreObservations;
  until: Until;
  /** A replayed sequence's frames as JPEG (encoded once per sequence by the runner). */
  jpegOf?: (frames: readonly RgbFrame[]) => Promise<Buffer[]>;
  /** The daemon camera's frame rate: a replayed sequence shows a new frame this often. */
  frameRate?: number;
  /** Camera frames the daemon has analysed so far (its /metrics), to tell a slow door from a stuck one. */
  framesAnalysed?: () => Promise<number>;
  /**
   * Frames the door may analyse while a face stands in front of it before it must have decided
   * (the k-of-n window, the passive check's frames, the challenge's attempts; see the runner).
   */
  decisionFrames?: number;
  /** The door's `match.face_gone_frames`: empty frames after which it takes the person to have left. */
  faceGoneFrames?: number;
}

/**
 * A door that analyses no frame for this long while a face is in front of it is stuck, not
 * slow (a loaded 2-core machine still analyses a frame every few seconds).
 */
const DOOR_STALL_MS = 90_000;
/** How often the daemon's frame count is read while waiting for a face decision. */
const PROGRESS_POLL_MS = 500;
/**
 * Frames that may still show the face after the doorway was emptied: the one being analysed,
 * the one waiting (the pipeline keeps only the newest), and one the camera sent before it
 * re-read its folder.
 */
const FRAMES_IN_FLIGHT = 3;

/** The daemon's analysed-frame count, read every PROGRESS_POLL_MS while a wait polls it. */
class FrameProgress {
  readonly from: number;
  private seen: number;
  private progressAt = Date.now();
  private polledAt = Date.now();
  private polling: Promise<void> | null = null;

  private constructor(private readonly count: () => Promise<number>, from: number) {
    this.from = from;
    this.seen = from;
  }

  static async start(count: () => Promise<number>): Promise<FrameProgress> {
    return new FrameProgress(count, await count());
  }

  /** Frames analysed since the start (as last read); reads again when it is time. */
  poll(): number {
    if (!this.polling && Date.now() - this.polledAt >= PROGRESS_POLL_MS) {
      this.polledAt = Date.now();
      this.polling = this.count().then((n) => {
        if (n > this.seen) { this.seen = n; this.progressAt = Date.now(); }
      }, () => undefined).finally(() => { this.polling = null; });
    }
    return this.seen - this.from;
  }

  /** Throws when the door analysed no frame for DOOR_STALL_MS. */
  assertMoving(what: string): void {
    if (Date.now() - this.progressAt > DOOR_STALL_MS) throw new EdgeError(ErrorCode.INTERNAL, `the door analysed no camera frame for ${DOOR_STALL_MS} ms while waiting for ${what} (${this.seen - this.from} analysed)`);
  }
}

export class ProcessHands implements StoreHands {
  constructor(private readonly o: ProcessHandsOptions) {}

  private get client(): SimHardwareClient {
    return this.o.client();
  }

  scan(code: string): Promise<boolean> {
    return this.client.scan(code);
  }

  async presentFace(villagerId: string, decided: () => boolean, replay?: SequencePlayer): Promise<void> {
    const face = this.o.faces.get(villagerId);
    if (!face) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `no portrait of ${villagerId}`, { zh: `没有 ${villagerId} 的照片` });
    const sequence = replay && this.o.jpegOf ? await this.o.jpegOf(replay.sequence.frames) : null;
    // the villager steps in front of the camera until the door decides, then walks on
    this.showAtDoor(sequence && replay ? sequence[replay.next()] as Buffer : face);
    try {
      let show: () => void = () => undefined;
      if (sequence && replay) {
        // a sequence plays at the camera's frame rate, in the order the player picks (its turn
        // when the door asks); the daemon drops what it cannot keep up with, as with a camera
        const every = 1000 / (this.o.frameRate ?? 8);
        let next = Date.now() + every;
        show = () => {
          if (Date.now() < next) return;
          this.showAtDoor(sequence[replay.next()] as Buffer);
          next += every;
        };
      }
      await this.untilDecided(decided, show, `the door's decision on ${villagerId}'s face${sequence ? ` (a sequence of ${sequence.length} frames)` : ''}`);
    } finally {
      this.showAtDoor(this.o.emptyDoorway());
    }
    await this.faceGone();
  }

  /**
   * Waits for the door's decision on a face for as long as the door keeps analysing frames: how
   * long a decision takes is a count of analysed frames (the window, the passive check, each
   * challenge attempt lasts at least the frames the camera sends in its time), and a loaded
   * machine analyses them slowly. It fails when the door analysed no frame for DOOR_STALL_MS,
   * or more than `decisionFrames` frames without deciding. Without a frame count (no /metrics):
   * a fixed wait, as long as the stall limit.
   */
  private async untilDecided(decided: () => boolean, show: () => void, what: string): Promise<void> {
    const count = this.o.framesAnalysed;
    if (!count) {
      await this.o.until(() => { show(); return decided(); }, DOOR_STALL_MS, what);
      return;
    }
    const progress = await FrameProgress.start(count);
    await this.o.until(() => {
      show();
      if (decided()) return true;
      const analysed = progress.poll();
      progress.assertMoving(what);
      const budget = this.o.decisionFrames;
      if (budget !== undefined && analysed > budget) throw new EdgeError(ErrorCode.INTERNAL, `the door analysed ${analysed} camera frames without deciding (at most ${budget} expected) while waiting for ${what}`);
      return false;
    }, Number.MAX_SAFE_INTEGER, what);
  }

  async openDoor(force: boolean): Promise<boolean> {
    if (!(await this.client.openDoor(force))) return false;
    // a person takes longer than one poll to go through: the daemon reads the door open
    await this.doorSeen();
    return true;
  }

  async closeDoor(): Promise<void> {
    await this.client.closeDoor();
    await this.doorSeen();
  }

  async pressExit(holdMs: number): Promise<void> {
    // held until the daemon has read the inputs (a short press can fall between two polls)
    await this.client.pressExit(Math.max(holdMs, 60_000));
    await this.doorSeen();
    await this.client.pressExit(1);
    await this.doorSeen();
  }

  async take(slot: string, count: number, unitG: number): Promise<void> {
    await this.client.take(slot, count, unitG);
    await this.shelvesSeen();
  }

  async place(slot: string, count: number, unitG: number): Promise<void> {
    await this.client.place(slot, count, unitG);
    await this.shelvesSeen();
  }

  async itemsOn(slot: string, unitG: number): Promise<number> {
    const view = (await this.client.state()).scales.find((sc) => sc.slot === slot);
    return view?.items[String(unitG)] ?? 0;
  }

  /** Replace what the camera sees, atomically (the watched folder never holds half a JPEG). */
  showAtDoor(jpeg: Buffer): void {
    const shown = path.join(this.o.cameraDir, 'doorway.jpg');
    writeFileSync(`${shown}.part`, jpeg);
    renameSync(`${shown}.part`, shown);
  }

  /** Until every scale has settled and the daemon has swept the shelves enough times to call them stable. */
  async shelvesSeen(): Promise<void> {
    await this.o.until(async () => (await this.client.state()).scales.every((sc) => sc.settled), 30_000, 'the shelves to settle');
    const sweeps = this.o.stableWindow + 2;
    const from = (await this.client.lineStats('scales')).requests;
    // one read per scale per sweep (the driver reads a scale's registers as one block)
    await this.o.until(async () => (await this.client.lineStats('scales')).requests >= from + sweeps * this.o.slots, 30_000, 'the daemon to read the shelves');
  }

  /** Until the daemon has polled the relay board's inputs since the door moved. */
  private async doorSeen(): Promise<void> {
    const from = (await this.client.lineStats('lock')).requests;
    await this.o.until(async () => (await this.client.lineStats('lock')).requests >= from + DOOR_POLLS, 15_000, 'the daemon to read the door');
  }

  /**
   * The person walks on (the doorway was just emptied). Until the door has analysed
   * `faceGoneFrames` frames of the empty doorway, its own rule for "the person left" (the k-of-n
   * window and the passive check's frames start afresh), besides the frames still in flight; and
   * until it has been quiet for a while, since frames of the face already on their way may still
   * end in a decision, which the next step must not take for its own. Quiet time alone was not
   * enough: on a loaded machine the door had analysed two or three empty frames by then, and the
   * next person's first frames joined the last frame of the one before in the window and in the
   * passive check's track (issue 11: an attack's frame in the villager's judgement).
   */
  private async faceGone(): Promise<void> {
    const decisions = this.o.seen.decisions;
    let count = decisions.length;
    let quietSince = Date.now();
    const what = 'the door to see the doorway empty';
    const progress = this.o.framesAnalysed ? await FrameProgress.start(this.o.framesAnalysed) : null;
    const frames = (this.o.faceGoneFrames ?? 0) + FRAMES_IN_FLIGHT;
    await this.o.until(() => {
      if (decisions.length !== count) {
        count = decisions.length;
        quietSince = Date.now();
      }
      if (Date.now() - quietSince < FACE_QUIET_MS) return false;
      if (!progress) return true;
      if (progress.poll() >= frames) return true;
      progress.assertMoving(what);
      return false;
    }, progress ? Number.MAX_SAFE_INTEGER : 15_000, what);
  }
}
