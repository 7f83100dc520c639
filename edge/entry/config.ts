/**
 * Config slice of the entry pipeline (key `entry` in the config file). Every threshold is a
 * named option with a documented default; docs/face-thresholds.md explains how the defaults were chosen.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { EdgeError } from '../errors.ts';
import path from 'node:path';
import type { QualityGate } from '../../models/quality.ts';
import type { IrParams } from './liveness-ir.ts';
import { descriptorLengthOf, recognizerLabel, type RecognizerChoice, type SingleRecognizerChoice } from '../../models/recognizer.ts';
import { AdaptSchema } from './adapt-schema.ts';

const Section = <T extends Parameters<typeof Type.Object>[0]>(props: T, description: string) =>
  Type.Object(props, { additionalProperties: false, default: {}, description });

export const MatchSchema = Section({
  threshold: Type.Number({ minimum: 0, maximum: 2, default: 0.205, description: 'Largest distance between unit descriptors that may count as the same person (face-api raw ≈ 0.29). Calibrated with margin 0.08 on Chinese webcam frames and on Chinese, Korean and Western photos, small villages too: zero false accepts there, and on the held-out sets, even at threshold + 0.02 and margin − 0.02. It was 0.30 until look-alike strangers got in at 0.27–0.29 on sets it was not tuned on (docs/face-thresholds.md)' }),
  uncertain_threshold: Type.Number({ minimum: 0, maximum: 2, default: 0.37, description: 'Where genuine distances end on the calibration sets (95 % of genuine photos within 0.29–0.37). Between threshold and this distance the door is not sure: it asks for the card or QR code (请刷卡或扫码) instead of refusing; beyond it the face is unknown. Not below threshold' }),
  margin: Type.Number({ minimum: 0, maximum: 2, default: 0.08, description: 'The second-best villager must be at least this much farther than the best. With few villagers enrolled a look-alike stranger can pass any margin (0.16 was seen), so the threshold is what keeps strangers out; margins 0.04–0.09 admit the same door presentations at threshold 0.205, and below 0.04 a held-out stranger passes the safety check (docs/face-thresholds.md)' }),
  cohort_scale: Type.Optional(Type.Number({ minimum: 0.05, maximum: 2, description: "Cohort normalisation (unset: off): the door's distances are multiplied by cohort_scale / the face's mean distance to every villager (their nearest template each), so a face near everyone counts as farther. threshold, margin and uncertain_threshold are then on that scale and must be calibrated for it (docs/face-studies.md#more-from-face-apis-descriptor-mirror-averaging-cohort-normalisation-more-enrolment-frames-issue-8); so are entry.adapt's max_distance and min_margin (they read the door's verdicts); the enrolment's look-alike check keeps plain distances" })),
  pool: Type.Optional(Type.Object({
    threshold: Type.Number({ minimum: 0, maximum: 2, default: 0.21, description: "Largest distance of the pooled descriptor to a villager's nearest template (plain distances, not cohort-scaled). 0.21 with margin 0.10: the safety rule's point over the 91 calibration runs with the frame vote at 0.205 / 0.08, safe with or without max_step's reset, and no false accept on the held-out sets at it or at 0.23 / 0.08. It was 0.205 / 0.02, chosen with the former frame point: a held-out K-pop stranger got in at 0.187, margin 0.06 (docs/face-study-pooling.md)" }),
    margin: Type.Number({ minimum: 0, maximum: 2, default: 0.1, description: 'The second-best villager must be at least this much farther from the pooled descriptor (below 0.10 look-alike strangers pool as close as 0.213 to a villager on the calibration sets)' }),
    min_frames: Type.Integer({ minimum: 2, maximum: 30, default: 2, description: 'Frames pooled before the pool may name a villager' }),
    max_step: Type.Number({ minimum: 0, maximum: 2, default: 0.4, description: "A frame farther than this from the pool's mean is another face: the pool starts again from it (on the door-like sets a face's frames lay ≤ 0.39 from the mean of its earlier ones, another person's beyond 0.39 about half of the time)." }),
  }, { additionalProperties: false, description: "Probe-side pooling (unset: off): besides the k-of-n vote, the unit mean of the descriptors of the window's frames with a face (no-face, low-quality and spoof frames left out) is matched like a frame, with its own threshold and margin; it opens the door once min_frames frames are pooled and it names a villager, on a frame whose own top-1 is that villager within uncertain_threshold, and only if no pooled frame is within the pool's threshold on its own (a frame vote naming another villager at the same frame: neither opens). Reset with the window and when the face changes (a frame beyond max_step, or naming another villager on its own); see docs/face-thresholds.md. Measured in docs/face-study-pooling.md#probe-side-temporal-pooling-entrymatchpool-issue-8" })),
  k: Type.Integer({ minimum: 1, maximum: 20, default: 2, description: 'Frames that must agree on the same villager...' }),
  n: Type.Integer({ minimum: 1, maximum: 30, default: 5, description: '...among the last n frames with a face (5 frames ≈ 0.6 s at 8 frames per second)' }),
  cooldown_ms: Type.Integer({ minimum: 0, maximum: 600_000, default: 8000, description: 'After a decision, the same face is not decided again for this long (unless it leaves the frame)' }),
  face_gone_frames: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'Consecutive frames without a face after which the person has left and the window resets' }),
  spoof_hold_ms: Type.Integer({ minimum: 1000, maximum: 600_000, default: 30_000, description: 'A presentation decided a spoof stays refused (spoof again, never matched) until the face leaves for face_gone_frames frames, or for at most this long: then its window starts fresh even if the face stayed, so a live villager the antispoof wrongly refused is judged again. The door announces the hold once, when it begins (请刷卡或扫码); 30 s is longer than a phone screen is held up by hand and shorter than a villager waits before walking off' }),
}, 'Matching a face against the gallery');

export const QualitySchema = Section({
  min_face_size: Type.Integer({ minimum: 20, maximum: 2000, default: 80, description: 'Smallest face (box side, px) analysed: farther people are not at the door yet' }),
  min_sharpness: Type.Number({ minimum: 0, default: 0.05, description: 'Laplacian/intensity variance ratio below which the face is too blurred' }),
  max_yaw: Type.Number({ minimum: 0, maximum: 90, default: 40, description: 'Largest head turn (degrees)' }),
  max_pitch: Type.Number({ minimum: 0, maximum: 90, default: 35, description: 'Largest head nod (degrees)' }),
  max_roll: Type.Number({ minimum: 0, maximum: 90, default: 30, description: 'Largest head tilt (degrees)' }),
}, 'Quality gate before the descriptor is computed');

/** Thresholds measured on NUAA print attacks, person-disjoint (docs/liveness.md). */
export const PassiveSchema = Section({
  enabled: Type.Boolean({ default: false, description: 'Before a face opens the door, check over consecutive frames that the landmarks do not move as one plane (a photo or a screen); a face the check cannot judge is uncertain (card or QR code), never matched' }),
  min_frames: Type.Integer({ minimum: 2, maximum: 30, default: 6, description: 'Frames of the face with landmarks before the check judges (the door waits for them)' }),
  max_frames: Type.Integer({ minimum: 2, maximum: 60, default: 12, description: 'Frames naming the matched villager (candidate or uncertain; only those are judged) after which a face still not judged live is uncertain' }),
  min_motion: Type.Number({ minimum: 0, maximum: 1, default: 0.015, description: 'Smallest change of landmark shape between two frames (per inter-ocular distance) that counts as evidence' }),
  min_pairs: Type.Integer({ minimum: 1, maximum: 400, default: 3, description: 'Pairs of frames with enough motion before judging' }),
  live_ratio: Type.Number({ minimum: 0, maximum: 10, default: 0.725, description: 'Median homography residual over motion at or above which the face is live (least BPCER at APCER ≤ 2 % on NUAA print attacks of people 1–8)' }),
  flat_ratio: Type.Number({ minimum: 0, maximum: 10, default: 0.33, description: 'Below this the face is flat: a spoof (the 2nd percentile of real faces)' }),
  noise_ratio: Type.Number({ minimum: 0, maximum: 10, default: 0.92, description: 'At or above this the landmarks only jittered (a face or a photo held still, ratio ≈ 0.98): uncertain' }),
  texture_model: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: 'A texture model file (JSON, written by scripts/liveness/train-texture.ts; none ships: see docs/liveness-texture.md). With it a still face is judged by the skin texture of its frames (print dots, screen pixels): live when the mean log-odds reach the model\'s threshold, unless the geometry says flat' }),
  onnx_model: Type.Union([Type.Object({
    path: Type.String({ minLength: 1, description: 'An ONNX liveness net shaped like fr_liveness.onnx of the npm package faceplugin-face-recognition-js@0.0.1 (input [1,3,128,128], output [1,3], the first class live); none ships: see docs/liveness-cues.md. Relative to data_dir' }),
    sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'sha256 of the file (sha256sum): a different file is refused at start' }),
    min_live: Type.Number({ minimum: 0, maximum: 1, default: 0.5, description: "Mean probability of a live face over the frames at or above which this cue says live (0.5: the net's own decision; docs/liveness-cues.md has the figures)" }),
  }, { additionalProperties: false }), Type.Null()], { default: null, description: 'An operator-supplied liveness net, {path (relative to data_dir), sha256, min_live (0–1, default 0.5: the net\'s own decision)}; none ships: see docs/liveness-cues.md for how to obtain one and its figures. Run in the inference worker on every frame with a face; with it the face is live only when the mean probability over its frames reaches min_live (and the texture cue agrees, if configured), unless the geometry says flat' }),
}, 'Passive liveness from landmark geometry over consecutive frames');

