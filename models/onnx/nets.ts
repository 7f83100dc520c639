/**
 * face-api's nets on onnxruntime-node's CPU provider: the graphs of cache.ts loaded into
 * sessions with graph optimisation and a fixed number of intra-op threads, fed from reused
 * input buffers (preprocess.ts). Outputs are face-api's own: landmark positions relative to
 * the face crop, raw (not normalised) descriptors, SSD detections relative to the frame.
 */
import * as ort from 'onnxruntime-node';
import type { RgbFrame } from '../frame.ts';
import type { VerifiedModel } from '../manifest.ts';
import { convertedNet, type ConversionListener, type OnnxNetName } from './cache.ts';
import { LANDMARK_INPUT } from './landmarks.ts';
import { cropAndResize, mirrorRows, squareInput, type Region } from './preprocess.ts';
import { cpuSessionOptions } from './session.ts';
import { RECOGNITION_INPUT } from './recognition.ts';
import { ssdDetections, type RelativeDetection } from './ssd-decode.ts';
import { SSD_INPUT } from './ssd.ts';
import { tinyDetections } from './tiny-decode.ts';
import { decodeWeights } from './weights.ts';

const ANTISPOOF_INPUT = 128;
const LIVENESS_INPUT = 32;

export interface OnnxNetsOptions {
  /** Where converted graphs are cached (default: the checkout's `.cache/onnx/`). */
  cacheDir?: string;
  /** onnxruntime intra-op threads per session (default 2: this store PC's cores). */
  threads?: number;
  /** Told of each net as it is converted (or found in the cache): a progress bar at a terminal, a log line elsewhere. */
  onConversion?: ConversionListener;
}

export interface OnnxModels {
  /** face-api's 128-d recognition net; left out when another recognizer describes the faces (not loaded at all). */
  faceRecognition?: VerifiedModel;
  faceLandmark68: VerifiedModel;
  /** Given when the SSD detector is used. */
  ssdMobilenetv1?: VerifiedModel;
  /** Given when the tiny detector is used, with its input size (a multiple of 32). */
  tinyFaceDetector?: { model: VerifiedModel; inputSize: number };
  /** Human's antispoof (128 px) and liveness (32 px) models, when liveness is checked. */
  liveness?: { antispoof: VerifiedModel; liveness: VerifiedModel };
}

/** Antispoof and liveness scores, 0..1 (1 = a real, live face). */
export interface LivenessScores { real: number; live: number }

/** One net's session with its reused input buffer. */
class Net {
  readonly input: Float32Array;
  private constructor(private readonly session: ort.InferenceSession, readonly name: OnnxNetName, readonly size: number) {
    this.input = new Float32Array(size * size * 3);
  }

  static async load(name: OnnxNetName, model: VerifiedModel, size: number, opts: OnnxNetsOptions, variant = 0, onBuild?: () => void): Promise<{ net: Net; built: boolean }> {
    const converted = await convertedNet(name, model, opts.cacheDir, variant, onBuild);
    const session = await ort.InferenceSession.create(converted.bytes, cpuSessionOptions(opts.threads));
    return { net: new Net(session, name, size), built: converted.built };
  }

  async run(): Promise<ort.InferenceSession.OnnxValueMapType> {
    return this.session.run({ input: new ort.Tensor('float32', this.input, [1, this.size, this.size, 3]) });
  }

  release(): Promise<void> { return this.session.release(); }
}

const floats = (v: ort.Tensor | undefined, n: number, what: string): Float32Array => {
  const d = v?.data;
  if (!(d instanceof Float32Array) || d.length !== n) throw new Error(`onnx: ${what} has ${d?.length ?? 0} values, expected ${n}`);
  return d;
};

