/**
 * Data access of the village ledger: plain functions taking the database (or a transaction)
 * first. Awards, registry changes and rebroadcast store entries are appended to the village
 * stream in the same transaction as the change, so the seq and the change never disagree.
 */
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { SqlDb } from './sql.ts';
import { villageCatalogue } from './catalogue.ts';
import { madeAtSql } from './store-time.ts';
import { checkers, type EntryBody, type Envelope, type EnvelopeKind, type SnapshotBody, type VillagerBody } from '../protocol/payloads.ts';
import { signEnvelope, type SigningKey } from '../protocol/sign.ts';
import { entrySignRefusal } from '../protocol/entry-sign.ts';

export interface Signer {
  key: SigningKey;
  /** How long an event stays valid; a store that gets it later asks for a snapshot. */
  lifetimeMs: number;
}

/** A new village; false (and nothing changed) when the id is taken already. */
export async function addVillage(db: SqlDb, id: string, name: string, at: string): Promise<boolean> {
  return (await db.run('INSERT INTO villages (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [id, name, at])) === 1;
}

/** The village's name, or undefined when there is no such village. */
export async function villageName(db: SqlDb, id: string): Promise<string | undefined> {
  return (await db.query<{ name: string }>('SELECT name FROM villages WHERE id = $1', [id]))[0]?.name;
}

async function requireVillage(db: SqlDb, id: string): Promise<void> {
  const r = await db.query('SELECT 1 AS one FROM villages WHERE id = $1', [id]);
  if (r.length === 0) throw new EdgeError(ErrorCode.NOT_FOUND, `no village ${id}`, { zh: `找不到村 ${id}` });
}

/** Take the next seq of the village stream, sign the event and record it. Inside a transaction. */
export async function appendEvent(tx: SqlDb, village: string, kind: Exclude<EnvelopeKind, 'rows' | 'snapshot'>, id: string, body: unknown, signer: Signer, now: Date): Promise<Envelope> {
  // Checked as every store will check it (cloud-sync/agent/inbound.ts): an event a store refuses
  // stops the village's stream there, and the snapshots that carry the same data with it.
  const checker = checkers[kind];
  if (!checker.Check(body)) {
    const first = [...checker.Errors(body)][0];
    const field = first?.path.split('/').filter(Boolean).at(-1) ?? kind;
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the ${kind} would be refused by the stores: ${first ? `${first.path || '/'}: ${first.message}` : 'it does not match its schema'}`, {
      zh: `该${kind === 'product' ? '商品' : kind === 'villager' ? '村民' : '记录'}信息不符合门店的格式要求（${field}），门店会拒收，未发布`,
      details: { field },
    });
  }
  // Beyond the schema: the sign of each entry's points (a penalty of 0 is refused at every store).
  const entries = kind === 'entry' ? [body as EntryBody] : kind === 'entries' ? (body as { entries: EntryBody[] }).entries : [];
  for (const e of entries) {
    const why = entrySignRefusal(e.kind, e.points);
    if (why !== undefined) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the ${kind} would be refused by the stores: entry ${e.id}: ${why}`, { zh: `记录 ${e.id} 的积分符号与类型不符（${e.kind} ${e.points}），门店会拒收，未发布`, details: { field: 'points' } });
  }
  const r = await tx.query<{ seq: number | string }>('UPDATE villages SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq - 1 AS seq', [village]);
  if (r.length === 0) throw new EdgeError(ErrorCode.NOT_FOUND, `no village ${village}`, { zh: `找不到村 ${village}` });
  const seq = Number(r[0]!.seq);
  const env = signEnvelope({ v: 1, id, kind, village, seq, issued_at: now.toISOString(), expires_at: new Date(now.getTime() + signer.lifetimeMs).toISOString(), body }, signer.key);
  await tx.run('INSERT INTO events (village, seq, id, kind, envelope) VALUES ($1, $2, $3, $4, $5)', [village, seq, id, kind, JSON.stringify(env)]);
  return env;
}

/**
 * The village stream moves on to at least `seq` (never back): for a ledger restored from an older
 * backup whose stores have applied seqs it hands out again. The seqs skipped hold no event, so
 * deltas across them fall back to a snapshot (`planDeltas`). Returns the village's seq now.
 * In the village's turn, as every writer of its `next_seq` (appendEvent's callers): outside it, on
 * PostgreSQL, the move landed inside a writer's transaction that had read the village already,
 * which then failed on a serialization error and ran again (tests/sync/stream-ahead-turn.test.ts).
 * Called outside any transaction (`db`, not a `tx`: the turn is taken here).
 */
export async function raiseVillageSeq(db: SqlDb, village: string, seq: number): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.run('UPDATE villages SET next_seq = $2 WHERE id = $1 AND next_seq < $2', [village, seq + 1]);
    return villageSeq(tx, village);
  }, { queue: [village] });
}