/** The active challenge (请眨眼 / 请慢慢转头): docs/liveness.md. */
export const ChallengeSchema = Section({
  mode: Type.Union([Type.Literal('off'), Type.Literal('when_uncertain'), Type.Literal('always')], { default: 'off', description: 'When the door asks the person to blink or turn the head before a face opens it: off; when_uncertain (the passive check could not judge the face: instead of asking for the card or QR code at once); always (every face match, whatever the passive check said, except a face it called flat)' }),
  kinds: Type.Array(Type.Union([Type.Literal('blink'), Type.Literal('turn')]), { minItems: 1, maxItems: 2, uniqueItems: true, default: ['blink', 'turn'], description: 'What the door may ask: blink (请眨眼; the lid opening over the eye-to-mouth distance, from the 68 landmarks, dips and recovers; pitch shortens both alike) or turn (请慢慢转头; the yaw changes by min_yaw_change and the frames of the turn are not one plane). With both, each challenge picks one at random, so a replayed video of one gesture is not enough' }),
  timeout_ms: Type.Integer({ minimum: 1000, maximum: 60_000, default: 8000, description: 'Time for one attempt, from the prompt (elderly villagers need time: generous by default)' }),
  repeats: Type.Integer({ minimum: 0, maximum: 3, default: 1, description: 'Attempts after a first one that failed or timed out (the prompt is repeated); then the face is uncertain and the door asks for the card or QR code' }),
  closed_share: Type.Number({ minimum: 0.2, maximum: 0.95, default: 0.7, description: 'Blink: the eye closure (lid opening over the eye-to-mouth distance) below this share of the open-eye value counts as closed; the eyes must then open again (above the midpoint)' }),
  min_yaw_change: Type.Number({ minimum: 5, maximum: 60, default: 15, description: 'Turn: the smallest change of yaw (degrees) within one attempt' }),
  turn_live_ratio: Type.Number({ minimum: 0, maximum: 10, default: 0.65, description: "Turn: the frames of the attempt must have a median homography residual over motion at least this (the passive check's measure). On the scenario runner's generated sequences a face turning on the elliptic head stand-in measured 0.72–0.77 and a phone screen turned by hand 0.55–0.62; synthetic landmarks of a plane stay ≤ 0.36. Not below passive.flat_ratio (docs/liveness.md)" }),
}, 'Active liveness challenge (blink or head turn) at the door');

