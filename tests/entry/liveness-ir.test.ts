/**
 * The infrared check on synthetic RGB/IR pairs drawn here with sharp (no photos): a face lit
 * by the IR illuminator passes where the RGB landmarks map to; a phone screen (dark in IR), a
 * dye-ink print (nearly blank), a carbon-ink print (halftone dots on the cheeks) and a face
 * elsewhere in the IR frame do not; a face partly outside the IR frame is out of view (missing
 * evidence, not dark eyes). Then through the door pipeline with a fake IR camera.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import sharp from 'sharp';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { Recognition } from '../../models/protocol.ts';
import { irParams, resolveEntryConfig } from '../../edge/entry/config.ts';
import { judgeIr, type IrParams } from '../../edge/entry/liveness-ir.ts';
import type { FrameSource, FrameSourceEvents } from '../../edge/entry/camera.ts';
import { EntryPipeline, type EntryDecision } from '../../edge/entry/pipeline.ts';
import { loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { recentEntryEventRows } from '../../edge/ledger/entry-events.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { until } from '../drivers/helpers.ts';
import { head, noise, project } from '../models/synthetic-head.ts';

const W = 640;
const H = 480;
/** The RGB frame's landmarks: a face 600 mm away, looking at the camera. */
const landmarks = project(head(), { yaw: 0, pitch: 0 }, noise(1), 0.3);
/** The IR lens sees the scene smaller and shifted (a binocular module's two sensors). */
const MAP = { offset_x: 30, offset_y: -12, scale: 0.9 };
const params: IrParams = irParams(resolveEntryConfig({ ir: MAP }).ir);
const toIr = (i: number): [number, number] => [(landmarks[2 * i] as number) * MAP.scale + MAP.offset_x, (landmarks[2 * i + 1] as number) * MAP.scale + MAP.offset_y];
const centre = (idx: number[]): [number, number] => {
  const p = idx.map(toIr);
  return [p.reduce((s, q) => s + q[0], 0) / p.length, p.reduce((s, q) => s + q[1], 0) / p.length];
};

