/**
 * The store's side of the sync with the village ledger, as far as the local ledger holds it:
 * the last village-stream seq applied, the last contact with the ledger, and the points a
 * villager has taken here that the ledger has not yet acknowledged (the offline risk), and since
 * when the store has been behind the village stream.
 * Kept in the `meta` table, so no schema change.
 */
import { zoneDayStart } from '../../lib/zone-time.ts';
import type { Db } from './db.ts';
import { getMeta, setMeta } from './meta.ts';

const INBOUND_SEQ = 'sync.inbound_seq';
const LAST_CONTACT = 'sync.last_contact_at';

/** The last seq of the village stream applied here (0: never synced). */
export function inboundSeq(db: Db): number {
  return Number(getMeta(db, INBOUND_SEQ) ?? 0);
}

/** Call inside the transaction that applied the message, so the two never disagree. */
export function setInboundSeq(db: Db, seq: number): void {
  setMeta(db, INBOUND_SEQ, String(seq));
}

export function lastContact(db: Db): string | undefined {
  return getMeta(db, LAST_CONTACT);
}

export function touchContact(db: Db, at: string): void {
  setMeta(db, LAST_CONTACT, at);
}

const ACK_DIGESTS = 'sync.ack_digests';

/**
 * Whether the village ledger has sent this store acks with row digests. From then on an ack
 * without them is not the ledger's word now: a recorded ack of an older ledger published again,
 * which names rows by seq only and, after a restore, would mark a new row of that seq
 * (cloud-sync/agent/rows.ts `ackedSeqs`). A ledger put back to an older version still has its
 * rows marked, by its beats.
 */
export function ackDigestsSeen(db: Db): boolean {
  return getMeta(db, ACK_DIGESTS) === '1';
}

/** An ack with digests came (inside the transaction that records it). */
export function noteAckDigests(db: Db): void {
  if (!ackDigestsSeen(db)) setMeta(db, ACK_DIGESTS, '1');
}

const BEHIND = 'sync.behind';

/**
 * A village seq a beat announced that the store had not reached, and when (the store's time):
 * the store is behind the stream since then until its inbound seq reaches it.
 */
export function behindMark(db: Db): { seq: number; since: string } | undefined {
  const v = getMeta(db, BEHIND);
  const [seq, since] = (v ?? '').split(' ');
  return seq && since ? { seq: Number(seq), since } : undefined;
}

/**
 * A beat said the village stream stands at `villageSeq` (received at `at`). A mark the store
 * has reached is cleared; with none left and the store below `villageSeq`, the mark becomes
 * `villageSeq` since `at`. So a store that keeps up (each announced seq reached before the next
 * beat) is never behind for long, and one that cannot apply the stream is behind since the first
 * beat it did not catch up with. Returns whether it wrote.
 */
export function noteVillageSeq(db: Db, villageSeq: number, at: string): boolean {
  const inbound = inboundSeq(db);
  const mark = behindMark(db);
  if (mark && inbound < mark.seq) return false;
  if (villageSeq > inbound) setMeta(db, BEHIND, `${villageSeq} ${at}`);
  else if (mark) setMeta(db, BEHIND, '');
  else return false;
  return true;
}

/**
 * `touchContact`, unless the contact on record is from less than `grainMs` before `at`: a
 * commit of its own waits for the disk, and word from the ledger comes in clusters. The record
 * is then at most `grainMs` older than the truth, so the store counts itself offline that much
 * sooner, never later. A record after `at` (a clock set back) is overwritten. Returns whether
 * it wrote.
 */
export function touchContactEvery(db: Db, at: string, grainMs: number): boolean {
  const last = lastContact(db);
  const age = last === undefined ? Number.NaN : Date.parse(at) - Date.parse(last);
  if (age >= 0 && age < grainMs) return false;
  touchContact(db, at);
  return true;
}

/**
 * Points the villager took from this store on the calendar day of `at` in the store's time zone
 * (`timeZone`, `jobs.timezone`; the system's when undefined) that the ledger has not yet
 * acknowledged: derived from the outbox itself, so nothing extra has to be written at
 * settlement and an acknowledgement lowers it without bookkeeping. What counts is what left the
 * store: each purchase's redemption and review charges (and any other redemption), less the
 * refunds of that purchase among the rows counted, never below 0 a purchase (a refund of a
 * purchase not counted, acknowledged or of an earlier day, gives nothing back). A debt repaid
 * here (`debt:<entry>`) is not counted: it pays for goods counted on the day they were taken.
 * With `blindSince` (the store behind the village stream since then), what was taken here since
 * counts acknowledged or not: the ledger has it, but this store cannot see what the villager
 * spent elsewhere, so an acknowledgement must not hand the allowance back.
 */