export const LivenessSchema = Section({
  enabled: Type.Boolean({ default: true, description: 'Check every face for a photo or a screen held up to the camera' }),
  min_real: Type.Number({ minimum: 0, maximum: 1, default: 0.3, description: "Human's antispoof score below which the face is a spoof" }),
  min_live: Type.Number({ minimum: 0, maximum: 1, default: 0.1, description: "Human's liveness score below which the face is a spoof" }),
  passive: PassiveSchema,
  challenge: ChallengeSchema,
}, 'Presentation-attack checks');

export const CameraSchema = Type.Union([
  Type.Object({
    kind: Type.Literal('files'),
    path: Type.String({ minLength: 1, description: 'An image file or a folder of images, replayed in name order' }),
    // defaults are not filled inside a union (Ajv and TypeBox alike), so optional, read as `?? true`
    loop: Type.Optional(Type.Boolean({ description: 'Start again after the last image (default true)' })),
    watch: Type.Optional(Type.Boolean({ description: 'Re-read the folder whenever its contents change; an empty folder gives no frames (the scenario runner shows faces this way; default false)' })),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('v4l2'),
    device: Type.String({ minLength: 1, description: 'V4L2 device, e.g. /dev/video0' }),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('rtsp'),
    url: Type.String({ minLength: 1, pattern: '^rtsps?://' }),
  }, { additionalProperties: false }),
], { default: { kind: 'v4l2', device: '/dev/video0' }, description: 'Where frames come from' });

