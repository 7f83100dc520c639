/**
 * `faces evaluate`: how well the door would do on a folder of labelled photos (one sub-folder
 * per person). A seeded third of the people are strangers; the others are enrolled from their
 * first photos by the enrolment rule of `faces enroll` (one face, quality gate, photo + mirror),
 * and every remaining photo is identified as the door does it: the same analyse call and
 * quality gate, the same Gallery top-2 search, the same matchVerdict and k-of-n window.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { Type, type Static } from '@sinclair/typebox';
import type { RgbFrame } from '../../models/face-engine.ts';
import { cohortFactor, cohortScaled, Gallery, type GallerySearch } from '../../models/gallery.ts';
import { decodeImage } from '../../models/image.ts';
import { percentile } from '../../lib/percentile.ts';
import { EdgeError } from '../errors.ts';
import { qualityGate, type EntryConfig } from './config.ts';
import { mirror, type FaceAnalyser } from './enrol.ts';
import { l2, type AdaptConfig } from './adapt.ts';
import { AdaptationSchema, replayAdaptation, type DescribedProbe } from './evaluate-adapt.ts';
import type { AnalysisCache, CachedAnalysis } from './evaluate-cache.ts';
import {
  HistogramSchema, OperatingPointSchema, PresentationsSchema,
  bestThreshold, budgetAt, histogram, pointAt, presentations, searchTarget, type Probe,
} from './evaluate-metrics.ts';

export interface EvaluateOptions {
  /** Photos enrolled per person (refused photos are skipped, the next one is tried). */
  enrol: number;
  seed: number;
  /** FAR the threshold/margin search aims at (0.001 = 0.1 %). */
  targetFar: number;
  /** The recognizer's name in the report (default faceapi). */
  recognizer?: string;
  /** Also replay the probes in time order with learning at the door (edge/entry/evaluate-adapt.ts). */
  adapt?: { config: AdaptConfig; attackRounds: number };
  /** What the models said about each photo, kept across runs (`--cache`, edge/entry/evaluate-cache.ts). */
  cache?: AnalysisCache;
}

export interface PersonPhotos { person: string; files: string[] }

const bad = (en: string, zh: string): EdgeError => new EdgeError('INVALID_ARGUMENT', en, { zh });

/**
 * How a folder of sub-folders is named in refusals: the flag it came from, what each sub-folder
 * holds, and how many are needed. `faces evaluate --dir` wants people (at least 3: enrolled
 * people and strangers); `faces evaluate-liveness --real / --attack` wants presentations.
 */
export interface FolderRole { flag: string; min: number; each: { en: string; zh: string }; unit: { en: string; zh: string } }
const PEOPLE: FolderRole = {
  flag: '--dir', min: 3,
  each: { en: "put each person's photos in a sub-folder", zh: '照片须放在每人一个的子文件夹中' },
  unit: { en: 'person folder(s) with photos; at least 3 are needed (enrolled people and strangers)', zh: '个人的照片，至少需要 3 人（录入者和陌生人）' },
};
/** `faces evaluate-liveness`: one sub-folder of consecutive frames per presentation, at least one. */
export const presentationsIn = (flag: string): FolderRole => ({
  flag, min: 1,
  each: { en: "put each presentation's frames in a sub-folder", zh: '帧须放在每次呈现一个的子文件夹中' },
  unit: { en: 'presentation folder(s) with frames; at least 1 is needed', zh: '次呈现的帧，至少需要 1 次' },
});

/** Lists DIR/<person>/<photo>; refuses what cannot be evaluated, naming it, before any model runs. */
export async function listPeople(dir: string, role: FolderRole = PEOPLE): Promise<PersonPhotos[]> {
  const flag = role.flag;
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw bad(`${flag} ${dir}: no such folder`, `${flag} ${dir}：文件夹不存在`);
  const people: PersonPhotos[] = [];
  const strays: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (!e.isDirectory()) { strays.push(e.name); continue; }
    const files = (await readdir(path.join(dir, e.name), { withFileTypes: true }))
      .filter((f) => f.isFile() && !f.name.startsWith('.'))
      .map((f) => f.name)
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    people.push({ person: e.name, files: files.map((f) => path.join(dir, e.name, f)) });
  }
  if (strays.length) throw bad(`${flag} ${dir}: files directly in the folder (${strays.slice(0, 3).join(', ')}); ${role.each.en}`, `${flag} ${dir}：${role.each.zh}（${strays.slice(0, 3).join('，')}）`);
  const withPhotos = people.filter((p) => p.files.length > 0);
  if (withPhotos.length < role.min) throw bad(`${flag} ${dir}: ${withPhotos.length} ${role.unit.en}`, `${flag} ${dir}：只有 ${withPhotos.length} ${role.unit.zh}`);
  // header check only (cheap): a non-image found after minutes of work would waste them
  const notImages: string[] = [];
  for (const p of withPhotos) {
    for (const f of p.files) {
      const ok = await sharp(f).metadata().then((m) => Boolean(m.width && m.height), () => false);
      if (!ok) notImages.push(path.relative(dir, f));
    }
  }
  if (notImages.length) throw bad(`${flag} ${dir}: not an image: ${notImages.slice(0, 5).join(', ')}${notImages.length > 5 ? ` and ${notImages.length - 5} more` : ''}`, `${flag} ${dir}：不是图片：${notImages.slice(0, 5).join('，')}`);
  return withPhotos;
}