export function unconfirmedSpendToday(db: Db, villagerId: string, at: string, blindSince?: string, timeZone?: string): number {
  // the village's day, not UTC's: in China a UTC day would start afresh at 08:00
  const dayStart = zoneDayStart(new Date(at), timeZone).toISOString();
  return db
    .prepare(
      `WITH counted AS (
         SELECT json_extract(payload, '$.kind') AS kind, json_extract(payload, '$.points') AS points,
                COALESCE(json_extract(payload, '$.reference'), '') AS ref
         FROM outbox
         WHERE (acked_at IS NULL OR created_at >= ?) AND topic = 'entry' AND created_at >= ?
           AND json_extract(payload, '$.villager') = ? AND json_extract(payload, '$.kind') IN ('redemption', 'refund')
       ), taken AS (
         -- a settlement's redemption refers to session:<id>, a review charge and a refund to <id>
         SELECT CASE WHEN ref LIKE 'session:%' THEN substr(ref, 9) ELSE ref END AS purchase, -points AS n
         FROM counted WHERE kind = 'redemption' AND ref NOT LIKE 'debt:%'
       ), given AS (
         SELECT ref AS purchase, -points AS n FROM counted
         WHERE kind = 'refund' AND ref <> '' AND ref IN (SELECT purchase FROM taken)
       )
       SELECT COALESCE(SUM(MAX(0, n)), 0) FROM (
         SELECT SUM(n) AS n FROM (SELECT purchase, n FROM taken UNION ALL SELECT purchase, n FROM given) GROUP BY purchase
       )`,
    )
    .pluck()
    .get(blindSince ?? null, dayStart, villagerId) as number;
}

export interface OfflineLimit {
  /** Points per villager per day a store may let be spent while the ledger is out of reach. */
  dailyLimit: number;
  /**
   * The ledger counts as out of reach once it has been silent this long, and so does a store
   * that has been behind the village stream this long (it cannot read what other stores sell).
   */
  offlineAfterS: number;
  /**
   * How far the last contact may lie after now and still count (`sync.clock_skew_s`): one later
   * than that was stamped by a clock since set back, and counts as no contact. Default 0.
   */
  clockSkewS?: number;
  /** The store's IANA time zone (`jobs.timezone`), whose calendar day the limit counts; the system's when undefined. */
  timeZone?: string;
}

/**
 * How many points the villager may still spend here now: unbounded (Infinity) while the
 * ledger is in reach (a contact from less than `offlineAfterS` ago, not later than now beyond the
 * skew, not behind the stream for `offlineAfterS`, and no row of its own unacknowledged that long:
 * `unackedTooLong`), else the daily limit minus what is still unconfirmed today (behind the
 * stream: also what was redeemed here since it fell behind, acknowledged or not). This is the
 * hook the door and the settlement consult; it bounds a double spend across two stores.
 */
export function offlineAllowance(db: Db, villagerId: string, limit: OfflineLimit, now: Date): number {
  const contact = lastContact(db);
  const age = contact === undefined ? Number.NaN : now.getTime() - Date.parse(contact);
  // A contact from the future (beyond the skew) was stamped by a clock that ran ahead: none.
  const skewMs = (limit.clockSkewS ?? 0) * 1000;
  const online = age >= -skewMs && age < limit.offlineAfterS * 1000;
  const afterMs = limit.offlineAfterS * 1000;
  const blindSince = behindSince(db, afterMs, skewMs, now);
  if (online && blindSince === undefined && !unackedTooLong(db, afterMs, skewMs, now)) return Number.POSITIVE_INFINITY;
  return Math.max(0, limit.dailyLimit - unconfirmedSpendToday(db, villagerId, now.toISOString(), blindSince, limit.timeZone));
}

/** When the oldest row the ledger has not acknowledged was written (the store's time); null: none. */
export function oldestUnacked(db: Db): string | null {
  return db.prepare('SELECT MIN(created_at) FROM outbox WHERE acked_at IS NULL').pluck().get() as string | null;
}

