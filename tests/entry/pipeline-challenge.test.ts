/**
 * The active challenge through the door pipeline (a scripted recogniser whose frames carry
 * synthetic landmarks): the prompt is emitted for the display and speaker, a blink opens the
 * door, a photo that never blinks does not, and the challenge's outcome lands in entry_events.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { Recognition } from '../../models/protocol.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { EntryPipeline, type EntryDecision } from '../../edge/entry/pipeline.ts';
import { loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { recentEntryEventRows } from '../../edge/ledger/entry-events.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { until } from '../drivers/helpers.ts';
import { blinking, head, noise, project } from '../models/synthetic-head.ts';

const times = { detect: 1, landmarks: 1, descriptor: 1, liveness: 1, match: 0 };
const live = head();
const flat = live.map(([x, y]) => [x, y, 0] as [number, number, number]);

/** A frame's recognition: the face of villager wang with these landmarks (the frame's pixel carries its index). */
const recognition = (landmarks: Float32Array): Recognition => ({
  faceCount: 1,
  face: { box: { x: 250, y: 150, width: 150, height: 180 }, score: 0.9, quality: { faceSize: 150, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 }, rejected: null, liveness: null, landmarks },
  match: { best: { villagerId: 'wang', distance: 0.1 }, second: { villagerId: 'other', distance: 0.6 } },
  times,
});

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

async function door(script: Float32Array[]) {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  addVillager(l.db, { id: 'wang', name: '王五', village: 'v' });
  setFaceConsent(l.db, 'wang', 'self');
  let clock = 0;
  const seen: number[] = [];
  const pulses: number[] = [];
  const pipeline = new EntryPipeline({
    config: resolveEntryConfig({ liveness: { enabled: false, passive: { enabled: true }, challenge: { mode: 'when_uncertain', kinds: ['blink'], timeout_ms: 3000 } } }),
    db: l.db,
    recogniser: {
      recognise: (f: RgbFrame) => {
        const i = (f.data[0] as number) + 256 * (f.data[1] as number);
        seen.push(i);
        return Promise.resolve(recognition(script[i] as Float32Array));
      },
      replaceSealedGallery: () => Promise.resolve(0), addTemplates: () => Promise.resolve(0), removeVillager: () => Promise.resolve(0),
    },
    store: { isStoreBusy: () => false }, camera: null,
    lock: { unlock: (ms: number) => { pulses.push(ms); return Promise.resolve(); } },
    templateKey: loadOrCreateTemplateKey(path.join(l.dir, 'k')), qrPublicKey: null, logger: pino({ level: 'silent' }),
    now: () => clock,
  });
  const decisions: EntryDecision[] = [];
  const prompts: Array<{ kind: string; attempt: number; text: string }> = [];
  pipeline.on('decision', (d) => decisions.push(d));
  pipeline.on('prompt', (p) => prompts.push(p));
  await pipeline.start();
  // 8 frames a second, one at a time, until the door decides
  for (let i = 0; i < script.length && decisions.length === 0; i++) {
    clock = i * 125;
    pipeline.offer({ width: 1, height: 1, data: Uint8Array.of(i % 256, i >> 8, 0) });
    await until(() => pipeline.stats.analysed === i + 1, 2000, `frame ${i}`);
  }
  await pipeline.stop();
  return { decisions, prompts, pulses, events: recentEntryEventRows(l.db, 10) };
}

describe('the door asks for a blink', () => {
  it('a villager standing still is asked, blinks, and is let in; the challenge is in entry_events', async () => {
    const j = noise(1);
    const stillFrames = Array.from({ length: 14 }, () => project(live, { yaw: 0, pitch: 0 }, j));
    const blink = [0, 0.4, 0.9, 0.9, 0.2, 0, 0, 0].map((c) => project(blinking(live, c), { yaw: 0, pitch: 0 }, j));
    const r = await door([...stillFrames, ...blink]);
    expect(r.prompts).toMatchObject([{ kind: 'blink', attempt: 1, text: expect.stringContaining('请眨眨眼') }]);
    expect(r.decisions).toMatchObject([{ by: 'face', decision: 'matched', villagerId: 'wang', unlocked: true }]);
    expect(r.pulses).toHaveLength(1);
    const row = r.events[0];
    expect(row?.decision).toBe('matched');
    expect(JSON.parse(row?.detail ?? '{}')).toMatchObject({ challenge: { kind: 'blink', result: 'passed', attempts: 1, why: 'passive uncertain' }, unlocked: true });
  });

  it('a printed photo held up never blinks: asked twice, then uncertain (card or QR code), the door stays shut', async () => {
    const j = noise(2);
    const photo = Array.from({ length: 80 }, (_, i) => project(flat, { yaw: Math.sin(i / 4), pitch: 0, dx: i % 2 }, j));
    const r = await door(photo);
    expect(r.prompts.map((p) => p.attempt)).toEqual([1, 2]);
    expect(r.prompts[1]?.text).toContain('请再眨一次眼');
    expect(r.decisions).toMatchObject([{ by: 'face', decision: 'uncertain', villagerId: null, unlocked: false }]);
    expect(r.pulses).toEqual([]);
    expect(JSON.parse(r.events[0]?.detail ?? '{}')).toMatchObject({ nearest: 'wang', challenge: { kind: 'blink', result: 'failed', attempts: 2 } });
  });
});
