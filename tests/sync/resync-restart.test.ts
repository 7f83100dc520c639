/**
 * A resync survives a restart (cloud-sync/agent/catch-up.ts, edge/ledger/sync-state.ts
 * `resyncWanted`): a store that wanted the village whole (a `resync` command), or was part way
 * through applying the snapshot in slices, and was then killed, asks for a snapshot again once it
 * starts, not for deltas, which replay only the stream after its seq and never bring what it was
 * missing below it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { inboundSeq, noteResyncWanted, resyncWanted, setInboundSeq } from '../../edge/ledger/sync-state.ts';
import { addLedgerEntry, balanceOf, villageSeq, villageSnapshot } from '../../cloud-sync/ledger/tables.ts';
import { keyRing, newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import { InboundStream } from '../../cloud-sync/agent/inbound.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';

const at = () => new Date().toISOString();

describe(`a resync wanted before a restart is asked again after it (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  /**
   * A ledger that answers one catch-up request a store per run (a new store's, then none until the
   * ledger restarts), and a store level with two villagers; then an entry of `wang` the stream never
   * carried, and one of `li` (a ledger restored from a copy: the store cannot see them by deltas), and a `resync`
   * command for the store, which the store applies and asks about, unanswered.
   */
  async function resyncUnanswered(): Promise<{ r: Rig; s: TestStore }> {
    const r = await startRig({ ledger: { catchUpBurst: 1, catchUpEveryMs: 3_600_000 } });
    rig = r;
    const s = await r.addStore();
    await waitFor('the new store answered', () => r.ledger.counters.snapshots >= 1);
    await r.ledger.putVillager({ id: 'li', name: '李四', village: r.village, status: 'active' });
    await r.ledger.putVillager({ id: 'wang', name: '王五', village: r.village, status: 'active' });
    await r.ledger.award(r.village, { id: 'aw-li', villager: 'li', kind: 'award', points: 10, created_at: at() });
    await r.ledger.award(r.village, { id: 'aw-wang', villager: 'wang', kind: 'award', points: 10, created_at: at() });
    await waitFor('the store level', async () => inboundSeq(s.db) === (await villageSeq(r.ledgerDb, r.village)) && getVillager(s.db, 'wang')?.balance === 10);
    for (const villager of ['li', 'wang']) {
      await r.ledgerDb.run(
        `INSERT INTO entries (id, village, villager_id, kind, points, reference, reason, origin_store, created_at, received_at)
         VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, $6, $6)`,
        [`hidden-${villager}`, r.village, villager, 'award', 5, at()],
      );
    }
    const throttled = r.ledger.counters.throttled;
    await r.ledger.publishOnStream(r.village, 'command', { command: 'resync', store: s.id });
    await waitFor('the resync command applied', async () => inboundSeq(s.db) === (await villageSeq(r.ledgerDb, r.village)));
    await waitFor('its request dropped by the ledger', () => r.ledger.counters.throttled > throttled);
    expect(getVillager(s.db, 'wang')?.balance).toBe(10);
    return { r, s };
  }

  /** An award recorded while the store is down and the ledger away: the restarted store is one event behind. */
  async function awardWhileAway(r: Rig): Promise<void> {
    const signer = { key: privateEd25519('ledger-1', r.ledgerKey.privatePem), lifetimeMs: 86_400_000 };
    await addLedgerEntry(r.ledgerDb, r.village, { id: 'aw-li-2', villager: 'li', kind: 'award', points: 1, created_at: at() }, signer, new Date());
  }

  /** The store started again (a new agent over the same file) and the ledger too; it ends as the ledger. */
  async function restartBoth(r: Rig, s: TestStore): Promise<void> {
    await awardWhileAway(r);
    r.startLedger();
    await s.restart();
    await waitFor('the restarted store level', async () => inboundSeq(s.db) === (await villageSeq(r.ledgerDb, r.village)));
    expect(getVillager(s.db, 'li')?.balance).toBe(await balanceOf(r.ledgerDb, 'li'));
    expect(getVillager(s.db, 'wang')?.balance).toBe(await balanceOf(r.ledgerDb, 'wang'));
    expect(getVillager(s.db, 'wang')?.balance).toBe(15);
    await waitFor('the resync mark cleared', () => resyncWanted(s.db) === undefined);
    // The restarted ledger's one answer: a snapshot, not deltas.
    expect(r.ledger.counters).toMatchObject({ snapshots: 1, deltas: 0 });
    expect(findBalanceMismatches(s.db)).toEqual([]);
  }

  it('killed after the resync was wanted, before the snapshot came: restarted, it asks for the snapshot, not deltas', async () => {
    const { r, s } = await resyncUnanswered();
    expect(resyncWanted(s.db)).toMatchObject({ why: 'command' });
    await s.stop();
    await r.stopLedger();
    await restartBoth(r, s);
    expect(s.agent.counters.resumed).toBe(1);
  });

  it('killed part way through applying the resync\'s snapshot in slices: restarted, it asks for it again and ends level', async () => {
    const { r, s } = await resyncUnanswered();
    await s.stop();
    await r.stopLedger();
    // The snapshot the store asked for, applied in slices by the store process that is then killed
    // after its first slice (li's, three rows), before wang's: li whole, wang still without the hidden entry.
    const snap = await villageSnapshot(r.ledgerDb, r.village);
    const key = privateEd25519('ledger-1', r.ledgerKey.privatePem);
    const env = signEnvelope({ v: 1, id: `snapshot:${s.id}:${snap.seq}`, kind: 'snapshot', village: r.village, store: s.id, seq: snap.seq, issued_at: at(), expires_at: new Date(Date.now() + 3_600_000).toISOString(), body: snap.body }, key);
    let killed = false;
    const dying: InboundStream = new InboundStream({
      db: () => s.db, address: { village: r.village, store: s.id }, keys: () => keyRing([{ id: 'ledger-1', pem: r.ledgerKey.publicPem }]), rules: { creditFloor: 0, store: s.id },
      clock: () => new Date(), skewMs: 60_000, refusals: new RefusalCounter(), onResyncWanted: () => undefined, snapshotPending: () => true,
      slices: {
        rows: 3, ms: Number.POSITIVE_INFINITY,
        turn: async () => {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (s.db.prepare("SELECT COUNT(*) FROM entries WHERE id = 'hidden-li'").pluck().get() === 1 && !killed) {
            killed = true;
            dying.stop();
          }
        },
      },
    });
    expect(dying.receive(Buffer.from(JSON.stringify(env)), 'snapshot').map((o) => o.kind)).toEqual(['applying']);
    await dying.idle();
    expect(killed).toBe(true);
    expect(s.db.prepare("SELECT COUNT(*) FROM entries WHERE id = 'hidden-wang'").pluck().get()).toBe(0);
    expect(resyncWanted(s.db)).toBeDefined();
    await restartBoth(r, s);
  });
});