/** The infrared check (docs/liveness.md#infrared-camera): thresholds from synthetic frames; calibrate on the door's camera. */
export const IrSchema = Section({
  offset_x: Type.Number({ minimum: -4096, maximum: 4096, default: 0, description: 'IR x = RGB x × scale + offset_x (px): where the IR lens sees what the RGB lens sees at x' }),
  offset_y: Type.Number({ minimum: -4096, maximum: 4096, default: 0, description: 'IR y = RGB y × scale + offset_y (px)' }),
  scale: Type.Number({ minimum: 0.1, maximum: 10, default: 1, description: 'IR pixels per RGB pixel (the two sensors\' resolutions and fields of view)' }),
  max_skew_ms: Type.Integer({ minimum: 10, maximum: 5000, default: 500, description: 'An IR frame pairs with an RGB frame that arrived at most this long before or after it; none: the face is uncertain (card or QR code)' }),
  min_skin_level: Type.Number({ minimum: 0, maximum: 255, default: 60, description: 'Mean IR level (0–255) of the cheeks and nose below which the face is dark in IR: a screen (it emits no infrared)' }),
  min_eye_contrast: Type.Number({ minimum: 0, maximum: 1, default: 0.12, description: 'Eyes darker than the skin around them by at least this share of the skin level, or no face is there in IR (a dye-ink print, a blank)' }),
  max_skin_texture: Type.Number({ minimum: 0, maximum: 10, default: 0.12, description: 'Mean absolute Laplacian of the cheeks over their level above which the skin is not skin: halftone dots or paper grain of a print' }),
}, 'Infrared camera check (with entry.camera_ir)');

const SingleRecognizerSchemas = [
  Type.Object({
    kind: Type.Literal('faceapi'),
    flip: Type.Optional(Type.Boolean({ description: "Test-time augmentation: the descriptor of the face and of its mirror image averaged (a second pass of the 128-d net). Other descriptors: changing it means enrolling again (the templates' recognizer tag refuses the old ones), and match.threshold/margin must suit it (docs/face-recognizers.md)" })),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('onnx-arcface'),
    path: Type.String({ minLength: 1, description: 'ArcFace-family ONNX model (112×112 five-point aligned input, 512-d output), relative to data_dir' }),
    sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'sha256 of the file (sha256sum): a different file is refused at start' }),
    input: Type.Optional(Type.Object({
      channels: Type.Optional(Type.Union([Type.Literal('rgb'), Type.Literal('bgr')], { description: 'Channel order the model was trained on (unset: rgb)' })),
      mean: Type.Optional(Type.Number({ description: 'Subtracted from each 0–255 pixel value, 0–255 (unset: 127.5)' })),
      std: Type.Optional(Type.Number({ description: 'The difference is divided by this, above 0 and at most 255 (unset: 127.5)' })),
      stretch_dim: Type.Optional(Type.Boolean({ description: 'A dim frame (brightest 1 % below 140) is contrast-stretched before the face is cut, as the detector sees it (unset: false)' })),
    }, { additionalProperties: false, description: "The model's input convention when it is not insightface's RGB (x − 127.5)/127.5, e.g. {mean: 127, std: 128} (docs/face-recognizers.md). Changing it means enrolling again (the templates' recognizer tag refuses the old ones)" })),
    align: Type.Optional(Type.Union([Type.Literal('five-point'), Type.Literal('three-point')], { description: "The crop: five-point (unset; least-squares similarity of eyes, nose tip and mouth corners onto the 112×112 template) or three-point (the exact affine map of eyes and nose tip onto theirs, as OpenCV's getAffineTransform)" })),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('human-faceres'),
    path: Type.Optional(Type.String({ minLength: 1, description: "A faceres-family Human graph model json (e.g. faceres-deep.json), relative to data_dir; absent: the faceres shipped in @vladmandic/human" })),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'sha256 of the model weights (the .bin beside the json); required with path' })),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Union([Type.Literal('human-mobilefacenet'), Type.Literal('human-mobileface')]),
    path: Type.String({ minLength: 1, description: "Human's mobilefacenet.json or mobileface.json, relative to data_dir" }),
    sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'sha256 of the model weights (the .bin beside the json)' }),
  }, { additionalProperties: false }),
] as const;