export async function villageSeq(db: SqlDb, village: string): Promise<number> {
  const r = await db.query<{ seq: number | string }>('SELECT next_seq - 1 AS seq FROM villages WHERE id = $1', [village]);
  return r.length === 0 ? 0 : Number(r[0]!.seq);
}

/**
 * What a villager's record was (undefined: a new one) and what it is now, told to the caller in the
 * change's transaction (the audit's step, governance/direct.ts), only when something changed.
 */
export type VillagerChange = (tx: SqlDb, was: Pick<VillagerBody, 'name' | 'status'> | undefined, now: Pick<VillagerBody, 'name' | 'status'>) => Promise<void>;

/**
 * A villager registered or changed. Without `status` a villager keeps theirs (a new one is
 * active): renaming a blocked villager must not unblock them here and, through the event, at
 * every store. Villager ids are unique across the town, so an id another village uses is
 * refused (409) without saying which village holds it. `changed`: told of a change (VillagerChange).
 */
export async function upsertVillager(db: SqlDb, given: Omit<VillagerBody, 'status'> & { status?: VillagerBody['status'] }, signer: Signer, now: Date, changed?: VillagerChange): Promise<Envelope> {
  return db.transaction(async (tx) => {
    await requireVillage(tx, given.village);
    const at = now.toISOString();
    const other = await tx.query<{ village: string; name: string; status: VillagerBody['status'] }>('SELECT village, name, status FROM villagers WHERE id = $1', [given.id]);
    if (other.length > 0 && other[0]!.village !== given.village) throw new EdgeError(ErrorCode.DUPLICATE_ID, `villager id ${given.id} is in use already; choose another`, { zh: `村民编号 ${given.id} 已被使用，请换一个编号` });
    const v: VillagerBody = { id: given.id, name: given.name, village: given.village, status: given.status ?? other[0]?.status ?? 'active' };
    await tx.run(
      `INSERT INTO villagers (id, village, name, status, created_at, updated_at, status_changed_at) VALUES ($1, $2, $3, $4, $5, $5, $5)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status, updated_at = excluded.updated_at,
         status_changed_at = CASE WHEN villagers.status = excluded.status THEN villagers.status_changed_at ELSE excluded.updated_at END`,
      [v.id, v.village, v.name, v.status, at],
    );
    if (v.status !== 'active') await endVillagerSessions(tx, v.id);
    if (changed && (other[0]?.name !== v.name || other[0]?.status !== v.status)) await changed(tx, other[0], v);
    return appendEvent(tx, v.village, 'villager', `villager:${v.id}:${at}`, v, signer, now);
  }, { queue: [given.village] });
}

/**
 * Ends every session of a villager (governance/auth.ts): a new PIN, a block or leaving the village
 * signs them out everywhere, as a new password or a disable does a staff account. Ended rather
 * than only refused while blocked, so an unblock does not bring an old session back. So do a new
 * one-time login code and the village office's sign-out (governance/login-codes.ts): a lost phone.
 * Answers how many ended.
 */
export async function endVillagerSessions(db: SqlDb, villager: string): Promise<number> {
  return db.run('DELETE FROM gov_sessions WHERE villager_id = $1', [villager]);
}

/**
 * A block or unblock by the village's command (service.ts): the status and, when blocked, the
 * sessions, together. A villager of another village (or none) is unknown here (404) and keeps
 * their status and sessions: villager ids are unique across the town, sessions are not per village.
 */
