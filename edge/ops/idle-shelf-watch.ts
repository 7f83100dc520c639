/**
 * A shelf that changes with no session open: someone stayed behind after the admitted villager
 * left, or came in by a door propped after the visit ended. Nothing is charged for it (no visit to
 * charge), so it must not be only a log line: the `idle_shelf_change` alarm, one per slot, names
 * the slot, its product and about how many items, and stays until the weight comes back (within
 * `session.weight.drift_allowance_g` of what the slot held when the store went quiet) or a
 * maintainer clears it by hand (CLEARED_BY_HAND). A loss is critical (goods left uncharged), a
 * gain a warning (something was put down: count the shelf, a swap shows as both).
 *
 * The weight the slot held before the first idle change is kept in memory for the quiet spell
 * only: the next visit starts from the shelf as it stands, and a restart forgets it, so the alarm
 * then clears by hand alone.
 *
 * Right after a receipt a slot may still be coming to rest: the exit wait gave up on it
 * (`stability_timeout`, a `not_stable` review line of the visit, nothing charged for it) and the
 * scale reports its change only once it is stable again, with the store already idle. That change
 * is the visit's (its review line is where it is looked at), not a theft: within `settleGraceMs` of
 * the visit settling, the first change of a slot on its `not_stable` review line is taken as the
 * slot's weight after the visit, no alarm. Any other slot's change, that slot's next change, and
 * any change after the grace raise as usual.
 */
import type { Db } from '../ledger/db.ts';
import { getProduct, getSlot } from '../ledger/products.ts';
import { sessionReview } from '../ledger/sessions.ts';
import type { Part } from '../parts.ts';
import type { AlarmBoard } from './alarms.ts';

/** A shelf change with no session open, as the session engine reports it (its `unattended` event). */
export interface IdleChange { slot: string; deltaG: number; fromG: number; toG: number; at: number }

/** The session engine's `state` event as the watch needs it (`at` on the same clock as IdleChange's). */
export interface StateChange { phase: string; at: number; sessionId?: string | null }

/** The session engine as the watch needs it (edge/session/engine.ts StoreSessionEngine fits). */
export interface IdleSource {
  on(event: 'unattended', listener: (c: IdleChange) => void): unknown;
  off(event: 'unattended', listener: (c: IdleChange) => void): unknown;
  on(event: 'state', listener: (s: StateChange) => void): unknown;
  off(event: 'state', listener: (s: StateChange) => void): unknown;
}

export interface IdleShelfWatchDeps {
  session: () => IdleSource | undefined;
  board: AlarmBoard;
  db: () => Db;
  /** session.weight.drift_allowance_g: a net change this small is no change. */
  driftG: number;
  /**
   * How long after a visit settles a slot's first change is still the visit's: the longest exit
   * wait for a slot still moving, max(session.stability_wait_ms, session.exit_settle_max_ms).
   */
  settleGraceMs: number;
}

export const IDLE_SHELF_KIND = 'idle_shelf_change';
export const idleShelfSubject = (slot: string): string => `slot ${slot}`;

export class IdleShelfWatch implements Part {
  readonly name = 'idle shelves';
  readonly critical = false;
  /** Per slot: its weight before the first change of this quiet spell. */
  private readonly before = new Map<string, number>();
  private source: IdleSource | undefined;
  private last: StateChange | undefined;
  /** When the last visit settled (settled → idle), while its slots may still come to rest. */
  private settledAt: number | undefined;
  /** The slots that visit left still moving (`not_stable`) and that have not come to rest yet. */
  private readonly moving = new Set<string>();

  constructor(private readonly deps: IdleShelfWatchDeps) {}

  start(): void {
    this.source = this.deps.session();
    this.source?.on('unattended', this.onChange);
    this.source?.on('state', this.onState);
  }

  stop(): void {
    this.source?.off('unattended', this.onChange);
    this.source?.off('state', this.onState);
    this.source = undefined;
    this.before.clear();
    this.last = undefined;
    this.settledAt = undefined;
    this.moving.clear();
  }

