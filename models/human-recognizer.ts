/**
 * Human's face descriptors as recognizers: `faceres` (HSE FaceRes, 1024-d, shipped in
 * @vladmandic/human), and from an operator's folder `faceres-deep` (same family, 1024-d),
 * `mobilefacenet` (192-d) and `mobileface` (256-d) from Human's model collection. Each tfjs
 * graph model is converted to ONNX at start (`onnx/tfjs-graph.ts`) and runs on onnxruntime-node;
 * a model with an op the converter does not map is refused (`MODEL_UNLOADABLE`).
 *
 * The face is cut by a similarity transform from five landmarks (eye centres, nose tip, mouth
 * corners) onto the insightface template scaled to the model's input, widened by `context`
 * for the faceres family, which Human feeds a looser crop (its face box enlarged by 1.4).
 * Input NHWC RGB; faceres and mobileface take 0..255, mobilefacenet 0..1 (scaled in the graph).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ARCFACE_TEMPLATE, estimateSimilarity, fivePoints, warpSimilarity, type Similarity } from './align.ts';
import { ModelError } from './errors.ts';
import { normalise, type RgbFrame } from './frame.ts';
import { readModel, type ModelRoots } from './manifest.ts';
import { cachedGraph, CONVERTER_VERSION, defaultCacheDir } from './onnx/cache.ts';
import { cpuSessionOptions } from './onnx/session.ts';
import { tfjsGraphToOnnx, type TfjsGraphJson } from './onnx/tfjs-graph.ts';
import type { Point } from './quality.ts';
import { HUMAN_MODELS, type HumanModelKind, type Recognizer } from './recognizer.ts';

interface Layout { size: number; divisor: number; context: number; output?: string }

const LAYOUTS: Record<HumanModelKind, Layout> = {
  faceres: { size: 224, divisor: 1, context: 1.4, output: 'global_pooling/Mean' },
  mobilefacenet: { size: 112, divisor: 1, context: 1 },
  mobileface: { size: 112, divisor: 1, context: 1 },
};

/** The five-point template for a square input of `size`, widened by `context` around its centre. */
export function templateFor(size: number, context: number): Point[] {
  const s = size / 112;
  return ARCFACE_TEMPLATE.map((p) => ({ x: size / 2 + ((p.x - 56) * s) / context, y: size / 2 + ((p.y - 56) * s) / context }));
}

/** Bilinear resampling of the frame through the inverse of `m`, NHWC RGB 0..255; outside the frame is black. */
export function warpNhwc(frame: RgbFrame, m: Similarity, size: number, out: Float32Array): Float32Array {
  warpSimilarity(frame, m, size, (i, c, val) => {
    out[i * 3 + c] = val;
  });
  return out;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export class HumanRecognizer implements Recognizer {
  readonly kind: Recognizer['kind'];
  private readonly input: Float32Array;
  private readonly template: Point[];

  private constructor(
    private readonly session: ort.InferenceSession, private readonly layout: Layout, private readonly label: string,
    readonly descriptorLength: number, kind: Recognizer['kind'],
  ) {
    this.kind = kind;
    this.input = new Float32Array(layout.size * layout.size * 3);
    this.template = templateFor(layout.size, layout.context);
  }

  /**
   * The shipped faceres (`file` undefined), or a Human graph model json from an operator's folder
   * whose weights (the .bin beside it, as the json names it) must have sha256 `binSha256`.
   */
  static async load(model: HumanModelKind, file: string | undefined, binSha256: string | undefined, opts: { threads?: number; roots?: ModelRoots; cacheDir?: string } = {}): Promise<HumanRecognizer> {
    const label = file ?? '@vladmandic/human/models/faceres.json';
    const details = { model: `human-${model}`, file: label };
    let json: Buffer;
    let bin: Buffer;
    if (file === undefined) {
      const m = await readModel('faceres', opts.roots);
      json = m.topology;
      bin = m.weights;
    } else {
      let binFile = '';
      try {
        json = await readFile(file);
        const parsed = JSON.parse(json.toString('utf8')) as TfjsGraphJson;
        binFile = path.join(path.dirname(file), parsed.weightsManifest[0]?.paths[0] ?? '');
        bin = await readFile(binFile);
      } catch (err) {
        throw new ModelError('MODEL_MISSING', `recognizer: cannot read ${binFile || file}: ${(err as Error).message}`, { cause: err, details });
      }
      const sha = sha256(bin);
      if (sha !== binSha256?.toLowerCase()) {
        throw new ModelError('MODEL_ALTERED', `recognizer: sha256 of ${binFile} is ${sha}, the configuration says ${binSha256 ?? 'nothing'}`, { details: { ...details, file: binFile } });
      }
    }
    const layout = LAYOUTS[model];
    let session: ort.InferenceSession;
    try {
      // converted once per weights and converter (8 s at start on a busy 2-core PC), like the shipped nets
      const key = sha256(Buffer.from(`converter ${CONVERTER_VERSION}\nhuman ${model} ${JSON.stringify(layout)}\n${sha256(json)}\n${sha256(bin)}\n`));
      const { bytes: onnx } = await cachedGraph(opts.cacheDir ?? defaultCacheDir(), `human-${model}`, key, () =>
        tfjsGraphToOnnx(JSON.parse(json.toString('utf8')) as TfjsGraphJson, bin, layout.size, `human-${model}`, { inputDivisor: layout.divisor, ...(layout.output ? { output: layout.output } : {}) }));
      session = await ort.InferenceSession.create(onnx, cpuSessionOptions(opts.threads));
    } catch (err) {
      throw new ModelError('MODEL_UNLOADABLE', `recognizer ${label}: cannot be converted to ONNX or loaded: ${(err as Error).message}`, { cause: err, details });
    }
    const r = new HumanRecognizer(session, layout, label, HUMAN_MODELS[model].length, `human-${model}`);
    await r.embed(r.input); // the first run allocates; and an output of the wrong length is refused now
    return r;
  }

  async describe(frame: RgbFrame, landmarks68: readonly Point[]): Promise<Float32Array> {
    const m = estimateSimilarity(fivePoints(landmarks68), this.template);
    warpNhwc(frame, m, this.layout.size, this.input);
    return this.embed(this.input);
  }

  private async embed(input: Float32Array): Promise<Float32Array> {
    const size = this.layout.size;
    const out = await this.session.run({ input: new ort.Tensor('float32', input, [1, size, size, 3]) });
    const data = out.output?.data;
    if (!(data instanceof Float32Array) || data.length !== this.descriptorLength) {
      throw new ModelError('ENGINE_FAILED', `recognizer ${this.label}: output has ${data instanceof Float32Array ? data.length : 0} values, expected ${this.descriptorLength}`, { details: { model: this.kind, file: this.label } });
    }
    return normalise(data);
  }

  async stop(): Promise<void> {
    await this.session.release();
  }
}