export async function setVillagerStatus(db: SqlDb, village: string, villager: string, status: 'active' | 'blocked', now: Date, changed?: VillagerChange): Promise<void> {
  await db.transaction(async (tx) => {
    const was = (await tx.query<{ name: string; status: VillagerBody['status'] }>('SELECT name, status FROM villagers WHERE id = $1 AND village = $2', [villager, village]))[0];
    // A block lifts nothing and an unblock brings nobody back: a villager who left stays left
    // (the door refuses them), as the store's admin page refuses any status change for them.
    const n = await tx.run("UPDATE villagers SET status = $1, updated_at = $2, status_changed_at = $2 WHERE id = $3 AND village = $4 AND status <> 'left'", [status, now.toISOString(), villager, village]);
    if (n === 0 && (await tx.query<{ status: string }>('SELECT status FROM villagers WHERE id = $1 AND village = $2', [villager, village]))[0]?.status === 'left') {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `villager ${villager} has left the village: a block or unblock does not apply to them (to bring them back, register them again with status active)`, {
        zh: `村民 ${villager} 已迁出，不能封禁或解封（如需恢复，请重新登记为正常状态）`,
        details: { status: 409, field: 'villager' },
      });
    }
    if (n === 0) throw new EdgeError(ErrorCode.UNKNOWN_VILLAGER, `no villager ${villager} in village ${village}`, { zh: `本村没有村民 ${villager}`, details: { field: 'villager' } });
    if (status !== 'active') await endVillagerSessions(tx, villager);
    if (changed && was && was.status !== status) await changed(tx, was, { name: was.name, status });
  });
}

export async function balanceOf(db: SqlDb, villagerId: string): Promise<number> {
  const r = await db.query<{ b: number | string }>('SELECT COALESCE(SUM(points), 0) AS b FROM entries WHERE villager_id = $1', [villagerId]);
  return Number(r[0]!.b);
}

export async function villagerOf(db: SqlDb, id: string): Promise<{ id: string; village: string; name: string; status: VillagerBody['status'] } | undefined> {
  return (await db.query<{ id: string; village: string; name: string; status: VillagerBody['status'] }>('SELECT id, village, name, status FROM villagers WHERE id = $1', [id]))[0];
}

export interface VillagerListing { id: string; name: string; status: string; balance: number }

/**
 * A village's villagers with their balances, by id, `limit` of them after the id `after` (a page
 * of a list that may hold thousands; the next page starts after the last id). One statement: the
 * balance is the sum of the villager's entries, as balanceOf.
 */
export async function listVillagers(db: SqlDb, village: string, opts: { status?: string; after?: string; limit: number }): Promise<VillagerListing[]> {
  const params: unknown[] = [village, opts.after ?? ''];
  const status = opts.status === undefined ? '' : `AND v.status = $${params.push(opts.status)}`;
  const rows = await db.query<{ id: string; name: string; status: string; balance: number | string }>(
    `SELECT v.id, v.name, v.status, COALESCE(SUM(e.points), 0) AS balance FROM villagers v LEFT JOIN entries e ON e.villager_id = v.id
     WHERE v.village = $1 AND v.id > $2 ${status} GROUP BY v.id, v.name, v.status ORDER BY v.id LIMIT $${params.push(opts.limit)}`,
    params,
  );
  return rows.map((r) => ({ id: r.id, name: r.name, status: r.status, balance: Number(r.balance) }));
}

