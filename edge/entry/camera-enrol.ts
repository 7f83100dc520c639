/**
 * Enrolment at the door camera: templates taken with the same camera and light as the door
 * are what let the door accept its villagers. Frames are analysed as they come (the newest
 * only, like the door), each through the quality gate; from the usable ones a few are chosen
 * that differ in pose (yaw/pitch from the landmarks), so the templates cover how a villager
 * actually stands at the door. Too few usable frames before the timeout is a clear refusal.
 *
 * No mirror templates here, unlike photo enrolment: the door camera never mirrors its own
 * frames, and a mirrored template would only widen the target a stranger can hit.
 */
import type { RgbFrame } from '../../models/face-engine.ts';
import { EdgeError } from '../errors.ts';
import type { Db } from '../ledger/db.ts';
import type { FrameSource } from './camera.ts';
import { qualityGate, type EntryConfig } from './config.ts';
import { checkEnrolable, searcherOf, storeTemplates, type FaceAnalyser } from './enrol.ts';
import { l2 } from './adapt.ts';

export interface CameraEnrolOptions {
  /** Templates wanted: distinct usable frames. */
  frames: number;
  /** Give up when this long passes without enough usable frames. */
  timeoutMs: number;
  /** Give up after analysing this many frames (a camera that never shows one clear face). */
  maxExamined: number;
  /** Usable frames gathered before choosing among them (default 3 × frames). */
  pool?: number;
}

export interface CapturedFace {
  /** Order of the frame among those analysed (1-based), named in the template's source. */
  index: number;
  descriptor: Float32Array;
  yaw: number;
  pitch: number;
  sharpness: number;
}

export interface Capture {
  faces: CapturedFace[];
  examined: number;
  /** Why frames were not usable: no_face, several_faces, too_small, blurred, turned... */
  rejected: Record<string, number>;
}

const frontalFirst = (a: CapturedFace, b: CapturedFace): number => Math.hypot(a.yaw, a.pitch) - Math.hypot(b.yaw, b.pitch) || b.sharpness - a.sharpness;

/**
 * The person the frames show most: the face that matches (within `sameFace`, descriptor
 * distance) the most others (ties: the most frontal, then the sharpest), with those it matches.
 * The rest (`others`) are someone else: a second person who faced the camera more squarely
 * than the villager turning to give poses must not become the anchor.
 */
export function largestGroup(faces: readonly CapturedFace[], sameFace: number): { group: CapturedFace[]; others: CapturedFace[] } {
  let best: CapturedFace[] = [];
  let anchor: CapturedFace | null = null;
  for (const f of faces) {
    const near = faces.filter((g) => l2(f.descriptor, g.descriptor) <= sameFace);
    if (!anchor || near.length > best.length || (near.length === best.length && frontalFirst(f, anchor) < 0)) { best = near; anchor = f; }
  }
  return { group: best, others: faces.filter((f) => !best.includes(f)) };
}

/**
 * Picks `n` faces spread over poses from the largest group of matching faces (`largestGroup`;
 * the others are left out): the most frontal (then sharpest) first, then each time the face
 * farthest in (yaw, pitch) from every face already chosen.
 */
export function spreadOfPoses(faces: readonly CapturedFace[], n: number, sameFace: number): CapturedFace[] {
  const { group } = largestGroup(faces, sameFace);
  if (group.length === 0) return [];
  const frontal = [...group].sort(frontalFirst)[0] as CapturedFace;
  const rest = group.filter((f) => f !== frontal);
  const chosen = [frontal];
  while (chosen.length < n && rest.length > 0) {
    let bestAt = 0;
    let bestGap = -1;
    for (const [i, f] of rest.entries()) {
      const gap = Math.min(...chosen.map((c) => Math.hypot(c.yaw - f.yaw, c.pitch - f.pitch)));
      if (gap > bestGap) { bestGap = gap; bestAt = i; }
    }
    chosen.push(...rest.splice(bestAt, 1));
  }
  return chosen;
}