  // a visit weighs from the shelf as it stands: the quiet spell's weights no longer say what came back
  private readonly onState = (s: StateChange): void => {
    if (s.phase !== 'idle') {
      this.before.clear();
      this.moving.clear();
      this.settledAt = undefined;
    }
    const id = this.last?.phase === 'settled' ? this.last.sessionId : undefined;
    if (s.phase === 'idle' && id) {
      this.settledAt = s.at;
      this.moving.clear();
      try {
        for (const r of sessionReview(this.deps.db(), id)) if (r.reason === 'not_stable') this.moving.add(r.slot);
      } catch {
        // the ledger cannot be read: no grace, a late settling change raises (a false alarm, never a missed one)
      }
    }
    this.last = s;
  };

  /** Within the grace after a visit settled, the first change of a slot it left moving: the visit's. */
  private visitsLateRest(c: IdleChange): boolean {
    if (this.settledAt === undefined || c.at - this.settledAt > this.deps.settleGraceMs) return false;
    return this.moving.delete(c.slot);
  }

  private readonly onChange = (c: IdleChange): void => {
    const { board } = this.deps;
    const subject = idleShelfSubject(c.slot);
    // Most likely the visit's slot coming to rest, and already on its review line: a warning, not a
    // theft charged to nobody; but one who stayed behind could have emptied the slot in those
    // seconds, so it is never dropped unseen (a review found the first version dropped it). Its next
    // change counts from the weight it came to rest at (the scale's from_g then).
    if (this.visitsLateRest(c)) {
      board.raise(IDLE_SHELF_KIND, subject, this.settlingDetail(c), 'warning', { occurrence: true });
      return;
    }
    if (!this.before.has(c.slot)) this.before.set(c.slot, c.fromG);
    const net = c.toG - this.before.get(c.slot)!;
    if (Math.abs(net) <= this.deps.driftG) {
      this.before.delete(c.slot);
      if (board.isActive(IDLE_SHELF_KIND, subject)) board.clear(IDLE_SHELF_KIND, subject);
      return;
    }
    board.raise(IDLE_SHELF_KIND, subject, this.detail(c.slot, net, c.at), net < 0 ? 'critical' : 'warning', { occurrence: true });
  };

  private settlingDetail(c: IdleChange): string {
    const g = Math.round(Math.abs(c.toG - c.fromG));
    const way = c.toG < c.fromG ? { en: 'lighter', zh: '少了' } : { en: 'heavier', zh: '多了' };
    return `slot ${c.slot} came to rest ${g} g ${way.en} just after the visit ended (${new Date(c.at).toISOString()}), a slot that visit left moving: most likely the visit's own goods, on its review line (not_stable); if someone stayed in the store, check the camera; clear it by hand once settled / 顾客离店后货位 ${c.slot} 才稳定，${way.zh} ${g} 克：多半是该次购物本身（见其复核记录“重量未稳定”）；如有人滞留店内，请查看监控；查清后可手动解除`;
  }

  private detail(slot: string, net: number, at: number): string {
    let product: { sku: string; name: string; unitG: number } | undefined;
    try {
      const s = getSlot(this.deps.db(), slot);
      product = s?.sku ? getProduct(this.deps.db(), s.sku) : undefined;
    } catch {
      product = undefined; // the ledger cannot be read: the alarm still names the slot and the weight
    }
    const g = Math.round(Math.abs(net));
    const when = new Date(at).toISOString();
    const count = product ? Math.max(1, Math.round(Math.abs(net) / product.unitG)) : undefined;
    const what = product ? { en: ` (${product.name} ${product.sku}, ${product.unitG} g each): about ${count} item${count === 1 ? '' : 's'}`, zh: `（${product.name}，每件 ${product.unitG} 克）约 ${count} 件` } : { en: ' (no product bound)', zh: '（未绑定商品）' };
    const after = { en: 'check the camera and count the shelf; the alarm clears when the weight comes back, or clear it by hand once settled', zh: '请查看监控并清点货架；重量恢复后告警自动解除，查清后也可手动解除' };
    return net < 0
      ? `${g} g left slot ${slot}${what.en} with nobody in the store (last change ${when}), charged to nobody; ${after.en} / 无人时货位 ${slot} 少了 ${g} 克${what.zh}，未向任何人计费；${after.zh}`
      : `${g} g more on slot ${slot} than before${what.en.replace('about', 'the weight of about')} with nobody in the store (last change ${when}); ${after.en} / 无人时货位 ${slot} 多了 ${g} 克${what.zh.replace('约', '相当于约')}；${after.zh}`;
  }
}
