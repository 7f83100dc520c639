/**
 * The demo of `npm start`: villagers come and go on the simulated hardware so a newcomer sees
 * the store work on the admin page. Two parts, added to the daemon (index.ts) only in demo mode
 * on simulated hardware:
 *
 * - DemoOpening (right after the ledger): on an empty ledger, stocks the demo store (goods,
 *   shelves, villagers, passbook cards, a QR signing key, face consent; their opening points
 *   come from the demo's village ledger, village.ts, or without one are awarded here); on every
 *   start, puts the stock on the simulated shelves, which forget their load when the process ends.
 *   It runs before the door part because the door reads the QR public key when it starts.
 * - DemoVillagers (last): in the background after start, enrols the faces once, then loops
 *   through the demo visits (store.ts) with the scenario runner's own steps, at a pace a
 *   person can follow. It is stopped first, so it never acts on stopped hardware.
 *
 * Both see the daemon through narrow views (the ledger handle, the simulators, what a person
 * at the door and the shelves could see), never the whole daemon.
 */
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../edge/log.ts';
import type { Part } from '../../edge/parts.ts';
import type { Db } from '../../edge/ledger/db.ts';
import type { EntryConfig } from '../../edge/entry/config.ts';
import type { SimulatedHardware } from '../../drivers/index.ts';
import { addCard } from '../../edge/entry/credentials.ts';
import { applyEntry, getEntry, type LedgerRules } from '../../edge/ledger/entries.ts';
import { listProducts, listSlots, upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { addVillager, getVillager, listVillagers, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { countTemplates, loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { stepsOnDaemon, type InProcessHands, type InProcessStore } from '../scenario/in-process.ts';
import type { QrSigner, ScenarioSteps } from '../scenario/steps.ts';
import { visitSteps, type DemoStore } from './store.ts';

/** Where the demo keeps the private half of its QR key: a phone app would hold it in real life. */
const DEMO_QR_PRIVATE = 'keys/demo-qr-private.pem';

export interface DemoOpeningDeps {
  store: DemoStore;
  db: () => Db;
  sim: () => SimulatedHardware | undefined;
  dataDir: string;
  /** The village id the demo's villagers belong to (the store's `store.village`). */
  village: string;
  /** Opening points awarded here, in the store's ledger: only when the demo has no village ledger (village.ts awards them there). */
  localAwards: boolean;
  entry: Pick<EntryConfig, 'qr_public_key_file'>;
  rules: LedgerRules;
}

export class DemoOpening implements Part {
  readonly name = 'demo opening';
  readonly critical = false;
  /** The demo's QR signing key and its village, or null when the store's QR key is not the demo's own. */
  qr: QrSigner | null = null;

  constructor(private readonly deps: DemoOpeningDeps, private readonly log: Logger) {}

  start(): void {
    const db = this.deps.db();
    const empty = listProducts(db).length === 0 && listSlots(db).length === 0 && listVillagers(db, { limit: 1 }).length === 0;
    if (empty) this.stock(db);
    this.qr = this.loadQrKey(empty);
    this.fillShelves(db);
  }

  stop(): void {}

  /** The demo's villagers and shelves are all in the ledger (a ledger of someone else's is left alone). */
  isDemoLedger(): boolean {
    const db = this.deps.db();
    const slots = new Set(listSlots(db).map((s) => s.slot));
    return this.deps.store.slots.every((s) => slots.has(s.slot)) && this.deps.store.villagers.every((v) => getVillager(db, v.id) !== undefined);
  }

  private stock(db: Db): void {
    const { store, rules } = this.deps;
    const at = new Date().toISOString();
    for (const p of store.products) upsertProduct(db, { sku: p.sku, name: p.name, price: p.price, unitG: p.unit_g, toleranceG: p.tolerance_g });
    for (const sl of store.slots) upsertSlot(db, { slot: sl.slot, address: sl.scale, sku: sl.sku, stock: sl.stock });
    for (const v of store.villagers) {
      addVillager(db, { id: v.id, name: v.name, village: this.deps.village, isMaintainer: v.maintainer });
      if (this.deps.localAwards && v.balance > 0) applyEntry(db, { id: `demo-opening:${v.id}`, villagerId: v.id, kind: 'award', points: v.balance, reason: '演示开业积分 / demo opening balance', origin: 'cli' }, rules);
      if (v.card) addCard(db, v.card, v.id, at);
      // consent first, as the rules require; only these faces are enrolled (DemoVillagers)
      if (v.face && v.enrolled) setFaceConsent(db, v.id, 'self');
    }
    this.log.info({ products: store.products.length, slots: store.slots.length, villagers: store.villagers.length }, 'demo store stocked / 演示门店已备货');
  }

  private loadQrKey(fresh: boolean): QrSigner | null {
    const dir = this.deps.dataDir;
    const pub = path.resolve(dir, this.deps.entry.qr_public_key_file);
    const priv = path.resolve(dir, DEMO_QR_PRIVATE);
    if (fresh && !existsSync(pub)) {
      const pair = generateKeyPairSync('ed25519');
      mkdirSync(path.dirname(pub), { recursive: true });
      mkdirSync(path.dirname(priv), { recursive: true });
      writeFileSync(priv, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      // 0600 like everything in keys/, which the daemon tightens at start (and would warn about)
      writeFileSync(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o600 });
    }
    if (!existsSync(priv)) return null;
    try {
      return { key: createPrivateKey(readFileSync(priv)), village: this.deps.village };
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'demo QR key unreadable; the demo uses cards / 演示二维码密钥无法读取');
      return null;
    }
  }

  /** The simulated shelves start empty each time: put the ledger's stock on them. */
  private fillShelves(db: Db): void {
    const sim = this.deps.sim();
    if (!sim) return;
    const unit = new Map(listProducts(db).map((p) => [p.sku, p.unitG]));
    for (const s of listSlots(db)) {
      if (s.sku === null || s.stock <= 0) continue;
      try {
        const scale = sim.scale(s.slot);
        if (scale.loadG === 0) scale.place(s.stock, unit.get(s.sku) ?? 1);
      } catch {
        // a slot without a simulated scale (someone else's ledger): nothing to put it on
      }
    }
  }
}

/** Pauses between steps and between visits, so a person can follow on the admin page. */
export interface DemoPace { stepMs: number; visitMs: number }
export const DEMO_PACE: DemoPace = { stepMs: 2000, visitMs: 4000 };

/** The door as the demo needs it: after enrolling a face, the door learns it. */
export interface DemoDoor { reloadVillager(villagerId: string): Promise<unknown> }

/** The village ledger as the demo's village office uses it (village.ts). */
export interface DemoVillageOffice { award(villager: string, points: number, id: string, reason: string): Promise<void> }

export interface DemoVillagersDeps {
  store: DemoStore;
  /** The running store as a person sees it (simulators, door decisions, session phase). */
  view: InProcessStore;
  db: () => Db;
  door: () => DemoDoor | undefined;
  opening: DemoOpening;
  /** Where the villagers' points are awarded; without it, in the store's own ledger (as `points award` would). */
  village?: DemoVillageOffice;
  dataDir: string;
  entry: EntryConfig;
  rules: LedgerRules;
  pace?: DemoPace;
}

class DemoStopped extends Error {}

export class DemoVillagers implements Part {
  readonly name = 'demo';
  readonly critical = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** The photo-resolution face engine, only while enrolling; stopped at once by stop(). */
  private engine: { stop(): Promise<void> } | undefined;
  /** The scenario runner's steps, acting on this daemon's simulated hardware. */
  private performer: ScenarioSteps | undefined;
  private stepNo = 0;
  private round = 0;
  /** Items left on the wrong slot by a visit, put back by the maintainer at the next restock. */
  private readonly misplaced: Array<{ from: string; to: string; count: number }> = [];
  /** Visits completed and steps that failed, for tests and the log. */
  readonly stats = { visits: 0, failures: 0, rounds: 0 };

  constructor(private readonly deps: DemoVillagersDeps, private readonly log: Logger) {}

  start(): void {
    if (!this.deps.opening.isDemoLedger()) {
      this.log.warn('the ledger is not the demo store; no demo villagers / 账本不是演示门店，不运行演示');
      return;
    }
    this.stopping = false;
    // in the background: start() returns at once, the page answers while faces load
    this.loop = this.run().catch((err: unknown) => {
      if (!(err instanceof DemoStopped)) this.log.error({ err }, 'demo stopped on an error / 演示出错停止');
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.engine?.stop().catch(() => undefined);
    await this.loop;
    this.loop = undefined;
  }

  private steps(): ScenarioSteps {
    if (!this.performer) throw new Error('demo: not running');
    return this.performer;
  }

  private async until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      if (this.stopping) throw new DemoStopped();
      if (await check()) return;
      if (Date.now() > end) throw new Error(`demo: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private pause(ms: number): Promise<void> {
    const end = Date.now() + ms;
    return this.until(() => Date.now() >= end, ms + 1000, 'a pause');
  }

  private async run(): Promise<void> {
    const { store } = this.deps;
    const qr = this.deps.opening.qr;
    const view = this.deps.view;
    const { steps, hands, detach } = stepsOnDaemon(store, () => view, { until: (c, ms, what) => this.until(c, ms, what), stepNo: () => this.stepNo }, qr ?? { key: generateKeyPairSync('ed25519').privateKey, village: 'none' });
    this.performer = steps;
    try {
      const faces = await this.prepareFaces(hands);
      // a villager let in before the shelves report would have no baseline: every slot a review line
      const scales = view.hardware?.scales;
      await this.until(() => scales?.status().every((s) => s.stable_g !== null) ?? false, 30_000, 'the scales to report');
      // the opening points come from the village ledger (village.ts): a round counted before
      // they arrive would award them a second time
      if (this.deps.village) {
        const opening = store.villagers.filter((v) => v.balance > 0).map((v) => `demo-opening:${v.id}`);
        await this.until(() => opening.every((id) => getEntry(this.deps.db(), id) !== undefined), 120_000, 'the opening points to arrive from the village ledger');
      }
      this.log.info({ visits: store.visits.length, faces, qr: qr !== null }, 'demo villagers start coming / 演示开始：村民进店');
      await this.bringToRest();
      for (;;) {
        await this.beforeRound();
        for (const visit of store.visits) {
          await this.pause(this.pace.visitMs);
          await this.visit(visit, faces, qr !== null);
        }
        this.stats.rounds = ++this.round;
      }
    } finally {
      detach();
    }
  }

  private get pace(): DemoPace {
    return this.deps.pace ?? DEMO_PACE;
  }

  private async visit(visit: DemoStore['visits'][number], faces: boolean, qr: boolean): Promise<void> {
    this.log.info({ visit: visit.name }, `demo / 演示: ${visit.description}`);
    this.stepNo = 0;
    try {
      for (const step of visitSteps(visit, this.round, { faces, qr }, this.deps.store.villagers)) {
        this.stepNo++;
        await this.steps().perform(step);
        if (step.kind === 'move') this.misplaced.push({ from: step.from, to: step.to, count: step.count });
        await this.pause(this.pace.stepMs);
      }
      // a visit may end with someone inside (balance-too-small's last step): they leave before the next
      await this.bringToRest();
      this.stats.visits++;
    } catch (err) {
      if (err instanceof DemoStopped) throw err;
      this.stats.failures++;
      this.log.warn({ visit: visit.name, step: this.stepNo, err: (err as Error).message }, 'demo visit went wrong; carrying on / 演示步骤失败，继续');
      await this.bringToRest();
    }
  }

  /** A villager left inside (the daemon stopped mid-visit, or a step failed) walks out first. */
  private async bringToRest(): Promise<void> {
    const p = this.steps();
    await this.until(() => ['idle', 'shopping', 'restocking'].includes(p.phase()), 60_000, 'the store to come to rest');
    if (p.phase() !== 'idle') await p.exit('button');
  }

  /**
   * Each round: the village awards each villager the points that bring them back to their
   * opening balance (repaying any debt first), so every visit plays as its scenario says —
   * 赵六 again has too few points — and the maintainer refills the shelves. With a village
   * ledger the awards are made there and the round waits until the store has them.
   */
  private async beforeRound(): Promise<void> {
    try {
      await this.awardRound();
    } catch (err) {
      if (err instanceof DemoStopped) throw err;
      // the round plays on the points the villagers have; the next round tries again
      this.stats.failures++;
      this.log.warn({ err: (err as Error).message }, 'demo: the village awards did not reach the store; carrying on / 演示：村账本积分未同步到门店，继续');
    }
    const misplaced = this.misplaced.splice(0);
    const steps = this.steps();
    const onShelves = new Map<string, number>();
    for (const s of this.deps.store.slots) onShelves.set(s.slot, await steps.itemsOn(s.slot));
    const low = this.deps.store.slots.some((s) => (onShelves.get(s.slot) ?? 0) < s.stock);
    if (!low && misplaced.length === 0) return;
    const m = this.deps.store.maintainer;
    await this.pause(this.pace.visitMs);
    this.stepNo = 1;
    try {
      if (!(await steps.enter(m.id, m.card ? 'card' : 'face', true))) return;
      // first what the review lines asked for ("put it back"), then the refill, then a count
      for (const x of misplaced) await steps.putBack(x.to, x.from, x.count);
      const add: Array<{ slot: string; count: number }> = [];
      for (const s of this.deps.store.slots) {
        const count = s.stock - (await steps.itemsOn(s.slot));
        if (count > 0) add.push({ slot: s.slot, count });
      }
      this.log.info({ add, put_back: misplaced }, `demo / 演示: ${m.name} restocks the shelves / 补货`);
      for (const a of add) await steps.perform({ kind: 'return', slot: a.slot, count: a.count });
      await steps.exit('button');
      await this.countShelves();
    } catch (err) {
      if (err instanceof DemoStopped) throw err;
      this.stats.failures++;
      this.log.warn({ err: (err as Error).message }, 'demo restock went wrong / 演示补货失败');
      await this.bringToRest();
    }
  }

  private async awardRound(): Promise<void> {
    const db = this.deps.db();
    const at = Date.now();
    const reason = '打扫村道（演示）/ cleaning the village road (demo)';
    const awarded: string[] = [];
    for (const v of this.deps.store.villagers) {
      const now = getVillager(db, v.id);
      const points = now ? v.balance + now.debt - now.balance : 0;
      if (!now || points <= 0) continue;
      const id = `demo-award:${v.id}:${at}`;
      if (!this.deps.village) {
        applyEntry(db, { id, villagerId: v.id, kind: 'award', points, reason, origin: 'cli' }, this.deps.rules);
        continue;
      }
      await this.deps.village.award(v.id, points, id, reason);
      awarded.push(id);
    }
    if (awarded.length === 0) return;
    this.log.info({ awards: awarded.length }, 'demo: the village ledger awarded points; waiting for them to reach the store / 演示：村账本已发放积分，等待同步到门店');
    await this.until(() => awarded.every((id) => getEntry(this.deps.db(), id) !== undefined), 60_000, 'the village awards to reach the store');
  }

  /**
   * The maintainer counts the shelves after restocking (盘点) and sets the ledger's stock to
   * what is there, as `store-edge slots set` would: what the weights could not explain is counted.
   */
  private async countShelves(): Promise<void> {
    const db = this.deps.db();
    const steps = this.steps();
    for (const s of listSlots(db)) {
      const counted = await steps.itemsOn(s.slot);
      if (counted === s.stock) continue;
      upsertSlot(db, { slot: s.slot, address: s.address, sku: s.sku, stock: counted });
      this.log.info({ slot: s.slot, ledger: s.stock, counted }, 'demo: shelf counted, stock corrected / 演示：盘点后更正库存');
    }
  }

  /**
   * Portraits for the face visits, and enrolment once (the templates persist in the ledger).
   * A model engine of its own at photo resolution, stopped afterwards; false when faces are off.
   */
  private async prepareFaces(hands: InProcessHands): Promise<boolean> {
    const { entry, store } = this.deps;
    const pipeline = this.deps.door();
    if (!entry.face_enabled || !pipeline) return false;
    try {
      const { EngineClient } = await import('../../models/engine-client.ts');
      const { portraitOf } = await import('../scenario/faces.ts');
      const { enrolVillager } = await import('../../edge/entry/enrol.ts');
      const engine = new EngineClient({ detectorInputSize: 416, detectorMinScore: entry.detector_min_score, liveness: false });
      this.engine = engine;
      if (this.stopping) return false;
      await engine.start();
      try {
        const db = this.deps.db();
        const key = loadOrCreateTemplateKey(path.resolve(this.deps.dataDir, entry.key_file));
        for (const v of store.villagers) {
          if (!v.face || this.stopping) continue;
          const frame = await portraitOf(engine, v.face);
          hands.faces.set(v.id, frame);
          const villager = getVillager(db, v.id);
          if (!v.enrolled || !villager?.faceConsentAt || countTemplates(db, v.id) > 0) continue;
          await enrolVillager(db, key, engine, entry, v.id, [{ name: `${v.face.photo}#${v.face.index}`, frame: { ...frame, data: frame.data.slice() } }], new Date().toISOString());
          await pipeline.reloadVillager(v.id);
          this.log.info({ villager: v.id }, 'demo face enrolled / 演示人脸已录入');
        }
      } finally {
        this.engine = undefined;
        await engine.stop();
      }
      return !this.stopping && store.villagers.every((v) => !v.face || hands.faces.has(v.id));
    } catch (err) {
      if (this.stopping) return false;
      this.log.warn({ err: (err as Error).message }, 'demo faces unavailable; villagers use cards / 演示人脸不可用，改用刷卡');
      return false;
    }
  }
}
