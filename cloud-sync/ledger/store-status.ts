/**
 * A villager's status changed at a store (a maintainer blocked, unblocked or marked a villager
 * as left: `store-edge villagers status`, the admin page), applied at the village ledger and
 * sent on the village stream, so every store of the village follows and the next snapshot says
 * the same. Without this the ledger kept the row and went on calling the villager active: the
 * next snapshot undid the store's own block.
 *
 * The latest decision wins: a change made at the store before the villager's status last
 * changed (by its time, the row's `created_at` against `status_changed_at`; a rename or a first
 * entry does not count) is kept in acked_ids but not applied, so an offline store's old unblock
 * does not undo a block made since.
 *
 * A row stamped beyond the ledger's receive time plus the allowed clock skew was written while
 * the store's clock ran ahead: when it was really made is unknown, only that it was not after it
 * arrived. Its time is capped at the receive time, and against a status the ledger has changed
 * it applies only if it is the stricter (it keeps the villager out, as a store does with a
 * snapshot: edge/ledger/snapshot.ts), so a village's block made while that store was offline
 * stands, and a future stamp cannot shut out the decisions made after it.
 *
 * A villager who left stays left, whatever the row's time: a store's block or unblock (made at a
 * store that had not heard yet, or about something else) is kept but not applied, as the
 * ledger's own block/unblock command refuses one (tables.ts setVillagerStatus) and a store
 * refuses the village's (edge/ledger/village-status.ts). Only the village's registry brings a
 * villager back.
 */
import type { SqlDb } from './sql.ts';
import type { Envelope, VillagerBody, WireStatus } from '../protocol/payloads.ts';
import { appendEvent, endVillagerSessions, type Signer } from './tables.ts';
import { DEFAULT_SKEW_MS } from '../protocol/clock.ts';
import { beyondSkew, storeTime } from './store-time.ts';

export interface StatusRow extends WireStatus {
  /** The batch it came in (its results get the events). */
  batch: number;
  village: string;
  store: string;
  seq: number;
  createdAt: string;
}

/** Applies the rows in order; returns the events to publish and the rows not applied (another village's villager, or one who left). */
export async function applyStoreStatus(tx: SqlDb, rows: readonly StatusRow[], signer: Signer, now: Date, skewMs = DEFAULT_SKEW_MS): Promise<{ events: Envelope[]; otherVillage: StatusRow[]; left: StatusRow[] }> {
  const events: Envelope[] = [];
  const otherVillage: StatusRow[] = [];
  const left: StatusRow[] = [];
  const at = now.toISOString();
  for (const r of rows) {
    // Stamped in the ledger's future (beyond the skew): its order against the ledger's decisions is unknown.
    const future = beyondSkew(r.createdAt, now, skewMs);
    const decidedAt = storeTime(r.createdAt, now, skewMs);
    const v = (await tx.query<{ name: string; village: string; status: VillagerBody['status']; status_changed_at: string | null }>('SELECT name, village, status, status_changed_at FROM villagers WHERE id = $1', [r.id]))[0];
    if (v && v.village !== r.village) {
      otherVillage.push(r);
      continue;
    }
    if (v?.status === 'left' && r.status !== 'left') {
      left.push(r);
      continue;
    }
    if (v && (v.status === r.status || (v.status_changed_at !== null && (future ? !stricter(r.status, v.status) : r.createdAt < v.status_changed_at)))) continue;
    // A villager the ledger has not heard of yet (registered at the store): known from now on, as from a first entry.
    if (!v) await tx.run('INSERT INTO villagers (id, village, name, status, created_at, updated_at, status_changed_at) VALUES ($1, $2, $3, $4, $5, $5, $6)', [r.id, r.village, r.id, r.status, at, decidedAt]);
    else await tx.run('UPDATE villagers SET status = $1, updated_at = $2, status_changed_at = $3 WHERE id = $4', [r.status, at, decidedAt, r.id]);
    if (r.status !== 'active') await endVillagerSessions(tx, r.id);
    const body: VillagerBody = { id: r.id, name: v?.name ?? r.id, village: r.village, status: r.status };
    events.push(await appendEvent(tx, r.village, 'villager', `villager:${r.id}:${r.store}:${r.seq}`, body, signer, now));
  }
  return { events, otherVillage, left };
}

/** `a` keeps the villager out where `b` lets them in (blocked or left, against active). */
function stricter(a: VillagerBody['status'], b: VillagerBody['status']): boolean {
  return a !== 'active' && b === 'active';
}
