/**
 * The descriptor stage as a choice: face-api's 128-d ResNet (shipped in npm, the default) or
 * an ArcFace-family ONNX model an operator supplies (112×112 five-point aligned, 512-d). The
 * gallery's row length follows the recognizer; templates of one cannot be searched with the
 * other, so changing the recognizer means re-enrolling.
 */
import type { RgbFrame } from './frame.ts';
import type { Point } from './quality.ts';

export type RecognizerChoice =
  | { kind: 'faceapi' }
  /** `sha256` (hex) pins the file: a different file is refused at start, naming it. */
  | { kind: 'onnx-arcface'; path: string; sha256: string }
  /**
   * Human's faceres (shipped in npm) when `path` is absent; else a Human graph model json of the
   * faceres family (faceres-deep) from an operator's folder, `sha256` pinning its weights (.bin).
   */
  | { kind: 'human-faceres'; path?: string; sha256?: string }
  /** Human's older descriptors from an operator's folder (json path; `sha256` of the .bin). */
  | { kind: 'human-mobilefacenet' | 'human-mobileface'; path: string; sha256: string };

/** Human's descriptor models: the descriptor length each gives. */
export const HUMAN_MODELS = {
  faceres: { length: 1024 },
  mobilefacenet: { length: 192 },
  mobileface: { length: 256 },
} as const;
export type HumanModelKind = keyof typeof HUMAN_MODELS;

/** A recognizer other than face-api's: one face in, one unit descriptor out. */
export interface Recognizer {
  readonly kind: RecognizerChoice['kind'];
  readonly descriptorLength: number;
  /** Unit-length descriptor of the face whose 68 landmarks (frame coordinates) are given. */
  describe(frame: RgbFrame, landmarks68: readonly Point[]): Promise<Float32Array>;
  stop(): Promise<void>;
}

export const FACEAPI_DESCRIPTOR_LENGTH = 128;
export const ARCFACE_DESCRIPTOR_LENGTH = 512;

export function descriptorLengthOf(r: RecognizerChoice): number {
  if (r.kind === 'faceapi') return FACEAPI_DESCRIPTOR_LENGTH;
  if (r.kind === 'onnx-arcface') return ARCFACE_DESCRIPTOR_LENGTH;
  return HUMAN_MODELS[humanModelOf(r.kind)].length;
}

export const humanModelOf = (kind: `human-${HumanModelKind}`): HumanModelKind => kind.slice('human-'.length) as HumanModelKind;

/** A short name for reports and errors: faceapi, onnx-arcface, human-faceres (or its file name). */
export const recognizerLabel = (r: RecognizerChoice): string => ('path' in r && r.path ? `${r.kind}:${r.path.split(/[\\/]/).pop() ?? r.path}` : r.kind);
