/**
 * The composition root: the one place that creates the parts, hands each its slice of the
 * config, and starts them in order / stops them in reverse. Nothing else constructs another
 * part's dependencies.
 */
import path from 'node:path';
import type { Logger } from './log.ts';
import type { Config } from './config/schema.ts';
import { openLedger, closeLedger, type Db } from './ledger/db.ts';
import { HttpServer } from './http/server.ts';
import { HardwarePart } from './hardware.ts';
import { EntryPart } from './entry-part.ts';
import { StoreSessionEngine } from './session/engine.ts';
import type { EntryPipeline } from './entry/pipeline.ts';
import type { ScalePhysics, SimulatedHardwareState } from '../drivers/index.ts';
import { HealthBoard, type Part } from './parts.ts';
import { EdgeError, ErrorCode } from './errors.ts';
import { DemoOpening, DemoVillagers, type DemoPace } from './demo.ts';
import { loadDemoStore, type DemoStore } from './demo-store.ts';
import { SyncAgent } from '../cloud-sync/agent/agent.ts';

/** The ledger as a part: open (and migrate) at start, checkpoint and close at stop. */
class LedgerPart implements Part {
  readonly name = 'ledger';
  readonly critical = true;
  db: Db | undefined;
  constructor(private readonly file: string, private readonly log: Logger) {}
  start(): void {
    this.db = openLedger(this.file);
    this.log.info({ file: this.file }, 'ledger open / 账本已打开');
  }
  stop(): void {
    if (this.db) closeLedger(this.db);
    this.db = undefined;
  }
  handle(): Db {
    if (!this.db) throw new EdgeError(ErrorCode.INTERNAL, 'the ledger is not open');
    return this.db;
  }
}

/** For the scenario runner, the benchmark and the demo on simulated hardware. */
export interface SimulationOptions {
  physics?: Partial<ScalePhysics>;
  seed?: number;
  /** Simulated hardware as it was when the previous daemon lost power. */
  hardwareState?: SimulatedHardwareState;
  /** The demo loop's pauses (tests shorten them). */
  demoPace?: DemoPace;
}

export class StoreDaemon {
  readonly health = new HealthBoard();
  private readonly started: Part[] = [];
  private ledger: LedgerPart | undefined;
  private http: HttpServer | undefined;
  hardware: HardwarePart | undefined;
  entry: EntryPart | undefined;
  session: StoreSessionEngine | undefined;
  demo: DemoVillagers | undefined;

  constructor(private readonly config: Config, private readonly log: Logger, private readonly sim: SimulationOptions = {}) {}

  /** The admin page's address once started. */
  get httpAddress(): string | undefined {
    return this.http?.address;
  }

  get db(): Db {
    if (!this.ledger) throw new EdgeError(ErrorCode.INTERNAL, 'the daemon is not started');
    return this.ledger.handle();
  }

