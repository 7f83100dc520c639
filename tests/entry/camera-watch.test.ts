/**
 * The `files` camera with `watch: true`: the folder is the camera's view. The scenario runner
 * shows a face by putting its photo there and hides it by removing it.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { FilesSource } from '../../edge/entry/camera.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import { tempDir } from '../ledger/helpers.ts';
import { sleep, until } from '../drivers/helpers.ts';
import { samplePath } from '../../harness/portraits.ts';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const signature = (f: RgbFrame): string => createHash('sha1').update(f.data).digest('hex');

/** Copies a photo in under a name the camera ignores, then renames it: the camera never sees half a file. */
function show(dir: string, sample: number, name: string): void {
  const tmp = path.join(dir, `${name}.part`);
  copyFileSync(samplePath(sample), tmp);
  renameSync(tmp, path.join(dir, name));
}

describe('files camera watching its folder', () => {
  it('shows nothing while empty, then whatever the folder holds, then nothing again', async () => {
    const t = tempDir('camera-watch-');
    cleanups.push(t.cleanup);
    const src = new FilesSource({ camera: { kind: 'files', path: t.dir, watch: true }, width: 320, height: 240, frameRate: 40, retryMaxMs: 1000, logger });
    cleanups.push(() => src.stop());
    const frames: RgbFrame[] = [];
    src.on('frame', (f) => frames.push(f));
    await src.start();
    // eight ticks of an empty folder
    await sleep(200);
    expect(frames).toHaveLength(0);

    show(t.dir, 1, 'face.jpg');
    await until(() => frames.length >= 3, 5000, 'frames of the first photo');
    const first = signature(frames.at(-1) as RgbFrame);

    // a different person steps up: the photo is replaced
    rmSync(path.join(t.dir, 'face.jpg'));
    show(t.dir, 2, 'face.jpg');
    await until(() => frames.length > 0 && signature(frames.at(-1) as RgbFrame) !== first, 5000, 'frames of the second photo');
    const second = signature(frames.at(-1) as RgbFrame);
    const seen = frames.length;
    await until(() => frames.length >= seen + 3, 5000, 'more frames');
    expect(frames.slice(seen).map(signature)).toEqual(frames.slice(seen).map(() => second));

    // the person leaves: the frames stop (a quiet spell of 300 ms, where 40 fps would give 12)
    rmSync(path.join(t.dir, 'face.jpg'));
    let last = frames.length;
    let quietSince = Date.now();
    await until(() => {
      if (frames.length !== last) {
        last = frames.length;
        quietSince = Date.now();
      }
      return Date.now() - quietSince >= 300;
    }, 5000, 'the frames to stop');
  });

  it('without watch, a photo added later is not seen (the folder is read once)', async () => {
    const t = tempDir('camera-nowatch-');
    cleanups.push(t.cleanup);
    show(t.dir, 1, 'a.jpg');
    const src = new FilesSource({ camera: { kind: 'files', path: t.dir }, width: 320, height: 240, frameRate: 40, retryMaxMs: 1000, logger });
    cleanups.push(() => src.stop());
    const frames: RgbFrame[] = [];
    src.on('frame', (f) => frames.push(f));
    await src.start();
    await until(() => frames.length >= 2, 5000, 'frames');
    const first = signature(frames[0] as RgbFrame);
    show(t.dir, 2, 'b.jpg');
    rmSync(path.join(t.dir, 'a.jpg'));
    const seen = frames.length;
    await until(() => frames.length >= seen + 8, 5000, 'more frames');
    expect(new Set(frames.map(signature))).toEqual(new Set([first]));
  });
});
