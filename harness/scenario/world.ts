/**
 * The two sides of a scenario step (steps.ts), so that one set of steps drives the store in
 * either runner mode and in the demo:
 *
 * - the hands act on the hardware as a person would (scan, show a face, push the door, move
 *   items on the scales) and return once the daemon has had the chance to see it;
 * - the observer records what the store decided (door decisions, receipts, announcements) and
 *   says which phase the store is in.
 *
 * In-process (in-process.ts) the hands are the simulators and the observer listens to the
 * daemon's events; in process mode (process-hands.ts) the hands are the sim-hardware control
 * client and the observer reads the daemon's JSON log lines by their `event` field.
 */
import type { SequencePlayer } from './replay.ts';
import type { EnterBy } from './scenario.ts';

export interface StoreHands {
  /** Scans a card number or QR token; false when no daemon has the scanner open. */
  scan(code: string): Promise<boolean>;
  /**
   * Shows the villager's face to the camera until `decided` holds, then steps away from it;
   * with `replay`, the frames it picks instead (a sequence, its turn when the door asks: replay.ts).
   */
  presentFace(villagerId: string, decided: () => boolean, replay?: SequencePlayer): Promise<void>;
  /** Pushes the door; it opens only while the lock is released, or by `force` (from inside); once open, until the daemon has seen it. */
  openDoor(force: boolean): Promise<boolean>;
  /** Closes the door and waits until the daemon has seen it closed. */
  closeDoor(): Promise<void>;
  /** Presses the exit button for at least `holdMs` and until the daemon has read it pressed, then lets go. */
  pressExit(holdMs: number): Promise<void>;
  /** Items of `unitG` grams off or onto a slot's scale; returns once the daemon has read the new weight. */
  take(slot: string, count: number, unitG: number): Promise<void>;
  place(slot: string, count: number, unitG: number): Promise<void>;
  /** Units of `unitG` grams on a slot's scale. */
  itemsOn(slot: string, unitG: number): Promise<number>;
}

export interface ObservedDecision {
  decision: string;
  by: EnterBy | string;
  villagerId: string | null;
  unlocked: boolean;
  /** The liveness challenge's outcome when the door asked for one (entry_events detail `challenge`). */
  challenge?: Record<string, unknown>;
}
export interface ObservedReceipt { session: string; villager: string; text: string; settleMs: number }
export interface ObservedAnnouncement { reason: string; villager: string | null; text: string }

/** What the store decided, in order, across daemon restarts. */
export class StoreObservations {
  readonly decisions: ObservedDecision[] = [];
  readonly receipts: ObservedReceipt[] = [];
  readonly announcements: ObservedAnnouncement[] = [];
  private readonly receiptListeners: Array<(r: ObservedReceipt) => void> = [];
  /** The daemon's session was told the unlock pulse runs (a door opening is then still the entry). */
  lockReleased = false;

  lock(released: boolean): void {
    this.lockReleased = released;
  }

  decision(d: ObservedDecision): void {
    this.decisions.push(d);
  }

  receipt(r: ObservedReceipt): void {
    this.receipts.push(r);
    for (const l of this.receiptListeners) l(r);
  }

  announcement(a: ObservedAnnouncement): void {
    this.announcements.push(a);
  }

  onReceipt(listener: (r: ObservedReceipt) => void): void {
    this.receiptListeners.push(listener);
  }
}

export interface StoreObserver {
  readonly seen: StoreObservations;
  /** The store's session phase ('idle', 'shopping', …; 'down' with no daemon). */
  phase(): string;
}

/** One line of the daemon's JSON log, as much as the observer reads. */
export interface DaemonLogLine {
  msg?: string;
  level?: number;
  event?: string;
  [key: string]: unknown;
}

/**
 * Feeds a log line to the observations by its `event` field (the daemon's structured event
 * channel): entry_decision, receipt, announce, lock. Other lines are ignored.
 */
export function observeLogLine(seen: StoreObservations, l: DaemonLogLine): void {
  const villager = typeof l.villagerId === 'string' ? l.villagerId : null;
  switch (l.event) {
    case 'entry_decision':
      seen.decision({ decision: String(l.decision), by: String(l.by), villagerId: villager, unlocked: l.unlocked === true, ...(l.challenge && typeof l.challenge === 'object' ? { challenge: l.challenge as Record<string, unknown> } : {}) });
      return;
    case 'announce':
      seen.announcement({ reason: String(l.reason), villager, text: l.msg ?? '' });
      return;
    case 'lock':
      seen.lock(l.released === true);
      return;
    case 'receipt':
      seen.receipt({ session: String(l.sessionId), villager: villager ?? '', text: l.msg ?? '', settleMs: Number(l.settleMs) });
      return;
    default:
      return;
  }
}
