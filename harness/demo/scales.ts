/**
 * The scales the demo's daemon weighs on: the one answer to "which unit id weighs this slot?"
 * for `npm start`, read by the demo add-on (index.ts) when it builds the simulated bus, and by
 * the CLI (`store-edge slots set`, edge/cli/weighed-scales.ts) when it checks an address
 * against them. Kept apart from index.ts so the CLI loads only the scenario files, not the
 * demo's village (its ledger server and broker).
 */
import type { Config } from '../../edge/config/schema.ts';
import { demoLoopRuns } from '../../edge/config/demo.ts';
import { loadDemoStore, type DemoStore } from './store.ts';

export { demoLoopRuns };
export type ScaleList = Config['drivers']['scales']['list'];

/**
 * The scales of the demo for this config: the config's own `drivers.scales.list` when it has
 * one, else exactly the demo store's shelves (the scenario files' `slots`, each on its `scale`).
 */
export function demoScaleList(c: Config, store: Pick<DemoStore, 'slots'>): ScaleList {
  if (c.drivers.scales.list.length > 0) return c.drivers.scales.list;
  return store.slots.map((s) => ({ slot: s.slot, unit_id: s.scale, capacity_g: 10_000 }));
}

/** Where the daemon of this config gets its scale list: the config file, or the demo store's shelves. */
export function daemonScales(c: Config): { list: ScaleList; fromDemo: boolean } {
  if (!demoLoopRuns(c) || c.drivers.scales.list.length > 0) return { list: c.drivers.scales.list, fromDemo: false };
  return { list: demoScaleList(c, loadDemoStore()), fromDemo: true };
}
