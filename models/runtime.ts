/**
 * The one file that imports face-api and tfjs. face-api's node-wasm build brings its own
 * tfjs and the wasm backend; everything here uses `faceapi.tf` so there is one tfjs instance.
 * In Node the wasm binaries load from node_modules (setWasmPaths is for browsers only).
 */
import { createRequire } from 'node:module';
import type * as FaceApi from '@vladmandic/face-api';
import type * as TfModule from '@tensorflow/tfjs';
import { ModelError } from './errors.ts';
import type { VerifiedModel } from './manifest.ts';

const require = createRequire(import.meta.url);

export type FaceApiModule = typeof FaceApi;
export type Tf = typeof TfModule;
export type GraphModel = TfModule.GraphModel;
export interface Runtime {
  faceapi: FaceApiModule;
  /** The same tfjs instance face-api's build requires (one module cache entry). */
  tf: Tf;
}
export type FaceApiNet = FaceApiModule['nets'][keyof FaceApiModule['nets']];

let runtime: Runtime | undefined;

/** Loads face-api and readies the wasm backend once per thread. */
export async function loadRuntime(): Promise<Runtime> {
  if (runtime) return runtime;
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule;
  const tf = require('@tensorflow/tfjs') as Tf;
  await tf.setBackend('wasm');
  await tf.ready();
  // PROD drops tfjs's debug checks and its console warnings from the hot loop
  tf.env().set('PROD', true);
  runtime = { faceapi, tf };
  return runtime;
}

/**
 * One thread's memory, for /metrics (edge/ops/metrics.ts; sent by the inference worker through protocol.ts): its V8 heap and the memory outside
 * it (process.memoryUsage() is per thread except rss), the tfjs wasm backend's linear memory
 * (grows, never shrinks; null when this thread has not loaded tfjs) and the bytes tfjs tensors hold.
 */
export interface ThreadMemory {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  wasm: number | null;
  tensors: number | null;
}

/**
 * This thread's memory. Cheap: no heap walk; tfjs is not loaded by
 * asking (before loadRuntime the wasm fields are null).
 */
export function threadMemory(): ThreadMemory {
  const m = process.memoryUsage();
  let wasm: number | null = null;
  let tensors: number | null = null;
  if (runtime) {
    const backend = runtime.tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
    wasm = backend.wasm?.HEAPU8?.byteLength ?? null;
    tensors = runtime.tf.memory().numBytes;
  }
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, wasm, tensors };
}

interface WeightsManifestGroup {
  paths: string[];
  weights: TfModule.io.WeightsManifestEntry[];
}

function arrayBufferOf(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** Loads a face-api net from verified bytes (never from a path read again). */
export function loadFaceApiNet(rt: Runtime, net: FaceApiNet, model: VerifiedModel): void {
  try {
    const groups = JSON.parse(model.topology.toString('utf8')) as WeightsManifestGroup[];
    const specs = groups.flatMap((g) => g.weights);
    const weightMap = rt.tf.io.decodeWeights(arrayBufferOf(model.weights), specs);
    net.loadFromWeightMap(weightMap as never);
  } catch (err) {
    throw new ModelError('MODEL_UNLOADABLE', `model ${model.name}: ${(err as Error).message}`, { cause: err, details: { model: model.name } });
  }
}

interface GraphModelJson {
  modelTopology: object;
  weightsManifest: WeightsManifestGroup[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: object;
}

/** Loads a tfjs graph model (Human's antispoof, liveness) from verified bytes. */
export async function loadGraph(rt: Runtime, model: VerifiedModel): Promise<GraphModel> {
  try {
    const json = JSON.parse(model.topology.toString('utf8')) as GraphModelJson;
    const handler = {
      load: () => Promise.resolve({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: arrayBufferOf(model.weights),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
      }),
    };
    return await rt.tf.loadGraphModel(handler as TfModule.io.IOHandler);
  } catch (err) {
    throw new ModelError('MODEL_UNLOADABLE', `model ${model.name}: ${(err as Error).message}`, { cause: err, details: { model: model.name } });
  }
}