async function raw(svg: string, blur = 0): Promise<RgbFrame> {
  let img = sharp(Buffer.from(svg)).removeAlpha();
  if (blur > 0) img = img.blur(blur);
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** A face in IR: bright smooth skin, dark eyes and brows, darker hair; `contrast` scales the features against the skin. */
function faceSvg(opts: { skin: number; feature: number; background: number; dx?: number }): string {
  const dx = opts.dx ?? 0;
  const [lx, ly] = centre([36, 37, 38, 39, 40, 41]);
  const [rx, ry] = centre([42, 43, 44, 45, 46, 47]);
  const [nx, ny] = toIr(30);
  const iod = rx - lx;
  const g = (v: number) => `rgb(${v},${v},${v})`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
    <rect width="${W}" height="${H}" fill="${g(opts.background)}"/>
    <ellipse cx="${nx + dx}" cy="${ny - iod * 0.3}" rx="${iod * 1.35}" ry="${iod * 1.75}" fill="${g(opts.feature)}"/>
    <ellipse cx="${nx + dx}" cy="${ny}" rx="${iod * 1.1}" ry="${iod * 1.45}" fill="${g(opts.skin)}"/>
    <ellipse cx="${lx + dx}" cy="${ly}" rx="${iod * 0.2}" ry="${iod * 0.08}" fill="${g(opts.feature)}"/>
    <ellipse cx="${rx + dx}" cy="${ry}" rx="${iod * 0.2}" ry="${iod * 0.08}" fill="${g(opts.feature)}"/>
    <rect x="${lx + dx - iod * 0.25}" y="${ly - iod * 0.35}" width="${iod * 0.5}" height="${iod * 0.08}" fill="${g(opts.feature)}"/>
    <rect x="${rx + dx - iod * 0.25}" y="${ry - iod * 0.35}" width="${iod * 0.5}" height="${iod * 0.08}" fill="${g(opts.feature)}"/>
  </svg>`;
}

function withNoise(f: RgbFrame, sigma: number, seed: number): RgbFrame {
  const n = noise(seed);
  const data = Uint8Array.from(f.data, (v) => Math.max(0, Math.min(255, Math.round(v + sigma * n()))));
  return { ...f, data };
}

/** Carbon-black halftone: dark dots every `pitch` px over the face, their size by the darkness of the tone. */
function halftone(f: RgbFrame, pitch: number): RgbFrame {
  const data = new Uint8Array(f.data.length);
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const i = (y * f.width + x) * 3;
      const tone = (f.data[i] as number) / 255;
      const du = (x % pitch) - pitch / 2;
      const dv = (y % pitch) - pitch / 2;
      const dot = Math.PI * (du * du + dv * dv) / (pitch * pitch) < (1 - tone) + 0.15;
      for (let c = 0; c < 3; c++) data[i + c] = dot ? 30 : 235;
    }
  }
  return { ...f, data };
}

/** The same face moved left in the RGB frame until its left eye maps beyond the IR frame's left edge. */
const leftEyeRight = Math.max(...[36, 37, 38, 39, 40, 41].map((i) => toIr(i)[0]));
const atLeftEdge = Float32Array.from(landmarks, (v, i) => (i % 2 === 0 ? v - (leftEyeRight + 2) / MAP.scale : v));

const real = async (seed = 2) => withNoise(await raw(faceSvg({ skin: 175, feature: 70, background: 45 }), 1.2), 3, seed);

describe('the infrared check', () => {
  it('a face lit by the illuminator passes where the RGB landmarks map to', async () => {
    const j = judgeIr(await real(), landmarks, params);
    expect(j.verdict).toBe('ok');
    expect(j.skin).toBeGreaterThan(150);
    expect(j.eyeContrast).toBeGreaterThan(0.3);
    expect(j.texture).toBeLessThan(params.maxSkinTexture);
  });

  it('the same face looked for without the lens mapping (or elsewhere in the frame) is not found', async () => {
    const unmapped = judgeIr(await real(), landmarks, { ...params, offsetX: 0, offsetY: 0, scale: 1 });
    expect(unmapped.verdict).not.toBe('ok');
    const elsewhere = withNoise(await raw(faceSvg({ skin: 175, feature: 70, background: 45, dx: 140 }), 1.2), 3, 3);
    expect(judgeIr(elsewhere, landmarks, params).verdict).not.toBe('ok');
  });

  it('a phone screen is dark in IR (a reflection of the illuminator at most): ir_dark', async () => {
    const screen = withNoise(await raw(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="rgb(40,40,40)"/>
      <rect x="200" y="100" width="240" height="300" rx="18" fill="rgb(12,12,12)"/><circle cx="380" cy="150" r="14" fill="rgb(250,250,250)"/></svg>`, 2), 3, 4);
    expect(judgeIr(screen, landmarks, params)).toMatchObject({ verdict: 'ir_dark' });
  });

  it('a dye-ink print is nearly blank paper in IR: ir_no_face', async () => {
    const print = withNoise(await raw(faceSvg({ skin: 205, feature: 196, background: 45 }), 1.2), 3, 5);
    expect(judgeIr(print, landmarks, params)).toMatchObject({ verdict: 'ir_no_face' });
  });

  it('an eye beyond the IR frame\'s edge is out of view, not a dark eye: a blank (dye-ink print) does not pass', async () => {
    const blank = withNoise(await raw(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="rgb(180,180,180)"/></svg>`), 2, 9);
    expect(judgeIr(blank, landmarks, params).verdict).toBe('ir_no_face');
    expect(judgeIr(blank, atLeftEdge, params)).toMatchObject({ verdict: 'ir_out_of_view' });
  });

  it('a carbon-ink print shows its halftone dots on the cheeks: ir_texture', async () => {
    const print = withNoise(halftone(await raw(faceSvg({ skin: 175, feature: 70, background: 45 }), 1.2), 4), 3, 6);
    const j = judgeIr(print, landmarks, params);
    expect(j.verdict).toBe('ir_texture');
    expect(j.texture).toBeGreaterThan(2 * params.maxSkinTexture);
  });
});

class FakeIrCamera extends EventEmitter<FrameSourceEvents> implements FrameSource {
  start(): Promise<void> { return Promise.resolve(); }
  stop(): Promise<void> { return Promise.resolve(); }
}

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

async function door(ir: RgbFrame | null, lm: Float32Array = landmarks) {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  addVillager(l.db, { id: 'wang', name: '王五', village: 'v' });
  setFaceConsent(l.db, 'wang', 'self');
  const rec: Recognition = {
    faceCount: 1,
    face: { box: { x: 250, y: 150, width: 150, height: 180 }, score: 0.9, quality: { faceSize: 150, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 }, rejected: null, liveness: null, landmarks: lm },
    match: { best: { villagerId: 'wang', distance: 0.1 }, second: { villagerId: 'other', distance: 0.6 } },
    times: { detect: 1, landmarks: 1, descriptor: 1, liveness: 1, match: 0 },
  };
  const irCamera = new FakeIrCamera();
  const pulses: number[] = [];
  const pipeline = new EntryPipeline({
    config: resolveEntryConfig({ liveness: { enabled: false }, camera_ir: { kind: 'v4l2', device: '/dev/video2' }, ir: MAP }),
    db: l.db,
    recogniser: { recognise: () => Promise.resolve(structuredClone(rec)), replaceSealedGallery: () => Promise.resolve(0), addTemplates: () => Promise.resolve(0), removeVillager: () => Promise.resolve(0) },
    store: { isStoreBusy: () => false }, camera: null, irCamera,
    lock: { unlock: (ms: number) => { pulses.push(ms); return Promise.resolve(); } },
    templateKey: loadOrCreateTemplateKey(path.join(l.dir, 'k')), qrPublicKey: null, logger: pino({ level: 'silent' }),
  });
  const decisions: EntryDecision[] = [];
  pipeline.on('decision', (d) => decisions.push(d));
  await pipeline.start();
  for (let i = 0; decisions.length === 0 && i < 10; i++) {
    // the IR lens's frame of the same moment, then the RGB frame
    if (ir) irCamera.emit('frame', ir);
    pipeline.offer({ width: 1, height: 1, data: Uint8Array.of(i, 0, 0) });
    await until(() => pipeline.stats.analysed === i + 1, 2000, `frame ${i}`);
  }
  await until(() => decisions.length > 0, 2000, 'a decision');
  await pipeline.stop();
  return { decision: decisions[0] as EntryDecision, pulses, detail: JSON.parse(recentEntryEventRows(l.db, 1)[0]?.detail ?? '{}') as Record<string, unknown> };
}

describe('the door with an infrared camera', () => {
  it('opens for a face the IR frame agrees with', async () => {
    const r = await door(await real(7));
    expect(r.decision).toMatchObject({ decision: 'matched', villagerId: 'wang', unlocked: true });
    expect(r.pulses).toHaveLength(1);
  });

  it('a face on a phone screen (dark in IR) is a spoof; the IR measures are in entry_events', async () => {
    const screen = withNoise(await raw(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="rgb(14,14,14)"/></svg>`), 2, 8);
    const r = await door(screen);
    expect(r.decision).toMatchObject({ decision: 'spoof', villagerId: null, unlocked: false });
    expect(r.pulses).toEqual([]);
    expect(r.detail).toMatchObject({ seen: 'infrared ir_dark', ir: { verdict: 'ir_dark' }, nearest: 'wang' });
  });

  it('a blank IR frame with part of the face outside it: uncertain (card or QR code), never opened', async () => {
    const blank = withNoise(await raw(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="rgb(180,180,180)"/></svg>`), 2, 10);
    const r = await door(blank, atLeftEdge);
    expect(r.decision).toMatchObject({ decision: 'uncertain', unlocked: false });
    expect(r.pulses).toEqual([]);
    expect(r.detail).toMatchObject({ seen: 'the face is partly outside the infrared frame', ir: { verdict: 'ir_out_of_view' }, nearest: 'wang' });
  });

  it('no IR frame at all (the IR lens is down): uncertain, the door asks for the card or QR code', async () => {
    const r = await door(null);
    expect(r.decision).toMatchObject({ decision: 'uncertain', unlocked: false });
    expect(r.detail.seen).toContain('no infrared frame');
  });
});