/** Analyses the camera's frames (newest only) until the pool is full, the timeout, or maxExamined. */
export function captureFaces(source: FrameSource, analyser: FaceAnalyser, config: EntryConfig, opts: CameraEnrolOptions): Promise<Capture> {
  const pool = opts.pool ?? opts.frames * 3;
  const gate = qualityGate(config.quality);
  const capture: Capture = { faces: [], examined: 0, rejected: {} };
  const reject = (why: string): void => { capture.rejected[why] = (capture.rejected[why] ?? 0) + 1; };
  return new Promise<Capture>((resolve, reject_) => {
    let waiting: RgbFrame | null = null;
    let busy = false;
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      source.off('frame', onFrame);
      void source.stop().then(() => (err === undefined ? resolve(capture) : reject_(err)), reject_);
    };
    const analyseOne = async (frame: RgbFrame): Promise<void> => {
      const a = await analyser.analyse(frame, { allFaces: true, gate, liveness: false });
      capture.examined++;
      const face = a.faces[0];
      if (a.faceCount === 0 || !face) reject('no_face');
      else if (a.nearFaces > 1) reject('several_faces');
      else if (face.rejected || !face.descriptor) reject(face.rejected ?? 'no_descriptor');
      else capture.faces.push({ index: capture.examined, descriptor: face.descriptor, yaw: face.quality.yaw, pitch: face.quality.pitch, sharpness: face.quality.sharpness });
    };
    const pump = async (): Promise<void> => {
      busy = true;
      try {
        while (!done && waiting) {
          const frame = waiting;
          waiting = null;
          await analyseOne(frame);
          if (capture.faces.length >= pool || capture.examined >= opts.maxExamined) finish();
        }
      } catch (err) {
        finish(err);
      } finally {
        busy = false;
      }
    };
    const onFrame = (f: RgbFrame): void => {
      waiting = f;
      if (!busy) void pump();
    };
    const timer = setTimeout(() => finish(), opts.timeoutMs);
    source.on('frame', onFrame);
    source.start().catch((err: unknown) => finish(err));
  });
}

/** Enrols a villager from the door camera: capture, choose a spread of poses, collision check, store. */
export async function enrolFromCamera(
  db: Db, key: Buffer, source: FrameSource, analyser: FaceAnalyser, config: EntryConfig,
  villagerId: string, opts: CameraEnrolOptions, at: string, consentGivenBy?: string,
): Promise<{ templates: number; examined: number; rejected: Record<string, number> }> {
  const consent = checkEnrolable(db, villagerId, consentGivenBy);
  if (!Number.isInteger(opts.frames) || opts.frames < 1 || opts.frames > 20) {
    throw new EdgeError('INVALID_ARGUMENT', `--frames must be 1–20, got ${opts.frames}`, { zh: `--frames 须为 1–20，收到 ${opts.frames}` });
  }
  const c = await captureFaces(source, analyser, config, opts);
  const sameFace = config.match.uncertain_threshold;
  const { group, others } = largestGroup(c.faces, sameFace);
  if (others.length > 0) {
    // whose face would be enrolled is not certain: the villager alone, please
    throw new EdgeError('FACE_REJECTED', `camera: two different people were in front of the camera (${group.length} frames of one face, ${others.length} of someone else); enrolment refused. Stand alone in front of the camera`, {
      zh: `摄像头：镜头前有两个不同的人（${group.length} 帧是同一人，${others.length} 帧是另一人），拒绝录入。请一人单独面对摄像头`,
      details: { why: 'several_people', frames: group.length, others: others.length, examined: c.examined },
    });
  }
  const chosen = spreadOfPoses(c.faces, opts.frames, sameFace);
  if (chosen.length < opts.frames) {
    const why = Object.entries(c.rejected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    throw new EdgeError('FACE_REJECTED', `camera: only ${chosen.length} usable frames of one face, ${opts.frames} needed (${c.examined} frames analysed; not usable: ${why}). Stand alone in front of the camera, face it, in good light`, {
      zh: `摄像头：只有 ${chosen.length} 帧合格，需要 ${opts.frames} 帧（已分析 ${c.examined} 帧；不合格：${why}）。请一人正对摄像头，光线充足`,
      details: { usable: chosen.length, wanted: opts.frames, examined: c.examined, rejected: c.rejected },
    });
  }
  const templates = chosen.map((f) => ({ descriptor: f.descriptor, quality: f.sharpness, source: `camera frame ${f.index} (yaw ${f.yaw.toFixed(0)}°, pitch ${f.pitch.toFixed(0)}°)` }));
  const r = await storeTemplates(db, key, config, villagerId, templates, at, searcherOf(analyser), consent);
  return { templates: r.stored, examined: c.examined, rejected: c.rejected };
}
