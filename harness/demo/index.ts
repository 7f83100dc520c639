/**
 * The demo as an add-on to the daemon (`store-edge start` in demo mode): loaded only then, so
 * the daemon's code never imports the harness. It only ever runs in demo mode on simulated
 * hardware with `demo_loop` on, never with `demo: false` or real drivers.
 *
 * Unless the config enables sync itself (a real broker and village ledger), the demo brings
 * its own village (village.ts): the embedded broker and the village ledger, with the store's
 * sync turned on towards them, and the villagers' points awarded there.
 */
import type { Config } from '../../edge/config/schema.ts';
import type { DaemonAddOn, DaemonCore } from '../../edge/main.ts';
import type { Part } from '../../edge/parts.ts';
import { DemoOpening, DemoVillagers, type DemoPace } from './demo.ts';
import { demoLoopRuns, demoScaleList } from './scales.ts';
import { loadDemoStore, type DemoStore } from './store.ts';
import { DemoVillage } from './village.ts';

export class DemoAddOn implements DaemonAddOn {
  /** The villagers' loop once composed (tests read its stats). */
  villagers: DemoVillagers | undefined;
  /** The demo's own village, when the config does not name one (tests read its folder). */
  village: DemoVillage | undefined;
  private withVillage = false;

  constructor(private readonly store: DemoStore, private readonly pace?: DemoPace) {}

  /**
   * With no scales configured, the simulated bus gets exactly the demo store's scales (scales.ts,
   * the list `store-edge slots set` checks addresses against too); with
   * sync off, the store syncs with the demo's village (its address is known once it listens).
   */
  config(c: Config): Config {
    let out: Config = { ...c, drivers: { ...c.drivers, scales: { ...c.drivers.scales, list: demoScaleList(c, this.store) } } };
    this.withVillage = !c.sync.enabled;
    if (this.withVillage) {
      // read by the sync agent when it starts, after the village part has started
      const village = (): DemoVillage => {
        if (!this.village) throw new Error('the demo village is not composed / 演示村账本未创建');
        return this.village;
      };
      out = {
        ...out,
        sync: {
          ...out.sync,
          enabled: true,
          get broker_url(): string {
            return village().brokerUrl;
          },
          get ledger_public_keys(): Config['sync']['ledger_public_keys'] {
            return village().ledgerPublicKeys;
          },
        },
      };
    }
    return out;
  }

  parts(core: DaemonCore): { afterLedger: Part[]; last: Part[] } {
    const c = core.config;
    const log = core.log.child({ part: 'demo' });
    const rules = { creditFloor: c.ledger.credit_floor };
    // the opening stock goes in before the door reads its QR key and the session its shelves;
    // the villagers come last and, stopping first, never act on stopped hardware
    const opening = new DemoOpening({ store: this.store, db: core.db, sim: () => core.hardware.sim, dataDir: c.data_dir, village: c.store.village, localAwards: !this.withVillage, entry: c.entry, rules }, log);
    const village = this.withVillage
      ? new DemoVillage({ store: this.store, dataDir: c.data_dir, address: { village: c.store.village, store: c.store.id }, storeKeyId: c.sync.store_key_id, isDemoLedger: () => opening.isDemoLedger() }, core.log.child({ part: 'village' }))
      : undefined;
    this.village = village;
    this.villagers = new DemoVillagers({ store: this.store, view: core, db: core.db, door: () => core.entry.pipeline, opening, ...(village ? { village } : {}), dataDir: c.data_dir, entry: c.entry, rules, ...(this.pace ? { pace: this.pace } : {}) }, log);
    return { afterLedger: village ? [opening, village] : [opening], last: [this.villagers] };
  }
}

/** The demo add-on for this config, or undefined when the demo loop must not run. */
export function demoAddOn(c: Config, opts: { pace?: DemoPace } = {}): DemoAddOn | undefined {
  if (!demoLoopRuns(c)) return undefined;
  return new DemoAddOn(loadDemoStore(), opts.pace);
}