export class OnnxFaceNets {
  private constructor(
    private readonly recognition: Net | undefined,
    private readonly landmark: Net,
    private readonly ssd: Net | undefined,
    private readonly anchors: Float32Array | undefined,
    private readonly tiny: Net | undefined,
    private readonly spoof: { antispoof: Net; liveness: Net } | undefined,
    /** Why the liveness models stay on tfjs, or null. */
    readonly livenessNote: string | null,
  ) {}

  /** Converts (or reads from the cache) and loads the nets. Throws when one of face-api's fails (releasing the others). */
  static async load(models: OnnxModels, opts: OnnxNetsOptions = {}): Promise<OnnxFaceNets> {
    const loaded: Net[] = [];
    const total = [models.faceRecognition, models.faceLandmark68, models.ssdMobilenetv1, models.tinyFaceDetector].filter(Boolean).length + (models.liveness ? 2 : 0);
    let index = 0;
    // a listener's error (a closed terminal) must not stop the door's nets from loading
    const tell: ConversionListener = (s) => {
      try {
        opts.onConversion?.(s);
      } catch { /* progress is only a view */ }
    };
    // one after the other: the conversions are CPU-bound
    const load = async (name: OnnxNetName, model: VerifiedModel, size: number, variant = 0): Promise<Net> => {
      const step = { net: name, index: ++index, total };
      const t0 = performance.now();
      try {
        const { net, built } = await Net.load(name, model, size, opts, variant, () => tell({ ...step, phase: 'converting' }));
        loaded.push(net);
        tell(built ? { ...step, phase: 'converted', ms: performance.now() - t0 } : { ...step, phase: 'cached' });
        return net;
      } catch (err) {
        tell({ ...step, phase: 'failed', ms: performance.now() - t0, error: (err as Error).message });
        throw err;
      }
    };
    try {
      const recognition = models.faceRecognition ? await load('faceRecognition', models.faceRecognition, RECOGNITION_INPUT) : undefined;
      const landmark = await load('faceLandmark68', models.faceLandmark68, LANDMARK_INPUT);
      let ssd: Net | undefined;
      let anchors: Float32Array | undefined;
      if (models.ssdMobilenetv1) {
        ssd = await load('ssdMobilenetv1', models.ssdMobilenetv1, SSD_INPUT);
        const a = decodeWeights(models.ssdMobilenetv1.topology, models.ssdMobilenetv1.weights).get('Output/extra_dim')?.data;
        if (!(a instanceof Float32Array)) throw new Error('onnx: the SSD weights have no Output/extra_dim anchors');
        anchors = a;
      }
      const t = models.tinyFaceDetector;
      const tiny = t ? await load('tinyFaceDetector', t.model, t.inputSize, t.inputSize) : undefined;
      // Human's graph models are mapped node by node: one the mapper cannot take stays on tfjs
      let spoof: { antispoof: Net; liveness: Net } | undefined;
      let livenessNote: string | null = null;
      if (models.liveness) {
        const before = loaded.length;
        try {
          spoof = {
            antispoof: await load('antispoof', models.liveness.antispoof, ANTISPOOF_INPUT),
            liveness: await load('liveness', models.liveness.liveness, LIVENESS_INPUT),
          };
        } catch (err) {
          await Promise.all(loaded.splice(before).map((n) => n.release()));
          livenessNote = `the liveness models stay on tfjs: ${(err as Error).message}`;
        }
      }
      return new OnnxFaceNets(recognition, landmark, ssd, anchors, tiny, spoof, livenessNote);
    } catch (err) {
      await Promise.all(loaded.map((n) => n.release().catch(() => undefined)));
      throw err;
    }
  }

  get hasLiveness(): boolean { return this.spoof !== undefined; }

