/**
 * The outbox drain of the sync agent (./agent.ts): rows sent to the village ledger in seq order,
 * one signed batch at a time, what is in flight and when it goes again (with backoff, once it is
 * known lost), and rows the ledger lost after acknowledging them sent again. The agent tells it
 * what the ledger's acks and beats say (`inflight`, `ackedSendNo`, `beatSeen`, …).
 */
import type { Db } from '../../edge/ledger/db.ts';
import { pendingOutbox, pendingOutboxAfter, type OutboxRow } from '../../edge/ledger/outbox.ts';
import type { Clock } from '../../edge/ledger/time.ts';
import type { Logger } from '../../edge/log.ts';
import type { SyncMqtt } from '../mqtt.ts';
import type { SigningKey } from '../protocol/sign.ts';
import { storeTopic, type StoreAddress } from '../protocol/topics.ts';
import { trace } from '../trace.ts';
import type { SyncConfig } from './config.ts';
import type { FirstBeat } from './rollback.ts';
import { anyDue, highestInFlight, rowsMessage, sendRows, type InFlight } from './rows.ts';

export interface RowSenderDeps {
  db: () => Db;
  config: SyncConfig;
  address: StoreAddress;
  log: Logger;
  clock: Clock;
  /** The agent's counters: `sent` and `resent` move here. */
  counters: { sent: number; resent: number };
  mqtt: () => SyncMqtt | undefined;
  key: () => SigningKey | undefined;
  /** Nothing goes out before a beat after a restore, or for a while from a store that never heard from the ledger (./rollback.ts). */
  firstBeat: () => FirstBeat | undefined;
}

export class RowSender {
  readonly inflight = new Map<number, InFlight>();
  /** Seqs handed to the client, not yet in `inflight`. */
  readonly sending = new Set<number>();
  /** The ledger answers heartbeats: its beats, not silence, say which rows were lost. */
  beatSeen = false;
  /** Batches are numbered as sent; the ledger handles them in order, so an ack for a later one means an earlier one was lost. */
  sendNo = 0;
  ackedSendNo = 0;
  /** The last send before this connection if the broker lost our session (and the ledger's with it); else 0. */
  lostWithSession = 0;
  lastAckAt = 0;
  private draining = false;

  constructor(private readonly deps: RowSenderDeps) {}

  /** Rows the ledger lost after acknowledging them: sent again as they are, not tracked in flight. */
  async resend(rows: OutboxRow[]): Promise<void> {
    const mqtt = this.deps.mqtt();
    const key = this.deps.key();
    if (!mqtt?.connected || !key || rows.length === 0) return;
    this.deps.log.warn({ from: rows[0]!.seq, to: rows[rows.length - 1]!.seq }, 'the ledger lacks rows it acknowledged; sending them again / 村账本缺少已确认的记录，重新发送');
    this.deps.counters.resent += rows.length;
    await sendRows(mqtt, this.deps.address, key, rows, this.deps.config.batch_size, this.deps.clock().getTime());
  }

  /** Send due rows in seq order, one signed batch at a time, while the broker takes them. */
  async drain(): Promise<void> {
    const mqtt = this.deps.mqtt();
    const key = this.deps.key();
    if (this.draining || !mqtt?.connected || !key || this.deps.firstBeat()?.waiting(this.deps.clock().getTime(), this.deps.config.retransmit_max_ms)) return;
    this.draining = true;
    try {
      const c = this.deps.config;
      const db = this.deps.db();
      const now = this.deps.clock().getTime();
      // A row goes again once its backoff has passed and it is known lost: a later batch was
      // acknowledged, or a beat showed the ledger without it. A ledger that is merely behind is
      // not flooded with copies of what it is working through. Only a ledger that never answered
      // a heartbeat is judged by silence, and only after the longest backoff without an ack: its
      // beat answers our heartbeat after the rows queued before it, so a ledger working through
      // a long queue answers late, not never.
      const ledgerSilent = !this.beatSeen && now - this.lastAckAt >= c.retransmit_max_ms;
      const isDue = (f: InFlight) => f.nextAt <= now && (f.lost === true || f.sendNo < this.ackedSendNo || ledgerSilent);
      let due: OutboxRow[];
      if (this.inflight.size === 0 || anyDue(this.inflight, isDue)) {
        const pending = pendingOutbox(db, c.window);
        const live = new Set(pending.map((r) => r.seq));
        for (const seq of this.inflight.keys()) if (!live.has(seq)) this.inflight.delete(seq);
        due = pending.filter((r) => {
          const f = this.inflight.get(r.seq);
          return !f || isDue(f);
        });
      } else {
        // Nothing to resend: only rows written since the last send, within the window.
        const room = c.window - this.inflight.size;
        due = room > 0 ? pendingOutboxAfter(db, highestInFlight(this.inflight), room) : [];
      }
      // Every batch goes out at once (the client keeps them in order); each is marked in
      // flight once the broker has it. Only in memory: what is in flight dies with the process,
      // and a restarted agent sends every unacknowledged row again (the ledger holds ids).
      const batches: OutboxRow[][] = [];
      for (let i = 0; i < due.length; i += c.batch_size) batches.push(due.slice(i, i + c.batch_size));
      if (batches.length > 0) trace(this.deps.address.store, 'send', { batches: batches.length, first: due[0]!.seq, inflight: this.inflight.size });
      for (const r of due) this.sending.add(r.seq);
      const sent = await Promise.all(batches.map((b) => mqtt.publish(storeTopic(this.deps.address, 'up/rows'), rowsMessage(this.deps.address, key, b, now))));
      batches.forEach((batch, i) => {
        if (!sent[i]) return;
        this.deps.counters.sent += batch.length;
        const sendNo = ++this.sendNo;
        for (const r of batch) {
          const f = this.inflight.get(r.seq) ?? { attempts: 0, nextAt: 0, sendNo, sentAt: now };
          f.sendNo = sendNo;
          f.lost = false;
          f.attempts++;
          f.nextAt = now + Math.min(c.retransmit_max_ms, c.retransmit_ms * 2 ** (f.attempts - 1));
          this.inflight.set(r.seq, f);
        }
      });
    } catch (err) {
      this.deps.log.error({ err }, 'outbox drain failed; will retry / 发件箱同步失败，稍后重试');
    } finally {
      this.draining = false;
      this.sending.clear();
    }
  }
}
