/**
 * A villager's status as the village decides it, applied at this store: from a `villager` event,
 * a `block`/`unblock` command or a snapshot (cloud-sync/agent/inbound.ts, ./snapshot.ts). The
 * village ledger decides by time, the latest decision wins (cloud-sync/ledger/store-status.ts),
 * and the store follows the same rule, so that both end with the same status whatever order a
 * store that was offline learns of the decisions in.
 *
 * - The village's decision is applied as the village's: it writes no outbox row. Sent back up,
 *   stamped with the time this store applied it, an old decision replayed by a store catching up
 *   would be the newest at the ledger and undo every decision made since, at every store.
 * - A status changed here that the ledger has not acknowledged yet was decided at the time of its
 *   outbox row. It stands against a village decision made before it (the ledger will take it as
 *   the newer one and publish it), and yields to one made after it (the ledger keeps its own and
 *   publishes nothing more: standing, it would never be undone). A stricter village status
 *   (blocked or left against an active one here) is applied all the same: it keeps the villager
 *   out until the ledger has decided.
 */
import { cachedStatement, type Db } from './db.ts';
import type { VillagerStatus } from './villagers.ts';

/** The latest status change made here that the ledger has not acknowledged yet, per villager (one pass over the pending outbox). */
export function pendingStatusChanges(db: Db): Map<string, { status: VillagerStatus; at: string }> {
  const rows = cachedStatement(db,
    `SELECT json_extract(payload, '$.id') AS id, json_extract(payload, '$.status') AS status, created_at AS at FROM outbox
     WHERE acked_at IS NULL AND topic = 'villager' AND json_extract(payload, '$.op') = 'status' ORDER BY seq`,
  ).all() as { id: string; status: VillagerStatus; at: string }[];
  return new Map(rows.map((r) => [r.id, { status: r.status, at: r.at }]));
}

/** The same for one villager. */
export function pendingStatusChange(db: Db, id: string): { status: VillagerStatus; at: string } | undefined {
  return cachedStatement(db,
    `SELECT json_extract(payload, '$.status') AS status, created_at AS at FROM outbox
     WHERE acked_at IS NULL AND topic = 'villager' AND json_extract(payload, '$.op') = 'status' AND json_extract(payload, '$.id') = ? ORDER BY seq DESC LIMIT 1`,
  ).get(id) as { status: VillagerStatus; at: string } | undefined;
}

/**
 * Whether the village's `status`, decided at `villageAt` (undefined: a time not known, as from an
 * older caller), replaces the status here, given the change made here still pending (if any).
 */
export function villageStatusWins(status: VillagerStatus, pending: { status: VillagerStatus; at: string } | undefined, villageAt: string | undefined): boolean {
  if (pending === undefined) return true;
  if (status !== 'active' && pending.status === 'active') return true;
  return villageAt !== undefined && Date.parse(villageAt) > Date.parse(pending.at);
}

/**
 * The village's `block`/`unblock` of a villager, decided at `villageAt`: applied under the rule
 * above, with no outbox row, except to a villager who left. Returns what became of it.
 */
export function applyVillageCommand(db: Db, id: string, status: 'active' | 'blocked', villageAt: string, at: string): 'applied' | 'unchanged' | 'kept-local' | 'left' | 'unknown' {
  const current = cachedStatement(db, 'SELECT status FROM villagers WHERE id = ?').pluck().get(id) as VillagerStatus | undefined;
  if (current === undefined) return 'unknown';
  // A block or unblock never brings back a villager who left (the village ledger refuses one; an
  // older ledger published it): the door would admit them to spend what they still hold.
  if (current === 'left') return 'left';
  if (!villageStatusWins(status, pendingStatusChange(db, id), villageAt)) return 'kept-local';
  if (current === status) return 'unchanged';
  cachedStatement(db, 'UPDATE villagers SET status = ?, status_changed_at = ?, updated_at = ? WHERE id = ?').run(status, at, at, id);
  return 'applied';
}
