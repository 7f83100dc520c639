/**
 * /readyz's checks from the health board: the infrared lens (entry.camera_ir) is listed with its
 * reason whether it is configured or not, and a configured lens in use that sent no frame yet,
 * or went down, holds readiness back like the door camera.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HealthBoard } from '../../edge/parts.ts';
import { readiness, type ReadinessSources } from '../../edge/ops/readiness.ts';
import { tempLedger } from '../ledger/helpers.ts';

const ledger = tempLedger();
afterAll(() => ledger.cleanup());

function board(lines: Record<string, ['ok' | 'degraded' | 'starting', string?]>): HealthBoard {
  const b = new HealthBoard();
  b.setPhase('running');
  for (const [name, [health, detail]] of Object.entries(lines)) b.set(name, health, detail);
  return b;
}

const check = (b: HealthBoard, ir: ReadinessSources['ir']) => readiness({ health: () => b.report(), db: () => ledger.db, ...(ir ? { ir } : {}) });

describe('/readyz: camera_ir', () => {
  it.each([
    // [lens, health lines, ready, camera_ir check]
    ['not configured', undefined, { camera: ['ok'] }, true, { ok: true, reason: 'not configured' }],
    ['off', 'off', { camera: ['ok'] }, true, { ok: true, reason: 'not configured' }],
    ['configured, face entry off', 'unused', {}, true, { ok: true, reason: expect.stringContaining('not in use') }],
    ['in use, delivering frames', 'on', { camera: ['ok'], camera_ir: ['ok'] }, true, { ok: true }],
    ['in use, no frame yet', 'on', { camera: ['ok'] }, false, { ok: false, reason: expect.stringMatching(/no frame from the infrared lens yet.*红外/) }],
    ['in use, gone', 'on', { camera: ['ok'], camera_ir: ['degraded', 'rtsp://10.0.0.9/ir: connection refused'] }, false, { ok: false, reason: 'camera_ir: degraded (rtsp://10.0.0.9/ir: connection refused)' }],
  ] as const)('%s', (_what, ir, lines, ready, expected) => {
    const r = check(board(lines as Record<string, ['ok' | 'degraded']>), ir);
    expect(r.checks.camera_ir).toEqual(expected);
    expect(r.ready).toBe(ready);
    // the door camera's own check is not affected by the IR lens
    expect(r.checks.camera.ok).toBe(true);
  });

  it('the IR lens is its own check: a line named camera_ir does not count as the door camera', () => {
    const r = check(board({ camera: ['degraded', 'no frames'], camera_ir: ['ok'] }), 'on');
    expect(r.checks.camera).toEqual({ ok: false, reason: 'camera: degraded (no frames)' });
    expect(r.checks.camera_ir).toEqual({ ok: true });
    expect(r.ready).toBe(false);
  });
});
