import { describe, expect, it } from 'vitest';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { livenessPosture } from '../../edge/entry/liveness-posture.ts';

describe('livenessPosture: can the door, as configured, tell a villager from a photo?', () => {
  it('warns on the defaults: only Human\'s scores, which pass printed photos', () => {
    const p = livenessPosture(resolveEntryConfig({}));
    expect(p.status).toBe('warn');
    expect(p.detail).toContain('printed photo');
    expect(p.detail).toContain('照片');
    expect(p.fix).toContain('entry.liveness.passive.enabled');
  });

  it('is content with the passive check, a challenge or an infrared camera, and names which', () => {
    expect(livenessPosture(resolveEntryConfig({ liveness: { passive: { enabled: true } } }))).toMatchObject({ status: 'ok', detail: expect.stringContaining('passive check') });
    expect(livenessPosture(resolveEntryConfig({ liveness: { challenge: { mode: 'always' } } }))).toMatchObject({ status: 'ok', detail: expect.stringContaining('challenge (always)') });
    expect(livenessPosture(resolveEntryConfig({ camera_ir: { kind: 'files', path: '/tmp/ir' } }))).toMatchObject({ status: 'ok', detail: expect.stringContaining('infrared camera') });
  });

  it('has nothing to say when face entry is off', () => {
    expect(livenessPosture(resolveEntryConfig({ face_enabled: false })).status).toBe('skip');
  });
});
