/**
 * The model files the store runs, with their sizes and sha256. Models load from the npm
 * packages on disk (nothing downloads at run time); a missing or altered file stops
 * start-up with an error naming the file, instead of a model silently behaving otherwise.
 *
 * The hashes are those of @vladmandic/face-api 1.7.15 and @vladmandic/human 3.3.6 (pinned in
 * package.json); upgrading either package means re-hashing here (see docs/face-engine.md).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ModelError } from './errors.ts';

export type ModelName = 'tinyFaceDetector' | 'faceLandmark68' | 'faceRecognition' | 'ssdMobilenetv1' | 'antispoof' | 'liveness' | 'faceres';

export interface ModelFile {
  /** Path relative to the package's root. */
  file: string;
  bytes: number;
  sha256: string;
}

export interface ModelEntry {
  package: '@vladmandic/face-api' | '@vladmandic/human';
  /** face-api nets: weights manifest + shard; Human graph models: model json + bin. */
  kind: 'face-api-net' | 'tfjs-graph';
  topology: ModelFile;
  weights: ModelFile;
}

export const MODEL_MANIFEST: Readonly<Record<ModelName, ModelEntry>> = {
  tinyFaceDetector: {
    package: '@vladmandic/face-api', kind: 'face-api-net',
    topology: { file: 'model/tiny_face_detector_model-weights_manifest.json', bytes: 3219, sha256: '5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5' },
    weights: { file: 'model/tiny_face_detector_model.bin', bytes: 193321, sha256: 'b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871' },
  },
  faceLandmark68: {
    package: '@vladmandic/face-api', kind: 'face-api-net',
    topology: { file: 'model/face_landmark_68_model-weights_manifest.json', bytes: 8485, sha256: 'ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9' },
    weights: { file: 'model/face_landmark_68_model.bin', bytes: 356840, sha256: '4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b' },
  },
  faceRecognition: {
    package: '@vladmandic/face-api', kind: 'face-api-net',
    topology: { file: 'model/face_recognition_model-weights_manifest.json', bytes: 19615, sha256: 'cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b' },
    weights: { file: 'model/face_recognition_model.bin', bytes: 6444032, sha256: 'b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589' },
  },
  // enrolment and photo identification (the more accurate detector); the door uses the tiny one
  ssdMobilenetv1: {
    package: '@vladmandic/face-api', kind: 'face-api-net',
    topology: { file: 'model/ssd_mobilenetv1_model-weights_manifest.json', bytes: 28233, sha256: '888f744dffbc84f5f060d1f8427d9742341943a2dfaaf9205d10029b7e7a2955' },
    weights: { file: 'model/ssd_mobilenetv1_model.bin', bytes: 5616957, sha256: '2835640602d53718aa6ae9a42896327eaa21beefed056c218d32ca7d79e1e2f8' },
  },
  antispoof: {
    package: '@vladmandic/human', kind: 'tfjs-graph',
    topology: { file: 'models/antispoof.json', bytes: 8713, sha256: '7fd698ae1cebabbcad79d3b8b448587b0365eb7911987418231bdcf36583112a' },
    weights: { file: 'models/antispoof.bin', bytes: 853098, sha256: '4490fecb2becdb6869edc7e60f5e59962be013a8def8719b1373afb0f905c094' },
  },
  liveness: {
    package: '@vladmandic/human', kind: 'tfjs-graph',
    topology: { file: 'models/liveness.json', bytes: 17070, sha256: '9e51c8acf83b80abbf329b2735309ab5c90611c66905ade8b1bd130d473df9c8' },
    weights: { file: 'models/liveness.bin', bytes: 592976, sha256: 'fc6a6b6b3b9721bdb8bff67a457a15b7cbfd81715cfb27f3e65b757e81dd663e' },
  },
  faceres: {
    package: '@vladmandic/human', kind: 'tfjs-graph',
    topology: { file: 'models/faceres.json', bytes: 71432, sha256: '5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df' },
    weights: { file: 'models/faceres.bin', bytes: 6978814, sha256: '2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b' },
  },
};

/** Where each package's files are read from; tests point one at a folder with a damaged copy. */
export type ModelRoots = Partial<Record<ModelEntry['package'], string>>;

const require = createRequire(import.meta.url);

export function packageRoot(pkg: ModelEntry['package'], roots: ModelRoots = {}): string {
  const override = roots[pkg];
  if (override) return override;
  // Human's package.json "exports" hides its own package.json, so walk the lookup paths instead
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const candidate = path.join(dir, pkg);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
  }
  throw new ModelError('MODEL_MISSING', `package ${pkg} is not installed (npm ci)`, { details: { package: pkg } });
}

export interface VerifiedModel {
  name: ModelName;
  entry: ModelEntry;
  topology: Buffer;
  weights: Buffer;
}

async function readVerified(name: ModelName, root: string, f: ModelFile): Promise<Buffer> {
  const full = path.join(root, f.file);
  let buf: Buffer;
  try {
    buf = await readFile(full);
  } catch (err) {
    throw new ModelError('MODEL_MISSING', `model ${name}: cannot read ${full}`, { cause: err, details: { model: name, file: full } });
  }
  if (buf.length !== f.bytes) {
    throw new ModelError('MODEL_ALTERED', `model ${name}: ${full} has ${buf.length} bytes, the manifest says ${f.bytes}`, { details: { model: name, file: full } });
  }
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== f.sha256) {
    throw new ModelError('MODEL_ALTERED', `model ${name}: sha256 of ${full} is ${sha}, the manifest says ${f.sha256}`, { details: { model: name, file: full } });
  }
  return buf;
}

/**
 * Reads and checks one model's files. The verified bytes are what gets loaded (never a second
 * read of the path), so a file swapped after the check is not loaded either.
 */
export async function readModel(name: ModelName, roots: ModelRoots = {}): Promise<VerifiedModel> {
  const entry = MODEL_MANIFEST[name];
  const root = packageRoot(entry.package, roots);
  const [topology, weights] = await Promise.all([readVerified(name, root, entry.topology), readVerified(name, root, entry.weights)]);
  return { name, entry, topology, weights };
}
