/**
 * The village ledger's answers to the stores' presence and heartbeats (cloud-sync/ledger/service.ts
 * hands over each turn's; cloud-sync/ledger/control.ts reads and writes them in bulk): a beat for
 * every heartbeat, the stream for a store behind it too long, and a greeting beat for every store
 * when the ledger (re)connects.
 */
import type { Logger } from '../../edge/log.ts';
import type { Beat, Heartbeat } from '../protocol/payloads.ts';
import type { RefusalCounter } from '../protocol/refusals.ts';
import { checkControl, publicEd25519, signControl, type SigningKey } from '../protocol/sign.ts';
import { storeTopic } from '../protocol/topics.ts';
import { addrKey, everyStore, readHeartbeat, recordControl, storesAt, type HeartbeatRecord, type PresenceRecord } from './control.ts';
import type { SqlDb } from './sql.ts';
import { raiseVillageSeq } from './tables.ts';
import { MissingRowsTracker } from './missing-rows.ts';

export { MissingRowsTracker };

export interface HeartbeatDeps {
  db: SqlDb;
  key: SigningKey;
  clock: () => Date;
  log: Logger;
  refusals: RefusalCounter;
  counters: { behind: number; ahead: number };
  /** A store whose heartbeats show it behind the stream for this long is sent the stream. */
  behindAfterMs: number;
  /** Publishes in order, pipelined (cloud-sync/ledger/outgoing.ts). */
  send: (topic: string, payload: string) => Promise<void>;
  /** Sends a store the stream after `from` (deltas or a snapshot), through the per-store budget of snapshot requests. */
  catchUp: (village: string, store: string, from: number) => Promise<void>;
  /** Stores missing rows they had acknowledged (./missing-rows.ts): raised once, cleared when the rows arrive. */
  missing?: MissingRowsTracker;
}

/**
 * The turn's presence and heartbeats, recorded in one transaction, then each heartbeat
 * answered with a beat in arrival order. The stores are read after the turn's rows were
 * applied, so `contiguous_seq` includes them. A store behind the stream for too long is sent
 * it; one that believes the ledger holds rows that it does not (a ledger restored from an
 * older backup) resends them when it reads the beat (cloud-sync/agent).
 */
export async function answerHeartbeats(d: HeartbeatDeps, presence: PresenceRecord[], heartbeats: { village: string; store: string; hb: Heartbeat }[]): Promise<void> {
  const recs = await storesAt(d.db, heartbeats);
  const now = d.clock();
  const records = new Map<string, HeartbeatRecord>();
  const beats: { village: string; store: string; beat: Beat }[] = [];
  const heal: { village: string; store: string; from: number }[] = [];
  for (const { village, store, hb } of heartbeats) {
    const k = addrKey(village, store);
    const rec = recs.get(k);
    if (!rec) {
      d.refusals.add('invalid');
      continue;
    }
    // Signed by the store's registered key, or unsigned (a store older than the field; a forger
    // on its topic): only a signed one may move the village stream. A bad signature is refused.
    const bad = hb.sig === undefined ? 'unsigned' : checkControl(hb, { village, store }, new Map([[rec.keyId, publicEd25519(rec.publicKey)]]));
    if (bad === 'forged') {
      d.refusals.add('forged');
      d.log.warn({ village, store }, 'heartbeat with a signature that is not the store\'s refused / 心跳签名与门店密钥不符，已拒收');
      continue;
    }
    const r = readHeartbeat(rec, rec.villageSeq, hb, now, d.behindAfterMs);
    rec.behindSince = r.behindSince; // a second heartbeat of this store in the turn reads on from the first
    if (r.behindLong) {
      d.counters.behind++;
      d.log.warn({ village, store, inbound_seq: hb.inbound_seq, village_seq: rec.villageSeq }, 'store is behind the village stream; sending it the stream / 门店落后于村数据流，正在补发');
      heal.push({ village, store, from: hb.inbound_seq });
    }
    if (r.streamAhead && bad === 'unsigned') {
      // Unsigned word moves nothing village-wide: counted and logged (a store older than signed
      // heartbeats, under a restored ledger, is healed once it is updated, or by a resync).
      d.refusals.add('unsigned');
      d.log.warn({ village, store, inbound_seq: hb.inbound_seq, village_seq: rec.villageSeq }, 'unsigned heartbeat claims the store is ahead of the village stream; the stream is not moved / 未签名的心跳声称门店领先于村数据流；数据流不变');
    } else if (r.streamAhead) {
      // The ledger was restored from an older backup: the seqs it hands out again are ones this
      // store applied already, and it would refuse every new event as replayed. The stream moves
      // past what the store holds, and the store is sent the village as it stands (a snapshot:
      // no deltas cross the skipped seqs). Counted once the move is committed: whoever reads the
      // counter (a test, /metrics) may read the stream's new seq at once.
      d.log.error({ village, store, inbound_seq: hb.inbound_seq, village_seq: rec.villageSeq }, 'store has applied village events the ledger has not handed out (the ledger restored from an older backup?); moving the stream past them and sending the store a snapshot / 门店已应用村账本尚未发出的事件（村账本是否从旧备份恢复？）；数据流序号跳过这些事件，并向门店发送快照');
      rec.villageSeq = await raiseVillageSeq(d.db, village, hb.inbound_seq + 1);
      d.counters.ahead++;
      for (const other of recs.values()) if (other.village === village) other.villageSeq = rec.villageSeq;
      heal.push({ village, store, from: hb.inbound_seq });
    }
    if (r.ahead) {
      // The beat's contiguous_seq has the store send them again; the status says so once (not a log line every heartbeat).
      d.counters.ahead++;
      if (d.missing) await d.missing.ahead(d.db, d.log, village, store, hb.last_acked_seq, rec.contiguousSeq, now);
      else d.log.error({ village, store, last_acked_seq: hb.last_acked_seq, contiguous_seq: rec.contiguousSeq }, 'store has acknowledged rows the ledger does not hold; asking it to resend / 门店已确认的记录村账本没有，要求重发');
    } else d.missing?.level(d.log, village, store, rec.contiguousSeq);
    const heals = (records.get(k)?.heals ?? 0) + (r.behindLong || r.ahead || r.streamAhead ? 1 : 0);
    records.set(k, { village, store, hb, behindSince: r.behindSince, heals });
    beats.push({ village, store, beat: signControl({ village_seq: rec.villageSeq, contiguous_seq: rec.contiguousSeq, reason: 'heartbeat', answers: hb.at }, { village, store }, d.key) });
  }
  await recordControl(d.db, presence, [...records.values()]);
  for (const b of beats) await d.send(storeTopic(b, 'down/beat'), JSON.stringify(b.beat));
  for (const h of heal) await d.catchUp(h.village, h.store, h.from);
}

/** Every store the ledger knows gets a beat (reason `online`): what it sent while the ledger was away went nowhere. */
export async function greetStores(d: HeartbeatDeps): Promise<void> {
  for (const s of await everyStore(d.db)) {
    const beat: Beat = signControl({ village_seq: s.villageSeq, contiguous_seq: s.contiguousSeq, reason: 'online' }, { village: s.village, store: s.id }, d.key);
    await d.send(storeTopic({ village: s.village, store: s.id }, 'down/beat'), JSON.stringify(beat));
  }
}
