/**
 * The face engine: detect → quality → landmarks/align → descriptor → liveness, on one packed
 * RGB frame. It runs in the inference worker (see engine-worker.ts) for the door, and in
 * process for the `faces` CLI. Only the largest face (the one nearest the door) is analysed
 * unless `allFaces` is asked for (enrolment and identify report every face).
 */
import { ModelError } from './errors.ts';
import { averaged, normalise, padFrame, stretchContrast, type RgbFrame } from './frame.ts';
import { readModel, type VerifiedModel } from './manifest.ts';
import { validateFrame, type AnalyseOptions, type EngineKind, type EngineOptions, type FaceAnalysis, type FrameAnalysis, type Liveness, type StageTimes } from './face-types.ts';
import { checkQuality, nearFaceCount, poseFromLandmarks, sharpness, type Box, type FaceQuality, type Point } from './quality.ts';
import { loadFaceApiNet, loadGraph, loadRuntime, type GraphModel, type Runtime } from './runtime.ts';
import { textureFeatures } from './liveness/texture.ts';
import { descriptorLengthOf, FACEAPI_DESCRIPTOR_LENGTH, humanModelOf, type Recognizer, type SingleRecognizerChoice } from './recognizer.ts';
import type * as TfModule from '@tensorflow/tfjs';
import type { OnnxFaceNets } from './onnx/nets.ts';
import type { OnnxLivenessNet } from './liveness/onnx-cue.ts';
import { livenessBox, tfjsLiveness } from './liveness-scores.ts';

export * from './face-types.ts';
export { normalise, padFrame } from './frame.ts';

type Tensor3D = TfModule.Tensor3D;
type FaceApiLandmarks = InstanceType<Runtime['faceapi']['FaceLandmarks68']>;

export class FaceEngine {
  private rt: Runtime | undefined;
  private antispoof: GraphModel | undefined;
  private liveness: GraphModel | undefined;
  private recognizer: Recognizer | undefined;
  private onnx: OnnxFaceNets | undefined;
  private livenessNet: OnnxLivenessNet | undefined;
  /** Why `engine: onnx` fell back to tfjs at start, or null. */
  fallback: string | null = null;
  /** Models left on tfjs under `engine: onnx`, with the reason (a tfjs op the converter does not map). */
  readonly notes: string[] = [];
  // reused between frames: the frame as float32 for tfjs (allocation-aware hot loop)
  private floatBuf = new Float32Array(0);

  constructor(private readonly opts: EngineOptions) {}

  /** Values per descriptor, as the gallery must hold them (128 face-api, 512 ArcFace). */
  get descriptorLength(): number { return descriptorLengthOf(this.opts.recognizer ?? { kind: 'faceapi' }); }

  /** Whether face-api's 128-d net computes descriptors (the default recognizer, or a member of a fusion); else it is never loaded. */
  get usesFaceApiRecognition(): boolean {
    const r = this.opts.recognizer ?? { kind: 'faceapi' };
    return r.kind === 'fusion' ? r.members.some((m) => m.kind === 'faceapi') : r.kind === 'faceapi';
  }

  /** Whether face-api's recognition net is in memory (on either runtime): for tests and /readyz. */
  get faceApiRecognitionLoaded(): boolean { return this.onnx ? this.onnx.hasRecognition : this.rt?.faceapi.nets.faceRecognitionNet.isLoaded === true; }

  /** The runtime actually running the converted nets (tfjs after a fallback). */
  get engine(): EngineKind { return this.onnx ? 'onnx' : 'tfjs'; }