export const RecognizerSchema = Type.Union([
  ...SingleRecognizerSchemas,
  Type.Object({
    kind: Type.Literal('fusion'),
    members: Type.Tuple([Type.Union([...SingleRecognizerSchemas]), Type.Union([...SingleRecognizerSchemas])], { description: 'Two different recognizers (each as entry.recognizer takes one) that both describe every face, e.g. [{kind: faceapi}, {kind: human-faceres}]' }),
    weight: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'w, the share of the first member: the descriptors are joined as [w·a, √(1−w²)·b], so squared distances add as w²·d_a² + (1−w²)·d_b². match.threshold and margin must be calibrated for the fusion (docs/face-recognizers.md). Changing w or the members means enrolling again (the recognizer tag of the stored templates refuses the old ones)' }),
  }, { additionalProperties: false }),
], { default: { kind: 'faceapi' }, description: "The descriptor stage: face-api's 128-d model or Human's faceres (1024-d), both shipped in npm; an ArcFace-family ONNX file (512-d) or one of Human's other descriptor models an operator supplies; or a fusion of two of them. Templates of one cannot be used with another: changing it means enrolling again. faceapi also takes flip: true (the descriptor of the face and of its mirror image averaged, a second pass of the net; docs/face-studies.md#more-from-face-apis-descriptor-mirror-averaging-cohort-normalisation-more-enrolment-frames-issue-8). onnx-arcface also takes input: {channels: rgb|bgr, mean, std, stretch_dim} and align: five-point|three-point for a model trained outside the insightface convention (unset: rgb, 127.5, 127.5, no stretch, five-point; docs/face-recognizers.md#a-pluggable-recognizer)" });

