/**
 * The store's receiving side of the village's public board (`down/board`, kind `board`): checked
 * like every signed message (schema, signature, expiry), then by its own order. The board is a
 * state, not a stream: only a version newer than the one kept replaces it, the same version
 * again (the broker's retained copy at every reconnect) changes nothing, and an older one is a
 * replay. Never throws on a bad message: it is refused and counted.
 */
import type { Db } from '../../edge/ledger/db.ts';
import { loadBoard, saveBoard } from '../../edge/ledger/board.ts';
import { iso, type Clock } from '../../edge/ledger/time.ts';
import { checkers, decode, type BoardBody, type RefusalReason } from '../protocol/payloads.ts';
import { checkEnvelope, type KeyRing } from '../protocol/sign.ts';
import type { RefusalCounter } from '../protocol/refusals.ts';

export type BoardOutcome =
  | { kind: 'applied'; version: number }
  /** The board kept here already is this one. */
  | { kind: 'same'; version: number }
  | { kind: 'refused'; reason: RefusalReason; why: string };

export interface BoardInboxDeps {
  db: () => Db;
  village: string;
  keys: () => KeyRing;
  clock: Clock;
  skewMs: number;
  refusals: RefusalCounter;
}

export class BoardInbox {
  constructor(private readonly deps: BoardInboxDeps) {}

  receive(payload: Buffer): BoardOutcome {
    const env = decode(payload, checkers.envelope);
    if (!env.ok) return this.refuse('invalid', env.why);
    const e = env.value;
    const bad = checkEnvelope(e, this.deps.keys(), this.deps.clock().getTime(), this.deps.skewMs);
    if (bad) return this.refuse(bad, `${e.kind} ${e.id}`);
    if (e.kind !== 'board') return this.refuse('invalid', `a ${e.kind} message does not belong on the board topic`);
    if (e.village !== this.deps.village) return this.refuse('invalid', `board for village ${e.village}`);
    if (!checkers.board.Check(e.body)) {
      const first = [...checkers.board.Errors(e.body)][0];
      return this.refuse('invalid', `board body ${first ? `${first.path || '/'}: ${first.message}` : 'does not match its schema'}`);
    }
    const body: BoardBody = e.body;
    if (body.village.id !== e.village) return this.refuse('invalid', `board body for village ${body.village.id} in an envelope for ${e.village}`);
    const db = this.deps.db();
    const kept = loadBoard(db);
    if (kept && e.seq < kept.version) return this.refuse('replayed', `board version ${e.seq} < ${kept.version}`);
    if (kept && e.seq === kept.version) return { kind: 'same', version: e.seq };
    saveBoard(db, { version: e.seq, issuedAt: e.issued_at, receivedAt: iso(this.deps.clock), body });
    return { kind: 'applied', version: e.seq };
  }

  private refuse(reason: RefusalReason, why: string): BoardOutcome {
    this.deps.refusals.add(reason);
    return { kind: 'refused', reason, why };
  }
}
