/**
 * The scenario runner: the real daemon (StoreDaemon: ledger, drivers, entry pipeline,
 * session engine) on simulated hardware, driven step by step as a villager would — scanning
 * a card, pushing the door, lifting items off the scales, pressing the exit button.
 *
 * A power cut drops the daemon at once (the session engine stops between two effects, no
 * clean shutdown of the session) and boots a new one on the same ledger file; the simulated
 * shelves and relay board keep their state (snapshot/restore), as real ones keep their load.
 * The face engine restarts with the daemon.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { validateConfig } from '../../edge/config/load.ts';
import type { Config } from '../../edge/config/schema.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { Db } from '../../edge/ledger/db.ts';
import { StoreDaemon } from '../../edge/main.ts';
import { createSimulatedHardware, type SimulatedHardwareState } from '../../drivers/index.ts';
import { InProcessHands, InProcessObserver, observeInProcess } from './in-process.ts';
import { SIM_TIMINGS, type SimulateOptions, type SimulationResult } from './result.ts';
import type { Scenario, ScenarioStep } from './scenario.ts';
import { cutNeverFell, ScenarioSteps, type ArmedCut } from './steps.ts';
import { assertFreshDataDir, deepMerge, scenarioNeedsFaces, scenarioResult, seedScenarioLedger, type ObservedEvents } from './seed.ts';
import { checkScenarioRecords, SCENARIO_VILLAGE } from './seed-records.ts';
import { StoreObservations } from './world.ts';
import { prepareSequences } from './sequences.ts';

export type { SimulateOptions, SimulationResult } from './result.ts';
export { SIM_TIMINGS } from './result.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ScenarioRun {
  private daemon: StoreDaemon | undefined;
  private readonly config: Config;
  private readonly dir: string;
  private readonly ownDir: boolean;
  private readonly log: Logger;
  private readonly qr = generateKeyPairSync('ed25519');
  private readonly seen = new StoreObservations();
  private readonly receipts: SimulationResult['receipts'] = [];
  private readonly powerCuts: SimulationResult['power_cuts'] = [];
  private armedCut: ArmedCut | null = null;
  private cutPending: { phase: string } | null = null;
  private exitPressedAt: number | null = null;
  private stepNo = 0;
  private readonly unit = new Map<string, number>();
  /** The steps themselves, shared with the process runner and the demo loop. */
  private readonly steps: ScenarioSteps;
  private readonly hands: InProcessHands;
  private detach: () => void = () => undefined;

  constructor(private readonly s: Scenario, private readonly opts: SimulateOptions = {}) {
    this.ownDir = !opts.dataDir;
    this.dir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'store-sim-'));
    this.log = opts.logger ?? pino({ level: 'silent' });
    const until = (c: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> => this.until(c, ms, what);
    this.hands = new InProcessHands(() => this.store, until);
    const observer = new InProcessObserver(() => this.daemon, this.seen);
    this.steps = new ScenarioSteps(s, { hands: this.hands, observer, until, stepNo: () => this.stepNo, beforeExit: () => void (this.exitPressedAt = performance.now()) }, { key: this.qr.privateKey, village: SCENARIO_VILLAGE });
    this.seen.onReceipt((r) => {
      this.receipts.push({ session: r.session, villager: r.villager, text: r.text, settle_ms: Math.round(r.settleMs * 1000) / 1000, exit_to_receipt_ms: this.exitPressedAt === null ? null : Math.round((performance.now() - this.exitPressedAt) * 10) / 10 });
      this.exitPressedAt = null;
    });
    for (const slot of s.slots) this.unit.set(slot.slot, s.products.find((p) => p.sku === slot.sku)?.unit_g ?? 1);
    const raw = deepMerge(
      {
        data_dir: this.dir,
        store: { village: SCENARIO_VILLAGE },
        demo: true,
        // the scenario drives the store itself: no demo villagers walking in between its steps
        demo_loop: false,
        http: { port: 0 },
        log: { level: 'silent' },
        ledger: { credit_floor: s.creditFloor },
        drivers: deepMerge(SIM_TIMINGS.drivers, { simulated: true, scales: { list: s.slots.map((sl) => ({ slot: sl.slot, unit_id: sl.scale, capacity_g: 100_000 })) } }),
        entry: deepMerge({ face_enabled: scenarioNeedsFaces(s), unlock_pulse_ms: 3000, match: { cooldown_ms: 0 } }, s.entry),
        session: deepMerge({ stability_wait_ms: 1000 }, s.session),
      },
      opts.config ?? {},
    );
    this.config = validateConfig(raw, `scenario ${s.name}`);
  }

  get store(): StoreDaemon {
    if (!this.daemon) throw new EdgeError(ErrorCode.INTERNAL, 'the simulated store is not running');
    return this.daemon;
  }

  private get sim() {
    const sim = this.store.hardware?.sim;
    if (!sim) throw new EdgeError(ErrorCode.INTERNAL, 'no simulated hardware');
    return sim;
  }

  private get db(): Db {
    return this.store.db;
  }

  // ---- set-up ----

  async seed(): Promise<void> {
    const faces = await seedScenarioLedger(this.s, { dataDir: this.dir, entry: this.config.entry, qrPublicKey: this.qr.publicKey });
    for (const [id, frame] of faces) this.hands.faces.set(id, frame);
    this.steps.sequences = await prepareSequences(this.s, faces, this.config.entry);
  }

  /** Boot the daemon (first start, or after a power cut with the hardware as it was). */
  async boot(hardwareState?: SimulatedHardwareState): Promise<void> {
    const daemon = new StoreDaemon(this.config, this.log, { physics: SIM_TIMINGS.physics, seed: this.opts.seed ?? 1, hardwareState: hardwareState ?? this.stockedShelves() });
    this.daemon = daemon;
    await daemon.start();
    const session = daemon.session;
    if (!session) throw new EdgeError(ErrorCode.INTERNAL, 'the daemon has no session engine');
    session.on('state', (c) => {
      if (this.armedCut && c.phase === this.armedCut.phase && this.daemon === daemon) {
        // the lights go out right after this transition was persisted, before its effects
        this.armedCut = null;
        this.cutPending = { phase: c.phase };
        session.stop();
      }
    });
    this.detach();
    this.detach = observeInProcess(daemon, this.seen);
    await this.until(() => this.shelvesReady(), 30_000, 'the scales to report');
  }

  /** The hardware at opening time: the shelves carry their stock. */
  private stockedShelves(): SimulatedHardwareState {
    const hw = createSimulatedHardware({ config: this.config.drivers, physics: SIM_TIMINGS.physics, seed: this.opts.seed ?? 1 });
    for (const sl of this.s.slots) if (sl.stock > 0) hw.scale(sl.slot).place(sl.stock, this.unit.get(sl.slot) ?? 1);
    return hw.snapshot();
  }

  private shelvesReady(): boolean {
    return this.store.hardware?.scales.status().every((s) => s.stable_g !== null) ?? false;
  }

  /** Power cut: the daemon is dropped where it stands; a new one boots on the same ledger file. */
  private async powerCut(phase: string): Promise<void> {
    const old = this.store;
    const state = this.sim.snapshot();
    old.session?.stop();
    await old.stop();
    this.powerCuts.push({ step: this.stepNo, phase });
    await this.boot(state);
  }

  // ---- waiting on the store, as a person would ----

  private async until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      if (this.cutPending) {
        const { phase } = this.cutPending;
        this.cutPending = null;
        await this.powerCut(phase);
      }
      if (await check()) return;
      if (Date.now() > end) throw new EdgeError(ErrorCode.INTERNAL, `step ${this.stepNo}: timed out waiting for ${what}`);
      await sleep(5);
    }
  }

  private phase(): string {
    return this.daemon?.session?.phase ?? 'down';
  }

  // ---- steps ----

  async run(): Promise<SimulationResult> {
    try {
      checkScenarioRecords(this.s);
      if (!this.ownDir) assertFreshDataDir(this.dir);
      await this.seed();
      await this.boot();
      await this.opts.beforeSteps?.();
      for (const [i, step] of this.s.steps.entries()) {
        this.stepNo = i + 1;
        await this.perform(step);
      }
      await this.until(() => this.phase() === 'idle' || this.phase() === 'shopping' || this.phase() === 'restocking', 10_000, 'the store to come to rest');
      if (this.armedCut) throw cutNeverFell(this.armedCut, null);
      return this.result();
    } finally {
      this.detach();
      await this.daemon?.stop();
      if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private async perform(step: ScenarioStep): Promise<void> {
    if (step.kind !== 'power_cut') return this.steps.perform(step);
    if (step.when === null) return this.powerCut(this.phase());
    if (this.armedCut) throw cutNeverFell(this.armedCut, this.stepNo);
    this.armedCut = { phase: step.when, step: this.stepNo };
  }

  private result(): SimulationResult {
    const observed: ObservedEvents = { refused: this.steps.refused, face_decisions: this.steps.faceDecisions, receipts: this.receipts, announcements: this.seen.announcements, power_cuts: this.powerCuts };
    return scenarioResult(this.db, this.s.name, observed);
  }
}

export function runScenario(s: Scenario, opts: SimulateOptions = {}): Promise<SimulationResult> {
  return new ScenarioRun(s, opts).run();
}
