/**
 * `faces evaluate --cache FILE`: what the models said about each photo, kept in a file, so that
 * another seed (a different stranger split) or a change to the replay's rules does not run the
 * models again on the same photos. Only what the evaluation reads is kept: the face counts, the
 * largest face's gate verdict and its descriptor. A photo is looked up by its path, size and
 * modification time, the role (enrolment or door engine, mirrored or not) and the scope
 * (`analysisScope`: the recognizer by its tag, the model file's sha256 and input convention, not
 * its file name, and every config key that shapes the analysis: the
 * detectors (door: `entry.detector`, or the engine's default) and their input sizes,
 * `detector_min_score`, `entry.quality`), so a changed photo, another recognizer or another
 * quality gate is analysed afresh.
 *
 * The file holds face descriptors of the photos: keep it as private as the photos themselves.
 */
import { constants } from 'node:fs';
import { access, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EdgeError } from '../errors.ts';
import type { FrameAnalysis } from '../../models/face-engine.ts';
import { recognizerTag, type RecognizerChoice } from '../../models/recognizer.ts';
import { doorDetector, qualityGate, type EntryConfig } from './config.ts';

/** The detector input size `faces evaluate` enrols with (as `faces enroll`: at least 416). */
export const enrolInputSize = (entry: EntryConfig): number => Math.max(entry.detector_input_size, 416);

/**
 * The part of the cache key besides the photo and role: everything that shapes a cached analysis
 * (the gate verdict is cached too, so the quality gate is in it). The recognizer is named by
 * `recognizerTag` (its file's sha256): two models with one file name are two recognizers. No '|': the offline scripts
 * (scripts/cached-runs.ts) split a key at its first one.
 */
export function analysisScope(recognizer: RecognizerChoice, entry: EntryConfig, enrolDetector: 'ssd' | 'tiny'): string {
  const q = qualityGate(entry.quality);
  return [
    recognizerTag(recognizer), `enrol=${enrolDetector}@${enrolInputSize(entry)}+pad`, `door=${doorDetector(entry)}@${entry.detector_input_size}`,
    `min_score=${entry.detector_min_score}`, `quality=${q.minFaceSize},${q.minSharpness},${q.maxYaw},${q.maxPitch},${q.maxRoll}`,
  ].join('/');
}

/** The part of a FrameAnalysis that `faces evaluate` reads. */
export interface CachedAnalysis {
  faceCount: number;
  nearFaces: number;
  face: { rejected: string | null; descriptor: Float32Array | null } | null;
}

interface StoredAnalysis { faceCount: number; nearFaces: number; face: { rejected: string | null; descriptor: string | null } | null }
interface StoredFile { version: 1; entries: Record<string, StoredAnalysis> }

const unusable = (file: string, why: string, zh: string, cause?: unknown): EdgeError =>
  new EdgeError('INVALID_ARGUMENT', `--cache ${file}: ${why}`, { zh: `--cache ${file}：${zh}`, ...(cause ? { cause } : {}) });

/**
 * Refuses, before any model runs, a `--cache` path that could not be read or written at the
 * end: a folder, a file that cannot be read and written, or a folder that does not exist or
 * cannot be written (the cache is written there through a temporary file).
 */
export async function checkCacheFile(file: string): Promise<void> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw unusable(file, `cannot be read (${err.message})`, '无法读取', err);
  });
  if (st && !st.isFile()) throw unusable(file, 'is not a file (a folder?); name a file, e.g. cache.json', '不是文件（是文件夹？），请指定一个文件，如 cache.json');
  const dir = path.dirname(file);
  await access(dir, constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw unusable(file, `its folder ${dir} does not exist or cannot be written (${err.code ?? err.message})`, `所在文件夹 ${dir} 不存在或无法写入`, err);
  });
  if (st) {
    await access(file, constants.R_OK | constants.W_OK).catch((err: NodeJS.ErrnoException) => {
      throw unusable(file, `cannot be read and written (${err.code ?? err.message})`, '无法读写', err);
    });
  }
}

export class AnalysisCache {
  private entries = new Map<string, StoredAnalysis>();
  private dirty = false;
  hits = 0;
  misses = 0;

  constructor(private readonly file: string, private readonly recognizer: string) {}

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw unusable(this.file, `cannot be read (${(err as Error).message})`, '无法读取（是文件夹或没有权限？）', err);
    }
    let parsed: StoredFile;
    try {
      parsed = JSON.parse(text) as StoredFile;
      if (parsed.version !== 1 || typeof parsed.entries !== 'object' || parsed.entries === null) throw new Error('not a version 1 cache');
    } catch (err) {
      throw new EdgeError('INVALID_ARGUMENT', `--cache ${this.file}: not a faces evaluate cache (${(err as Error).message}); delete it or name another file`, { zh: `--cache ${this.file}：不是人脸评估缓存文件，请删除或换一个文件名` });
    }
    this.entries = new Map(Object.entries(parsed.entries));
  }

  private async key(role: string, file: string): Promise<string> {
    const st = await stat(file);
    return `${this.recognizer}|${role}|${file}|${st.size}|${Math.floor(st.mtimeMs)}`;
  }

  /** The analysis of `file` in `role`, from the cache or from `analyse` (then kept). */
  async analyse(role: string, file: string, analyse: () => Promise<FrameAnalysis>): Promise<CachedAnalysis> {
    const key = await this.key(role, file);
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      return { faceCount: hit.faceCount, nearFaces: hit.nearFaces, face: hit.face ? { rejected: hit.face.rejected, descriptor: hit.face.descriptor === null ? null : decodeDescriptor(hit.face.descriptor) } : null };
    }
    this.misses++;
    const a = await analyse();
    const f = a.faces[0];
    const out: CachedAnalysis = { faceCount: a.faceCount, nearFaces: a.nearFaces, face: f ? { rejected: f.rejected, descriptor: f.descriptor } : null };
    this.entries.set(key, { faceCount: out.faceCount, nearFaces: out.nearFaces, face: out.face ? { rejected: out.face.rejected, descriptor: out.face.descriptor ? encode(out.face.descriptor) : null } : null });
    this.dirty = true;
    return out;
  }

  /** Writes the file (atomically, owner-only) when something was added. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries) } satisfies StoredFile), { mode: 0o600 });
      await rename(tmp, this.file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw unusable(this.file, `cannot be written (${(err as Error).message})`, '无法写入', err);
    }
    this.dirty = false;
  }
}

const encode = (d: Float32Array): string => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64');
/** A descriptor as a cache file stores it (base64 of its float32 bytes), for the offline studies that read the files too. */
export const decodeDescriptor = (s: string): Float32Array => new Float32Array(new Uint8Array(Buffer.from(s, 'base64')).buffer);