export const EntryConfigSchema = Type.Object({
  face_enabled: Type.Boolean({ default: true, description: 'Run face recognition at the door (QR and card always work)' }),
  camera: CameraSchema,
  camera_ir: Type.Optional(Type.Union(CameraSchema.anyOf, { description: 'The infrared lens of a binocular door camera (same kinds as camera). With it, a face opens the door only if the IR frame of the same moment shows a face with skin-like IR response where the RGB landmarks are (entry.ir)' })),
  ir: IrSchema,
  frame_width: Type.Integer({ minimum: 64, maximum: 4096, default: 640 }),
  frame_height: Type.Integer({ minimum: 64, maximum: 4096, default: 480 }),
  frame_rate: Type.Number({ minimum: 0.2, maximum: 60, default: 8, description: 'Frames per second asked of the camera; stale frames are dropped anyway' }),
  camera_retry_max_ms: Type.Integer({ minimum: 500, maximum: 300_000, default: 30_000, description: 'Longest wait between attempts to reopen a camera that disappeared' }),
  detector_input_size: Type.Integer({ minimum: 128, maximum: 608, multipleOf: 32, default: 256, description: 'Tiny face detector input (px): 256 finds every face above the quality gate minimum size in a 640×480 frame at ~35 ms; photos (enrolment, identify) use at least 416' }),
  detector: Type.Optional(Type.Union([Type.Literal('tiny'), Type.Literal('ssd')], { description: "The door's face detector: ssd (face-api's SSD MobileNet v1: misses ~0.3 % of faces, ≈ 24 ms per frame on onnx) or tiny (misses 4–7 %, ≈ 4 ms). Default: ssd with engine onnx, tiny with engine tfjs (SSD costs ≈ 290 ms per frame there). Enrolment and photos always use ssd" })),
  detector_min_score: Type.Number({ minimum: 0.05, maximum: 0.99, default: 0.4, description: 'Tiny face detector confidence; 0.5 (face-api default) loses faces in dim light' }),
  recognizer: RecognizerSchema,
  engine: Type.Union([Type.Literal('onnx'), Type.Literal('tfjs')], { default: 'onnx', description: "Runtime of the face nets (detectors, landmarks, descriptor, antispoof and liveness): onnx (onnxruntime-node; graphs converted from the same weights at first start and cached under data_dir/cache/onnx; if that fails the door runs on tfjs with a warning and /healthz says degraded) or tfjs (wasm, one thread). Both give the same faces and descriptors (cosine ≥ 0.9999), so templates need no re-enrolment" }),
  onnx_threads: Type.Integer({ minimum: 1, maximum: 16, default: 2, description: 'Intra-op threads of each onnxruntime session (the store PC has 2 cores)' }),
  match: MatchSchema,
  adapt: AdaptSchema,
  quality: QualitySchema,
  liveness: LivenessSchema,
  key_file: Type.String({ minLength: 1, default: 'keys/face-templates.key', description: 'AES-256 key for face templates, relative to data_dir; created at first start (mode 0600); never inside the database' }),
  qr_public_key_file: Type.String({ default: 'keys/qr-public.pem', description: 'Ed25519 public key (PEM) that signs entry QR codes, relative to data_dir' }),
  qr_max_lifetime_s: Type.Integer({ minimum: 10, maximum: 86_400, default: 300, description: 'Longest validity a QR token may claim' }),
  qr_clock_skew_s: Type.Integer({ minimum: 0, maximum: 600, default: 30 }),
  unlock_pulse_ms: Type.Integer({ minimum: 100, maximum: 60_000, default: 3000, description: 'How long the lock stays released' }),
  store_photos: Type.Boolean({ default: false, description: 'Keep enrolment photos in data_dir/<photo_dir>/<villager>/ (faces are personal data: off unless a maintainer needs them); withdrawal of consent (faces remove, the admin page) deletes them' }),
  photo_dir: Type.String({ default: 'faces/photos', description: 'Where enrolment photos go when store_photos is on, relative to data_dir' }),
}, { additionalProperties: false, default: {} });

export type EntryConfig = Static<typeof EntryConfigSchema>;
export type MatchConfig = Static<typeof MatchSchema>;
export type QualityConfig = Static<typeof QualitySchema>;
export type LivenessConfig = Static<typeof LivenessSchema>;
export type PassiveConfig = Static<typeof PassiveSchema>;
export type ChallengeConfig = Static<typeof ChallengeSchema>;
export type CameraConfig = Static<typeof CameraSchema>;
export type IrConfig = Static<typeof IrSchema>;
export type RecognizerConfig = Static<typeof RecognizerSchema>;
type SingleRecognizerConfig = Exclude<RecognizerConfig, { kind: 'fusion' }>;

/** The recognizer as the face engine takes it: the model path resolved against data_dir. */
export function recognizerChoice(r: RecognizerConfig, dataDir: string): RecognizerChoice {
  if (r.kind === 'fusion') return { kind: 'fusion', members: [singleChoice(r.members[0], dataDir), singleChoice(r.members[1], dataDir)], weight: r.weight };
  return singleChoice(r, dataDir);
}

function singleChoice(r: SingleRecognizerConfig, dataDir: string): SingleRecognizerChoice {
  if (r.kind === 'faceapi') return r;
  if (r.kind === 'human-faceres') return r.path ? { kind: r.kind, path: path.resolve(dataDir, r.path), ...(r.sha256 ? { sha256: r.sha256.toLowerCase() } : {}) } : { kind: r.kind };
  if (r.kind === 'onnx-arcface') {
    const { stretch_dim: stretchDim, ...norm } = r.input ?? {};
    const input = { ...norm, ...(stretchDim !== undefined ? { stretchDim } : {}) };
    return { kind: r.kind, path: path.resolve(dataDir, r.path), sha256: r.sha256.toLowerCase(), ...(r.input ? { input } : {}), ...(r.align ? { align: r.align } : {}) };
  }
  return { kind: r.kind, path: path.resolve(dataDir, r.path), sha256: r.sha256.toLowerCase() };
}

