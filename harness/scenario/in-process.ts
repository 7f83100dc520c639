/**
 * Hands and observer for a daemon running in this process on simulated hardware (the
 * in-process runner, the demo): the hands are the simulators themselves, the observer
 * listens to the entry pipeline's and the session's events.
 *
 * The store is seen through a narrow view (`InProcessStore`), not the whole daemon: what a
 * person at the door and the shelves could touch and see.
 */
import type { SimulatedHardware, SlotStatus } from '../../drivers/index.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { EntryDecision } from '../../edge/entry/pipeline.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { Announcement, Receipt } from '../../edge/session/receipt.ts';
import type { Scenario } from './scenario.ts';
import { ScenarioSteps, type QrSigner, type StepWorld } from './steps.ts';
import type { SequencePlayer } from './replay.ts';
import { StoreObservations, type StoreHands, type StoreObserver } from './world.ts';

export interface InProcessStore {
  readonly hardware: {
    readonly sim: SimulatedHardware | undefined;
    readonly scales: { status(): SlotStatus[] };
    readonly lock: { readonly doorState: string; readonly exitButtonState: string };
  } | undefined;
  readonly entry: { readonly pipeline: DoorView | undefined } | undefined;
  readonly session: SessionView | undefined;
}

interface DoorView {
  offer(frame: RgbFrame): void;
  readonly stats: { readonly analysed: number; readonly failed: number };
  on(event: 'decision', listener: (d: EntryDecision) => void): unknown;
  off(event: 'decision', listener: (d: EntryDecision) => void): unknown;
}

interface SessionView {
  readonly phase: string;
  on(event: 'receipt', listener: (r: Receipt) => void): unknown;
  on(event: 'announce', listener: (a: Announcement) => void): unknown;
  on(event: 'lock', listener: (l: { released: boolean }) => void): unknown;
  off(event: 'receipt', listener: (r: Receipt) => void): unknown;
  off(event: 'announce', listener: (a: Announcement) => void): unknown;
  off(event: 'lock', listener: (l: { released: boolean }) => void): unknown;
}

type Until = (check: () => boolean | Promise<boolean>, ms: number, what: string) => Promise<void>;

/** Listens to a (re)booted daemon's door decisions, receipts and announcements. Returns the unsubscribe. */
export function observeInProcess(store: InProcessStore, seen: StoreObservations): () => void {
  const onDecision = (d: EntryDecision): void => seen.decision({ decision: d.decision, by: d.by, villagerId: d.villagerId, unlocked: d.unlocked, ...(d.detail.challenge ? { challenge: d.detail.challenge as Record<string, unknown> } : {}) });
  const onReceipt = (r: Receipt): void => seen.receipt({ session: r.sessionId, villager: r.villagerId, text: r.text, settleMs: r.settleMs });
  const onAnnounce = (a: Announcement): void => seen.announcement({ reason: a.reason, villager: a.villagerId, text: a.text });
  const onLock = (l: { released: boolean }): void => seen.lock(l.released);
  const pipeline = store.entry?.pipeline;
  const session = store.session;
  // a daemon (re)booted knows of no unlock pulse
  seen.lock(false);
  pipeline?.on('decision', onDecision);
  session?.on('receipt', onReceipt);
  session?.on('announce', onAnnounce);
  session?.on('lock', onLock);
  return () => {
    pipeline?.off('decision', onDecision);
    session?.off('receipt', onReceipt);
    session?.off('announce', onAnnounce);
    session?.off('lock', onLock);
  };
}

export class InProcessObserver implements StoreObserver {
  constructor(private readonly store: () => InProcessStore | undefined, readonly seen: StoreObservations) {}
  phase(): string {
    return this.store()?.session?.phase ?? 'down';
  }
}

/** Within this many grams the driver's stable weight is taken to be the shelf's new load. */
const SETTLED_G = 6;

export class InProcessHands implements StoreHands {
  /** Portraits of the villagers who have a face, filled by whoever prepared faces. */
  readonly faces = new Map<string, RgbFrame>();

  constructor(private readonly store: () => InProcessStore, private readonly until: Until) {}

  private get sim(): SimulatedHardware {
    const sim = this.store().hardware?.sim;
    if (!sim) throw new EdgeError(ErrorCode.INTERNAL, 'no simulated hardware');
    return sim;
  }

