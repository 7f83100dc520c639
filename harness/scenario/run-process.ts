/**
 * The scenario runner in process mode (what `store-edge simulate` uses): the daemon runs as
 * its own child process (`store-edge start --config FILE`, daemon-process.ts) and the
 * hardware in another (drivers/sim, reached over tcp:// like serial device servers). The
 * runner only does what a person and the power company could: scan a card, show a face to the
 * camera (a photo in the `files` camera's watched folder), push the door, move items on the
 * scales through the sim's control channel — and pull the plug with SIGKILL. The hardware
 * process keeps running through a cut, so loads, the door and a running relay pulse persist.
 *
 * It performs the same steps as the in-process runner (steps.ts) through other hands and
 * another observer (process-hands.ts): the ledger through a read-only handle (session state
 * is persisted at each transition), the daemon's JSON log lines by their `event` field (door
 * decisions, announcements, receipts), and the shelf bus's request count (whether the daemon
 * has read the scales since they settled). The output is the same as the in-process runner's.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { stringify as toYaml } from 'yaml';
import { spawnSimHardware, type SimulatedHardwareState as SimDevicesState, type SpawnedSimHardware } from '../../drivers/index.ts';
import { validateConfig } from '../../edge/config/load.ts';
import type { Config } from '../../edge/config/schema.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { DaemonProcess } from './daemon-process.ts';
import { LedgerObserver, ProcessHands } from './process-hands.ts';
import { prepareSequences } from './sequences.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { EntryConfig } from '../../edge/entry/config.ts';
import { SIM_TIMINGS, type SimulateOptions, type SimulationResult } from './result.ts';
import type { Scenario, ScenarioStep } from './scenario.ts';
import { assertFreshDataDir, deepMerge, LEDGER_FILE, scenarioNeedsFaces, scenarioResult, seedScenarioLedger, type ObservedEvents } from './seed.ts';
import { checkScenarioRecords, SCENARIO_VILLAGE } from './seed-records.ts';
import { cutNeverFell, ScenarioSteps, type ArmedCut } from './steps.ts';
import { observeLogLine, StoreObservations } from './world.ts';

/**
 * A power cut while entering restarts the daemon while the board's pulse runs on; the
 * villager gets through on that pulse only if the restart is shorter. A restart takes 2–3 s
 * on an idle machine but over 10 s on a loaded 2-core one, so the runner's door pulse is
 * generous (a store's is ~3 s), and so is the wait for the door after an unlock.
 */
const PROCESS_MODE_PULSE_MS = 30_000;
const PROCESS_MODE_ENTERING_MS = 60_000;

/** A sim-hardware process set up for a scenario's shelves; tests share one across runs. */
export interface ScenarioHardware {
  sim: SpawnedSimHardware;
  /** Its state when it started (empty shelves, door shut, no pulse): each run starts from here. */
  pristine: SimDevicesState;
  /** Slot → scale address it was built for; a scenario with other shelves needs another. */
  layout: string;
}

export interface ProcessSimulateOptions extends SimulateOptions {
  /** A sim-hardware process to use (and leave running); default: one of the run's own. */
  hardware?: ScenarioHardware;
}

const layoutOf = (s: Scenario): string => s.slots.map((sl) => `${sl.slot}@${sl.scale}`).join(',');

/** Starts the sim-hardware process with the scenario's shelves. */
export async function startScenarioHardware(s: Scenario, seed = 1): Promise<ScenarioHardware> {
  const sim = await spawnSimHardware({
    // the lock and the scales on lines of their own, so the runner can count the scale reads
    drivers: { lock: { transport: 'sim://lock' }, scales: { transport: 'sim://scales', list: s.slots.map((sl) => ({ slot: sl.slot, unit_id: sl.scale, capacity_g: 100_000 })) } },
    physics: SIM_TIMINGS.physics,
    seed,
    transport: 'tcp',
  });
  try {
    return { sim, pristine: await sim.client.snapshot(), layout: layoutOf(s) };
  } catch (err) {
    await sim.stop();
    throw err;
  }
}

