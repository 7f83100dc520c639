/**
 * Snapshot requests are not signed (docs/sync-protocol.md): the ledger answers them only for a
 * store it knows, and at most `catchUpBurst` at once per store, then one per `catchUpEveryMs`,
 * so forged ones cannot make it read and sign the whole village over and over.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { CatchUpLimiter } from '../../cloud-sync/ledger/catchup.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { registerStore } from '../../cloud-sync/ledger/tables.ts';
import { generateKeyPairSync } from 'node:crypto';

describe('CatchUpLimiter', () => {
  it.each([
    // [requests at these ms, expected answers]
    [[0, 0, 0, 0, 0], [true, true, true, false, false]],
    [[0, 0, 0, 999, 1000], [true, true, true, false, true]],
    [[0, 0, 0, 0, 5000, 5000, 5000, 5000], [true, true, true, false, true, true, true, false]],
    // a clock that steps back refills nothing
    [[10_000, 10_000, 10_000, 0, 0], [true, true, true, false, false]],
  ])('requests at %j are answered %j (burst 3, one per second)', (times, expected) => {
    const l = new CatchUpLimiter(3, 1000);
    expect(times.map((t) => l.take('v/s', t))).toEqual(expected);
  });

  it('keeps one bucket per store', () => {
    const l = new CatchUpLimiter(1, 1000);
    expect([l.take('v/a', 0), l.take('v/b', 0), l.take('v/a', 0), l.take('v/b', 0)]).toEqual([true, true, false, false]);
  });
});

describe(`forged snapshot requests at the ledger (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  let now = Date.parse('2026-06-01T10:00:00Z');
  beforeEach(async () => {
    rig = await startRig({ ledger: { catchUpBurst: 3, catchUpEveryMs: 60_000 } });
  });
  afterEach(async () => {
    await rig.close();
  });

  it('a flood for one store is answered at its rate and counted; a request for an unknown store is refused', async () => {
    // A store the ledger knows but whose agent never runs: no request but the forger's reaches
    // the ledger (a running agent's own snapshot request, redelivered to the restarted ledger
    // on a loaded machine, would count with the flood).
    const s = { id: uid('s') };
    const { publicKey } = generateKeyPairSync('ed25519');
    await registerStore(rig.ledgerDb, rig.village, s.id, 'store', publicKey.export({ type: 'spki', format: 'pem' }).toString());
    // A ledger on a clock the test moves, with fresh buckets.
    await rig.stopLedger();
    rig.startLedger(() => new Date(now));
    await waitFor('the ledger online', () => rig.ledger.connected);
    const m = await publisher(rig);
    const ask = (store: string) => m.publish(storeTopic({ village: rig.village, store }, 'up/snapshot-request'), JSON.stringify({ from_seq: 0, reason: 'resync' }));
    for (let i = 0; i < 12; i++) await ask(s.id);
    await waitFor('every request handled', () => rig.ledger.counters.snapshots + rig.ledger.counters.throttled === 12);
    expect(rig.ledger.counters).toMatchObject({ snapshots: 3, throttled: 9 });
    // A minute later the store has one answer again.
    now += 60_000;
    await ask(s.id);
    await ask(s.id);
    await waitFor('the next two handled', () => rig.ledger.counters.snapshots + rig.ledger.counters.throttled === 14);
    expect(rig.ledger.counters).toMatchObject({ snapshots: 4, throttled: 10 });
    const invalid = rig.ledger.refusals.get('invalid');
    await ask('nobody-registered');
    await waitFor('the unknown store refused', () => rig.ledger.refusals.get('invalid') === invalid + 1);
    expect(rig.ledger.counters.snapshots).toBe(4);
    await m.stop();
  });
});
