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
  | { kind: 'onnx-arcface'; path: string; sha256: string };

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

export const descriptorLengthOf = (r: RecognizerChoice): number => (r.kind === 'faceapi' ? FACEAPI_DESCRIPTOR_LENGTH : ARCFACE_DESCRIPTOR_LENGTH);
