/**
 * The texture cue of the passive liveness check on synthetic frames: LBP histograms of the
 * aligned face, a model trained person-disjoint that tells a halftone-printed face from a
 * smooth one for a person it never saw, the fusion with the geometry (a flat geometry keeps its
 * veto, a still face is judged by its texture), and the model file refused clearly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../../models/engine-client.ts';
import type { RgbFrame } from '../../models/frame.ts';
import { decodeImage } from '../../models/image.ts';
import { samplePath } from '../../harness/portraits.ts';
import { judgePassive } from '../../models/liveness/passive.ts';
import { alignedFace, checkTextureModel, cropFeatures, CROP_FEATURES, LBP_FEATURES, loadTextureModel, TEXTURE_FEATURES, TEXTURE_SIZE, TEXTURE_VERSION, textureFeatures, textureLogit, type TextureModel } from '../../models/liveness/texture.ts';
import { BAND_FEATURES } from '../../models/liveness/texture-light.ts';
import { scorePresentations, type TextureSample } from '../../models/liveness/texture-train.ts';
import { averageLinear, chooseTexture, type CvPresentation } from '../../models/liveness/texture-cv.ts';
import { TEXTURE_CANDIDATES } from '../../models/liveness/texture-candidates.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { initialWindow, type FrameVerdict } from '../../edge/entry/decision.ts';
import { PassiveGate, passiveParams } from '../../edge/entry/liveness-passive.ts';
import { head, noise, project } from './synthetic-head.ts';

/** 68 landmarks with the five alignment points of a face whose eyes are `iod` apart around (cx, cy). */
function landmarksAt(cx: number, cy: number, iod: number): Float32Array {
  const p = new Float32Array(136);
  const put = (i: number, x: number, y: number) => { p[2 * i] = cx + x * iod; p[2 * i + 1] = cy + y * iod; };
  for (let i = 0; i < 68; i++) put(i, 0, 0.3);
  for (let i = 36; i <= 41; i++) put(i, -0.5, -0.4);
  for (let i = 42; i <= 47; i++) put(i, 0.5, -0.4);
  put(30, 0, 0.17);
  put(48, -0.41, 0.76);
  put(54, 0.41, 0.76);
  return p;
}

/** A seeded generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 320×240 frame of a smooth "skin" (a person's own tone and shading, fine sensor noise), or
 * the same printed: a halftone screen of dots (period 3 px) that the camera sees as a regular grid.
 */
function frameOf(person: number, k: number, printed: boolean): RgbFrame {
  const W = 320, H = 240;
  const r = rng(person * 1000 + k * 7 + (printed ? 500 : 0));
  const tone = 140 + 12 * person;
  const data = new Uint8Array(W * H * 3);
  const phase = r() * 3;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const shade = tone * (0.75 + 0.25 * Math.cos((x - 160) / 90) * Math.cos((y - 120) / 80));
    let v = shade + (r() - 0.5) * 10;
    if (printed) {
      const dx = ((x + phase) % 3) - 1.5, dy = ((y + phase) % 3) - 1.5;
      v = shade * (dx * dx + dy * dy < 1.2 ? 0.7 : 1.1) + (r() - 0.5) * 4;
    }
    const o = (y * W + x) * 3;
    data[o] = Math.max(0, Math.min(255, v + 20));
    data[o + 1] = Math.max(0, Math.min(255, v));
    data[o + 2] = Math.max(0, Math.min(255, v - 15));
  }
  return { width: W, height: H, data };
}

const lm = landmarksAt(160, 120, 60);

