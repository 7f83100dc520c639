/**
 * The stores' control messages (presence, heartbeats) in bulk. The ledger handles what queued
 * up while it was busy as one turn (cloud-sync/ledger/service.ts): after every broker restart
 * some 50 stores each send a status, a heartbeat and a snapshot request at once, and one
 * statement and one signature per message, each a round trip to PostgreSQL or a commit of its
 * own on SQLite, kept the stores' rows waiting behind them. Here the stores a turn concerns are
 * read in one query (with their village's seq), and what their messages say is written in one
 * transaction of at most two statements.
 */
import type { SqlDb } from './sql.ts';
import type { Heartbeat } from '../protocol/payloads.ts';
import { storeRecordOf, type StoreRecord, type StoreRow } from './tables.ts';

export interface StoreAddr { village: string; store: string }

export const addrKey = (village: string, store: string): string => `${village}\u0000${store}`;

/** `(CAST($1 AS TEXT), …), (…)`: a VALUES list of `rows` tuples whose columns have these SQL types (both dialects). */
function typedValues(rows: number, types: readonly string[]): string {
  const w = types.length;
  return Array.from({ length: rows }, (_, r) => `(${types.map((t, c) => `CAST($${r * w + c + 1} AS ${t})`).join(', ')})`).join(', ');
}

/** The registered stores among `addrs` with their village's current seq, by `addrKey`; an unknown store is absent. */
export async function storesAt(db: SqlDb, addrs: Iterable<StoreAddr>): Promise<Map<string, StoreRecord & { villageSeq: number }>> {
  const uniq = new Map<string, StoreAddr>();
  for (const a of addrs) uniq.set(addrKey(a.village, a.store), a);
  const out = new Map<string, StoreRecord & { villageSeq: number }>();
  if (uniq.size === 0) return out;
  const list = [...uniq.values()];
  const rows = await db.query<StoreRow & { village_seq: number | string }>(
    `SELECT s.*, v.next_seq - 1 AS village_seq FROM stores s JOIN villages v ON v.id = s.village
     JOIN (VALUES ${typedValues(list.length, ['TEXT', 'TEXT'])}) AS w ON s.village = w.column1 AND s.id = w.column2`,
    list.flatMap((a) => [a.village, a.store]),
  );
  for (const r of rows) out.set(addrKey(r.village, r.id), { ...storeRecordOf(r), villageSeq: Number(r.village_seq) });
  return out;
}

/** What the ledger makes of one heartbeat, given the store as recorded and its village's seq. */
export interface HeartbeatReading {
  /** Since when the store is behind the stream (null: level). */
  behindSince: string | null;
  /** Behind for longer than the bound: counted, logged, and sent the stream (`behindSince` restarts now). */
  behindLong: boolean;
  /** It believes the ledger holds rows of it that the ledger does not (restored from an older backup). */
  ahead: boolean;
  /** It has applied village seqs the ledger has not handed out (restored from an older backup). */
  streamAhead: boolean;
}

export function readHeartbeat(rec: Pick<StoreRecord, 'behindSince' | 'contiguousSeq'>, villageSeq: number, hb: Heartbeat, now: Date, behindAfterMs: number): HeartbeatReading {
  let behindSince = hb.inbound_seq < villageSeq ? rec.behindSince ?? now.toISOString() : null;
  const behindLong = behindSince !== null && now.getTime() - Date.parse(behindSince) >= behindAfterMs;
  if (behindLong) behindSince = now.toISOString();
  return { behindSince, behindLong, ahead: hb.last_acked_seq > rec.contiguousSeq, streamAhead: hb.inbound_seq > villageSeq };
}

export interface HeartbeatRecord extends StoreAddr {
  hb: Pick<Heartbeat, 'at' | 'inbound_seq' | 'last_acked_seq' | 'outbox_pending'>;
  behindSince: string | null;
  /** How many of its heartbeats this turn found it behind for too long, or ahead. */
  heals: number;
}

export interface PresenceRecord extends StoreAddr { state: string }

/**
 * Each store's latest status and heartbeat (one of each per store: the caller folds several
 * into the last), in one transaction: one UPDATE … FROM (VALUES …) per kind, whatever the
 * number of stores.
 */
export async function recordControl(db: SqlDb, presence: PresenceRecord[], heartbeats: HeartbeatRecord[]): Promise<void> {
  if (presence.length === 0 && heartbeats.length === 0) return;
  await db.transaction(async (tx) => {
    if (presence.length > 0) {
      await tx.run(
        `UPDATE stores SET status = w.column3 FROM (VALUES ${typedValues(presence.length, ['TEXT', 'TEXT', 'TEXT'])}) AS w
         WHERE stores.village = w.column1 AND stores.id = w.column2`,
        presence.flatMap((p) => [p.village, p.store, p.state]),
      );
    }
    if (heartbeats.length > 0) {
      await tx.run(
        `UPDATE stores SET last_heartbeat = w.column3, inbound_seq = w.column4, last_acked_seq = w.column5, outbox_pending = w.column6,
           behind_since = w.column7, heals = heals + w.column8
         FROM (VALUES ${typedValues(heartbeats.length, ['TEXT', 'TEXT', 'TEXT', 'BIGINT', 'BIGINT', 'BIGINT', 'TEXT', 'BIGINT'])}) AS w
         WHERE stores.village = w.column1 AND stores.id = w.column2`,
        heartbeats.flatMap((h) => [h.village, h.store, h.hb.at, h.hb.inbound_seq, h.hb.last_acked_seq, h.hb.outbox_pending, h.behindSince, h.heals]),
      );
    }
  });
}

/** Every registered store with its village's current seq (the ledger's greeting when it connects). */
export async function everyStore(db: SqlDb): Promise<(StoreRecord & { villageSeq: number })[]> {
  const rows = await db.query<StoreRow & { village_seq: number | string }>(
    'SELECT s.*, v.next_seq - 1 AS village_seq FROM stores s JOIN villages v ON v.id = s.village ORDER BY s.village, s.id',
  );
  return rows.map((r) => ({ ...storeRecordOf(r), villageSeq: Number(r.village_seq) }));
}