/**
 * A row of this store the ledger has not acknowledged for `afterMs` or more (or written later
 * than now beyond the skew: its age is unknown). Contact alone is not enough: a store whose clock
 * runs ahead of the ledger's beyond the skew has every batch it signs refused as issued in the
 * future while the ledger's beats and stream still reach it; the ledger never learns what was
 * spent here.
 */
export function unackedTooLong(db: Db, afterMs: number, skewMs: number, now: Date): boolean {
  const oldest = oldestUnacked(db);
  return oldest !== null && !ageWithin(now.getTime() - Date.parse(oldest), afterMs, skewMs);
}

/** An age not beyond the skew in the future and under `afterMs`. */
export function ageWithin(age: number, afterMs: number, skewMs: number): boolean {
  return age >= -skewMs && age < afterMs;
}

/**
 * Since when the store has been behind the stream, if for `afterMs` or more (or since a time
 * later than now beyond the skew: unknown, so since '' — the whole day); undefined: not behind.
 */
function behindSince(db: Db, afterMs: number, skewMs: number, now: Date): string | undefined {
  const mark = behindMark(db);
  if (!mark || inboundSeq(db) >= mark.seq) return undefined;
  const age = now.getTime() - Date.parse(mark.since);
  if (age >= -skewMs && age < afterMs) return undefined;
  return age < 0 ? '' : mark.since;
}

const ROLLED_BACK = 'sync.outbox_rolled_back_at_seq';

/**
 * The ledger file was put back to an earlier copy (`store-edge restore`) whose outbox had
 * handed out seqs up to `seq`: the village ledger may hold rows above it under the same ids.
 * Until a beat from the ledger settles it, rows above `seq` must not go out (edge/ledger/backup.ts
 * records it, cloud-sync/agent/rollback.ts settles it).
 */
export function outboxRolledBackAt(db: Db): number | undefined {
  const v = getMeta(db, ROLLED_BACK);
  return v === undefined || v === '' ? undefined : Number(v);
}

export function setOutboxRolledBack(db: Db, seq: number | undefined): void {
  setMeta(db, ROLLED_BACK, seq === undefined ? '' : String(seq));
}

const RESYNC = 'sync.resync_wanted';

/** Why the store wants the village whole: a `resync` command, a forked stream, an event it cannot apply, or a snapshot applied in part. */
export type ResyncWhy = 'command' | 'fork' | 'unappliable' | 'partial-snapshot';

/**
 * The store wants the village whole (a snapshot, never deltas) since it stood at `seq`, and why;
 * undefined: it does not. Kept across a restart (cloud-sync/agent/catch-up.ts asks again at
 * start): deltas replay only the stream after the store's seq, and what it is missing lies below.
 * While it is marked, the stream waits for the snapshot (held: cloud-sync/agent/inbound.ts). A
 * snapshot applied in slices marks it too, also one that only fills a gap, for which deltas would
 * do: the ledger would send that store a snapshot again anyway (docs/sync-stream.md, "Applied in slices").
 */
export function resyncWanted(db: Db): { seq: number; why: ResyncWhy } | undefined {
  const v = getMeta(db, RESYNC);
  return v ? (JSON.parse(v) as { seq: number; why: ResyncWhy }) : undefined;
}

/**
 * Call inside the transaction of whatever makes the resync wanted (the command's seq, the first
 * slice of a snapshot), so that the two are never apart. A mark already there keeps its reason
 * and takes the higher seq.
 */
export function noteResyncWanted(db: Db, seq: number, why: ResyncWhy): void {
  const had = resyncWanted(db);
  if (had && had.seq >= seq) return;
  setMeta(db, RESYNC, JSON.stringify({ seq, why: had?.why ?? why }));
}

/**
 * A whole snapshot is in (inside its last transaction, with the seq it moves to): the mark is
 * cleared, whatever seq it was set at. The store is then level with the village as the ledger
 * holds it at that snapshot's seq, and the stream carries it on from there. A mark set higher
 * (the first slice of a snapshot at 200, killed; the ledger then restored from a backup at 150)
 * kept would ask for a snapshot that cannot come, once each answer, for as long as the village
 * takes to reach it (review of 8650c9b).
 */
export function clearResyncWanted(db: Db): void {
  if (resyncWanted(db)) setMeta(db, RESYNC, '');
}
