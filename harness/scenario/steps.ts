/**
 * Scenario steps performed against a running store, as a person would: scanning a card or a
 * QR code, showing a face to the camera, pushing the door, lifting items off the scales,
 * pressing the exit button. Written once over the hands and the observer (world.ts), so the
 * in-process runner, the process runner and the demo loop of `npm start` exercise the same paths.
 *
 * What differs between them stays with them: a runner cuts the power while waiting (its
 * `until`), the demo paces itself for a human watching the admin page.
 */
import type { KeyObject } from 'node:crypto';
import { issueQrToken } from '../../edge/entry/credentials.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import { promptsIn, SequencePlayer, type ReplaySequence } from './replay.ts';
import type { EnterBy, Scenario, ScenarioStep, ScenarioVillager } from './scenario.ts';
import type { ObservedDecision, StoreHands, StoreObserver } from './world.ts';

/** What the villagers' phones show at the door: codes signed with `key`, naming the store's `village` (a store refuses a code naming none). */
export interface QrSigner { key: KeyObject; village: string }

/** The world the steps act in; the runners and the demo each provide their own. */
export interface StepWorld {
  hands: StoreHands;
  observer: StoreObserver;
  /** Wait until `check` holds, at most `ms`; throws naming `what` otherwise. */
  until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void>;
  /** Number of the step being performed, for error messages and refusals. */
  stepNo(): number;
  /** Just before the exit button is pressed (a runner times exit → receipt from here). */
  beforeExit?(): Promise<void> | void;
}

export type PerformableStep = Exclude<ScenarioStep, { kind: 'power_cut' }>;

/** A `power_cut: {when}` waiting for the session to reach its phase, and the step that armed it. */
export interface ArmedCut { phase: string; step: number }

/**
 * A cut armed for a phase the session never reached, by the end of the run or before the next
 * cut was armed: the run would test nothing of what the scenario says, so it fails (exit 2).
 */
export function cutNeverFell(armed: ArmedCut, before: number | null): EdgeError {
  const when = before === null ? 'by the end of the run' : `before step ${before} armed another cut`;
  const zh = before === null ? '直到场景结束' : `直到第 ${before} 步再次设定断电`;
  return new EdgeError(ErrorCode.INVALID_ARGUMENT, `step ${armed.step} (power_cut when: ${armed.phase}): the session never reached ${armed.phase} ${when}; no power was cut`, {
    zh: `第 ${armed.step} 步（断电 when: ${armed.phase}）：${zh}，购物流程都没有进入 ${armed.phase}，断电没有发生`,
  });
}

const INSIDE = ['shopping', 'restocking'];

export class ScenarioSteps {
  readonly refused: Array<{ villager: string; reason: string; step: number; challenge?: Record<string, unknown> }> = [];
  /** Every face decision at an `enter`, with the liveness challenge's outcome when one was asked. */
  readonly faceDecisions: Array<{ step: number; villager: string; decision: string; unlocked: boolean; challenge: Record<string, unknown> | null }> = [];
  /** Frames replayed as the camera, by step number (`enter: {by: face, frames}`; sequences.ts). */
  sequences = new Map<number, ReplaySequence>();
  private readonly byId: Map<string, ScenarioVillager>;
  private readonly unit = new Map<string, number>();

  constructor(s: Pick<Scenario, 'products' | 'slots' | 'villagers'>, private readonly world: StepWorld, private readonly qr: QrSigner) {
    this.byId = new Map(s.villagers.map((v) => [v.id, v]));
    for (const slot of s.slots) this.unit.set(slot.slot, s.products.find((p) => p.sku === slot.sku)?.unit_g ?? 1);
  }

  private get hands(): StoreHands {
    return this.world.hands;
  }

  phase(): string {
    return this.world.observer.phase();
  }

  unitOf(slot: string): number {
    return this.unit.get(slot) ?? 1;
  }

  /** Units on a slot's scale, counted by the product's unit weight. */
  itemsOn(slot: string): Promise<number> {
    return this.hands.itemsOn(slot, this.unitOf(slot));
  }

