/**
 * `store-edge doctor` on the demo reports what the demo runs as it is: the door fed with the
 * demo's own pictures (no camera opened) and the store syncing with the demo's own village (an
 * embedded broker), not a missing /dev/video0 and sync off. What is genuinely broken still
 * fails: a store's camera that is not there, a broker the config names that does not answer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../edge/config/load.ts';
import { runDoctor } from '../../edge/ops/doctor.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('doctor-demo-');
afterAll(() => t.cleanup());

const rowOf = async (input: Record<string, unknown>, check: string) => {
  const rows = await runDoctor(validateConfig({ data_dir: t.dir, ...input }), 'test');
  return rows.find((r) => r.check === check || r.check.startsWith(`${check} (`));
};

describe('doctor on the demo (npm start: demo mode, no config file)', () => {
  it('the camera is the demo\'s simulated pictures: ok, and said so', async () => {
    const camera = await rowOf({ demo: true }, 'camera');
    expect(camera).toMatchObject({ check: 'camera', status: 'ok' });
    expect(camera!.detail).toContain('simulated');
    expect(camera!.detail).toContain('演示');
  });

  it('sync is on, with the demo\'s own village (embedded broker and village ledger): ok, and said so', async () => {
    const broker = await rowOf({ demo: true }, 'broker');
    expect(broker).toMatchObject({ check: 'broker', status: 'ok' });
    expect(broker!.detail).toContain("the demo's own village");
    expect(broker!.detail).toContain('内嵌');
  });
});

describe('what is genuinely broken still fails', () => {
  it('a store (not the demo) whose camera device is missing', async () => {
    const camera = await rowOf({ entry: { camera: { kind: 'v4l2', device: '/dev/video-none' } } }, 'camera');
    expect(camera).toMatchObject({ status: 'fail', detail: expect.stringContaining('no such device') });
    // the demo given a camera of its own opens it: checked as a store's
    expect(await rowOf({ demo: true, entry: { camera: { kind: 'v4l2', device: '/dev/video-none' } } }, 'camera')).toMatchObject({ status: 'fail' });
  });

  it('a demo whose config names its own broker, which does not answer', async () => {
    const broker = await rowOf({ demo: true, sync: { enabled: true, broker_url: 'mqtt://127.0.0.1:1' } }, 'broker');
    expect(broker).toMatchObject({ status: 'fail' });
  }, 30_000);
});