  /** Antispoof and liveness of the box [y1, x1, y2, x2] (relative to the frame), as the tfjs path crops it. */
  async liveness(frame: RgbFrame, box: readonly [number, number, number, number]): Promise<LivenessScores> {
    if (!this.spoof) throw new Error('onnx: the liveness models were not loaded');
    const { antispoof, liveness } = this.spoof;
    cropAndResize(frame, box, ANTISPOOF_INPUT, antispoof.input);
    cropAndResize(frame, box, LIVENESS_INPUT, liveness.input);
    const real = (await antispoof.run()).output?.data;
    const live = (await liveness.run()).output?.data;
    if (!(real instanceof Float32Array) || !(live instanceof Float32Array)) throw new Error('onnx: the liveness models gave no float output');
    return { real: real[0] ?? 0, live: live[0] ?? 0 };
  }

  get hasSsd(): boolean { return this.ssd !== undefined; }
  /** Whether face-api's recognition net is loaded (not when another recognizer is configured). */
  get hasRecognition(): boolean { return this.recognition !== undefined; }
  get hasTiny(): boolean { return this.tiny !== undefined; }

  /** 68 landmarks of the face in the integer region, as [x, y] relative to the region (0..1). */
  async landmarks(frame: RgbFrame, region: Region): Promise<Float32Array> {
    squareInput(frame, region, true, LANDMARK_INPUT, this.landmark.input);
    const raw = floats((await this.landmark.run()).landmarks, 136, 'landmarks');
    // face-api's FaceLandmark68NetBase.postProcess: out of the centred square, relative to the region
    const s = LANDMARK_INPUT / Math.max(region.width, region.height);
    const w = region.width * s;
    const h = region.height * s;
    const padX = w < h ? Math.abs(w - h) / 2 : 0;
    const padY = h < w ? Math.abs(w - h) / 2 : 0;
    const out = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      out[2 * i] = ((raw[2 * i] as number) * LANDMARK_INPUT - padX) / w;
      out[2 * i + 1] = ((raw[2 * i + 1] as number) * LANDMARK_INPUT - padY) / h;
    }
    return out;
  }

  /** face-api's 128-d descriptor (not normalised) of the integer region; `mirrored`: of its mirror image. */
  async descriptor(frame: RgbFrame, region: Region, mirrored = false): Promise<Float32Array> {
    if (!this.recognition) throw new Error('onnx: face-api\'s recognition net was not loaded (another recognizer is configured)');
    squareInput(frame, region, true, RECOGNITION_INPUT, this.recognition.input);
    if (mirrored) mirrorRows(this.recognition.input, RECOGNITION_INPUT);
    return floats((await this.recognition.run()).descriptor, 128, 'descriptor').slice();
  }

  /** SSD detections over the whole frame, relative to it. */
  async detectSsd(frame: RgbFrame, minScore: number, maxResults: number): Promise<RelativeDetection[]> {
    if (!this.ssd || !this.anchors) throw new Error('onnx: the SSD detector was not loaded');
    squareInput(frame, { x: 0, y: 0, width: frame.width, height: frame.height }, false, SSD_INPUT, this.ssd.input);
    const out = await this.ssd.run();
    return ssdDetections(floats(out.box_encodings, this.anchors.length, 'box encodings'), floats(out.scores, this.anchors.length / 4, 'scores'), this.anchors, frame.width, frame.height, minScore, maxResults);
  }

  /** Tiny detector detections over the whole frame, relative to it. */
  async detectTiny(frame: RgbFrame, minScore: number): Promise<RelativeDetection[]> {
    if (!this.tiny) throw new Error('onnx: the tiny detector was not loaded');
    const size = this.tiny.size;
    squareInput(frame, { x: 0, y: 0, width: frame.width, height: frame.height }, false, size, this.tiny.input);
    const out = (await this.tiny.run()).grid;
    const cells = Math.ceil(size / 32);
    return tinyDetections(floats(out, cells * cells * 25, 'tiny detector grid'), size, frame.width, frame.height, minScore);
  }

  async release(): Promise<void> {
    await Promise.all([this.recognition?.release(), this.landmark.release(), this.ssd?.release(), this.tiny?.release(), this.spoof?.antispoof.release(), this.spoof?.liveness.release()]);
  }
}