/** Why a scenario cannot run in process mode, or null. */
export function processModeObstacle(s: Scenario): string | null {
  const i = s.steps.findIndex((st) => st.kind === 'power_cut' && st.when === 'settling');
  // settling is one SQLite transaction, a few milliseconds: no signal lands there reliably
  return i < 0 ? null : `step ${i + 1} (power_cut): a cut while settling cannot be timed by a signal; run it in-process (--in-process)`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ProcessScenarioRun {
  private readonly dir: string;
  private readonly ownDir: boolean;
  private readonly config: Config;
  private readonly configFile: string;
  private readonly cameraDir: string;
  private emptyDoorway: Buffer = Buffer.alloc(0);
  private readonly qr = generateKeyPairSync('ed25519');
  private readonly faces = new Map<string, Buffer>();
  private readonly unit = new Map<string, number>();
  private readonly seen = new StoreObservations();
  private readonly observed: ObservedEvents = { refused: [], face_decisions: [], receipts: [], announcements: this.seen.announcements, power_cuts: [] };
  private readonly daemon: DaemonProcess;
  private readonly hands: ProcessHands;
  private hw: ScenarioHardware | undefined;
  private ro: Db | undefined;
  private observer: LedgerObserver | undefined;
  private armedCut: ArmedCut | null = null;
  private decisionsAtArming = 0;
  /** A slow shelf bus injected to keep the store in `exiting` until the cut; cleared by the cut. */
  private slowShelves = false;
  private exitPressedAt: number | null = null;
  /** The running daemon's admin page (its /metrics tells how many camera frames it analysed). */
  private daemonUrl: string | null = null;
  private stepNo = 0;

  constructor(private readonly s: Scenario, private readonly opts: ProcessSimulateOptions = {}) {
    this.ownDir = !opts.dataDir;
    this.dir = path.resolve(opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'store-sim-')));
    this.cameraDir = path.join(this.dir, 'camera');
    this.configFile = path.join(this.dir, 'store-edge.yaml');
    for (const slot of s.slots) this.unit.set(slot.slot, s.products.find((p) => p.sku === slot.sku)?.unit_g ?? 1);
    this.config = validateConfig(this.rawConfig({ lock: 'sim://lock', scales: 'sim://scales', scanner: 'sim://scanner' }), `scenario ${s.name}`);
    this.daemon = new DaemonProcess({ configFile: this.configFile, onLine: (l) => observeLogLine(this.seen, l) });
    this.hands = new ProcessHands({
      client: () => this.client,
      cameraDir: this.cameraDir,
      faces: this.faces,
      emptyDoorway: () => this.emptyDoorway,
      slots: s.slots.length,
      stableWindow: this.config.drivers.scales.stable_window,
      seen: this.seen,
      until: (c, ms, what) => this.until(c, ms, what),
      jpegOf: (frames) => jpegFrames(frames),
      frameRate: this.config.entry.frame_rate,
      framesAnalysed: () => this.framesAnalysed(),
      decisionFrames: decisionFrames(this.config.entry),
      faceGoneFrames: this.config.entry.match.face_gone_frames,
    });
    this.seen.onReceipt((r) => {
      const exit = this.exitPressedAt;
      this.exitPressedAt = null;
      this.observed.receipts.push({ session: r.session, villager: r.villager, text: r.text, exit_to_receipt_ms: exit === null ? null : Math.round((performance.now() - exit) * 10) / 10, settle_ms: Math.round(r.settleMs * 1000) / 1000 });
    });
  }

  /** The daemon's config: the sim's tcp:// URLs as transports, the scenario's rules, short timings. */
  private rawConfig(urls: { lock: string; scales: string; scanner: string }): Record<string, unknown> {
    const s = this.s;
    return deepMerge(
      {
        data_dir: this.dir,
        store: { village: SCENARIO_VILLAGE },
        demo: false,
        http: { port: 0 },
        log: { level: 'info', pretty: false },
        ledger: { credit_floor: s.creditFloor },
        drivers: deepMerge(SIM_TIMINGS.drivers, {
          simulated: false,
          lock: { transport: urls.lock, max_pulse_ms: PROCESS_MODE_PULSE_MS },
          scanner: { transport: urls.scanner, reconnect_initial_ms: 50 },
          scales: { transport: urls.scales, list: s.slots.map((sl) => ({ slot: sl.slot, unit_id: sl.scale, capacity_g: 100_000 })) },
        }),
        entry: deepMerge({ face_enabled: scenarioNeedsFaces(s), camera: { kind: 'files', path: this.cameraDir, watch: true }, unlock_pulse_ms: PROCESS_MODE_PULSE_MS }, s.entry),
        session: deepMerge({ stability_wait_ms: 1000, entering_timeout_ms: PROCESS_MODE_ENTERING_MS }, s.session),
      },
      this.opts.config ?? {},
    );
  }

  private get client() {
    if (!this.hw) throw new EdgeError(ErrorCode.INTERNAL, 'no sim hardware');
    return this.hw.sim.client;
  }

  // ---- set-up and tear-down ----

  async run(): Promise<SimulationResult> {
    // a runner interrupted at the terminal takes its children with it (the sim hardware also
    // leaves by itself when its stdin closes; the daemon child is killed on exit)
    const onSignal = (): void => {
      if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const ownHardware = !this.opts.hardware;
    try {
      const obstacle = processModeObstacle(this.s);
      if (obstacle) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, obstacle, { zh: '结算中断电只能在进程内模式下模拟' });
      checkScenarioRecords(this.s);
      if (!this.ownDir) assertFreshDataDir(this.dir);
      this.hw = this.opts.hardware ?? (await startScenarioHardware(this.s, this.opts.seed ?? 1));
      if (this.hw.layout !== layoutOf(this.s)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the sim hardware has shelves ${this.hw.layout}, the scenario ${layoutOf(this.s)}`, { zh: `模拟硬件的货架（${this.hw.layout}）与场景的（${layoutOf(this.s)}）不一致` });
      await this.stockShelves();
      mkdirSync(this.cameraDir, { recursive: true });
      // the camera always sees the doorway; an empty one gives no_face frames, which is how
      // the door learns that a face has left (and may be decided again)
      this.emptyDoorway = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 120, g: 124, b: 118 } } }).jpeg({ quality: 80 }).toBuffer();
      this.hands.showAtDoor(this.emptyDoorway);
      writeFileSync(this.configFile, toYaml(this.rawConfig(this.hw.sim.urls)));
      const portraits = await seedScenarioLedger(this.s, { dataDir: this.dir, entry: this.config.entry, qrPublicKey: this.qr.publicKey });
      for (const [id, f] of portraits) this.faces.set(id, await sharp(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength), { raw: { width: f.width, height: f.height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer());
      const ro = openLedger(path.join(this.dir, LEDGER_FILE), { readonly: true });
      this.ro = ro;
      const observer = new LedgerObserver(ro, this.seen);
      this.observer = observer;
      const steps = new ScenarioSteps(this.s, { hands: this.hands, observer, until: (c, ms, what) => this.until(c, ms, what), stepNo: () => this.stepNo, beforeExit: () => this.beforeExit() }, { key: this.qr.privateKey, village: SCENARIO_VILLAGE });
      this.observed.refused = steps.refused;
      this.observed.face_decisions = steps.faceDecisions;
      steps.sequences = await prepareSequences(this.s, portraits, this.config.entry);
      await this.boot();
      for (const [i, step] of this.s.steps.entries()) {
        this.stepNo = i + 1;
        await this.perform(steps, step);
      }
      await this.until(() => ['idle', 'shopping', 'restocking'].includes(this.phase()), 10_000, 'the store to come to rest');
      if (this.armedCut) throw cutNeverFell(this.armedCut, null);
      return scenarioResult(ro, this.s.name, this.observed);
    } finally {
      await this.daemon.stop();
      if (this.ro) closeLedger(this.ro);
      if (ownHardware) await this.hw?.sim.stop();
      else if (this.slowShelves) await this.client.clearFaults('scales');
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** The hardware as the scenario opens: pristine, with each shelf carrying its stock. */
  private async stockShelves(): Promise<void> {
    const hw = this.hw as ScenarioHardware;
    await this.client.clearFaults();
    await this.client.restore(hw.pristine);
    for (const sl of this.s.slots) if (sl.stock > 0) await this.client.place(sl.slot, sl.stock, this.unit.get(sl.slot) ?? 1);
  }

  /** Starts a daemon child and waits until it has connected to every device and read the shelves. */
  private async boot(): Promise<void> {
    const before = (await this.client.state()).connections;
    this.daemonUrl = await this.daemon.start();
    await this.until(async () => {
      const st = await this.client.state();
      return st.connected.lock && st.connected.scales && st.connected.scanner && st.connections.scanner > before.scanner && st.connections.lock > before.lock;
    }, 10_000, 'the daemon to connect to the hardware');
    await this.hands.shelvesSeen();
  }

  /** Power cut: SIGKILL, then a new daemon on the same data dir; the hardware process runs on. */
  private async powerCut(phase: string): Promise<void> {
    await this.daemon.kill('SIGKILL');
    // the new daemon knows of no unlock pulse: to it a door opening from inside is an exit
    this.seen.lock(false);
    this.observed.power_cuts.push({ step: this.stepNo, phase });
    if (this.slowShelves) {
      this.slowShelves = false;
      await this.client.clearFaults('scales');
    }
    await this.boot();
  }

  /** Camera frames the running daemon has analysed (store_camera_frames_total on its /metrics). */
  private async framesAnalysed(): Promise<number> {
    if (!this.daemonUrl) throw new EdgeError(ErrorCode.INTERNAL, 'no daemon is running');
    const text = await (await fetch(new URL('/metrics', this.daemonUrl))).text();
    const m = /^store_camera_frames_total (\d+)/m.exec(text);
    if (!m) throw new EdgeError(ErrorCode.INTERNAL, 'the daemon\'s /metrics has no store_camera_frames_total');
    return Number(m[1]);
  }

  // ---- waiting on the store, as a person would ----

  private phase(): string {
    return this.observer?.phase() ?? 'down';
  }

  /** Polls `check`; an armed power cut falls as soon as the persisted state reaches its phase. */
  private async until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      if (this.armedCut && this.daemon.running && this.phase() === this.armedCut.phase && this.cutCanFall()) {
        const { phase } = this.armedCut;
        this.armedCut = null;
        await this.powerCut(phase);
      }
      if (await check()) return;
      if (Date.now() > end) throw new EdgeError(ErrorCode.INTERNAL, `step ${this.stepNo}: timed out waiting for ${what}`);
      await sleep(5);
    }
  }

  /**
   * The visit is written as `entering` before the unlock pulse; a cut between the two would
   * leave the door shut and nobody to come in. A cut "while entering" is the one after the
   * door opened for the villager: its decision (matched, unlocked) has been seen.
   */
  private cutCanFall(): boolean {
    if (this.armedCut?.phase !== 'entering') return true;
    return this.seen.decisions.slice(this.decisionsAtArming).some((d) => d.decision === 'matched' && d.unlocked);
  }

  // ---- steps ----

  private async perform(steps: ScenarioSteps, step: ScenarioStep): Promise<void> {
    if (step.kind !== 'power_cut') return steps.perform(step);
    if (step.when === null) return this.powerCut(this.phase());
    if (this.armedCut) throw cutNeverFell(this.armedCut, this.stepNo);
    this.armedCut = { phase: step.when, step: this.stepNo };
    this.decisionsAtArming = this.seen.decisions.length;
  }

  private async beforeExit(): Promise<void> {
    if (this.armedCut?.phase === 'exiting') {
      // exiting lasts one sweep of the shelves (tens of ms); slow replies on the shelf bus
      // stretch it to a few hundred, so the cut lands in it every time
      this.slowShelves = true;
      await this.client.injectFault({ device: 'scales', kind: 'delay', delay_ms: 80, times: null });
    }
    this.exitPressedAt = performance.now();
  }
}

export function runScenarioInProcesses(s: Scenario, opts: ProcessSimulateOptions = {}): Promise<SimulationResult> {
  return new ProcessScenarioRun(s, opts).run();
}

/**
 * Analysed frames within which the door must decide on a face in front of it, with room to
 * spare (×3, frames of the previous person still in flight): the k-of-n window, the passive
 * check's frames, and each challenge attempt (it lasts its time and at least the frames the
 * camera sends in that time; a machine that analyses every frame sees exactly those).
 */
export function decisionFrames(e: EntryConfig): number {
  const attempt = Math.ceil((e.liveness.challenge.timeout_ms / 1000) * e.frame_rate);
  const challenge = e.liveness.challenge.mode === 'off' ? 0 : (e.liveness.challenge.repeats + 1) * attempt;
  return 3 * (e.match.n + e.liveness.passive.max_frames + challenge) + 30;
}

/** A replayed sequence's frames as JPEG, encoded once per sequence. */
const encoded = new WeakMap<readonly RgbFrame[], Promise<Buffer[]>>();
function jpegFrames(frames: readonly RgbFrame[]): Promise<Buffer[]> {
  let p = encoded.get(frames);
  if (!p) {
    p = Promise.all(frames.map((f) => sharp(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength), { raw: { width: f.width, height: f.height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer()));
    encoded.set(frames, p);
  }
  return p;
}
