/**
 * The liveness scenarios (fixtures/scenarios/printed-photo-attack.yaml, screen-attack.yaml) on
 * the in-process store with the real face engine: frames made at run time from a demo photo
 * replayed as the camera, in both runner modes (in process mode the daemon is a child process
 * that gets the frames at the camera's rate through its watched camera folder and drops what it
 * cannot analyse, as with a camera). The person in front of the camera turns when the door asks
 * (harness/scenario/replay.ts). With the challenge on, the print and the screen are refused
 * and the villager in person (turning his head when asked) is let in; the challenge's outcome is
 * in the runner's output and in entry_events.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../../harness/scenario/scenario.ts';
import { framesFromDir } from '../../harness/scenario/sequences.ts';
import { attackFrames, writeFrames } from '../../harness/liveness/presentations.ts';
import { greyFrame } from '../../harness/portraits.ts';
import { runScenario } from '../../harness/scenario/run.ts';
import { runScenarioInProcesses } from '../../harness/scenario/run-process.ts';
import { invariants } from './invariants.ts';

/**
 * A safety net, not a measure: a process-mode run boots the daemon (over a minute on a loaded
 * 2-core machine) and each challenge attempt lasts at least the frames the camera sends in its
 * time, however slowly the daemon analyses them; the runner waits for the door as long as it
 * keeps analysing frames (harness/scenario/process-hands.ts).
 */
const PROCESS_RUN_MS = 900_000;

describe.each([
  ['printed-photo-attack', 'in-process', runScenario, 300_000],
  ['screen-attack', 'in-process', runScenario, 300_000],
  ['printed-photo-attack', 'process', runScenarioInProcesses, PROCESS_RUN_MS],
  ['screen-attack', 'process', runScenarioInProcesses, PROCESS_RUN_MS],
] as const)('%s (%s mode)', (name, _mode, run, ms) => {
  it('the attack is refused, the villager in person is let in after turning his head', async () => {
    const r = await run(loadScenario(path.join('fixtures/scenarios', `${name}.yaml`)));
    invariants(r);
    const [attack, real] = r.face_decisions;
    // refused: a spoof (passive check) or uncertain (challenge failed: card or QR code), never matched
    expect(['spoof', 'uncertain']).toContain(attack?.decision);
    expect(attack?.unlocked).toBe(false);
    expect(r.refused).toMatchObject([{ villager: 'zhang', step: 1, reason: attack?.decision }]);
    if (attack?.decision === 'uncertain') expect(attack.challenge).toMatchObject({ kind: 'turn', result: expect.stringMatching(/failed|flat/) });
    expect(real).toMatchObject({ step: 2, decision: 'matched', unlocked: true, challenge: { kind: 'turn', result: 'passed' } });
    expect(r.announcements.some((a) => a.reason === 'challenge' && a.text.includes('请慢慢转头'))).toBe(true);
    expect(r.balances).toEqual({ zhang: 47 });
  }, ms);
});

describe('enter: {by: face, frames}', () => {
  const base = {
    products: [{ sku: 'salt', name: '食盐', price: 3, unit_g: 400 }],
    slots: [{ slot: 'A1', scale: 11, sku: 'salt' }],
    villagers: [{ id: 'zhang', name: '张三', card: 'PB-1', face: { photo: 'sample2.jpg', index: 0 } }],
  };
  it('parses a folder or a made sequence; frames with a card, an unknown kind or an empty name are refused naming the step', () => {
    const s = parseScenario({ ...base, entry: { liveness: { challenge: { mode: 'always' } } }, steps: [{ enter: { villager: 'zhang', frames: 'door/' } }, { enter: { villager: 'zhang', frames: { make: 'screen', seed: 3 } } }] });
    expect(s.steps).toMatchObject([{ kind: 'enter', by: 'face', frames: { dir: 'door/' } }, { kind: 'enter', by: 'face', frames: { make: 'screen', seed: 3 } }]);
    expect(s.entry).toEqual({ liveness: { challenge: { mode: 'always' } } });
    expect(() => parseScenario({ ...base, steps: [{ enter: { villager: 'zhang', by: 'card', frames: 'door/' } }] })).toThrow('step 1 (enter): frames are what the camera sees: they need by: face, not card');
    expect(() => parseScenario({ ...base, steps: [{ enter: { villager: 'zhang', frames: { make: 'mask' } } }] })).toThrow('make must be one of live, print, screen');
    expect(() => parseScenario({ ...base, steps: [{ enter: { villager: 'zhang', frames: '' } }] })).toThrow('frames must name a folder');
  });

  it('a folder is read in name order; an empty or missing one is refused in both languages', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'frames-'));
    try {
      await expect(framesFromDir(dir)).rejects.toMatchObject({ message: expect.stringContaining('holds no .jpg, .png or .webp images'), zh: expect.stringContaining('没有图片') });
      await expect(framesFromDir(path.join(dir, 'nope'))).rejects.toThrow('cannot read the folder');
      const frames = attackFrames('screen', greyFrame(200, 200), 1, 3);
      await writeFrames(dir, frames);
      writeFileSync(path.join(dir, 'notes.txt'), 'not a frame');
      const back = await framesFromDir(dir);
      expect(back).toHaveLength(3);
      expect(back[0]).toMatchObject({ width: 640, height: 480 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
