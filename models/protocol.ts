/** Messages between the EngineClient (main thread) and the inference worker. */
import type { AnalyseOptions, ConversionStep, EngineKind, EngineOptions, FaceAnalysis, RgbFrame, StageTimes } from './face-types.ts';
import type { GalleryHit, GallerySearch } from './gallery.ts';
import type { SealedBatch } from './sealed.ts';
import type { ModelErrorCode } from './errors.ts';

export interface Recognition {
  faceCount: number;
  /** The largest face, analysed; null when no face was found. */
  face: Omit<FaceAnalysis, 'descriptor'> | null;
  /** Top-2 over the gallery; null when the face was rejected by the gate or absent. */
  match: GallerySearch | null;
  /** The largest face's descriptor (for learning at the door, edge/entry/door-learning.ts); absent when there is none. */
  descriptor?: Float32Array;
  /** With `opts.pool`: top-2 of the pool's sum plus this face's descriptor (`pooledQuery`); absent without a descriptor. */
  pooled?: GallerySearch;
  times: StageTimes & { match: number };
}

/** What the worker's engine runs on after `start` (tfjs after an ONNX fallback, with the reason). */
export interface EngineStarted { engine: EngineKind; fallback: string | null; notes: string[] }

export type WorkerRequest =
  | { id: number; op: 'start'; engine: Omit<EngineOptions, 'onConversion'> }
  | { id: number; op: 'recognise'; frame: RgbFrame; opts: AnalyseOptions }
  | { id: number; op: 'analyse'; frame: RgbFrame; opts: AnalyseOptions }
  | { id: number; op: 'gallery.add'; villagerId: string; descriptors: Float32Array[] }
  | { id: number; op: 'gallery.remove'; villagerId: string }
  | { id: number; op: 'gallery.replace'; entries: Array<{ villagerId: string; descriptors: Float32Array[] }> }
  /** The whole gallery as sealed rows, opened in the worker (models/sealed.ts); `key` is a copy. */
  | { id: number; op: 'gallery.replaceSealed'; key: Uint8Array; batch: SealedBatch }
  /** Each query's nearest owner among sealed rows, opened in the worker: the enrolment's look-alike check. */
  | { id: number; op: 'sealed.nearest'; key: Uint8Array; batch: SealedBatch; queries: Float32Array[] }
  | { id: number; op: 'memory' }
  | { id: number; op: 'stop' };

export type SealedNearest = Array<GalleryHit | null>;

/** One thread's memory, for /metrics: defined beside the code that reads it (runtime.ts). */
export type { ThreadMemory } from './runtime.ts';

/** Sent by the worker on its own while it starts: a net converted to ONNX (or found cached). */
export interface WorkerConversion { event: 'conversion'; step: ConversionStep }

export type WorkerResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: ModelErrorCode; message: string; details?: Record<string, unknown> } };