/** Deterministic shuffle (mulberry32): the same seed splits the same people the same way. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export const EnrolRefusalsSchema = Type.Object({
  no_face: Type.Integer(), multiple_faces: Type.Integer(), low_quality: Type.Integer(),
}, { additionalProperties: false });

const ProbeCountsSchema = Type.Object({
  total: Type.Integer(), no_face: Type.Integer(), low_quality: Type.Integer(), scored: Type.Integer(),
}, { additionalProperties: false });

export const EvaluationSchema = Type.Object({
  version: Type.Literal(1),
  dir: Type.String(),
  seed: Type.Integer(),
  /** The descriptor model evaluated (`recognizerLabel`: faceapi, human-faceres, …). */
  recognizer: Type.String(),
  enrol: Type.Integer({ description: 'photos enrolled per person' }),
  /** `cohort_scale`: set when the distances (probes, points, histogram) are relative to each face's cohort (entry.match.cohort_scale). */
  config: Type.Object({
    threshold: Type.Number(), margin: Type.Number(), k: Type.Integer(), n: Type.Integer(), cohort_scale: Type.Optional(Type.Number()),
    /** entry.match.pool, when set: the presentations pool each window's descriptors as the door does. */
    pool: Type.Optional(Type.Object({ threshold: Type.Number(), margin: Type.Number(), min_frames: Type.Integer(), max_step: Type.Number() }, { additionalProperties: false })),
  }, { additionalProperties: false }),
  people: Type.Object({
    total: Type.Integer(),
    enrolled: Type.Array(Type.String()),
    strangers: Type.Array(Type.String()),
    /** People picked for enrolment whose photos were all refused: their photos are not used. */
    notEnrolled: Type.Array(Type.String()),
  }, { additionalProperties: false }),
  enrolment: Type.Object({ photos: Type.Integer(), templates: Type.Integer(), refused: EnrolRefusalsSchema }, { additionalProperties: false }),
  genuine: ProbeCountsSchema,
  impostor: ProbeCountsSchema,
  /** One frame at a time, at the configured threshold and margin. */
  atConfig: OperatingPointSchema,
  /** k-of-n runs of each person's photos, as the door decides a presentation. */
  presentations: PresentationsSchema,
  /** Operating points at the configured margin: largest threshold with 0 false accepts, FAR ≤ 0.1 %, ≤ 1 %. */
  zeroFa: OperatingPointSchema,
  far001: OperatingPointSchema,
  far01: OperatingPointSchema,
  /** Threshold and margin (margins 0–0.1) with the best TAR at FAR ≤ targetFar. */
  target: Type.Object({ far: Type.Number(), point: OperatingPointSchema }, { additionalProperties: false }),
  distances: Type.Object({
    /** Smallest distance of any false candidate (stranger's nearest, or an enrolled person's nearest other). */
    nearestImpostor: Type.Union([Type.Number(), Type.Null()]),
    /** Genuine distance (own templates) that 95 % of genuine probes with a face stay under. */
    genuineP95: Type.Union([Type.Number(), Type.Null()]),
  }, { additionalProperties: false }),
  histogram: HistogramSchema,
  /** Every identification attempt, to re-derive any operating point without running the models again. */
  probes: Type.Array(Type.Object({
    person: Type.String(),
    file: Type.String({ description: 'relative to dir' }),
    genuine: Type.Boolean(),
    outcome: Type.Union([Type.Literal('no_face'), Type.Literal('low_quality'), Type.Literal('scored')]),
    best: Type.Union([Type.Object({ villagerId: Type.String(), distance: Type.Number() }, { additionalProperties: false }), Type.Null()]),
    second: Type.Union([Type.Object({ distance: Type.Number() }, { additionalProperties: false }), Type.Null()]),
    ownDistance: Type.Union([Type.Number(), Type.Null()]),
  }, { additionalProperties: false })),
  /** With --adapt: the time-ordered replay without and with learning at the door, and the attack on it. */
  adaptation: Type.Optional(AdaptationSchema),
}, { additionalProperties: false });
export type Evaluation = Static<typeof EvaluationSchema>;

