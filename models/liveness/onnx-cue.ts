/**
 * An operator-supplied liveness network run by onnxruntime-node, as a cue of the passive check
 * (config `entry.liveness.passive.onnx_model`, off by default; nothing ships). It is written for
 * nets shaped like the one in the npm package `faceplugin-face-recognition-js@0.0.1`
 * (`model/fr_liveness.onnx`, docs/liveness-cues.md says how to obtain it): input [1,3,128,128], the face
 * box widened `CROP_SCALE` times about its centre (shifted, not cut, at the frame's edge), resized
 * bilinearly to 128 px, RGB 0..255 planar with no normalisation; output [1,3] logits whose
 * softmax's first value is the probability of a live face.
 *
 * The file is read once and checked against its configured sha256 (a different file is refused
 * naming it: MODEL_MISSING, MODEL_ALTERED, MODEL_UNLOADABLE), and the verified bytes are what the
 * session loads, as for the other ONNX nets (models/onnx/session.ts).
 */
import * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.ts';
import { loadVerifiedSession } from '../onnx/session.ts';
import type { RgbFrame } from '../frame.ts';
import type { Box } from '../quality.ts';

export const LIVENESS_INPUT = 128;
/** How many times the face box the net looks at (its context: hands, a paper's edge, a bezel). */
export const CROP_SCALE = 2.7;

/** The square-ish region the net sees: the box widened about its centre, kept inside the frame by shifting. */
export function livenessCrop(box: Box, width: number, height: number, scale = CROP_SCALE): Box {
  const k = Math.min((height - 1) / box.height, (width - 1) / box.width, scale);
  const w = box.width * k, h = box.height * k;
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  let x0 = cx - w / 2, y0 = cy - h / 2;
  x0 = Math.min(Math.max(x0, 0), width - 1 - w);
  y0 = Math.min(Math.max(y0, 0), height - 1 - h);
  const x = Math.max(Math.trunc(x0), 0), y = Math.max(Math.trunc(y0), 0);
  return { x, y, width: Math.max(1, Math.min(Math.trunc(w), width - 1 - x)), height: Math.max(1, Math.min(Math.trunc(h), height - 1 - y)) };
}

/**
 * The net's input for one face: the crop resized bilinearly (pixel centres aligned) to
 * `size`×`size`, planar R, G, B, values 0..255, written into `out` (reused between frames).
 */
export function livenessInput(frame: RgbFrame, box: Box, out: Float32Array = new Float32Array(3 * LIVENESS_INPUT * LIVENESS_INPUT), size = LIVENESS_INPUT): Float32Array {
  const crop = livenessCrop(box, frame.width, frame.height);
  const { data, width: fw, height: fh } = frame;
  const sx = crop.width / size, sy = crop.height / size;
  const plane = size * size;
  for (let v = 0; v < size; v++) {
    let fy = crop.y + (v + 0.5) * sy - 0.5;
    fy = Math.min(Math.max(fy, 0), fh - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, fh - 1), wy = fy - y0;
    for (let u = 0; u < size; u++) {
      let fx = crop.x + (u + 0.5) * sx - 0.5;
      fx = Math.min(Math.max(fx, 0), fw - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, fw - 1), wx = fx - x0;
      const a = (y0 * fw + x0) * 3, b = (y0 * fw + x1) * 3, c = (y1 * fw + x0) * 3, d = (y1 * fw + x1) * 3;
      const o = v * size + u;
      for (let ch = 0; ch < 3; ch++) {
        const top = (data[a + ch] as number) * (1 - wx) + (data[b + ch] as number) * wx;
        const bottom = (data[c + ch] as number) * (1 - wx) + (data[d + ch] as number) * wx;
        out[ch * plane + o] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/** Softmax of the logits. */
export function softmax(logits: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i] as number);
  const e = Array.from({ length: logits.length }, (_, i) => Math.exp((logits[i] as number) - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

export class OnnxLivenessNet {
  private readonly input = new Float32Array(3 * LIVENESS_INPUT * LIVENESS_INPUT);

  private constructor(private readonly session: ort.InferenceSession, readonly file: string) {}

  /** Reads, verifies and loads the model. Throws MODEL_MISSING, MODEL_ALTERED or MODEL_UNLOADABLE naming the file. */
  static async load(file: string, sha256: string, threads?: number): Promise<OnnxLivenessNet> {
    const session = await loadVerifiedSession(file, sha256, 'liveness net', 'onnx-liveness', threads);
    const dims = (session.inputMetadata?.[0] as { shape?: readonly unknown[] } | undefined)?.shape;
    if (dims && dims.length === 4 && (dims[1] !== 3 || dims[2] !== LIVENESS_INPUT || dims[3] !== LIVENESS_INPUT)) {
      await session.release();
      throw new ModelError('MODEL_UNLOADABLE', `liveness net: ${file} takes [${dims.join(',')}], expected [1,3,${LIVENESS_INPUT},${LIVENESS_INPUT}]`, { details: { model: 'onnx-liveness', file } });
    }
    const net = new OnnxLivenessNet(session, file);
    // the first run builds the kernels: paid at start, not by the first villager
    await net.probabilities({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(128) }, { x: 2, y: 2, width: 4, height: 4 });
    return net;
  }

  /** The net's probabilities (softmax) for the face in `box`; the first is "live". */
  async probabilities(frame: RgbFrame, box: Box): Promise<number[]> {
    livenessInput(frame, box, this.input);
    const out = await this.session.run({ [this.session.inputNames[0] as string]: new ort.Tensor('float32', this.input, [1, 3, LIVENESS_INPUT, LIVENESS_INPUT]) });
    const t = out[this.session.outputNames[0] as string];
    const data = t?.data;
    if (!(data instanceof Float32Array) || data.length < 2) {
      throw new ModelError('ENGINE_FAILED', `liveness net ${this.file}: output has ${data?.length ?? 0} values (${t?.type ?? 'none'}), expected ≥ 2 float32`, { details: { model: 'onnx-liveness', file: this.file } });
    }
    return softmax(data);
  }

  /** The probability of a live face (the softmax's first value). */
  async live(frame: RgbFrame, box: Box): Promise<number> {
    return (await this.probabilities(frame, box))[0] as number;
  }

  async stop(): Promise<void> {
    await this.session.release();
  }
}