/** Fills defaults and validates a raw `entry` section (for tools that run without the daemon's loader). */
export function resolveEntryConfig(raw: unknown): EntryConfig {
  const input = structuredClone(raw ?? {}) as Record<string, unknown>;
  // TypeBox merges a union's default object into a given value ({kind:'files'} would gain a
  // `device`), so the camera is set aside while defaults are filled (Ajv does not do this)
  const camera = input.camera;
  const cameraIr = input.camera_ir;
  delete input.camera;
  delete input.camera_ir;
  const value = Value.Default(EntryConfigSchema, input) as Record<string, unknown>;
  if (camera !== undefined) value.camera = camera;
  if (cameraIr !== undefined) value.camera_ir = cameraIr;
  if (!Value.Check(EntryConfigSchema, value)) {
    const first = [...Value.Errors(EntryConfigSchema, value)][0];
    throw new EdgeError('CONFIG_INVALID', `entry config: ${first ? `${first.path} ${first.message}` : 'invalid'}`, { zh: '门禁配置有误' });
  }
  checkEntryConfig(value);
  return value;
}

const pathOf = (r: SingleRecognizerConfig): string | undefined => ('path' in r ? r.path : undefined);
const sameModel = (a: SingleRecognizerConfig, b: SingleRecognizerConfig): boolean => a.kind === b.kind && pathOf(a) === pathOf(b);

/** An ONNX recognizer's input normalisation: a pixel mean within 0–255, a scale above 0 and at most 255. */
function checkArcFaceInput(input: { mean?: number; std?: number } | undefined): void {
  const { mean, std } = input ?? {};
  if (mean !== undefined && !(mean >= 0 && mean <= 255)) {
    throw new EdgeError('CONFIG_INVALID', `entry.recognizer.input.mean must be a pixel value from 0 to 255, got ${mean}`, { zh: `门禁配置有误：recognizer.input.mean 须为 0 到 255 之间的像素值，现为 ${mean}` });
  }
  if (std !== undefined && !(std > 0 && std <= 255)) {
    throw new EdgeError('CONFIG_INVALID', `entry.recognizer.input.std must be above 0 and at most 255, got ${std}`, { zh: `门禁配置有误：recognizer.input.std 须大于 0 且不超过 255，现为 ${std}` });
  }
}

