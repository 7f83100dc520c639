/**
 * Converted graphs on disk, built once per weights: the file name carries a key made of the
 * converter's version and the sha256 of the net's manifest and shard (already verified by
 * manifest.ts), so changed weights or a newer converter build a new file, and a missing file
 * is built again. Each file has a `.sha256` beside it: a damaged or truncated file is rebuilt
 * instead of loaded. Files are written to a temporary name and renamed, so a crash mid-write
 * leaves nothing half-written under the real name.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VerifiedModel } from '../manifest.ts';
import { landmarkGraph } from './landmarks.ts';
import { recognitionGraph } from './recognition.ts';
import { ssdGraph } from './ssd.ts';
import { tfjsGraphToOnnx, type TfjsGraphJson } from './tfjs-graph.ts';
import { tinyGraph } from './tiny.ts';
import { decodeWeights, type WeightTensor } from './weights.ts';

/** Bump when a graph changes for the same weights: every cached file is then rebuilt. */
export const CONVERTER_VERSION = 1;

export type OnnxNetName = 'faceRecognition' | 'faceLandmark68' | 'ssdMobilenetv1' | 'tinyFaceDetector' | 'antispoof' | 'liveness';

const faceApi = (build: (w: ReadonlyMap<string, WeightTensor>, variant: number) => Uint8Array) =>
  (m: VerifiedModel, variant: number): Uint8Array => build(decodeWeights(m.topology, m.weights), variant);
const tfjsGraph = (size: number) =>
  (m: VerifiedModel): Uint8Array => tfjsGraphToOnnx(JSON.parse(m.topology.toString('utf8')) as TfjsGraphJson, m.weights, size, m.name);

/** Graph builders; the tiny detector's graph is built per input size (`variant`). */
const BUILDERS: Record<OnnxNetName, (m: VerifiedModel, variant: number) => Uint8Array> = {
  faceRecognition: faceApi(recognitionGraph),
  faceLandmark68: faceApi(landmarkGraph),
  ssdMobilenetv1: faceApi(ssdGraph),
  tinyFaceDetector: faceApi(tinyGraph),
  antispoof: tfjsGraph(128),
  liveness: tfjsGraph(32),
};

/** The checkout's git-ignored `.cache/onnx/` (tests and tools may choose another folder). */
export function defaultCacheDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache', 'onnx');
}

export function cacheKey(model: VerifiedModel, variant = 0): string {
  return createHash('sha256')
    .update(`converter ${CONVERTER_VERSION}\nvariant ${variant}\n${model.entry.topology.sha256}\n${model.entry.weights.sha256}\n`)
    .digest('hex');
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * One step of converting the nets at start, for a progress bar or a log line: `converting`
 * before a net is built (never for one read from the cache), then `converted` (with the time
 * it took), `cached` or `failed`. `index` counts from 1 of `total` nets this start loads.
 */
export interface ConversionStep {
  net: OnnxNetName;
  index: number;
  total: number;
  phase: 'converting' | 'converted' | 'cached' | 'failed';
  /** Time spent on this net (conversion and loading), for `converted` and `failed`. */
  ms?: number;
  /** Why it failed, for `failed`. */
  error?: string;
}

export type ConversionListener = (step: ConversionStep) => void;

export interface ConvertedNet {
  name: OnnxNetName;
  file: string;
  bytes: Buffer;
  /** True when this call converted the weights (no usable cached file). */
  built: boolean;
}

/** The net's ONNX graph, from the cache or converted now. Throws (naming the net) when conversion fails. */
export async function convertedNet(name: OnnxNetName, model: VerifiedModel, dir = defaultCacheDir(), variant = 0, onBuild?: () => void): Promise<ConvertedNet> {
  if (model.name !== name) throw new Error(`onnx: ${model.name}'s weights given for ${name}`);
  const stem = variant ? `${name}-${variant}` : name;
  const got = await cachedGraph(dir, stem, cacheKey(model, variant), () => {
    onBuild?.();
    try {
      return BUILDERS[name](model, variant);
    } catch (err) {
      throw new Error(`onnx: converting ${name} failed: ${(err as Error).message}`, { cause: err });
    }
  });
  return { name, ...got };
}

/**
 * A converted graph under `dir` as `<stem>-<first 16 hex of key>.onnx`, built by `build` when no
 * intact file is there. `key` must change with everything the graph depends on (the weights'
 * sha256, CONVERTER_VERSION, the input size). Also used for graphs that are not one of the
 * shipped nets (Human's recognizers, `human-recognizer.ts`).
 */
export async function cachedGraph(dir: string, stem: string, key: string, build: () => Uint8Array): Promise<{ file: string; bytes: Buffer; built: boolean }> {
  const file = path.join(dir, `${stem}-${key.slice(0, 16)}.onnx`);
  const cached = await readCached(file);
  if (cached) return { file, bytes: cached, built: false };
  const bytes = Buffer.from(build());
  await mkdir(dir, { recursive: true });
  // unique per writer: two engines (threads of one process, or two processes) may convert at once
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, bytes);
  await writeFile(`${file}.sha256`, `${sha256(bytes)}\n`);
  await rename(tmp, file);
  await removeStale(dir, stem, path.basename(file));
  return { file, bytes, built: true };
}

async function readCached(file: string): Promise<Buffer | null> {
  try {
    const [bytes, want] = await Promise.all([readFile(file), readFile(`${file}.sha256`, 'utf8')]);
    return sha256(bytes) === want.trim() ? bytes : null;
  } catch {
    return null;
  }
}

/** Older conversions of the same net and variant (other weights or converter versions). */
async function removeStale(dir: string, stem: string, keep: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  // `stem-` then the 16 hex digits of the key: another variant's stem never matches
  const mine = new RegExp(`^${stem}-[0-9a-f]{16}\\.onnx`);
  await Promise.all(entries
    .filter((f) => mine.test(f) && !f.startsWith(keep))
    .map((f) => rm(path.join(dir, f), { force: true })));
}
