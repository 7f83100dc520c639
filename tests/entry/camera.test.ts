/**
 * Camera sources without a camera: a stand-in for ffmpeg (a script that writes raw RGB frames
 * then dies) checks framing across chunk borders, the reopen with backoff and its report.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { FfmpegSource, FilesSource, ffmpegArgs, type CameraStatus } from '../../edge/entry/camera.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import { tempDir } from '../ledger/helpers.ts';
import { until } from '../drivers/helpers.ts';
import { samplePath } from '../../harness/portraits.ts';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

describe('camera sources', () => {
  it('builds ffmpeg arguments that give fixed-size raw RGB frames', () => {
    const v = ffmpegArgs({ kind: 'v4l2', device: '/dev/video2' }, 640, 480, 8);
    expect(v).toEqual(expect.arrayContaining(['-f', 'v4l2', '-i', '/dev/video2', 'rawvideo', 'rgb24', 'pipe:1']));
    expect(v.join(' ')).toContain('scale=640:480:force_original_aspect_ratio=decrease,pad=640:480');
    const r = ffmpegArgs({ kind: 'rtsp', url: 'rtsp://cam.local/stream' }, 320, 240, 5);
    expect(r).toEqual(expect.arrayContaining(['-rtsp_transport', 'tcp', '-i', 'rtsp://cam.local/stream']));
  });

  it('cuts the byte stream into whole frames, and reopens a camera that died, reporting it', async () => {
    const tmp = tempDir('cam-');
    cleanups.push(tmp.cleanup);
    const fake = path.join(tmp.dir, 'fake-ffmpeg.mjs');
    // two 4×2 frames written in odd-sized pieces, then the "camera" disappears
    writeFileSync(fake, `#!/usr/bin/env node
const frame = (v) => Buffer.alloc(4 * 2 * 3, v);
const all = Buffer.concat([frame(1), frame(2)]);
for (let i = 0; i < all.length; i += 5) process.stdout.write(all.subarray(i, i + 5));
setTimeout(() => process.exit(3), 30);
`);
    chmodSync(fake, 0o755);
    const src = new FfmpegSource({ camera: { kind: 'v4l2', device: '/dev/null' }, width: 4, height: 2, frameRate: 5, retryMaxMs: 1000, logger, ffmpegPath: fake });
    cleanups.push(() => src.stop());
    const frames: RgbFrame[] = [];
    const statuses: CameraStatus[] = [];
    src.on('frame', (f) => frames.push(f));
    src.on('status', (s) => statuses.push(s));
    await src.start();
    await until(() => frames.length >= 4, 5000, 'frames from the reopened camera');
    expect(frames.slice(0, 2).map((f) => [f.width, f.height, f.data.length, f.data[0]])).toEqual([[4, 2, 24, 1], [4, 2, 24, 2]]);
    const down = statuses.filter((s) => s.state === 'down');
    expect(down.length).toBeGreaterThanOrEqual(1);
    expect(down[0]).toMatchObject({ state: 'down', retryInMs: 500 });
    expect((down[0] as { reason: string }).reason).toContain('ffmpeg exited (3)');
  });

  it('reports a missing ffmpeg as a camera down, retrying with growing waits', async () => {
    const src = new FfmpegSource({ camera: { kind: 'rtsp', url: 'rtsp://nowhere/x' }, width: 4, height: 2, frameRate: 5, retryMaxMs: 1000, logger, ffmpegPath: '/nonexistent/ffmpeg' });
    cleanups.push(() => src.stop());
    const statuses: CameraStatus[] = [];
    src.on('status', (s) => statuses.push(s));
    await src.start();
    await until(() => statuses.length >= 2, 3000, 'two failures');
    expect(statuses.map((s) => (s.state === 'down' ? s.retryInMs : 0)).slice(0, 2)).toEqual([500, 1000]);
  });

  it('replays a photo at the frame size', async () => {
    const tmp = tempDir('files-');
    cleanups.push(tmp.cleanup);
    const src = new FilesSource({ camera: { kind: 'files', path: samplePath(1), loop: false }, width: 640, height: 480, frameRate: 20, retryMaxMs: 1000, logger });
    cleanups.push(() => src.stop());
    const frames: RgbFrame[] = [];
    src.on('frame', (f) => frames.push(f));
    await src.start();
    await until(() => frames.length >= 1, 3000, 'a frame');
    expect(frames[0]?.width).toBe(640);
    expect(frames[0]?.data.length).toBe((frames[0]?.width ?? 0) * (frames[0]?.height ?? 0) * 3);
  });
});
