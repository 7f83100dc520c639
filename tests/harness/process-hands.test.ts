/**
 * The process runner's hands at the door: after a face, the person has left only once the door
 * has analysed as many frames of the empty doorway as its own rule asks (match.face_gone_frames),
 * so the next person's frames never join the last one's in the k-of-n window or the passive
 * check (issue 11: with a quiet time alone, the attack's last frame was in the villager's track).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessHands } from '../../harness/scenario/process-hands.ts';
import { StoreObservations } from '../../harness/scenario/world.ts';
import type { SimHardwareClient } from '../../drivers/index.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + Math.min(ms, 60_000);
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('ProcessHands.presentFace', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

  it('returns once the door has analysed face_gone_frames frames of the empty doorway, besides those in flight', async () => {
    const cameraDir = mkdtempSync(path.join(tmpdir(), 'hands-'));
    dirs.push(cameraDir);
    const face = Buffer.from('face');
    const empty = Buffer.from('empty doorway');
    const seen = new StoreObservations();
    // the fake door analyses one frame each time its count is read: whatever the camera shows then
    const analysed: string[] = [];
    const framesAnalysed = (): Promise<number> => {
      analysed.push(readFileSync(path.join(cameraDir, 'doorway.jpg')).toString());
      return Promise.resolve(analysed.length);
    };
    const hands = new ProcessHands({
      client: () => ({}) as SimHardwareClient,
      cameraDir,
      faces: new Map([['zhang', face]]),
      emptyDoorway: () => empty,
      slots: 1,
      stableWindow: 3,
      seen,
      until,
      framesAnalysed,
      faceGoneFrames: 5,
    });
    let decided = false;
    const presenting = hands.presentFace('zhang', () => decided);
    await until(() => analysed.includes('face'), 10_000, 'the door to see the face');
    seen.decision({ decision: 'uncertain', by: 'face', villagerId: null, unlocked: false });
    decided = true;
    await presenting;
    expect(readFileSync(path.join(cameraDir, 'doorway.jpg')).toString()).toBe('empty doorway');
    const emptyFrames = analysed.slice(analysed.lastIndexOf('face') + 1).length;
    // 5 of the door's own rule; the reads run one poll ahead, so the count includes those in flight
    expect(emptyFrames).toBeGreaterThanOrEqual(5);
  }, 60_000);
});