describe('texture features', () => {
  it('are LBP histograms that sum to one (Hellinger) plus six numbers, and all-equal for a flat surface', () => {
    const f = textureFeatures(frameOf(1, 0, false), lm);
    expect(f.length).toBe(TEXTURE_FEATURES);
    for (let h = 0; h < 11; h++) {
      let s = 0;
      for (let i = 0; i < 59; i++) s += (f[h * 59 + i] as number) ** 2;
      expect(s).toBeCloseTo(1, 4);
    }
    const grey: RgbFrame = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3).fill(128) };
    const g = textureFeatures(grey, lm);
    // every pixel equals its neighbours: all codes are 0b11111111, one bin holds everything
    expect(Math.max(...Array.from(g.subarray(0, 59)))).toBeCloseTo(1, 5);
    expect(TEXTURE_SIZE).toBe(64);
    expect(TEXTURE_FEATURES).toBe(CROP_FEATURES + BAND_FEATURES);
  });

  it('do not follow the light: a dimmer or warmer recording of the same face keeps its colour and detail numbers', () => {
    const face = frameOf(2, 0, false);
    const relit = (k: [number, number, number]): RgbFrame => ({ ...face, data: face.data.map((v, i) => Math.min(255, Math.round(v * (k[i % 3] as number)))) });
    const maxDiff = (a: Float32Array, b: Float32Array, from: number, to: number): number => {
      let m = 0;
      for (let i = from; i < to; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
      return m;
    };
    const base = textureFeatures(face, lm);
    const raw = (f: RgbFrame) => { const { grey, rgb } = alignedFace(f, lm); return cropFeatures(grey, rgb); };
    for (const k of [[0.55, 0.55, 0.55], [1.15, 1, 0.8]] as [number, number, number][]) {
      const f = textureFeatures(relit(k), lm);
      // the six colour and detail numbers of the crop, and the band numbers: as before, up to 8-bit rounding
      expect(maxDiff(base, f, LBP_FEATURES, CROP_FEATURES)).toBeLessThan(0.02);
      expect(maxDiff(base, f, CROP_FEATURES, TEXTURE_FEATURES)).toBeLessThan(0.06);
      // without the grey world the same numbers move with the light
      expect(maxDiff(raw(face), raw(relit(k)), LBP_FEATURES, CROP_FEATURES)).toBeGreaterThan(0.1);
    }
  });

  it('trained on some people, tell a printed face from a real one for a person left out', () => {
    const samples: TextureSample[] = [];
    for (let person = 0; person < 5; person++) for (let pres = 0; pres < 2; pres++) for (const printed of [false, true]) {
      for (let k = 0; k < 3; k++) {
        const at = landmarksAt(150 + 5 * k, 115 + 3 * pres, 55 + 4 * pres);
        samples.push({ f: textureFeatures(frameOf(person, pres * 3 + k, printed), at), real: !printed, presentation: `${person}-${pres}-${printed}`, person: String(person) });
      }
    }
    const train = samples.filter((s) => s.person !== '4');
    // presentations as the training script groups them (the geometry has nothing to say here)
    const ps: CvPresentation[] = [...new Set(train.map((s) => s.presentation))].map((key) => {
      const frames = train.filter((s) => s.presentation === key);
      return { key, real: frames[0]!.real, person: frames[0]!.person, set: frames[0]!.real ? 'real' : 'print', frames, geometryFlat: false };
    });
    const choice = chooseTexture(ps, [TEXTURE_CANDIDATES.lr], { innerFolds: 4, minFrames: 3, margin: 0 });
    const model = averageLinear(choice.models as TextureModel[], choice.threshold, 'test');
    expect(checkTextureModel(model)).toBe(true);
    const held = scorePresentations(model, samples.filter((s) => s.person === '4'));
    for (const v of held.values()) expect(v.score >= model.threshold).toBe(v.real);
  }, 60_000);
});

describe('texture fused with the geometry', () => {
  const cfg = resolveEntryConfig({ liveness: { passive: { enabled: true } } }).liveness.passive;
  const still = Array.from({ length: 8 }, (_, i) => project(head(), { yaw: 0, pitch: 0 }, noise(i)));
  const p = passiveParams(cfg, { threshold: 1 } as never);

  it('judges a still face by its texture: live above the threshold, uncertain below', () => {
    expect(judgePassive(still, passiveParams(cfg)).verdict).toBe('uncertain');
    const live = judgePassive(still, p, undefined, still.map(() => 2));
    expect(live).toMatchObject({ verdict: 'live', texture: 2 });
    expect(judgePassive(still, p, undefined, still.map(() => 0.5)).verdict).toBe('uncertain');
    // too few frames: not judged, whatever the texture
    expect(judgePassive(still.slice(0, 3), p, undefined, [5, 5, 5]).verdict).toBe('uncertain');
  });

  it('keeps the geometry\'s veto: flat landmarks are a spoof even with a live texture', () => {
    const flat = head().map(([x, y]) => [x, y, 0] as [number, number, number]);
    const j = noise(3);
    const tilted = Array.from({ length: 8 }, (_, i) => project(flat, { yaw: -40 + (80 / 7) * i, pitch: 20 * Math.sin(i), dx: i, dy: -i / 2 }, j));
    expect(judgePassive(tilted, p, undefined, tilted.map(() => 9)).verdict).toBe('flat');
  });
});

