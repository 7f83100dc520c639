/**
 * The face engine's contract: its options, what `analyse` returns, the frame check. Apart from
 * the engine (face-engine.ts) so that the code that only speaks to it — the inference worker's
 * client and protocol, the gallery, the store's entry code — does not load the engine's
 * implementation (the nets, the runtimes) to know its types.
 */
import { ModelError } from './errors.ts';
import type { RgbFrame } from './frame.ts';
import type { ModelRoots } from './manifest.ts';
import type { Box, FaceQuality, QualityFailure, QualityGate } from './quality.ts';
import type { RecognizerChoice } from './recognizer.ts';
import type { ConversionListener } from './onnx/cache.ts';

export const DESCRIPTOR_LENGTH = 128;
/** Frames larger than this are refused: a camera never sends them and decoding would eat memory. */
export const MAX_FRAME_SIDE = 4096;

export type { RgbFrame } from './frame.ts';
export type { ConversionListener, ConversionStep } from './onnx/cache.ts';

/**
 * `tiny`: face-api's tiny detector, fast enough for every door frame but it misses some faces
 * (a few percent of ordinary photos and webcam frames). `ssd`: face-api's SSD MobileNet v1,
 * which finds nearly all of them at ~10× the cost: for enrolment and photos, where time is cheap.
 */
export type DetectorKind = 'tiny' | 'ssd';

/**
 * Which runtime runs the nets (detector, landmarks, descriptor, antispoof, liveness): `tfjs`
 * (wasm, one thread) or `onnx` (onnxruntime-node's CPU provider, graphs converted from the same
 * weights). If face-api's graphs cannot be built or loaded, the engine falls back to tfjs with a
 * warning (`FaceEngine.fallback`); liveness models the converter cannot map stay on tfjs
 * (`FaceEngine.notes`).
 */
export type EngineKind = 'tfjs' | 'onnx';

export interface EngineOptions {
  /** Which detector finds faces (default tiny). */
  detector?: DetectorKind;
  /** Tiny face detector input size (multiple of 32); 320 is the speed/recall sweet spot at a door. */
  detectorInputSize: number;
  /** Smallest detector confidence kept (both detectors score 0..1). */
  detectorMinScore: number;
  /** Load the antispoof and liveness models. */
  liveness: boolean;
  /** The descriptor stage: face-api's 128-d net (default) or an ArcFace-family ONNX file (512-d). */
  recognizer?: RecognizerChoice;
  roots?: ModelRoots;
  /** Runtime of the converted nets (default tfjs). */
  engine?: EngineKind;
  /** The passive check's operator-supplied liveness net (models/liveness/onnx-cue.ts), verified by sha256 at start. */
  livenessNet?: { path: string; sha256: string };
  /** Where converted ONNX graphs are cached (default the checkout's `.cache/onnx/`). */
  onnxCacheDir?: string;
  /** onnxruntime intra-op threads (default 2). */
  onnxThreads?: number;
  /** Told of each net `engine: onnx` converts or finds cached (EngineClient relays the worker's). */
  onConversion?: ConversionListener;
  /**
   * When the detector finds no face, look again in the frame centred on a canvas 1.5× larger
   * (SSD misses faces that fill most of a photo: 11 of 176 ordinary photos, 1 once padded).
   * For photos; the door's frames never hold a face that large, and an empty doorway would
   * pay the detector twice.
   */
  padRetry?: boolean;
}


export interface AnalyseOptions {
  allFaces: boolean;
  /** When given, a face failing the gate gets no descriptor (saves ~35 ms per frame). */
  gate: QualityGate | null;
  liveness: boolean;
  /**
   * Also the texture features of the passive liveness check (models/liveness/texture.ts) of the
   * face with landmarks: computed here, where the frame is (the door's frame is handed to the
   * engine's worker and gone from the caller).
   */
  texture?: boolean;
  /** Also the liveness net's probability of a live face (`EngineOptions.livenessNet`, when loaded). */
  livenessNet?: boolean;
  /** The worker's gallery search also gives the face's cohort distance (entry.match.cohort_scale). */
  cohort?: boolean;
  /**
   * Probe-side pooling (entry.match.pool): the sum of the unit descriptors pooled so far at the
   * door; the worker also searches the pool with this frame's descriptor added (`pooledQuery`).
   */
  pool?: Float32Array;
}

export interface Liveness {
  /** Human's antispoof score: 1 = a real face, 0 = a photo or screen. */
  real: number;
  /** Human's liveness score: 1 = live. */
  live: number;
}

export interface FaceAnalysis {
  box: Box;
  score: number;
  quality: FaceQuality;
  rejected: QualityFailure | null;
  /** Unit-length descriptor, or null when the quality gate rejected the face. */
  descriptor: Float32Array | null;
  liveness: Liveness | null;
  /** The 68 landmarks in frame pixels, interleaved x0,y0,x1,y1… (the passive liveness check compares them across frames). */
  landmarks?: Float32Array;
  /** Texture features of the face (with `texture: true`), for the passive liveness check's texture cue. */
  texture?: Float32Array;
  /** The liveness net's probability of a live face (with `livenessNet: true` and a net loaded). */
  liveNet?: number;
}

export interface StageTimes { detect: number; landmarks: number; descriptor: number; liveness: number }

export interface FrameAnalysis {
  width: number;
  height: number;
  /** Faces the detector found (all of them, even when only the largest was analysed). */
  faceCount: number;
  /**
   * Faces near the camera: the largest and those at least half its size (`nearFaceCount`).
   * Enrolment refuses a frame with more than one; smaller faces are people farther back.
   */
  nearFaces: number;
  faces: FaceAnalysis[];
  times: StageTimes;
}

export function validateFrame(frame: RgbFrame): void {
  const { width, height, data } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ModelError('IMAGE_INVALID', `frame size ${width}×${height} is not a positive integer size`);
  }
  if (width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE) {
    throw new ModelError('IMAGE_INVALID', `frame ${width}×${height} exceeds ${MAX_FRAME_SIDE} px per side`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new ModelError('IMAGE_INVALID', `frame data has ${data?.length ?? 0} bytes, expected ${width * height * 3} (packed RGB)`);
  }
}