  async start(): Promise<void> {
    const detector = this.opts.detector === 'ssd' ? 'ssdMobilenetv1' : 'tinyFaceDetector';
    // face-api's recognition net only when it describes the faces: another recognizer makes it dead weight (memory, start time)
    const faceApiDescribes = this.usesFaceApiRecognition;
    const names = [detector, 'faceLandmark68', ...(faceApiDescribes ? (['faceRecognition'] as const) : []), ...(this.opts.liveness ? (['antispoof', 'liveness'] as const) : [])] as const;
    // verify every file before loading any, so a damaged install fails fast and names the file
    const models = await Promise.all(names.map((n) => readModel(n, this.opts.roots)));
    const rt = await loadRuntime();
    const byName = new Map(models.map((m) => [m.name, m]));
    const get = (n: (typeof names)[number]) => byName.get(n) as NonNullable<ReturnType<typeof byName.get>>;
    if (this.opts.engine === 'onnx') {
      await this.startOnnx(faceApiDescribes ? get('faceRecognition') : undefined, get('faceLandmark68'), get(detector), this.opts.liveness ? { antispoof: get('antispoof'), liveness: get('liveness') } : undefined);
    }
    // tfjs nets only for what does not run on onnx (all of them on the tfjs engine or after a fallback)
    if (!this.onnx) {
      loadFaceApiNet(rt, detector === 'ssdMobilenetv1' ? rt.faceapi.nets.ssdMobilenetv1 : rt.faceapi.nets.tinyFaceDetector, get(detector));
      loadFaceApiNet(rt, rt.faceapi.nets.faceLandmark68Net, get('faceLandmark68'));
      if (faceApiDescribes) loadFaceApiNet(rt, rt.faceapi.nets.faceRecognitionNet, get('faceRecognition'));
    }
    if (this.opts.liveness && !this.onnx?.hasLiveness) {
      this.antispoof = await loadGraph(rt, get('antispoof'));
      this.liveness = await loadGraph(rt, get('liveness'));
    }
    const choice = this.opts.recognizer;
    if (choice?.kind === 'fusion') {
      const { FusionRecognizer } = await import('./fusion-recognizer.ts');
      const loaded: Recognizer[] = [await this.loadRecognizer(choice.members[0])];
      try {
        loaded.push(await this.loadRecognizer(choice.members[1]));
        this.recognizer = new FusionRecognizer([loaded[0] as Recognizer, loaded[1] as Recognizer], choice.weight);
      } catch (err) {
        await Promise.all(loaded.map((r) => r.stop()));
        throw err;
      }
    } else if (choice && choice.kind !== 'faceapi') {
      this.recognizer = await this.loadRecognizer(choice);
    }
    if (this.opts.livenessNet) {
      const { OnnxLivenessNet } = await import('./liveness/onnx-cue.ts');
      this.livenessNet = await OnnxLivenessNet.load(this.opts.livenessNet.path, this.opts.livenessNet.sha256, this.opts.onnxThreads);
    }
    this.rt = rt;
    // warm-up: the first inference compiles wasm kernels; pay it at start, not at the door
    const warm = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) };
    await this.analyse(warm, { allFaces: false, gate: null, liveness: this.opts.liveness });
    await this.warmNets();
  }

  /** One descriptor model; face-api's own net (already loaded by start) as a member of a fusion. */
  private async loadRecognizer(choice: SingleRecognizerChoice): Promise<Recognizer> {
    if (choice.kind === 'faceapi') {
      const flip = choice.flip === true;
      return { kind: 'faceapi', descriptorLength: FACEAPI_DESCRIPTOR_LENGTH, describe: (frame, landmarks68) => this.faceApiDescriptor(frame, landmarks68, undefined, flip), stop: () => Promise.resolve() };
    }
    if (choice.kind === 'onnx-arcface') {
      // loaded on demand: onnxruntime's native library is not needed with the default recognizer
      const { ArcFaceOnnx } = await import('./arcface-onnx.ts');
      return ArcFaceOnnx.load(choice.path, choice.sha256, { ...choice, ...(this.opts.onnxThreads ? { threads: this.opts.onnxThreads } : {}) });
    }
    const { HumanRecognizer } = await import('./human-recognizer.ts');
    return HumanRecognizer.load(humanModelOf(choice.kind), choice.path, choice.sha256, { ...(this.opts.onnxThreads ? { threads: this.opts.onnxThreads } : {}), ...(this.opts.roots ? { roots: this.opts.roots } : {}), ...(this.opts.onnxCacheDir ? { cacheDir: this.opts.onnxCacheDir } : {}) });
  }

  /**
   * face-api's unit descriptor of the face with these 68 landmarks (frame pixels): the region
   * face-api's extractFaceTensors cuts (the landmarks' aligned box, clipped and floored).
   * `tensor` is the frame as tfjs holds it, when the caller has made it already (else a tensor of
   * its own, not on the reused buffer: the caller's tensors of this frame may still be alive).
   * The door's own path passes face-api's landmarks object as analyse() made it; a fusion member
   * gets plain points and builds one. `flip` (entry.recognizer.flip): the unit descriptors of the
   * crop and of its mirror image, averaged and normalised again.
   */
  private async faceApiDescriptor(frame: RgbFrame, landmarks68: readonly Point[] | FaceApiLandmarks, tensor?: () => Tensor3D, flip = false): Promise<Float32Array> {
    const { faceapi, tf } = this.runtime();
    const landmarks = 'align' in landmarks68 ? landmarks68 : new faceapi.FaceLandmarks68(landmarks68.map((p) => new faceapi.Point(p.x, p.y)), { width: 1, height: 1 });
    if (this.onnx) {
      const region = landmarks.align().clipAtImageBorders(frame.width, frame.height);
      const d = normalise(await this.onnx.descriptor(frame, region));
      return flip ? averaged(d, normalise(await this.onnx.descriptor(frame, region, true))) : d;
    }
    const own = tensor ? undefined : tf.tensor3d(Float32Array.from(frame.data), [frame.height, frame.width, 3], 'float32');
    try {
      const [face] = await faceapi.extractFaceTensors((tensor ? tensor() : own) as never, [landmarks.align()]);
      try {
        const d = normalise((await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(face as never)) as Float32Array);
        if (!flip) return d;
        const mirrored = tf.reverse(face as unknown as Tensor3D, 1);
        try {
          return averaged(d, normalise((await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(mirrored as never)) as Float32Array));
        } finally {
          mirrored.dispose();
        }
      } finally {
        (face as unknown as Tensor3D | undefined)?.dispose();
      }
    } finally {
      own?.dispose();
    }
  }

  private async startOnnx(faceRecognition: VerifiedModel | undefined, faceLandmark68: VerifiedModel, detector: VerifiedModel, liveness: { antispoof: VerifiedModel; liveness: VerifiedModel } | undefined): Promise<void> {
    try {
      // loaded on demand: onnxruntime's native library is not needed with the tfjs engine
      const { OnnxFaceNets } = await import('./onnx/nets.ts');
      const det = detector.name === 'ssdMobilenetv1' ? { ssdMobilenetv1: detector } : { tinyFaceDetector: { model: detector, inputSize: this.opts.detectorInputSize } };
      this.onnx = await OnnxFaceNets.load({ ...(faceRecognition ? { faceRecognition } : {}), faceLandmark68, ...det, ...(liveness ? { liveness } : {}) }, {
        ...(this.opts.onnxCacheDir ? { cacheDir: this.opts.onnxCacheDir } : {}),
        ...(this.opts.onnxThreads ? { threads: this.opts.onnxThreads } : {}),
        ...(this.opts.onConversion ? { onConversion: this.opts.onConversion } : {}),
      });
      if (this.onnx.livenessNote) {
        this.notes.push(this.onnx.livenessNote);
        process.emitWarning(this.onnx.livenessNote, { code: 'FACE_ENGINE_ONNX_PARTIAL' });
      }
    } catch (err) {
      this.fallback = `ONNX engine unavailable, running on tfjs: ${(err as Error).message}`;
      process.emitWarning(this.fallback, { code: 'FACE_ENGINE_ONNX_FALLBACK' });
    }
  }

  stop(): void {
    void this.onnx?.release();
    this.onnx = undefined;
    void this.recognizer?.stop();
    this.recognizer = undefined;
    void this.livenessNet?.stop();
    this.livenessNet = undefined;
    this.antispoof?.dispose();
    this.liveness?.dispose();
    this.antispoof = undefined;
    this.liveness = undefined;
  }

  private async warmNets(): Promise<void> {
    const rt = this.runtime();
    if (this.onnx) {
      // the first run of a session allocates its buffers; pay it at start
      const blank = { width: 150, height: 150, data: new Uint8Array(150 * 150 * 3).fill(128) };
      const all = { x: 0, y: 0, width: 150, height: 150 };
      await this.onnx.landmarks(blank, all);
      if (this.onnx.hasRecognition) await this.onnx.descriptor(blank, all);
      if (this.onnx.hasSsd) await this.onnx.detectSsd(blank, this.opts.detectorMinScore, 20);
      if (this.onnx.hasTiny) await this.onnx.detectTiny(blank, this.opts.detectorMinScore);
      if (this.onnx.hasLiveness) await this.onnx.liveness(blank, [0, 0, 1, 1]);
    }
    const face = rt.tf.zeros([150, 150, 3]) as Tensor3D;
    try {
      if (!this.onnx) {
        await rt.faceapi.nets.faceLandmark68Net.detectLandmarks(face as never);
        if (this.usesFaceApiRecognition) await rt.faceapi.nets.faceRecognitionNet.computeFaceDescriptor(face as never);
      }
      if (this.antispoof && this.liveness) this.livenessOf(face, { x: 0, y: 0, width: 150, height: 150 }, 150, 150);
    } finally {
      face.dispose();
    }
  }

  private runtime(): Runtime {
    if (!this.rt) throw new ModelError('ENGINE_STOPPED', 'face engine not started');
    return this.rt;
  }

  private toTensor(frame: RgbFrame): Tensor3D {
    const n = frame.data.length;
    if (this.floatBuf.length < n) this.floatBuf = new Float32Array(n);
    const buf = this.floatBuf.length === n ? this.floatBuf : this.floatBuf.subarray(0, n);
    const src = frame.data;
    for (let i = 0; i < n; i++) buf[i] = src[i] as number;
    return this.runtime().tf.tensor3d(buf, [frame.height, frame.width, 3], 'float32');
  }

  async analyse(frame: RgbFrame, opts: AnalyseOptions): Promise<FrameAnalysis> {
    validateFrame(frame);
    const rt = this.runtime();
    const { tf } = rt;
    const times: StageTimes = { detect: 0, landmarks: 0, descriptor: 0, liveness: 0 };
    // the frame as a tfjs tensor, made only if a stage runs on tfjs
    let input: Tensor3D | undefined;
    let litInput: Tensor3D | undefined;
    const tensor = (): Tensor3D => (input ??= this.toTensor(frame));
    try {
      const t = performance.now();
      // the detector sees dim or flat frames contrast-stretched; the later stages see the frame
      const lit = stretchContrast(frame);
      let detections = await this.detect(lit === frame ? tensor : () => (litInput ??= this.toTensor(lit)), lit);
      if (detections.length === 0 && this.opts.padRetry) detections = await this.detectPadded(lit);
      times.detect = performance.now() - t;
      const usable = detections.filter((d) => d.box.width >= 8 && d.box.height >= 8);
      // the largest face is the person at the door; others are passers-by behind them
      usable.sort((a, b) => b.box.area - a.box.area);
      const chosen = opts.allFaces ? usable : usable.slice(0, 1);
      const faces: FaceAnalysis[] = [];
      for (const det of chosen) {
        faces.push(await this.analyseFace(rt, frame, tensor, det, opts, times));
      }
      const nearFaces = nearFaceCount(usable.map((d) => Math.min(d.box.width, d.box.height)));
      return { width: frame.width, height: frame.height, faceCount: usable.length, nearFaces, faces, times };
    } finally {
      input?.dispose();
      litInput?.dispose();
      void tf; // tensors of the nets are disposed inside face-api; nothing else is kept
    }
  }

  /** The detect stage on the frame padded to 1.5×, boxes moved back into the frame. */
  private async detectPadded(frame: RgbFrame): Promise<InstanceType<Runtime['faceapi']['FaceDetection']>[]> {
    const { faceapi } = this.runtime();
    const { frame: padded, ox, oy } = padFrame(frame, 1.5);
    let input: Tensor3D | undefined;
    try {
      const found = await this.detect(() => (input ??= this.toTensor(padded)), padded);
      const { width: w, height: h } = frame;
      // FaceDetection takes a box relative to the image
      return found.map((d) => new faceapi.FaceDetection(d.score, new faceapi.Rect((d.box.x - ox) / w, (d.box.y - oy) / h, d.box.width / w, d.box.height / h), { width: w, height: h }));
    } finally {
      input?.dispose();
    }
  }

  /** The detect stage: face boxes with scores, in frame pixels. */
  private async detect(tensor: () => Tensor3D, frame: RgbFrame): Promise<InstanceType<Runtime['faceapi']['FaceDetection']>[]> {
    const { faceapi } = this.runtime();
    if (this.onnx?.hasSsd || this.onnx?.hasTiny) {
      const found = this.onnx.hasSsd ? await this.onnx.detectSsd(frame, this.opts.detectorMinScore, 20) : await this.onnx.detectTiny(frame, this.opts.detectorMinScore);
      return found.map((d) => new faceapi.FaceDetection(d.score, new faceapi.Rect(d.left, d.top, d.width, d.height), { width: frame.width, height: frame.height }));
    }
    if (this.opts.detector === 'ssd') {
      return faceapi.nets.ssdMobilenetv1.locateFaces(tensor() as never, new faceapi.SsdMobilenetv1Options({ minConfidence: this.opts.detectorMinScore, maxResults: 20 }));
    }
    return faceapi.nets.tinyFaceDetector.locateFaces(tensor() as never, new faceapi.TinyFaceDetectorOptions({ inputSize: this.opts.detectorInputSize, scoreThreshold: this.opts.detectorMinScore }));
  }

  private async analyseFace(
    rt: Runtime,
    frame: RgbFrame,
    tensor: () => Tensor3D,
    det: InstanceType<Runtime['faceapi']['FaceDetection']>,
    opts: AnalyseOptions,
    times: StageTimes,
  ): Promise<FaceAnalysis> {
    const { faceapi } = rt;
    let t = performance.now();
    const box = det.box.clipAtImageBorders(frame.width, frame.height).floor();
    let landmarks: InstanceType<Runtime['faceapi']['FaceLandmarks68']>;
    if (this.onnx) {
      const rel = await this.onnx.landmarks(frame, box);
      const points = Array.from({ length: 68 }, (_, i) => new faceapi.Point(rel[2 * i] as number, rel[2 * i + 1] as number));
      landmarks = new faceapi.FaceLandmarks68(points, { width: box.width, height: box.height });
    } else {
      const [crop] = await faceapi.extractFaceTensors(tensor() as never, [box]);
      try {
        landmarks = (await faceapi.nets.faceLandmark68Net.detectLandmarks(crop as never)) as InstanceType<Runtime['faceapi']['FaceLandmarks68']>;
      } finally {
        (crop as unknown as Tensor3D | undefined)?.dispose();
      }
    }
    const shifted = landmarks.shiftBy<typeof landmarks>(box.x, box.y);
    const plainBox: Box = { x: box.x, y: box.y, width: box.width, height: box.height };
    const quality: FaceQuality = {
      faceSize: Math.min(box.width, box.height),
      sharpness: sharpness(frame.data, frame.width, frame.height, plainBox),
      ...poseFromLandmarks(shifted.positions),
    };
    times.landmarks += performance.now() - t;
    const rejected = opts.gate ? checkQuality(quality, opts.gate) : null;
    const points = new Float32Array(136);
    shifted.positions.forEach((p, i) => { points[2 * i] = p.x; points[2 * i + 1] = p.y; });
    const result: FaceAnalysis = { box: plainBox, score: det.score, quality, rejected, descriptor: null, liveness: null, landmarks: points };
    if (opts.texture) result.texture = textureFeatures(frame, points);
    if (opts.livenessNet && this.livenessNet) {
      const t0 = performance.now();
      result.liveNet = await this.livenessNet.live(frame, plainBox);
      times.liveness += performance.now() - t0;
    }
    if (rejected) return result;

    t = performance.now();
    result.descriptor = this.recognizer ? await this.recognizer.describe(frame, shifted.positions) : await this.faceApiDescriptor(frame, shifted, tensor, this.opts.recognizer?.kind === 'faceapi' && this.opts.recognizer.flip === true);
    times.descriptor += performance.now() - t;

    if (opts.liveness && (this.onnx?.hasLiveness || (this.antispoof && this.liveness))) {
      t = performance.now();
      result.liveness = this.onnx?.hasLiveness
        ? await this.onnx.liveness(frame, livenessBox(plainBox, frame.width, frame.height))
        : this.livenessOf(tensor(), plainBox, frame.width, frame.height);
      times.liveness += performance.now() - t;
    }
    return result;
  }

  /** Human's antispoof and liveness on tfjs (models/liveness-scores.ts); zero without the models. */
  private livenessOf(input: Tensor3D, box: Box, width: number, height: number): Liveness {
    if (!this.antispoof || !this.liveness) return { real: 0, live: 0 };
    return tfjsLiveness(this.runtime().tf, this.antispoof, this.liveness, input, box, width, height);
  }
}