async function insertEntry(tx: SqlDb, village: string, e: EntryBody, originStore: string | null, at: string): Promise<boolean> {
  const n = await tx.run(
    `INSERT INTO entries (id, village, villager_id, kind, points, reference, reason, origin_store, created_at, received_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
    [e.id, village, e.villager, e.kind, e.points, e.reference ?? null, e.reason ?? null, originStore, e.created_at, at],
  );
  return n === 1;
}

/** An award or penalty made at the ledger: one transaction with its event. Idempotent by id. */
export async function addLedgerEntry(db: SqlDb, village: string, e: EntryBody, signer: Signer, now: Date): Promise<{ event: Envelope | undefined }> {
  return db.transaction(async (tx) => {
    const v = await villagerOf(tx, e.villager);
    if (!v || v.village !== village) throw new EdgeError(ErrorCode.UNKNOWN_VILLAGER, `no villager ${e.villager} in village ${village}`, { zh: `本村没有村民 ${e.villager}` });
    if (!(await insertEntry(tx, village, e, null, now.toISOString()))) {
      // The same id again is the same award sent twice (a retry): nothing more to do. With other
      // content (another villager, kind or points, which covers another village's entry) it is a
      // different award under a taken id: refused, so that it is not lost as a "duplicate".
      const held = (await tx.query<{ villager_id: string; kind: string; points: number | string }>('SELECT villager_id, kind, points FROM entries WHERE id = $1', [e.id]))[0];
      if (held && (held.villager_id !== e.villager || held.kind !== e.kind || Number(held.points) !== e.points)) {
        throw new EdgeError(ErrorCode.DUPLICATE_ID, `entry id ${e.id} is in use already by another entry; choose another id`, { zh: `记录编号 ${e.id} 已被其他记录使用，请换一个编号` });
      }
      return { event: undefined };
    }
    return { event: await appendEvent(tx, village, 'entry', `entry:${e.id}`, e, signer, now) };
  }, { queue: [village] });
}

/** The village as it stands, and the stream seq it covers, read in one transaction. */
export async function villageSnapshot(db: SqlDb, village: string): Promise<{ seq: number; body: SnapshotBody }> {
  return db.transaction(async (tx) => {
    const seq = await villageSeq(tx, village);
    const villagers = await tx.query<VillagerBody>('SELECT id, name, village, status FROM villagers WHERE village = $1 ORDER BY id', [village]);
    // An entry of 0 points (a deduction at the floor that older stores sent up) moves no balance,
    // and stores of those versions refuse it: a snapshot that held it could never bring them level.
    const entries = await tx.query<EntryBody & { points: number | string }>(
      `SELECT id, villager_id AS villager, kind, points, reference, reason, ${madeAtSql(tx, '')} AS created_at FROM entries WHERE village = $1 AND points <> 0 ORDER BY seq`,
      [village],
    );
    const products = await villageCatalogue(tx, village);
    return { seq, body: { villagers, entries: entries.map((e) => ({ ...e, points: Number(e.points) })), ...(products.length > 0 ? { products } : {}) } };
  });
}

/** The village stream after `fromSeq` as published (signed envelopes, JSON text), at most `limit` events. */
export async function eventsAfter(db: SqlDb, village: string, fromSeq: number, limit: number): Promise<{ seq: number; envelope: string }[]> {
  const rows = await db.query<{ seq: number | string; envelope: string }>('SELECT seq, envelope FROM events WHERE village = $1 AND seq > $2 ORDER BY seq LIMIT $3', [village, fromSeq, limit]);
  return rows.map((r) => ({ seq: Number(r.seq), envelope: r.envelope }));
}

export interface StoreRecord {
  village: string; id: string; keyId: string; publicKey: string; contiguousSeq: number; gaps: number; status: string | null; lastHeartbeat: string | null;
  /** From the store's last heartbeat (null before the first). */
  inboundSeq: number | null; lastAckedSeq: number | null; outboxPending: number | null;
  /** Since when its heartbeats show it behind the village stream (null while level). */
  behindSince: string | null;
  /** How often the ledger found it behind, or ahead of what the ledger holds, and sent it the stream. */
  heals: number;
}

export async function registerStore(db: SqlDb, village: string, id: string, keyId: string, publicKey: string): Promise<void> {
  await requireVillage(db, village);
  await db.run(
    `INSERT INTO stores (village, id, key_id, public_key) VALUES ($1, $2, $3, $4)
     ON CONFLICT (village, id) DO UPDATE SET key_id = excluded.key_id, public_key = excluded.public_key`,
    [village, id, keyId, publicKey],
  );
}

/** A `stores` row as the database returns it. */
export interface StoreRow {
  village: string; id: string; key_id: string; public_key: string; contiguous_seq: number | string; gaps: number | string; status: string | null; last_heartbeat: string | null;
  inbound_seq: number | string | null; last_acked_seq: number | string | null; outbox_pending: number | string | null; behind_since: string | null; heals: number | string;
}

export function storeRecordOf(r: StoreRow): StoreRecord {
  const num = (v: number | string | null) => (v === null ? null : Number(v));
  return {
    village: r.village, id: r.id, keyId: r.key_id, publicKey: r.public_key, contiguousSeq: Number(r.contiguous_seq), gaps: Number(r.gaps), status: r.status, lastHeartbeat: r.last_heartbeat,
    inboundSeq: num(r.inbound_seq), lastAckedSeq: num(r.last_acked_seq), outboxPending: num(r.outbox_pending), behindSince: r.behind_since, heals: Number(r.heals),
  };
}

export async function listStores(db: SqlDb, village?: string): Promise<StoreRecord[]> {
  const rows = await db.query<StoreRow>(
    `SELECT * FROM stores ${village ? 'WHERE village = $1' : ''} ORDER BY village, id`,
    village ? [village] : [],
  );
  return rows.map(storeRecordOf);
}
