/**
 * The composition root: the one place that creates the parts, hands each its slice of the
 * config, and starts them in order / stops them in reverse. Nothing else constructs another
 * part's dependencies.
 */
import path from 'node:path';
import type { Logger } from './log.ts';
import type { Config } from './config/schema.ts';
import { openLedger, closeLedger, type Db } from './ledger/db.ts';
import { onScrubGivenUp } from './ledger/face-scrub.ts';
import { recordStore, type StoreIdentity } from './ledger/store-identity.ts';
import type { LedgerRules } from './ledger/entries.ts';
import { HttpServer } from './http/server.ts';
import { HardwarePart } from './hardware.ts';
import { EntryPart } from './entry-part.ts';
import { StoreSessionEngine } from './session/engine.ts';
import type { EntryPipeline } from './entry/pipeline.ts';
import type { ScalePhysics, SimulatedHardwareState } from '../drivers/index.ts';
import { HealthBoard, type Part } from './parts.ts';
import { DataDirPart } from './data-dir.ts';
import { DaemonEventRelay } from './events.ts';
import { LiveFeed } from './http/live-feed.ts';
import { PHASE_ZH } from './http/admin-sections.ts';
import { DoorFaces } from './entry/admin-faces.ts';
import { EdgeError, ErrorCode } from './errors.ts';
import { SyncAgent } from '../cloud-sync/agent/agent.ts';
import { JobRunner } from './jobs/runner.ts';
import { storeJobs } from './jobs/store-jobs.ts';
import { demoWithoutCamera } from './config/demo.ts';
import { reconcileJob } from './jobs/reconcile.ts';
import { autoZeroJob } from './jobs/auto-zero.ts';
import { StoreMetrics, threadMemories } from './ops/metrics.ts';
import { IdleShelfWatch } from './ops/idle-shelf-watch.ts';
import { AlarmBoard, ALARM_TEXT, villagerIdTakenAlarm, type AlarmKind } from './ops/alarms.ts';
import { AlarmWatch } from './ops/alarm-watch.ts';
import { publishAlarmsOnChange } from './ops/alarm-publish.ts';
import { DoorWatch } from './ops/door-watch.ts';
import { KeysPart } from './keys-part.ts';
import { keyPaths } from './keys.ts';
import { readiness } from './ops/readiness.ts';
import { within } from '../lib/within.ts';
import type { Clock } from './ledger/time.ts';
import type { ScaleListSource } from './ledger/products.ts';

/**
 * How long `stop` waits for all the parts together before giving up on the rest. systemd stops
 * the unit (docs/operations.md) with SIGTERM and kills it 30 s later (TimeoutStopSec=30), without
 * a word about what hung; 20 s leaves the daemon time to log which part did not stop and exit 1
 * itself. A healthy stop takes a second or two: each part bounds its own waits (the broker link
 * 3 s a step, SyncMqtt.stopWaitMs).
 */
export const STOP_LIMIT_MS = 20_000;

/** How `stop` went: `notStopped` names the parts still stopping when the limit passed (in stop order). */
export interface StopOutcome { stopped: boolean; notStopped: string[] }

