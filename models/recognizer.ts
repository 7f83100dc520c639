/**
 * The descriptor stage as a choice: face-api's 128-d ResNet (shipped in npm, the default) or
 * an ArcFace-family ONNX model an operator supplies (112×112 five-point aligned, 512-d). The
 * gallery's row length follows the recognizer; templates of one cannot be searched with the
 * other, so changing the recognizer means re-enrolling.
 */
import type { RgbFrame } from './frame.ts';
import type { Point } from './quality.ts';

/** One descriptor model. */
export type SingleRecognizerChoice =
  /**
   * `flip`: test-time augmentation, the descriptor of the face crop and of its horizontal mirror
   * averaged (a second pass of the net); other descriptors than without it, so it is part of the tag.
   */
  | { kind: 'faceapi'; flip?: boolean }
  /**
   * `sha256` (hex) pins the file: a different file is refused at start, naming it. `input` and
   * `align` describe a model trained outside the insightface convention (unset: RGB,
   * (x − 127.5)/127.5, five-point similarity).
   */
  | { kind: 'onnx-arcface'; path: string; sha256: string; input?: Partial<ArcFaceInput>; align?: ArcFaceAlign }
  /**
   * Human's faceres (shipped in npm) when `path` is absent; else a Human graph model json of the
   * faceres family (faceres-deep) from an operator's folder, `sha256` pinning its weights (.bin).
   */
  | { kind: 'human-faceres'; path?: string; sha256?: string }
  /** Human's older descriptors from an operator's folder (json path; `sha256` of the .bin). */
  | { kind: 'human-mobilefacenet' | 'human-mobileface'; path: string; sha256: string };

export type RecognizerChoice =
  | SingleRecognizerChoice
  /**
   * Two models on the same face, their unit descriptors fused as [w·a, √(1−w²)·b]
   * (`fuseDescriptors`): `weight` is w, the share of the first member.
   */
  | { kind: 'fusion'; members: readonly [SingleRecognizerChoice, SingleRecognizerChoice]; weight: number };

/**
 * Channel order and normalisation of an ONNX recognizer's input, (x − mean) / std; `stretchDim`:
 * a dim frame is contrast-stretched (`stretchContrast`, as the detector sees it) before the crop.
 */
export interface ArcFaceInput { channels: 'rgb' | 'bgr'; mean: number; std: number; stretchDim: boolean }
/**
 * `five-point`: least-squares similarity of eyes, nose and mouth corners onto the template
 * (insightface). `three-point`: the exact affine map of the eye centres and nose tip onto
 * theirs (OpenCV's getAffineTransform, as some JavaScript ports align).
 */
export type ArcFaceAlign = 'five-point' | 'three-point';

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
  if (r.kind === 'fusion') return descriptorLengthOf(r.members[0]) + descriptorLengthOf(r.members[1]);
  if (r.kind === 'faceapi') return FACEAPI_DESCRIPTOR_LENGTH;
  if (r.kind === 'onnx-arcface') return ARCFACE_DESCRIPTOR_LENGTH;
  return HUMAN_MODELS[humanModelOf(r.kind)].length;
}

export const humanModelOf = (kind: `human-${HumanModelKind}`): HumanModelKind => kind.slice('human-'.length) as HumanModelKind;

/**
 * Two unit descriptors of one face as one: [w·a, √(1−w²)·b]. The result is unit length, and
 * the squared distance between two fused descriptors is w²·d_a² + (1−w²)·d_b², so the gallery,
 * the margin rule and the collision check work on it unchanged.
 */
export function fuseDescriptors(parts: readonly [Float32Array, Float32Array], weight: number): Float32Array {
  const [a, b] = parts;
  const out = new Float32Array(a.length + b.length);
  const wb = Math.sqrt(1 - weight * weight);
  for (let i = 0; i < a.length; i++) out[i] = weight * (a[i] as number);
  for (let i = 0; i < b.length; i++) out[a.length + i] = wb * (b[i] as number);
  return out;
}

/**
 * A short name for reports and errors: faceapi, onnx-arcface, human-faceres (or its file
 * name), fusion(faceapi+human-faceres,w=0.6). Display only: two files of one name share it, so
 * the evaluation cache keys by `recognizerTag` (the sha256).
 */
export function recognizerLabel(r: RecognizerChoice): string {
  if (r.kind === 'fusion') return `fusion(${recognizerLabel(r.members[0])}+${recognizerLabel(r.members[1])},w=${r.weight})`;
  const base = 'path' in r && r.path ? `${r.kind}:${r.path.split(/[\\/]/).pop() ?? r.path}` : r.kind;
  return base + conventionSuffix(r);
}

/**
 * face-api's `[flip]`, or an ONNX recognizer's input convention where it is not the default (`[bgr,mean=…,three-point,
 * stretch-dim]`), else '': another convention gives other descriptors of the same file, so it is
 * part of the name and of the tag (the templates' and the evaluation cache's key).
 */
function conventionSuffix(r: SingleRecognizerChoice): string {
  if (r.kind === 'faceapi') return r.flip ? '[flip]' : '';
  if (r.kind !== 'onnx-arcface') return '';
  const mean = r.input?.mean ?? 127.5, std = r.input?.std ?? 127.5;
  const opts = [r.input?.channels === 'bgr' ? 'bgr' : '', mean !== 127.5 || std !== 127.5 ? `mean=${mean},std=${std}` : '', r.align === 'three-point' ? 'three-point' : '', r.input?.stretchDim ? 'stretch-dim' : ''].filter(Boolean);
  return opts.length ? `[${opts.join(',')}]` : '';
}

/**
 * What makes a recognizer's descriptors comparable, for the tag stored with the templates: the
 * kind, the model file's sha256 (not its path: a file moved is the same model), an ONNX model's
 * input convention where it is not the default, and a fusion's members and weight. Two configurations with the same tag give the same descriptors; any
 * other change (a fusion's weight, another file of the same family) makes the stored templates
 * meaningless even when their length stays the same.
 */
export function recognizerTag(r: RecognizerChoice): string {
  if (r.kind === 'fusion') return `fusion(${recognizerTag(r.members[0])}+${recognizerTag(r.members[1])},w=${r.weight})`;
  const sha = 'sha256' in r && r.sha256 ? r.sha256.toLowerCase() : undefined;
  return (sha ? `${r.kind}@sha256:${sha}` : r.kind) + conventionSuffix(r);
}

/** Every descriptor length a recognizer gives: each model's, and each fusion of two of them. */
export const DESCRIPTOR_LENGTHS: ReadonlySet<number> = (() => {
  const single = [FACEAPI_DESCRIPTOR_LENGTH, ARCFACE_DESCRIPTOR_LENGTH, ...Object.values(HUMAN_MODELS).map((m) => m.length)];
  return new Set([...single, ...single.flatMap((a) => single.map((b) => a + b))]);
})();
