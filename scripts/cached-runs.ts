/**
 * The offline studies' way into `faces evaluate --cache` files: a cache read as the evaluation
 * reads it (no model runs; a photo missing from the cache is an error), and each set and seed
 * enrolled and probed through `faces evaluate`'s own `collectProbes`, so the studies see the
 * same enrolment, strangers and probes as the tool. Used by scripts/score-rules.ts and
 * scripts/pool-study.ts.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { resolveEntryConfig, type EntryConfig } from '../edge/entry/config.ts';
import { collectProbes, listPeople, type CollectedProbes } from '../edge/entry/evaluate.ts';
import { decodeDescriptor, type AnalysisCache, type CachedAnalysis } from '../edge/entry/evaluate-cache.ts';
import type { FaceAnalyser } from '../edge/entry/enrol.ts';

interface Stored { faceCount: number; nearFaces: number; face: { rejected: string | null; descriptor: string | null } | null }

/** One or more cache files of one recognizer, merged, looked up as AnalysisCache does. */
export async function readCaches(files: readonly string[]): Promise<AnalysisCache> {
  const entries = new Map<string, Stored>();
  const labels = new Set<string>();
  for (const f of files) {
    const parsed = JSON.parse(await readFile(f, 'utf8')) as { entries: Record<string, Stored> };
    for (const [k, v] of Object.entries(parsed.entries)) {
      labels.add(k.slice(0, k.indexOf('|')));
      entries.set(k.slice(k.indexOf('|') + 1), v);
    }
  }
  if (labels.size !== 1) throw new Error(`--cache ${files.join(',')}: holds ${labels.size} recognizers (${[...labels].join(', ')}); one is needed / 缓存须只含一种识别模型`);
  return {
    async analyse(role: string, file: string): Promise<CachedAnalysis> {
      const st = await stat(file);
      const x = entries.get(`${role}|${file}|${st.size}|${Math.floor(st.mtimeMs)}`);
      if (!x) throw new Error(`${role} ${file}: not in the cache (run faces evaluate with this seed and --enrol first)`);
      return { faceCount: x.faceCount, nearFaces: x.nearFaces, face: x.face ? { rejected: x.face.rejected, descriptor: x.face.descriptor ? decodeDescriptor(x.face.descriptor) : null } : null };
    },
  } as unknown as AnalysisCache;
}

export interface CachedRun extends CollectedProbes { set: string; seed: number; enrol: number; key: string }

const noEngine: FaceAnalyser = { analyse: () => Promise.reject(new Error('not in the cache')) };

/** Every set × seed, enrolled with `enrol` photos each, from the cache only. */
export async function cachedRuns(cache: AnalysisCache, root: string, sets: readonly string[], seeds: readonly number[], enrol: number, entry: EntryConfig = resolveEntryConfig({})): Promise<CachedRun[]> {
  const runs: CachedRun[] = [];
  for (const set of sets) {
    const dir = path.join(root, set);
    const people = await listPeople(dir);
    for (const seed of seeds) {
      const c = await collectProbes({ enrol: noEngine, door: noEngine }, entry, dir, people, { enrol, seed, cache });
      runs.push({ ...c, set, seed, enrol, key: `${set}#${seed}${enrol === 3 ? '' : ` e${enrol}`}` });
    }
  }
  return runs;
}
