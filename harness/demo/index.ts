/**
 * The demo as an add-on to the daemon (`store-edge start` in demo mode): loaded only then, so
 * the daemon's code never imports the harness. It only ever runs in demo mode on simulated
 * hardware with `demo_loop` on, never with `demo: false` or real drivers.
 */
import type { Config } from '../../edge/config/schema.ts';
import type { DaemonAddOn, DaemonCore } from '../../edge/main.ts';
import type { Part } from '../../edge/parts.ts';
import { DemoOpening, DemoVillagers, type DemoPace } from './demo.ts';
import { loadDemoStore, type DemoStore } from './store.ts';

export class DemoAddOn implements DaemonAddOn {
  /** The villagers' loop once composed (tests read its stats). */
  villagers: DemoVillagers | undefined;

  constructor(private readonly store: DemoStore, private readonly pace?: DemoPace) {}

  /** With no scales configured, the simulated bus gets exactly the demo store's scales. */
  config(c: Config): Config {
    if (c.drivers.scales.list.length > 0) return c;
    return { ...c, drivers: { ...c.drivers, scales: { ...c.drivers.scales, list: this.store.slots.map((s) => ({ slot: s.slot, unit_id: s.scale, capacity_g: 10_000 })) } } };
  }

  parts(core: DaemonCore): { afterLedger: Part[]; last: Part[] } {
    const c = core.config;
    const log = core.log.child({ part: 'demo' });
    const rules = { creditFloor: c.ledger.credit_floor };
    // the opening stock goes in before the door reads its QR key and the session its shelves;
    // the villagers come last and, stopping first, never act on stopped hardware
    const opening = new DemoOpening({ store: this.store, db: core.db, sim: () => core.hardware.sim, dataDir: c.data_dir, entry: c.entry, rules }, log);
    this.villagers = new DemoVillagers({ store: this.store, view: core, db: core.db, door: () => core.entry.pipeline, opening, dataDir: c.data_dir, entry: c.entry, rules, ...(this.pace ? { pace: this.pace } : {}) }, log);
    return { afterLedger: [opening], last: [this.villagers] };
  }
}

/** The demo add-on for this config, or undefined when the demo loop must not run. */
export function demoAddOn(c: Config, opts: { pace?: DemoPace } = {}): DemoAddOn | undefined {
  if (!(c.demo && c.demo_loop && c.drivers.simulated)) return undefined;
  return new DemoAddOn(loadDemoStore(), opts.pace);
}
