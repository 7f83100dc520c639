/**
 * The scales the store's daemon weighs on, as `store-edge start` with the same config builds
 * them: the config file's drivers.scales.list, or, in the demo (`npm start`) whose config lists
 * none, the demo store's (harness/demo/scales.ts, the very list the demo add-on puts on the
 * simulated bus). `slots set` checks an address against these, as the admin page does against
 * the running hardware's, and `doctor` the ledger's slots (edge/ops/doctor-slots.ts).
 */
import type { LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { ScaleListSource } from '../ledger/products.ts';

export interface WeighedScales {
  list: Config['drivers']['scales']['list'];
  source: ScaleListSource;
}

/** The scales of the config `loaded` (as the command read it, edge/cli/context.ts loadedConfig). */
export async function weighedScales(loaded: LoadedConfig): Promise<WeighedScales> {
  const { config, file } = loaded;
  // the harness is loaded only where the demo could run (as `start` loads it): a store's CLI never loads it
  if (config.demo && config.drivers.simulated && config.drivers.scales.list.length === 0) {
    const { daemonScales } = await import('../../harness/demo/scales.ts');
    const scales = daemonScales(config);
    if (scales.fromDemo) return { list: scales.list, source: { kind: 'demo' } };
  }
  return { list: config.drivers.scales.list, source: { kind: 'config', file } };
}
