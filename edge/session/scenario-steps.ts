/**
 * Scenario steps performed against a running store on simulated hardware, as a person would:
 * scanning a card or a QR code, showing a face to the camera, pushing the door, lifting items
 * off the scales, pressing the exit button. Shared by the scenario runner (simulate.ts) and
 * the demo loop of `npm start` (edge/demo.ts), so both exercise the same paths.
 *
 * What differs between the two stays with them: the runner cuts the power while waiting
 * (its `until`), the demo paces itself for a human watching the admin page.
 */
import type { KeyObject } from 'node:crypto';
import type { RgbFrame } from '../../models/face-engine.ts';
import { issueQrToken } from '../entry/credentials.ts';
import type { EntryDecision } from '../entry/pipeline.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import type { StoreDaemon } from '../main.ts';
import type { EnterBy, Scenario, ScenarioStep, ScenarioVillager } from './scenario.ts';

/** The world the steps act in; the runner and the demo each provide their own. */
export interface StepWorld {
  /** The running daemon (after a power cut, the new one). */
  store(): StoreDaemon;
  /** Wait until `check` holds, at most `ms`; throws naming `what` otherwise. */
  until(check: () => boolean, ms: number, what: string): Promise<void>;
  /** Number of the step being performed, for error messages and refusals. */
  stepNo(): number;
  /** The exit button was pressed (the runner times exit → receipt from here). */
  exitPressed?(): void;
}

export type PerformableStep = Exclude<ScenarioStep, { kind: 'power_cut' }>;

export class ScenarioSteps {
  /** Portraits of the villagers who have a face in the scenario, filled by whoever prepared faces. */
  readonly faces = new Map<string, RgbFrame>();
  readonly refused: Array<{ villager: string; reason: string; step: number }> = [];
  private readonly decisions: EntryDecision[] = [];
  private receiptCount = 0;
  private readonly byId: Map<string, ScenarioVillager>;
  private readonly unit = new Map<string, number>();

  constructor(s: Pick<Scenario, 'products' | 'slots' | 'villagers'>, private readonly world: StepWorld, private readonly qrKey: KeyObject) {
    this.byId = new Map(s.villagers.map((v) => [v.id, v]));
    for (const slot of s.slots) this.unit.set(slot.slot, s.products.find((p) => p.sku === slot.sku)?.unit_g ?? 1);
  }

  /** Listen to a (re)booted daemon's door decisions and receipts. Returns the unsubscribe. */
  attach(daemon: StoreDaemon): () => void {
    const onDecision = (d: EntryDecision): void => void this.decisions.push(d);
    const onReceipt = (): void => void this.receiptCount++;
    const pipeline = daemon.entry?.pipeline;
    const session = daemon.session;
    pipeline?.on('decision', onDecision);
    session?.on('receipt', onReceipt);
    return () => {
      pipeline?.off('decision', onDecision);
      session?.off('receipt', onReceipt);
    };
  }

  private get sim() {
    const sim = this.world.store().hardware?.sim;
    if (!sim) throw new EdgeError(ErrorCode.INTERNAL, 'no simulated hardware');
    return sim;
  }

  phase(): string {
    const store = this.world.store();
    return store.session?.phase ?? 'down';
  }

  /** Units on a slot of the simulated shelf, counted by the product's unit weight. */
  itemsOn(slot: string): number {
    return this.sim.scale(slot).itemCount(this.unit.get(slot) ?? 1);
  }