/**
 * A store ledger of its own and an InboundStream over it, for `run`; `sign` signs an envelope of
 * village v1 (store s1) with the ledger's key. `wanted` counts onResyncWanted.
 */
function withInbound(opts: { snapshotPending: boolean }, run: (t: { db: Db; inbound: InboundStream; sign: (e: Record<string, unknown>) => Buffer; issued: string; wanted: () => number }) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'resync-mark-'));
  const db = openLedger(path.join(dir, 'ledger.sqlite'));
  try {
    const pair = newKeyPair();
    const key = privateEd25519('ledger-1', pair.privatePem);
    const issued = at();
    let wanted = 0;
    const inbound = new InboundStream({
      db: () => db, address: { village: 'v1', store: 's1' }, keys: () => keyRing([{ id: 'ledger-1', pem: pair.publicPem }]), rules: { creditFloor: 0, store: 's1' },
      clock: () => new Date(), skewMs: 60_000, refusals: new RefusalCounter(), onResyncWanted: () => void wanted++, snapshotPending: () => opts.snapshotPending,
    });
    const sign = (e: Record<string, unknown>) => Buffer.from(JSON.stringify(signEnvelope({ v: 1, village: 'v1', issued_at: issued, expires_at: new Date(Date.now() + 3_600_000).toISOString(), ...e } as Parameters<typeof signEnvelope>[0], key)));
    run({ db, inbound, sign, issued, wanted: () => wanted });
  } finally {
    closeLedger(db);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('what marks a resync wanted in the store\'s ledger, with the seq it was wanted at', () => {
  it('a resync command (in its own transaction), a forked stream event, an event that cannot apply; a mark keeps its reason', () => {
    withInbound({ snapshotPending: false }, ({ db, inbound, sign, issued, wanted }) => {
      const msg = (kind: 'entry' | 'command' | 'villager', seq: number, body: unknown) => sign({ id: `${kind}-${seq}-${Math.random()}`, kind, seq, body });
      const award = (id: string) => ({ id, villager: 'zhang', kind: 'award', points: 1, created_at: issued });
      expect(inbound.receive(msg('villager', 1, { id: 'zhang', name: '张三', village: 'v1', status: 'active' }), 'events').map((o) => o.kind)).toEqual(['applied']);
      expect(inbound.receive(msg('entry', 2, award('a-2')), 'events').map((o) => o.kind)).toEqual(['applied']);
      // Another entry at seq 2: the ledger's stream forked.
      expect(inbound.receive(msg('entry', 2, award('b-2')), 'events').map((o) => o.kind)).toEqual(['refused']);
      expect([resyncWanted(db), wanted()]).toEqual([{ seq: 2, why: 'fork' }, 1]);
      // A command for another store marks nothing; one for this store raises the seq, keeping the reason.
      inbound.receive(msg('command', 3, { command: 'resync', store: 's2' }), 'events');
      expect([resyncWanted(db), wanted()]).toEqual([{ seq: 2, why: 'fork' }, 1]);
      inbound.receive(msg('command', 4, { command: 'resync', store: 's1' }), 'events');
      expect([resyncWanted(db), wanted(), inboundSeq(db)]).toEqual([{ seq: 4, why: 'fork' }, 2, 4]);
      // An entry of a villager this store does not know cannot apply.
      expect(inbound.receive(msg('entry', 5, { ...award('c-5'), villager: 'nobody' }), 'events').map((o) => o.kind)).toEqual(['refused']);
      expect([resyncWanted(db)?.seq, wanted()]).toEqual([4, 3]);
    });
  });

  it('a whole snapshot clears a mark set higher (killed in a snapshot at 200, the ledger then restored from a backup at 150): no asking for one that cannot come', () => {
    withInbound({ snapshotPending: true }, ({ db, inbound, sign, issued }) => {
      setInboundSeq(db, 100);
      noteResyncWanted(db, 200, 'partial-snapshot');
      const body = { villagers: [{ id: 'zhang', name: '张三', village: 'v1', status: 'active' }], entries: [{ id: 'a-1', villager: 'zhang', kind: 'award', points: 5, created_at: issued }] };
      const out = inbound.receive(sign({ id: `snapshot-150-${Math.random()}`, kind: 'snapshot', store: 's1', seq: 150, body }), 'snapshot');
      expect(out.map((o) => o.kind), JSON.stringify(out)).toEqual(['snapshot']);
      expect([inboundSeq(db), resyncWanted(db)]).toEqual([150, undefined]);
    });
  });
});