/** A photo or frame decoded, or bad input naming the file (a truncated copy passes the header check of `listPeople`). */
export async function frameOf(file: string): Promise<RgbFrame> {
  try {
    return await decodeImage(await readFile(file));
  } catch (err) {
    throw new EdgeError('INVALID_ARGUMENT', `${file}: ${(err as Error).message}`, { zh: `${file}：无法解码图片`, cause: err });
  }
}

export interface EvaluateProgress { (done: number, total: number): void }

/** What the models gave: the enrolled templates and every probe with its descriptor (in memory only). */
export interface CollectedProbes {
  own: Map<string, Float32Array[]>;
  /** Everyone in the seeded order (strangers first). */
  order: string[];
  probes: DescribedProbe[];
  /** The evaluation's gallery search (plain distances): the pooled presentations look up their pools with it. */
  search: (query: Float32Array) => GallerySearch;
  people: Evaluation['people'];
  enrolment: Evaluation['enrolment'];
}

export async function evaluateDir(
  engines: { enrol: FaceAnalyser; door: FaceAnalyser }, config: EntryConfig, dir: string, people: readonly PersonPhotos[], opts: EvaluateOptions, progress?: EvaluateProgress,
): Promise<Evaluation> {
  const c = await collectProbes(engines, config, dir, people, opts, progress);
  const e = summarise(dir, opts, config, c.probes, c.people, c.enrolment, c.search);
  if (opts.adapt) e.adaptation = replayAdaptation(c.own, c.order, c.probes, config.match, opts.adapt.config, opts.adapt.attackRounds);
  return e;
}

/** Enrols the seeded two thirds and identifies every other photo as the door does. */
export async function collectProbes(
  engines: { enrol: FaceAnalyser; door: FaceAnalyser }, config: EntryConfig, dir: string, people: readonly PersonPhotos[], opts: Pick<EvaluateOptions, 'enrol' | 'seed' | 'cache'>, progress?: EvaluateProgress,
): Promise<CollectedProbes> {
  const shuffled = seededShuffle(people, opts.seed);
  const nStrangers = Math.max(1, Math.round(people.length / 3));
  const strangers = shuffled.slice(0, nStrangers);
  const toEnrol = shuffled.slice(nStrangers);
  const gate = qualityGate(config.quality);
  const total = people.reduce((s, p) => s + p.files.length, 0);
  let done = 0;
  const tick = () => progress?.(++done, total);
  // the photo is decoded only when the cache does not know it
  const analyse = async (role: 'enrol' | 'enrol-mirror' | 'door', file: string): Promise<CachedAnalysis> => {
    const run = async () => {
      const frame = await frameOf(file);
      if (role === 'door') return engines.door.analyse(frame, { allFaces: false, gate, liveness: false });
      return engines.enrol.analyse(role === 'enrol' ? frame : mirror(frame), { allFaces: role === 'enrol', gate, liveness: false });
    };
    if (opts.cache) return opts.cache.analyse(role, file, run);
    const a = await run();
    const f = a.faces[0];
    return { faceCount: a.faceCount, nearFaces: a.nearFaces, face: f ? { rejected: f.rejected, descriptor: f.descriptor } : null };
  };

  const own = new Map<string, Float32Array[]>();
  const refused = { no_face: 0, multiple_faces: 0, low_quality: 0 };
  const probeFiles: { person: string; file: string; genuine: boolean }[] = [];
  let enrolledPhotos = 0;
  const notEnrolled: string[] = [];
  for (const p of toEnrol) {
    const templates: Float32Array[] = [];
    let used = 0;
    let i = 0;
    for (; i < p.files.length && used < opts.enrol; i++) {
      const file = p.files[i] as string;
      // the enrolment rule of `faces enroll`: one face near the camera, through the quality gate
      const a = await analyse('enrol', file);
      tick();
      const face = a.face;
      if (a.faceCount === 0) { refused.no_face++; continue; }
      if (a.nearFaces > 1) { refused.multiple_faces++; continue; }
      if (!face || face.rejected || !face.descriptor) { refused.low_quality++; continue; }
      templates.push(face.descriptor);
      const m = await analyse('enrol-mirror', file);
      if (m.face?.descriptor) templates.push(m.face.descriptor);
      used++;
    }
    if (!templates.length) { notEnrolled.push(p.person); continue; }
    enrolledPhotos += used;
    own.set(p.person, templates);
    for (const f of p.files.slice(i)) probeFiles.push({ person: p.person, file: f, genuine: true });
  }
  for (const p of strangers) for (const f of p.files) probeFiles.push({ person: p.person, file: f, genuine: false });
  if (own.size < 2) throw bad(`--dir ${dir}: fewer than 2 people could be enrolled (${own.size}); check the photos`, `--dir ${dir}：能录入的人少于 2 个，请检查照片`);
  // rows as long as the recognizer's descriptors (128 face-api, 1024 faceres, …)
  const gallery = new Gallery(1024, ([...own.values()][0]?.[0] as Float32Array).length);
  for (const [person, templates] of own) gallery.add(person, templates);

  const probes: DescribedProbe[] = [];
  for (const pf of probeFiles) {
    // the door's call: the largest face only, through the quality gate
    const a = await analyse('door', pf.file);
    tick();
    const face = a.face;
    const base = { ...pf, best: null, second: null, ownDistance: null, descriptor: null };
    if (!face) { probes.push({ ...base, outcome: 'no_face' }); continue; }
    if (face.rejected || !face.descriptor) { probes.push({ ...base, outcome: 'low_quality' }); continue; }
    const d = face.descriptor;
    // as the door decides: relative to the face's cohort when match.cohort_scale is set
    const raw = gallery.search(d, { cohort: config.match.cohort_scale !== undefined });
    const s = cohortScaled(raw, config.match.cohort_scale);
    const f = cohortFactor(raw, config.match.cohort_scale);
    const mine = own.get(pf.person);
    const ownDistance = pf.genuine && mine ? f * Math.min(...mine.map((t) => l2(t, d))) : null;
    probes.push({ ...base, outcome: 'scored', best: s.best, second: s.second, ownDistance, descriptor: d });
  }
  return {
    own, order: shuffled.map((p) => p.person), probes, search: (q) => gallery.search(q),
    people: { total: people.length, enrolled: [...own.keys()], strangers: strangers.map((p) => p.person), notEnrolled },
    enrolment: { photos: enrolledPhotos, templates: gallery.size, refused },
  };
}