  scan(code: string): Promise<boolean> {
    return Promise.resolve(this.sim.scanner.scan(code));
  }

  async presentFace(villagerId: string, decided: () => boolean, replay?: SequencePlayer): Promise<void> {
    const frame = this.faces.get(villagerId);
    if (!frame) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `no portrait of ${villagerId}`, { zh: `没有 ${villagerId} 的照片` });
    if (!this.store().entry?.pipeline) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'face recognition is not running', { zh: '人脸识别未运行' });
    if (replay) return this.replay(replay, decided);
    // the camera keeps seeing the face until the door decides
    await this.until(() => {
      if (decided()) return true;
      this.store().entry?.pipeline?.offer({ width: frame.width, height: frame.height, data: frame.data.slice() });
      return false;
    }, 30_000, `the door's decision on ${villagerId}'s face`);
  }

  /**
   * A sequence as the camera: each frame once the pipeline has finished the one before (so none
   * is dropped, whatever the machine's load), in the order the player picks (replay.ts). The
   * door's clock runs on meanwhile, so a challenge's timeout counts real time.
   */
  private async replay(player: SequencePlayer, decided: () => boolean): Promise<void> {
    const pipeline = (): DoorView | undefined => this.store().entry?.pipeline;
    const done = (): number => { const st = pipeline()?.stats; return st ? st.analysed + st.failed : 0; };
    for (;;) {
      if (decided()) return;
      const i = player.next();
      const f = player.sequence.frames[i] as RgbFrame;
      const before = done();
      pipeline()?.offer({ width: f.width, height: f.height, data: f.data.slice() });
      await this.until(() => decided() || done() > before, 30_000, `the door to look at frame ${i + 1}`);
    }
  }

  async openDoor(force: boolean): Promise<boolean> {
    if (!this.sim.relay.openDoor({ force })) return false;
    // a person takes longer than one poll to go through: the daemon sees the door open
    await this.until(() => this.store().hardware?.lock.doorState === 'open', 15_000, 'the door to be seen open');
    return true;
  }

  async closeDoor(): Promise<void> {
    this.sim.relay.closeDoor();
    await this.until(() => this.store().hardware?.lock.doorState === 'closed', 15_000, 'the door to close');
  }

  async pressExit(holdMs: number): Promise<void> {
    // held until the daemon has read it pressed (a short press can fall between two polls)
    this.sim.relay.pressExit(Math.max(holdMs, 60_000));
    await this.until(() => this.store().hardware?.lock.exitButtonState === 'pressed', 15_000, 'the exit button to be seen');
    this.sim.relay.pressExit(1);
    await this.until(() => this.store().hardware?.lock.exitButtonState === 'released', 15_000, 'the exit button to be released');
  }

  async take(slot: string, count: number, unitG: number): Promise<void> {
    this.sim.scale(slot).take(count, unitG);
    await this.settled(slot);
  }

  async place(slot: string, count: number, unitG: number): Promise<void> {
    this.sim.scale(slot).place(count, unitG);
    await this.settled(slot);
  }

  itemsOn(slot: string, unitG: number): Promise<number> {
    return Promise.resolve(this.sim.scale(slot).itemCount(unitG));
  }

  /** Until the scale driver reports the shelf's new load as its stable weight. */
  private async settled(slot: string): Promise<void> {
    const sim = this.sim.scale(slot);
    await this.until(() => {
      const st = this.store().hardware?.scales.status().find((s) => s.slot === slot);
      return st !== undefined && st.stable_g !== null && Math.abs(st.stable_g - sim.loadG) <= SETTLED_G;
    }, 30_000, `slot ${slot} to settle`);
  }
}

/** Scenario steps on a daemon in this process: its hands, its observer, listening from now on. */
export function stepsOnDaemon(s: Pick<Scenario, 'products' | 'slots' | 'villagers'>, store: () => InProcessStore, world: Pick<StepWorld, 'until' | 'stepNo' | 'beforeExit'>, qr: QrSigner): { steps: ScenarioSteps; hands: InProcessHands; detach: () => void } {
  const seen = new StoreObservations();
  const hands = new InProcessHands(store, world.until);
  const steps = new ScenarioSteps(s, { ...world, hands, observer: new InProcessObserver(store, seen) }, qr);
  return { steps, hands, detach: observeInProcess(store(), seen) };
}
