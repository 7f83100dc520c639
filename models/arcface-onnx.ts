/**
 * An ArcFace-family recognizer run by onnxruntime-node: the model file is read once, checked
 * against its configured sha256 (a different file is refused naming it, as the shipped models
 * are), and the verified bytes are what the session loads (models/onnx/session.ts).
 * Input [1,3,112,112] NCHW RGB (x − 127.5)/127.5 after five-point alignment, unless the
 * configuration describes the model's own convention (`ArcFaceOptions`: BGR, another mean and
 * scale, the three-point affine crop); output 512 floats, L2-normalised here. An output of any
 * other length is refused rather than searched.
 */
import * as ort from 'onnxruntime-node';
import { affineFromThree, ALIGNED_SIZE, alignedInput, ARCFACE_INPUT, ARCFACE_TEMPLATE, estimateSimilarity, fivePoints, type InputNorm } from './align.ts';
import { ModelError } from './errors.ts';
import { loadVerifiedSession } from './onnx/session.ts';
import type { RgbFrame } from './frame.ts';
import { normalise, stretchContrast } from './frame.ts';
import type { Point } from './quality.ts';
import { ARCFACE_DESCRIPTOR_LENGTH, type ArcFaceAlign, type ArcFaceInput, type Recognizer } from './recognizer.ts';

/** The model's input convention, where it is not insightface's (unset: RGB, (x − 127.5)/127.5, five-point). */
export interface ArcFaceOptions { input?: Partial<ArcFaceInput>; align?: ArcFaceAlign; /** intra-op threads (entry.onnx_threads; default 2), pool threads sleeping when idle as the other nets' */ threads?: number }

export class ArcFaceOnnx implements Recognizer {
  readonly kind = 'onnx-arcface' as const;
  readonly descriptorLength = ARCFACE_DESCRIPTOR_LENGTH;
  // reused between faces: the aligned input (allocation-aware hot loop)
  private readonly input = new Float32Array(3 * ALIGNED_SIZE * ALIGNED_SIZE);

  private readonly norm: InputNorm;
  private readonly align: ArcFaceAlign;
  private readonly stretchDim: boolean;

  private constructor(private readonly session: ort.InferenceSession, private readonly file: string, options: ArcFaceOptions) {
    this.norm = { ...ARCFACE_INPUT, ...options.input };
    this.align = options.align ?? 'five-point';
    this.stretchDim = options.input?.stretchDim ?? false;
  }

  /** Reads, verifies and loads the model. Throws MODEL_MISSING, MODEL_ALTERED or MODEL_UNLOADABLE naming the file. */
  static async load(file: string, sha256: string, options: ArcFaceOptions = {}): Promise<ArcFaceOnnx> {
    const session = await loadVerifiedSession(file, sha256, 'recognizer', 'onnx-arcface', options.threads);
    return new ArcFaceOnnx(session, file, options);
  }

  async describe(frame: RgbFrame, landmarks68: readonly Point[]): Promise<Float32Array> {
    const five = fivePoints(landmarks68);
    const m = this.align === 'three-point' ? affineFromThree(five.slice(0, 3), ARCFACE_TEMPLATE.slice(0, 3)) : estimateSimilarity(five, ARCFACE_TEMPLATE);
    alignedInput(this.stretchDim ? stretchContrast(frame) : frame, m, ALIGNED_SIZE, this.input, this.norm);
    return this.embed(this.input);
  }

  /** Runs the network on an aligned, normalised input (exposed for evaluation tools and tests). */
  async embed(input: Float32Array): Promise<Float32Array> {
    const name = this.session.inputNames[0] as string;
    const out = await this.session.run({ [name]: new ort.Tensor('float32', input, [1, 3, ALIGNED_SIZE, ALIGNED_SIZE]) });
    const t = out[this.session.outputNames[0] as string];
    const data = t?.data;
    if (!(data instanceof Float32Array) || data.length !== this.descriptorLength) {
      throw new ModelError('ENGINE_FAILED', `recognizer ${this.file}: output has ${data?.length ?? 0} values (${t?.type ?? 'none'}), expected ${this.descriptorLength} float32`, { details: { model: 'onnx-arcface', file: this.file } });
    }
    return normalise(data);
  }

  async stop(): Promise<void> {
    await this.session.release();
  }
}