  fail(msg: string): never {
    const n = this.world.stepNo();
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `step ${n}: ${msg}`, { zh: `第 ${n} 步：${msg}` });
  }

  async perform(step: PerformableStep): Promise<void> {
    switch (step.kind) {
      case 'enter':
        await this.enter(step.villager, step.by, step.open_door);
        return;
      case 'take':
      case 'return': {
        const sim = this.sim.scale(step.slot);
        const unit = this.unit.get(step.slot) ?? 1;
        if (step.kind === 'take' && sim.itemCount(unit) < step.count) this.fail(`slot ${step.slot} holds ${sim.itemCount(unit)} items; cannot take ${step.count}`);
        if (step.kind === 'take') sim.take(step.count, unit);
        else sim.place(step.count, unit);
        await this.settleShelf(step.slot);
        return;
      }
      case 'move': {
        const unit = this.unit.get(step.from) ?? 1;
        const from = this.sim.scale(step.from);
        if (from.itemCount(unit) < step.count) this.fail(`slot ${step.from} holds ${from.itemCount(unit)} items; cannot take ${step.count}`);
        from.take(step.count, unit);
        await this.settleShelf(step.from);
        this.sim.scale(step.to).place(step.count, unit);
        await this.settleShelf(step.to);
        return;
      }
      case 'exit':
        await this.exit(step.by);
        return;
      case 'restock': {
        const admitted = await this.enter(step.maintainer, step.by, true);
        if (!admitted) return;
        for (const a of step.add) {
          this.sim.scale(a.slot).place(a.count, this.unit.get(a.slot) ?? 1);
          await this.settleShelf(a.slot);
        }
        await this.exit('button');
        return;
      }
      case 'wait_ms': {
        const end = Date.now() + step.ms;
        await this.world.until(() => Date.now() >= end, step.ms + 60_000, `${step.ms} ms`);
        return;
      }
    }
  }

  /** Put `count` items of `home`'s product, left on slot `from` by a wrong-slot return, back on `home`. */
  async putBack(from: string, home: string, count: number): Promise<void> {
    const unit = this.unit.get(home) ?? 1;
    this.sim.scale(from).take(count, unit);
    await this.settleShelf(from);
    this.sim.scale(home).place(count, unit);
    await this.settleShelf(home);
  }

  private async settleShelf(slot: string): Promise<void> {
    const sim = this.sim.scale(slot);
    await this.world.until(() => {
      const st = this.world.store().hardware?.scales.status().find((s) => s.slot === slot);
      return st !== undefined && st.stable_g !== null && Math.abs(st.stable_g - sim.loadG) <= 6;
    }, 5000, `slot ${slot} to settle`);
  }

  /** Present a face, card or QR code; if let in, push the door open and close it behind. Returns whether admitted. */
  async enter(villagerId: string, by: EnterBy, openDoor: boolean): Promise<boolean> {
    const v = this.byId.get(villagerId);
    if (!v) this.fail(`unknown villager ${villagerId}`);
    const seen = this.decisions.length;
    const decided = (): EntryDecision | undefined => this.decisions.slice(seen).find((d) => d.by === by);
    if (by === 'card' || by === 'qr') {
      const code = by === 'card' ? v.card : issueQrToken(this.qrKey, v.id, 120);
      if (!code) this.fail(`villager ${v.id} has no card`);
      if (!this.sim.scanner.scan(code)) this.fail('the scanner is not connected');
      await this.world.until(() => decided() !== undefined, 5000, `the door's decision on ${v.id}'s ${by}`);
    } else {
      const frame = this.faces.get(v.id);
      if (!frame) this.fail(`no portrait of ${v.id}`);
      if (!this.world.store().entry?.pipeline) this.fail('face recognition is not running');
      // the camera keeps seeing the face until the door decides
      await this.world.until(() => {
        if (decided()) return true;
        this.world.store().entry?.pipeline?.offer({ width: frame.width, height: frame.height, data: frame.data.slice() });
        return false;
      }, 30_000, `the door's decision on ${v.id}'s face`);
    }
    const d = decided() as EntryDecision;
    if (d.decision !== 'matched' || !d.unlocked) {
      this.refused.push({ villager: v.id, reason: d.decision, step: this.world.stepNo() });
      return false;
    }
    if (!openDoor) return true;
    if (!this.sim.relay.openDoor()) this.fail(`the lock did not release for ${v.id}`);
    await this.world.until(() => ['shopping', 'restocking'].includes(this.phase()), 5000, `${v.id} to be inside`);
    this.sim.relay.closeDoor();
    await this.world.until(() => this.world.store().hardware?.lock.doorState === 'closed', 2000, 'the door to close');
    return true;
  }

  async exit(by: 'button' | 'door'): Promise<void> {
    const receipts = this.receiptCount;
    const phase = this.phase();
    if (phase !== 'shopping' && phase !== 'restocking') this.fail(`exit while the store is ${phase}: nobody inside`);
    this.world.exitPressed?.();
    if (by === 'button') this.sim.relay.pressExit(200);
    // the exit button cuts the lock's power; from inside, the handle opens the door anyway
    this.sim.relay.openDoor({ force: true });
    await this.world.until(() => this.receiptCount > receipts && this.phase() === 'idle', 30_000, 'the receipt');
    this.sim.relay.closeDoor();
    await this.world.until(() => this.world.store().hardware?.lock.doorState === 'closed', 2000, 'the door to close');
  }
}
