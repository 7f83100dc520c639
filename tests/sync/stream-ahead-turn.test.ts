/**
 * A signed heartbeat that shows its store ahead of the village stream (a ledger restored from an
 * older backup) moves the village's `next_seq`: a write to the village's counter, which every
 * writer of the village does inside the village's turn (sql.ts TxOptions.queue). Done outside it,
 * on PostgreSQL it lands inside a writer's SERIALIZABLE transaction that has already read the
 * village: the writer fails on a serialization error and runs again (or, under load, gives up
 * with DB_BUSY). Inside the turn, it waits for the writer and the writer runs once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge/log.ts';
import { answerHeartbeats, type HeartbeatDeps } from '../../cloud-sync/ledger/heartbeats.ts';
import { addVillage, registerStore, villageSeq } from '../../cloud-sync/ledger/tables.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { newKeyPair, privateEd25519, signControl } from '../../cloud-sync/protocol/sign.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import { ledgerDbKind, tempLedgerDb, uid, waitFor } from '../../harness/sync/rig.ts';

const drops: Array<() => Promise<void>> = [];
afterEach(async () => { for (const d of drops.splice(0)) await d(); });

describe(`the stream moved by a heartbeat (${ledgerDbKind})`, () => {
  it('is moved inside the village\'s turn: a writer of the village that read it first is not made to run again', async () => {
    const { db, drop } = await tempLedgerDb();
    drops.push(drop);
    const village = uid('v');
    await addVillage(db, village, '示范村', new Date().toISOString());
    const storeKey = newKeyPair();
    await registerStore(db, village, 's1', 'store-1', storeKey.publicPem);
    const before = await villageSeq(db, village);

    // What the heartbeat path does with the database: the raise finished outside any turn, or the
    // village's turn asked for. SQLite runs every statement behind the open transaction, the
    // heartbeat's first read too: there, asking at all is as far as it gets.
    const seen = { raised: false, turn: false };
    const queued = (): void => { if (db.dialect === 'sqlite') seen.raised = true; };
    const watched: SqlDb = {
      dialect: db.dialect,
      query: (sql, params) => { queued(); return db.query(sql, params); },
      run: async (sql, params) => {
        queued();
        const n = await db.run(sql, params);
        if (sql.includes('SET next_seq = $2')) seen.raised = true;
        return n;
      },
      runEach: (sql, rows) => db.runEach(sql, rows),
      transaction: (fn, opts) => {
        if (opts?.queue?.includes(village)) seen.turn = true;
        return db.transaction(fn, opts);
      },
      exec: (sql) => db.exec(sql),
      close: () => db.close(),
    };

    // A writer of the village in its turn (as appendEvent's callers are): it reads the village, then waits.
    let attempts = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const writer = db.transaction(async (tx) => {
      attempts++;
      await tx.query('SELECT next_seq FROM villages WHERE id = $1', [village]);
      if (attempts === 1) await gate;
      await tx.run('UPDATE villages SET next_seq = next_seq + 1 WHERE id = $1', [village]);
    }, { queue: [village] });
    await waitFor('the writer inside its transaction', () => attempts === 1);

    const store = privateEd25519('store-1', storeKey.privatePem);
    const hb = signControl({ at: new Date().toISOString(), outbox_pending: 0, last_acked_seq: 0, inbound_seq: before + 5, refused: {} }, { village, store: 's1' }, store);
    const deps: HeartbeatDeps = {
      db: watched, key: privateEd25519('ledger-1', newKeyPair().privatePem), clock: () => new Date(), log: silentLogger(),
      refusals: new RefusalCounter(), counters: { behind: 0, ahead: 0 }, behindAfterMs: 60_000,
      send: () => Promise.resolve(), catchUp: () => Promise.resolve(),
    };
    const answered = answerHeartbeats(deps, [], [{ village, store: 's1', hb }]);
    await waitFor('the heartbeat at the village\'s counter', () => seen.raised || seen.turn);
    open();
    await Promise.all([writer, answered]);

    expect(deps.counters.ahead).toBe(1);
    expect(attempts).toBe(1);
    // both happened: the stream past the store's seq, and the writer's seq on top of whichever came first
    expect(await villageSeq(db, village)).toBeGreaterThanOrEqual(before + 6);
  }, 60_000);
});