  fail(msg: string, zh: string): never {
    const n = this.world.stepNo();
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `step ${n}: ${msg}`, { zh: `第 ${n} 步：${zh}` });
  }

  async perform(step: PerformableStep): Promise<void> {
    switch (step.kind) {
      case 'enter':
        await this.enter(step.villager, step.by, step.open_door);
        return;
      case 'take':
        await this.takeFrom(step.slot, step.count, this.unitOf(step.slot));
        return;
      case 'return':
        await this.hands.place(step.slot, step.count, this.unitOf(step.slot));
        return;
      case 'move': {
        const unit = this.unitOf(step.from);
        await this.takeFrom(step.from, step.count, unit);
        await this.hands.place(step.to, step.count, unit);
        return;
      }
      case 'exit':
        await this.exit(step.by);
        return;
      case 'restock': {
        if (!(await this.enter(step.maintainer, step.by, true))) return;
        for (const a of step.add) await this.hands.place(a.slot, a.count, this.unitOf(a.slot));
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
    const unit = this.unitOf(home);
    await this.hands.take(from, count, unit);
    await this.hands.place(home, count, unit);
  }

  private async takeFrom(slot: string, count: number, unit: number): Promise<void> {
    const holds = await this.hands.itemsOn(slot, unit);
    if (holds < count) this.fail(`slot ${slot} holds ${holds} items; cannot take ${count}`, `货位 ${slot} 只有 ${holds} 件，不能拿 ${count} 件`);
    await this.hands.take(slot, count, unit);
  }

  /** Present a face, card or QR code; if let in, push the door open and close it behind. Returns whether admitted. */
  async enter(villagerId: string, by: EnterBy, openDoor: boolean): Promise<boolean> {
    const v = this.byId.get(villagerId);
    if (!v) this.fail(`unknown villager ${villagerId}`, `未知村民 ${villagerId}`);
    const seen = this.world.observer.seen.decisions.length;
    const decided = (): ObservedDecision | undefined => this.world.observer.seen.decisions.slice(seen).find((d) => d.by === by);
    if (by === 'card' || by === 'qr') {
      const code = by === 'card' ? v.card : issueQrToken(this.qr.key, v.id, 120, Date.now(), this.qr.village);
      if (!code) this.fail(`villager ${v.id} has no card`, `村民 ${v.id} 没有积分卡`);
      if (!(await this.hands.scan(code))) this.fail('the scanner is not connected', '扫码器未连接');
      await this.world.until(() => decided() !== undefined, 30_000, `the door's decision on ${v.id}'s ${by}`);
    } else {
      const sequence = this.sequences.get(this.world.stepNo());
      // the person hears the door's prompts (its announcements) and turns when asked
      const replay = sequence ? new SequencePlayer(sequence, () => promptsIn(this.world.observer.seen.announcements)) : undefined;
      await this.hands.presentFace(v.id, () => decided() !== undefined, replay);
    }
    const d = decided() as ObservedDecision;
    const challenge = d.challenge ? { challenge: d.challenge } : {};
    if (by === 'face') this.faceDecisions.push({ step: this.world.stepNo(), villager: v.id, decision: d.decision, unlocked: d.unlocked, challenge: d.challenge ?? null });
    if (d.decision !== 'matched' || !d.unlocked) {
      this.refused.push({ villager: v.id, reason: d.decision, step: this.world.stepNo(), ...challenge });
      return false;
    }
    if (!openDoor) return true;
    // the session is persisted as entering before the villager touches the door
    await this.world.until(() => this.phase() !== 'idle', 5000, `${v.id}'s session to open`);
    if (!(await this.hands.openDoor(false))) this.fail(`the lock did not release for ${v.id}`, `门锁没有为 ${v.id} 打开`);
    await this.world.until(() => INSIDE.includes(this.phase()), 5000, `${v.id} to be inside`);
    await this.hands.closeDoor();
    return true;
  }

  async exit(by: 'button' | 'door'): Promise<void> {
    const receipts = this.world.observer.seen.receipts.length;
    const phase = this.phase();
    if (!INSIDE.includes(phase)) this.fail(`exit while the store is ${phase}: nobody inside`, `门店处于 ${phase} 状态时离店：店内没有人`);
    await this.world.beforeExit?.();
    if (by === 'button') await this.hands.pressExit(200);
    // while the unlock pulse runs a door opening is still the entry (a companion coming in):
    // a villager leaving by the door is seen to leave once the lock has closed behind them
    else await this.world.until(() => !this.world.observer.seen.lockReleased, 60_000, 'the lock to close before leaving by the door');
    // the exit button cuts the lock's power; from inside, the handle opens the door anyway
    await this.hands.openDoor(true);
    await this.world.until(() => this.world.observer.seen.receipts.length > receipts && this.phase() === 'idle', 30_000, 'the receipt');
    await this.hands.closeDoor();
  }
}