/** The ledger as a part: open (and migrate) at start, checkpoint and close at stop. */
class LedgerPart implements Part {
  readonly name = 'ledger';
  readonly critical = true;
  db: Db | undefined;
  constructor(private readonly file: string, private readonly store: StoreIdentity, private readonly log: Logger) {}
  start(): void {
    this.db = openLedger(this.file, {
      onModeFixed: (f) => this.log.warn({ file: f.path, from: f.from, to: f.to }, `file mode tightened / 已收紧文件权限: ${f.path} ${f.from} → ${f.to}`),
    });
    // which store this ledger is: `store-edge restore` refuses another store's copy by it
    const before = recordStore(this.db, this.store);
    if (before) this.log.warn({ was: before, now: this.store }, `the ledger was store ${before.id} (${before.village}); it is now recorded as store ${this.store.id} (${this.store.village}) / 账本原属门店 ${before.id}，现记为 ${this.store.id}`);
    onScrubGivenUp(this.db, (info, message) => this.log.warn(info, message));
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
/** How long enrolment at the door waits for the camera's next picture (at a few frames a second, plenty). */
const DOOR_SNAPSHOT_TIMEOUT_MS = 5000;

export interface SimulationOptions {
  physics?: Partial<ScalePhysics>;
  seed?: number;
  /** Simulated hardware as it was when the previous daemon lost power. */
  hardwareState?: SimulatedHardwareState;
  /**
   * The daemon's time (a simulated day, a test's fixed time): what the admin page's actions, the
   * sync agent and the store session (its visits' rows and saved times) stamp the ledger with.
   * Absent: the system's. Timers stay real ones; the session compares its visits' times, so a
   * clock for a running store should move on (a fixed one suits a test without visits).
   */
  clock?: Clock;
}

/** The daemon's own parts, as an add-on may use them once they are built. */
export interface DaemonCore {
  readonly config: Config;
  readonly log: Logger;
  db(): Db;
  readonly hardware: HardwarePart;
  readonly entry: EntryPart;
  readonly session: StoreSessionEngine;
}

/**
 * Parts added by whoever starts the daemon (the demo of `store-edge start`), so that the
 * daemon's code never imports them. An add-on may rewrite the config the parts are built from;
 * its `afterLedger` parts start right after the ledger (before the sync agent, so they may
 * bring up what the agent connects to), its `last` parts after everything else (and so stop
 * first).
 */
export interface DaemonAddOn {
  config?(c: Config): Config;
  parts(core: DaemonCore): { afterLedger?: Part[]; last?: Part[] };
}

export class StoreDaemon {
  readonly health = new HealthBoard();
  private readonly started: Part[] = [];
  private ledger: LedgerPart | undefined;
  private http: HttpServer | undefined;
  hardware: HardwarePart | undefined;
  entry: EntryPart | undefined;
  session: StoreSessionEngine | undefined;
  /** The scheduled jobs (backup, retention); absent with jobs.enabled false. */
  jobs: JobRunner | undefined;
  /** What /metrics serves. */
  metrics: StoreMetrics | undefined;
  /** The live page's door, lock and alarms; `live.raise()` puts an alarm on it. */
  live: LiveFeed | undefined;
  /** The alarms (kept in the ledger, on /api/alarms, /metrics and MQTT); absent with alarms.enabled false. */
  alarms: AlarmBoard | undefined;
  alarmWatch: AlarmWatch | undefined;
  /** What the parts emit, under the contract's names (edge/events.ts). */
  readonly events: DaemonEventRelay;
  private onCode: ((c: { code: string }) => void) | undefined;

  constructor(private readonly config: Config, private readonly log: Logger, private readonly sim: SimulationOptions = {}, private readonly addOns: readonly DaemonAddOn[] = []) {
    this.events = new DaemonEventRelay(log);
  }

  /** The admin page's address once started. */
  get httpAddress(): string | undefined {
    return this.http?.address;
  }

  /** The first-run setup link while no admin account exists. */
  get setupUrl(): string | undefined {
    return this.http?.setupUrl;
  }

  get db(): Db {
    if (!this.ledger) throw new EdgeError(ErrorCode.INTERNAL, 'the daemon is not started');
    return this.ledger.handle();
  }

  private compose(): Part[] {
    const withAddOns = this.addOns.reduce((cfg, a) => a.config?.(cfg) ?? cfg, this.config);
    // a config listing no scales, given them by an add-on: the demo store's (harness/demo/scales.ts), as /shelves says
    const scaleSource: ScaleListSource = this.config.drivers.scales.list.length === 0 && withAddOns.drivers.scales.list.length > 0 ? { kind: 'demo' } : { kind: 'config' };
    const keys = keyPaths(withAddOns);
    const keyFiles = Object.values(keys).flatMap((k) => [k.file, k.legacy]);
    const dataDir = new DataDirPart(withAddOns.data_dir, this.log.child({ part: 'data_dir' }), keyFiles);
    // keys apart from the data (edge/keys.ts): moved at start, before anything reads one
    const keysPart = new KeysPart(withAddOns, this.log.child({ part: 'keys' }));
    // where the keys will be once KeysPart has moved them (withKeysApart's fallback is for the CLI)
    const c = { ...withAddOns, entry: { ...withAddOns.entry, key_file: keys.faceTemplates.file } };
    const ledger = new LedgerPart(path.join(c.data_dir, 'ledger.sqlite'), { id: c.store.id, village: c.store.village }, this.log.child({ part: 'ledger' }));
    const hardware = new HardwarePart(
      { config: c.drivers, health: this.health, ...(this.sim.physics ? { physics: this.sim.physics } : {}), ...(this.sim.seed !== undefined ? { seed: this.sim.seed } : {}) },
      this.log.child({ part: 'hardware' }),
    );
    hardware.build();
    // after a simulated power cut the shelves and the relay keep what was on them
    if (this.sim.hardwareState) hardware.sim?.restore(this.sim.hardwareState);
    // The offline limit applies only to a store that syncs: on its own it has no other store to double-spend at.
    const offline = c.sync.enabled ? { dailyLimit: c.sync.offline_daily_limit, offlineAfterS: c.sync.offline_after_s, clockSkewS: c.sync.clock_skew_s, ...(c.jobs.timezone ? { timeZone: c.jobs.timezone } : {}) } : undefined;
    const rules: LedgerRules = { creditFloor: c.ledger.credit_floor, store: c.store.id, ...(offline ? { offline } : {}) };
    const session: StoreSessionEngine = new StoreSessionEngine({
      db: () => ledger.handle(),
      entry: (): EntryPipeline | undefined => entry.pipeline,
      config: c.session,
      rules,
      lock: hardware.lock,
      scales: hardware.scales,
      logger: this.log.child({ part: 'session' }),
      // its own line, not the part's: a fault while resuming must outlive the part's 'ok' at start
      health: (h, detail) => this.health.set('store session', h, detail),
      // made below: the door sensor override's alarm (edge/session/door-override.ts)
      alarms: () => this.alarms,
      // the visits' recorded times are the daemon's, as the admin page's and the sync agent's
      ...(this.sim.clock ? { clock: this.sim.clock } : {}),
    });
    const entry: EntryPart = new EntryPart(
      {
        config: c.entry,
        dataDir: c.data_dir,
        db: () => ledger.handle(),
        lock: () => hardware.lock,
        // One shopping session at a time: the session engine answers the door policy.
        store: session,
        village: c.store.village,
        rules,
        timeZone: c.jobs.timezone,
        health: this.health,
        withoutCamera: demoWithoutCamera(c),
      },
      this.log.child({ part: 'entry' }),
    );
    this.onCode = ({ code }: { code: string }): void => {
      const pipeline = entry.pipeline;
      if (!pipeline) return;
      pipeline.presentCode(code).catch((err: unknown) => this.log.error({ err }, 'scanned code could not be handled / 扫码处理失败'));
    };
    const alarms = c.alarms.enabled ? new AlarmBoard(() => ledger.handle(), this.log.child({ part: 'alarms' }), this.sim.clock) : undefined; // on the daemon's clock, as the admin page
    // a store clock too slow to read the village stream (cloud-sync/agent/clock-skew.ts)
    const clockAlarm = alarms
      ? (detail: string | undefined): void => {
        if (detail === undefined) alarms.clear('clock_skew', 'village ledger');
        else alarms.raise('clock_skew', 'village ledger', detail, 'critical');
      }
      : undefined;
    const silentAlarm = alarms
      ? (detail: string | undefined): void => {
        if (detail === undefined) alarms.clear('ledger_silent', 'village ledger');
        else alarms.raise('ledger_silent', 'village ledger', detail, 'warning');
      }
      : undefined;
    // The sync agent follows the ledger: it needs the open database and nothing else.
    const agent = c.sync.enabled
      ? new SyncAgent({ db: () => ledger.handle(), config: c.sync, address: { village: c.store.village, store: c.store.id }, dataDir: c.data_dir, keyFile: keys.syncStore.file, rules: { creditFloor: c.ledger.credit_floor, store: c.store.id }, health: this.health, log: this.log.child({ part: 'sync' }), ...(this.sim.clock ? { clock: this.sim.clock } : {}), ...(clockAlarm ? { clockAlarm } : {}), ...(silentAlarm ? { ledgerSilent: silentAlarm } : {}), ...(alarms ? { villagerIdTaken: villagerIdTakenAlarm(alarms) } : {}) })
      : undefined;
    const sync = agent ? [agent] : [];
    const alarmWatch = alarms ? new AlarmWatch({ config: c.alarms, board: alarms, health: this.health, db: () => ledger.handle(), dataDir: c.data_dir, log: this.log.child({ part: 'alarms' }) }) : undefined;
    if (alarms && agent) {
      // the village sees the store's alarms as they stand, and those that ended (retained)
      publishAlarmsOnChange(alarms, () => agent.ops);
    }
    const doorWatch = alarms ? new DoorWatch({ lock: () => hardware.lock, board: alarms, openS: c.alarms.door_open_s }) : undefined;
    const idleShelves = alarms ? new IdleShelfWatch({ session: () => session, board: alarms, db: () => ledger.handle(), driftG: c.session.weight.drift_allowance_g, settleGraceMs: Math.max(c.session.stability_wait_ms, c.session.exit_settle_max_ms) }) : undefined;
    this.alarms = alarms;
    this.alarmWatch = alarmWatch;
    const jobLog = this.log.child({ part: 'jobs' });
    const jobs = c.jobs.enabled
      ? new JobRunner({
        jobs: [
          ...storeJobs({ config: c.jobs, dataDir: c.data_dir, keyFile: path.resolve(c.data_dir, c.entry.key_file), photoDir: c.entry.photo_dir, syncKeyFile: keys.syncStore.file, db: () => ledger.handle(), ...(alarms ? { alarmsKeepDays: c.alarms.keep_days } : {}), ...(this.sim.clock ? { clock: this.sim.clock } : {}) }),
          ...(agent ? [reconcileJob({ config: c.jobs.reconcile, db: () => ledger.handle(), ask: (req, ms) => agent.ops.reconcile(req, ms), ...(alarms ? { alarms } : {}) })] : []),
          autoZeroJob({ config: c.jobs.auto_zero, db: () => ledger.handle(), scales: () => hardware.scales, phase: () => session.phase, log: jobLog }),
        ],
        ...(c.jobs.timezone ? { timezone: c.jobs.timezone } : {}),
        db: () => ledger.handle(),
        health: this.health,
        log: jobLog,
        ...(alarmWatch ? { onOutcome: (job: string, outcome: 'ok' | 'failed' | 'skipped', _ms: number, detail?: string) => alarmWatch.jobOutcome(job, outcome, detail) } : {}),
      })
      : undefined;
    this.jobs = jobs;
    const metrics = new StoreMetrics({ events: this.events, db: () => ledger.handle(), ...(agent ? { sync: agent } : {}), ...(jobs ? { jobs } : {}), ...(alarms ? { alarms } : {}), buses: () => hardware.buses(), threads: () => threadMemories(entry.faceEngine) });
    this.metrics = metrics;
    const ops = {
      metrics: () => metrics.text(),
      readiness: () => readiness({ health: () => this.health.report(), db: () => ledger.handle(), ir: entry.irLens, ...(agent ? { brokerConnected: () => agent.state().connected } : {}) }),
      ...(alarms ? { alarms: (limit: number, before?: number) => ({ active: alarms.active(), recent: alarms.recent(limit, before) }), acknowledge: (id: number, by: string, note: string | null) => alarms.acknowledge(id, by, note), clear: (id: number, by: string, note: string | null) => alarms.clearByHand(id, by, note) } : {}),
    };
    // the admin page enrols faces on the door's own engine; the door learns them at once
    const faces = new DoorFaces({ db: () => ledger.handle(), config: c.entry, dataDir: c.data_dir, engine: () => entry.faceEngine, reload: async (id) => entry.pipeline?.reloadVillager(id), doorFrame: () => entry.nextFrame(DOOR_SNAPSHOT_TIMEOUT_MS) });
    // the live page follows the daemon's events and the door lock (hardware is built by now)
    this.live = new LiveFeed({ events: this.events, lock: () => hardware.lock, scales: () => hardware.scales, board: () => alarms });
    // the store's alarms (edge/ops/alarms.ts) appear on the live page as they are raised
    const live = this.live;
    alarms?.on('raised', (a) => {
      const t = ALARM_TEXT[a.kind as AlarmKind] ?? { zh: a.kind, en: a.kind };
      const subject = a.subject ? `（${a.subject}）` : '';
      live.raise({ kind: a.kind, at: Date.parse(a.raised_at), zh: `${t.zh}${subject}：${a.detail}`, en: `${t.en}${a.subject ? ` (${a.subject})` : ''}: ${a.detail}` });
    });
    this.http = new HttpServer(c.http, { dataDir: c.data_dir, sessionKeyFile: keys.adminSession.file, store: c.store, weighLimits: { drift_allowance_g: c.session.weight.drift_allowance_g, change_threshold_g: c.drivers.scales.change_threshold_g }, health: this.health, db: () => ledger.handle(), ledgerRules: { creditFloor: c.ledger.credit_floor, store: c.store.id }, session, ops, live: this.live, scales: () => hardware.scales, scaleSource, faces, ...(c.jobs.timezone ? { timeZone: c.jobs.timezone } : {}), ...(agent ? { sync: agent } : {}), ...(this.sim.clock ? { clock: this.sim.clock } : {}) }, this.log.child({ part: 'http' }));
    this.ledger = ledger;
    this.hardware = hardware;
    this.entry = entry;
    this.session = session;
    // Start order: the data folder's lock (before anything reads the ledger), the ledger, an
    // add-on's first parts (the demo's opening stock and village ledger, which the sync agent
    // may talk to), the sync agent (it needs only the ledger), the hardware, the door (it needs
    // both), the session (it listens to all three and resumes an open session), then the page;
    // the scheduled jobs (a missed backup runs once the store is up), an add-on's last parts at the end.
    const core: DaemonCore = { config: c, log: this.log, db: () => ledger.handle(), hardware, entry, session };
    const added = this.addOns.map((a) => a.parts(core));
    return [dataDir, keysPart, ledger, ...added.flatMap((a) => a.afterLedger ?? []), ...sync, hardware, entry, session, this.http, ...(alarmWatch ? [alarmWatch] : []), ...(doorWatch ? [doorWatch] : []), ...(idleShelves ? [idleShelves] : []), ...(jobs ? [jobs] : []), ...added.flatMap((a) => a.last ?? [])];
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
    this.relayEvents();
    this.health.setPhase('running');
    if (this.http?.address) this.log.info({ url: this.http.address, bound: this.http.bound, urls: this.http.urls }, `admin page on ${this.http.bound} / 管理页面: ${this.http.urls.join(' ')}`);
  }

  /** Scanned codes go to the door; the parts' events to `events`, logged under their names. */
  private relayEvents(): void {
    const scanner = this.hardware?.scanner;
    if (scanner && this.onCode) scanner.on('code', this.onCode);
    const session = this.session;
    if (session && this.started.includes(session)) {
      this.events.forward(session, 'state', 'session_state', (s) => s, (s) => ({ fields: { phase: s.phase, sessionId: s.sessionId, villagerId: s.villagerId }, msg: `session ${s.phase} / 购物状态：${PHASE_ZH[s.phase] ?? s.phase}` }));
      this.events.forward(session, 'cart', 'cart', (c) => c, (c) => ({ fields: { sessionId: c.sessionId, villagerId: c.villagerId, total: c.totalPoints, lines: c.cart.lines.length, review: c.cart.review.length }, msg: `cart ${c.totalPoints} points / 购物车` }));
      // the session engine logs these itself, with their event names
      this.events.forward(session, 'receipt', 'receipt', (r) => r);
      this.events.forward(session, 'announce', 'announce', (a) => a);
      this.events.forward(session, 'unattended', 'alarm', (u) => ({ kind: 'unattended_shelf', ...u }));
      this.events.forward(session, 'fault', 'fault', (f) => ({ source: 'session', ...f }));
    }
    const pipeline = this.entry?.pipeline;
    if (pipeline) {
      // the entry pipeline logs its decisions itself, as entry_decision
      this.events.forward(pipeline, 'decision', 'entry_decision', (d) => d);
      this.events.forward(pipeline, 'frame', 'entry_frame', (f) => f);
      this.events.forward(pipeline, 'fault', 'fault', (f) => ({ source: 'entry', ...f }));
    }
  }

  /**
   * Stop the parts in reverse order, each on its own: one failure does not keep the rest running.
   * All of it within `limitMs`: a part still stopping then is named and left behind, and the parts
   * after it are still asked to stop (the ledger's close is synchronous: it still checkpoints) but
   * not waited for; `store-edge start` then exits 1.
   */
  async stop(limitMs = STOP_LIMIT_MS): Promise<StopOutcome> {
    this.health.setPhase('stopping');
    this.events.stop();
    this.metrics?.stop();
    if (this.onCode) this.hardware?.scanner?.off('code', this.onCode);
    const deadline = performance.now() + limitMs;
    const notStopped: string[] = [];
    while (this.started.length > 0) {
      const part = this.started.pop()!;
      const failure: { err?: unknown } = {};
      // a throw, synchronous or not, is this part's failure alone; the limit is everyone's
      const stopping = Promise.resolve().then(() => part.stop()).catch((err: unknown) => { failure.err = err ?? new Error('stop failed'); });
      if (!(await within(stopping, deadline - performance.now()))) {
        notStopped.push(part.name);
        this.log.error({ part: part.name, limitMs }, `part did not stop within ${limitMs} ms / 组件未能在 ${limitMs} 毫秒内停止: ${part.name}`);
      } else if (failure.err !== undefined) {
        this.log.error({ err: failure.err, part: part.name }, 'part failed to stop cleanly / 组件未能正常停止');
      } else {
        this.health.set(part.name, 'stopped');
      }
    }
    if (notStopped.length > 0) this.log.error({ notStopped, limitMs }, `stopped, but not all parts: ${notStopped.join(', ')} / 已停止，但有组件未停止: ${notStopped.join('、')}`);
    else this.log.info('stopped / 已停止');
    return { stopped: notStopped.length === 0, notStopped };
  }
}