/** Rules across keys that a schema cannot state; the daemon's loader calls it too. */
export function checkEntryConfig(entry: EntryConfig): void {
  const r = entry.recognizer;
  for (const one of r.kind === 'fusion' ? r.members : [r]) {
    if (one.kind === 'onnx-arcface') checkArcFaceInput(one.input);
    if (one.kind === 'human-faceres' && one.path && !one.sha256) {
      throw new EdgeError('CONFIG_INVALID', `entry.recognizer: a model from a folder (${one.path}) needs the sha256 of its weights (.bin)`, { zh: `门禁配置有误：识别模型 ${one.path} 须配置其权重文件（.bin）的 sha256` });
    }
  }
  if (r.kind === 'fusion' && sameModel(r.members[0], r.members[1])) {
    throw new EdgeError('CONFIG_INVALID', `entry.recognizer: a fusion needs two different members, both are ${recognizerLabel(r.members[0])}`, { zh: `门禁配置有误：融合识别须用两个不同的模型，现在两个都是 ${recognizerLabel(r.members[0])}` });
  }
  const m = entry.match;
  const pv = entry.liveness.passive;
  if (pv.max_frames < pv.min_frames || pv.flat_ratio > pv.live_ratio || pv.live_ratio >= pv.noise_ratio) {
    throw new EdgeError('CONFIG_INVALID', 'entry.liveness.passive: max_frames must not be below min_frames, nor flat_ratio above live_ratio, and live_ratio must be below noise_ratio', { zh: '门禁配置有误：liveness.passive 的 max_frames 不能小于 min_frames，flat_ratio 不能大于 live_ratio，live_ratio 须小于 noise_ratio' });
  }
  const ch = entry.liveness.challenge;
  if (ch.turn_live_ratio < pv.flat_ratio || ch.turn_live_ratio >= pv.noise_ratio) {
    throw new EdgeError('CONFIG_INVALID', `entry.liveness.challenge.turn_live_ratio (${ch.turn_live_ratio}) must be at least passive.flat_ratio (${pv.flat_ratio}) and below passive.noise_ratio (${pv.noise_ratio})`, { zh: `门禁配置有误：liveness.challenge.turn_live_ratio（${ch.turn_live_ratio}）不能小于 passive.flat_ratio（${pv.flat_ratio}），且须小于 passive.noise_ratio（${pv.noise_ratio}）` });
  }
  const a = entry.adapt;
  if (a.max_distance > m.threshold || a.min_margin < m.margin) {
    throw new EdgeError('CONFIG_INVALID', `entry.adapt must be stricter than the door's accept rule: max_distance (${a.max_distance}) not above match.threshold (${m.threshold}), min_margin (${a.min_margin}) not below match.margin (${m.margin})`, { zh: `门禁配置有误：adapt 须比开门规则更严：max_distance（${a.max_distance}）不能大于 match.threshold（${m.threshold}），min_margin（${a.min_margin}）不能小于 match.margin（${m.margin}）` });
  }
  if (m.uncertain_threshold < m.threshold) {
    throw new EdgeError('CONFIG_INVALID', `entry.match.uncertain_threshold (${m.uncertain_threshold}) must not be below entry.match.threshold (${m.threshold})`, { zh: `门禁配置有误：uncertain_threshold（${m.uncertain_threshold}）不能小于 threshold（${m.threshold}）` });
  }
}

/**
 * Which engines load the passive check's liveness net (`entry.liveness.passive.onnx_model`):
 * `when-used` (the door, `faces present`) only when the passive check is on, `configured`
 * (`faces evaluate-liveness`, the liveness scripts) whenever it is set, `never` (enrolment,
 * identification: they never ask for it).
 */
export type LivenessNetUse = 'when-used' | 'configured' | 'never';

/** The face engine's runtime options for this config (converted graphs cached in the data folder). */
export function engineChoice(entry: EntryConfig, dataDir: string, netUse: LivenessNetUse = 'when-used'): { engine: EntryConfig['engine']; onnxThreads: number; onnxCacheDir: string; livenessNet?: { path: string; sha256: string } } {
  // the passive check's liveness net runs in the engine, where the frame goes; it is read and
  // sha256-checked at start, so it is loaded only where something will ask for it
  const passive = entry.liveness.passive;
  const net = netUse === 'never' || (netUse === 'when-used' && !passive.enabled) ? null : passive.onnx_model;
  return { engine: entry.engine, onnxThreads: entry.onnx_threads, onnxCacheDir: path.resolve(dataDir, 'cache', 'onnx'), ...(net ? { livenessNet: { path: path.resolve(dataDir, net.path), sha256: net.sha256.toLowerCase() } } : {}) };
}

/** The door's detector: as configured, else SSD when the nets run on onnx (it fits the frame budget there) and tiny on tfjs. */
export function doorDetector(entry: EntryConfig): 'tiny' | 'ssd' {
  return entry.detector ?? (entry.engine === 'onnx' ? 'ssd' : 'tiny');
}

/** Values per template for the configured recognizer (the gallery's row length). */
export const descriptorLength = (entry: EntryConfig): number => descriptorLengthOf(entry.recognizer);

/** The quality gate as the face engine takes it (models/ keeps its own names). */
export function qualityGate(q: QualityConfig): QualityGate {
  return { minFaceSize: q.min_face_size, minSharpness: q.min_sharpness, maxYaw: q.max_yaw, maxPitch: q.max_pitch, maxRoll: q.max_roll };
}


/** The infrared check's parameters (edge/entry/liveness-ir.ts keeps its own names). */
export function irParams(c: IrConfig): IrParams {
  return { offsetX: c.offset_x, offsetY: c.offset_y, scale: c.scale, minSkinLevel: c.min_skin_level, minEyeContrast: c.min_eye_contrast, maxSkinTexture: c.max_skin_texture };
}