describe('the texture model file', () => {
  const tmp = { dir: mkdtempSync(path.join(tmpdir(), 'texture-')) };
  afterAll(() => rmSync(tmp.dir, { recursive: true, force: true }));

  it('is refused clearly when missing or malformed, at the door with a bilingual config error', () => {
    expect(() => loadTextureModel(path.join(tmp.dir, 'none.json'))).toThrow(expect.objectContaining({ code: 'MODEL_MISSING' }));
    const bad = path.join(tmp.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ version: 2, features: 3, mean: [0], scale: [1], weights: [1], bias: 0, threshold: 0 }));
    expect(() => loadTextureModel(bad)).toThrow(expect.objectContaining({ code: 'MODEL_UNLOADABLE', message: expect.stringContaining(bad) as string }));
    const cfg = resolveEntryConfig({ liveness: { passive: { enabled: true, texture_model: bad } } }).liveness.passive;
    expect(() => new PassiveGate(cfg)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', zh: expect.stringContaining('纹理活体模型') as string }));
  });

  it('opens the door for a still face when its frames\' texture is live, and not without the features', () => {
    const file = path.join(tmp.dir, 'model.json');
    const old = path.join(tmp.dir, 'v1.json');
    writeFileSync(old, JSON.stringify({ version: 1, features: 655, mean: new Array(655).fill(0), scale: new Array(655).fill(1), weights: new Array(655).fill(0), bias: 0, threshold: 0 }));
    expect(() => loadTextureModel(old)).toThrow(expect.objectContaining({ code: 'MODEL_UNLOADABLE', message: expect.stringContaining('train it again') as string }));
    const model = { version: TEXTURE_VERSION, features: TEXTURE_FEATURES, mean: new Array(TEXTURE_FEATURES).fill(0), scale: new Array(TEXTURE_FEATURES).fill(1), weights: new Array(TEXTURE_FEATURES).fill(0), bias: 3, threshold: 1, trainedOn: 'test' };
    writeFileSync(file, JSON.stringify(model));
    expect(textureLogit(loadTextureModel(file), new Float32Array(TEXTURE_FEATURES))).toBe(3);
    const entry = resolveEntryConfig({ liveness: { passive: { enabled: true, texture_model: file } } });
    const run = (withFeatures: boolean) => {
      const gate = new PassiveGate(entry.liveness.passive);
      expect(gate.wantsTexture).toBe(true);
      let s = initialWindow();
      const v: FrameVerdict = { kind: 'candidate', villagerId: 'v1', distance: 0.2, margin: 0.2 };
      for (let i = 0; i < entry.liveness.passive.max_frames; i++) {
        const pts = project(head(), { yaw: 0, pitch: 0 }, noise(i));
        const r = gate.step(s, v, pts, i * 100, entry.match, withFeatures ? { texture: textureFeatures(frameOf(1, i, false), pts) } : undefined);
        s = r.state;
        if (r.outcome) return r.outcome.kind;
      }
      return null;
    };
    expect(run(true)).toBe('matched');
    expect(run(false)).toBe('uncertain');
  });
});

describe('texture features at the door', () => {
  it('are computed in the engine\'s worker, where the frame goes (the caller\'s copy is handed over)', async () => {
    const engine = new EngineClient({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false });
    await engine.start();
    try {
      const frame = await decodeImage(readFileSync(samplePath(2)));
      const copy = { ...frame, data: frame.data.slice() };
      // as the door offers a camera frame: its own buffer, handed to the worker
      const offered = { ...frame, data: frame.data.slice() };
      const rec = await engine.recognise(offered, { gate: null, liveness: false, texture: true });
      expect(offered.data.length).toBe(0);
      const face = rec.face;
      expect(face?.texture?.length).toBe(TEXTURE_FEATURES);
      const here = textureFeatures(copy, face?.landmarks as Float32Array);
      for (let i = 0; i < TEXTURE_FEATURES; i++) expect(face?.texture?.[i]).toBeCloseTo(here[i] as number, 5);
      const without = await engine.recognise({ ...copy, data: copy.data.slice() }, { gate: null, liveness: false });
      expect(without.face?.texture).toBeUndefined();
    } finally {
      await engine.stop();
    }
  }, 120_000);
});