function counts(list: readonly Probe[]) {
  const n = (o: Probe['outcome']) => list.filter((p) => p.outcome === o).length;
  return { total: list.length, no_face: n('no_face'), low_quality: n('low_quality'), scored: n('scored') };
}

export function summarise(
  dir: string, opts: EvaluateOptions, config: EntryConfig, probes: readonly Probe[],
  people: Evaluation['people'], enrolment: Evaluation['enrolment'], search?: (query: Float32Array) => GallerySearch,
): Evaluation {
  const m = config.match;
  const falseD = probes
    .filter((p) => p.best && !(p.genuine && p.best.villagerId === p.person))
    .map((p) => (p.best as { distance: number }).distance);
  const genuineD = probes.filter((p) => p.ownDistance !== null).map((p) => p.ownDistance as number).sort((a, b) => a - b);
  return {
    version: 1,
    dir,
    seed: opts.seed,
    recognizer: opts.recognizer ?? 'faceapi',
    enrol: opts.enrol,
    config: { threshold: m.threshold, margin: m.margin, k: m.k, n: m.n, ...(m.cohort_scale !== undefined ? { cohort_scale: m.cohort_scale } : {}), ...(m.pool ? { pool: { ...m.pool } } : {}) },
    people,
    enrolment,
    genuine: counts(probes.filter((p) => p.genuine)),
    impostor: counts(probes.filter((p) => !p.genuine)),
    atConfig: pointAt(probes, m.threshold, m.margin),
    presentations: presentations(probes, m, search),
    zeroFa: bestThreshold(probes, m.margin, 0),
    far001: bestThreshold(probes, m.margin, budgetAt(probes, 0.001)),
    far01: bestThreshold(probes, m.margin, budgetAt(probes, 0.01)),
    target: { far: opts.targetFar, point: searchTarget(probes, opts.targetFar) },
    distances: {
      nearestImpostor: falseD.length ? Math.min(...falseD) : null,
      genuineP95: genuineD.length ? percentile(genuineD, 95) : null,
    },
    histogram: histogram(probes),
    probes: probes.map((p) => ({
      person: p.person, file: path.relative(dir, p.file), genuine: p.genuine, outcome: p.outcome,
      best: p.best ? { villagerId: p.best.villagerId, distance: p.best.distance } : null,
      second: p.second ? { distance: p.second.distance } : null,
      ownDistance: p.ownDistance,
    })),
  };
}