  private compose(): Part[] {
    let c = this.config;
    // The demo loop only ever runs in demo mode on simulated hardware, never with demo: false
    // or real drivers. Its shelves come from the scenario files; with no scales configured, the
    // simulated bus gets exactly those scales.
    const demoStore: DemoStore | undefined = c.demo && c.demo_loop && c.drivers.simulated ? loadDemoStore() : undefined;
    if (demoStore && c.drivers.scales.list.length === 0) {
      c = { ...c, drivers: { ...c.drivers, scales: { ...c.drivers.scales, list: demoStore.slots.map((s) => ({ slot: s.slot, unit_id: s.scale, capacity_g: 10_000 })) } } };
    }
    const ledger = new LedgerPart(path.join(c.data_dir, 'ledger.sqlite'), this.log.child({ part: 'ledger' }));
    const hardware = new HardwarePart(
      { config: c.drivers, health: this.health, ...(this.sim.physics ? { physics: this.sim.physics } : {}), ...(this.sim.seed !== undefined ? { seed: this.sim.seed } : {}) },
      this.log.child({ part: 'hardware' }),
    );
    hardware.build();
    // after a simulated power cut the shelves and the relay keep what was on them
    if (this.sim.hardwareState) hardware.sim?.restore(this.sim.hardwareState);
    const session: StoreSessionEngine = new StoreSessionEngine({
      db: () => ledger.handle(),
      entry: (): EntryPipeline | undefined => entry.pipeline,
      config: c.session,
      rules: { creditFloor: c.ledger.credit_floor },
      lock: hardware.lock,
      scales: hardware.scales,
      logger: this.log.child({ part: 'session' }),
    });
    const entry: EntryPart = new EntryPart(
      {
        config: c.entry,
        dataDir: c.data_dir,
        db: () => ledger.handle(),
        lock: () => hardware.lock,
        // One shopping session at a time: the session engine answers the door policy.
        store: session,
        health: this.health,
        withoutCamera: c.demo && c.entry.camera.kind === 'v4l2' && c.entry.camera.device === '/dev/video0',
      },
      this.log.child({ part: 'entry' }),
    );
    const scanner = hardware.scanner;
    if (scanner) {
      scanner.on('code', ({ code }) => {
        const pipeline = entry.pipeline;
        if (!pipeline) return;
        pipeline.presentCode(code).catch((err: unknown) => this.log.error({ err }, 'scanned code could not be handled / 扫码处理失败'));
      });
    }
    this.http = new HttpServer(c.http, { store: c.store, health: this.health, db: () => ledger.handle(), ledgerRules: { creditFloor: c.ledger.credit_floor }, session }, this.log.child({ part: 'http' }));
    // The sync agent follows the ledger: it needs the open database and nothing else.
    const sync = c.sync.enabled
      ? [new SyncAgent({ db: () => ledger.handle(), config: c.sync, address: { village: c.store.village, store: c.store.id }, dataDir: c.data_dir, rules: { creditFloor: c.ledger.credit_floor }, health: this.health, log: this.log.child({ part: 'sync' }) })]
      : [];
    this.ledger = ledger;
    this.hardware = hardware;
    this.entry = entry;
    this.session = session;
    // Start order: the ledger, the hardware, the door (it needs both), the session (it listens
    // to all three and resumes an open session), then the page.
    if (!demoStore) return [ledger, ...sync, hardware, entry, session, this.http];
    // The demo's opening stock goes in before the door reads its QR key and the session its
    // shelves; its villagers come last and, stopping first, never act on stopped hardware.
    const rules = { creditFloor: c.ledger.credit_floor };
    const opening = new DemoOpening({ store: demoStore, db: () => ledger.handle(), sim: () => hardware.sim, dataDir: c.data_dir, entry: c.entry, rules }, this.log.child({ part: 'demo' }));
    this.demo = new DemoVillagers({ store: demoStore, daemon: () => this, opening, dataDir: c.data_dir, entry: c.entry, rules, ...(this.sim.demoPace ? { pace: this.sim.demoPace } : {}) }, this.log.child({ part: 'demo' }));
    return [ledger, ...sync, opening, hardware, entry, session, this.http, this.demo];
  }

  async start(): Promise<void> {
    const parts = this.compose();
    for (const part of parts) {
      this.health.set(part.name, 'starting');
      try {
        await part.start();
        this.started.push(part);
        this.health.set(part.name, 'ok');
      } catch (err) {
        this.health.set(part.name, 'failed', (err as Error).message);
        if (part.critical) {
          this.log.fatal({ err, part: part.name }, 'a critical part failed to start / 关键组件启动失败');
          await this.stop();
          throw err;
        }
        this.log.error({ err, part: part.name }, 'part failed to start; running degraded / 组件启动失败，降级运行');
      }
    }
    this.health.setPhase('running');
    if (this.http?.address) this.log.info({ url: this.http.address }, `admin page / 管理页面: ${this.http.address}`);
  }

  /** Stop the parts in reverse order, each on its own: one failure does not keep the rest running. */
  async stop(): Promise<void> {
    this.health.setPhase('stopping');
    while (this.started.length > 0) {
      const part = this.started.pop()!;
      try {
        await part.stop();
        this.health.set(part.name, 'stopped');
      } catch (err) {
        this.log.error({ err, part: part.name }, 'part failed to stop cleanly / 组件未能正常停止');
      }
    }
    this.log.info('stopped / 已停止');
  }
}
