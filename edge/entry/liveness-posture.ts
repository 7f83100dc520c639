/**
 * Whether the door, as configured, can tell a villager from a photo of one: for `store-edge
 * doctor` and the daemon's start-up log. By default it cannot: the passive check and the
 * challenge are off (docs/liveness.md says why), and what is left, Human's antispoof and
 * liveness scores at `min_real` / `min_live`, passed 99 % of NUAA's printed-photo frames
 * (issue #11's measurement). A store that turns face entry on should know that a villager's
 * printed photo can open its door, and what to switch on.
 */
import type { EntryConfig } from './config.ts';

export interface LivenessPosture {
  status: 'ok' | 'warn' | 'skip';
  detail: string;
  fix?: string;
}

export function livenessPosture(entry: Pick<EntryConfig, 'face_enabled' | 'liveness' | 'camera_ir'>): LivenessPosture {
  if (!entry.face_enabled) return { status: 'skip', detail: 'face recognition is off (entry.face_enabled) / 未启用刷脸' };
  const guards: string[] = [];
  if (entry.liveness.passive.enabled) guards.push('passive check');
  if (entry.liveness.challenge.mode !== 'off') guards.push(`challenge (${entry.liveness.challenge.mode})`);
  if (entry.camera_ir) guards.push('infrared camera');
  if (guards.length > 0) return { status: 'ok', detail: `a photo or a screen is checked for: ${guards.join(', ')} / 已启用活体检测` };
  return {
    status: 'warn',
    detail: 'a printed photo or a phone screen of a villager can open the door: no passive check, challenge or infrared camera is on, and Human\'s antispoof scores alone passed 99 % of printed photos / 未启用有效的活体检测：村民的照片或手机屏幕可以开门',
    fix: 'set entry.liveness.passive.enabled: true and entry.liveness.challenge.mode: when_uncertain (docs/liveness.md), or add entry.camera_ir / 开启 entry.liveness.passive 和眨眼转头验证，或接入红外摄像头',
  };
}
