/**
 * Config slice of the store session (key `session` in the config file). Every wait is a
 * named option with a documented default; the credit floor is the ledger's (`ledger.credit_floor`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { EdgeError, ErrorCode } from '../errors.ts';

const Section = <T extends Parameters<typeof Type.Object>[0]>(props: T, description: string) =>
  Type.Object(props, { additionalProperties: false, default: {}, description });

const Ms = (def: number, min: number, max: number, description: string) => Type.Integer({ default: def, minimum: min, maximum: max, description });

export const WeightRulesSchema = Section({
  min_tolerance_g: Type.Number({ default: 4, minimum: 0, description: "Smallest tolerance used for any product, whatever its own tolerance_g says: the shelves' noise floor" }),
  tolerance_grows_with_count: Type.Boolean({ default: true, description: 'Tolerance for n items is the one-item tolerance × √n (item weights vary independently); never wider than just under half an item' }),
  drift_allowance_g: Type.Number({ default: 10, minimum: 0, description: 'A net change this small on a slot (creep, crumbs, a leaning hand) is neither an item nor a review line. A product whose unit_g − tolerance_g is not more than this (or drivers.scales.change_threshold_g) is refused where products are defined and slots bound: one item would never be charged' }),
}, 'How weight changes become item counts');

export const SessionConfigSchema = Section({
  stability_wait_ms: Ms(1500, 0, 60_000, "At exit, the wait for every shelf to come to rest before settling, counted in the scales' reading time (when a sweep was read, not when the daemon got round to it); a slot still moving then extends the wait, up to exit_settle_max_ms"),
  exit_settle_max_ms: Ms(10_000, 0, 120_000, "At exit, the longest wait for a slot still moving, counted in reading time from the exit (never shorter than stability_wait_ms); a slot still moving then is a not_stable review line, nothing charged for it. If the scales stop sweeping, the wall clock ends the wait stability_wait_ms later"),
  entering_timeout_ms: Ms(20_000, 1000, 600_000, 'After an unlock, if the door never opens within this time the session is cancelled (nothing charged)'),
  door_settle_ms: Ms(2000, 0, 60_000, 'After the villager first opens the door, a further opening within this time is still the entry (contact bounce, a companion following), never an exit; so is any opening while the unlock pulse runs, and, when the lock driver cannot confirm the relay off after the pulse, within this time after the pulse ended'),
  leave_hold_ms: Ms(15_000, 0, 300_000, 'After a visit ended with the exit button, the next villager is held at the door until the one leaving has opened and closed the door, or this long: their door opening must not count as the next villager walking in'),
  shopping_idle_timeout_ms: Ms(900_000, 10_000, 86_400_000, 'A session with no door or shelf activity this long is settled as if the villager had left (an exit missed during a power cut must not block the store forever). Counted from the last activity, across a restart: a visit quiet this long when the daemon starts again is settled once the scales have reported (a quiet below zero or beyond this maximum, a day, is a clock that jumped: the whole timeout again)'),
  resume_scales_timeout_ms: Ms(60_000, 100, 600_000, 'After a restart with a villager leaving or a settlement pending, the longest wait for every scale to report once before the stability wait begins; slots still without a reading then become review lines'),
  settle_retry_ms: Ms(5000, 100, 600_000, 'After a failed settlement or session write (disk full, I/O error), wait this long and try again; the session stays open meanwhile'),
  weight: WeightRulesSchema,
}, 'Store session: from the door to the receipt');

export type SessionConfig = Static<typeof SessionConfigSchema>;
export type WeightRules = Static<typeof WeightRulesSchema>;

/** Fills defaults and validates a raw `session` section (tests, the scenario runner, the benchmark). */
export function resolveSessionConfig(raw: unknown = {}): SessionConfig {
  const value = Value.Default(SessionConfigSchema, structuredClone(raw ?? {}));
  if (!Value.Check(SessionConfigSchema, value)) {
    const first = [...Value.Errors(SessionConfigSchema, value)][0];
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `session config: ${first ? `${first.path} ${first.message}` : 'invalid'}`, { zh: '购物流程配置有误' });
  }
  return value;
}
