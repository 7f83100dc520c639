/**
 * Reconcile requests are not signed, like snapshot requests, and each answer reads every session
 * row the store sent since the window began: the ledger answers them through the same per-store
 * budget (`catchUpBurst` at once, then one per `catchUpEveryMs`; the rest dropped and counted
 * `throttled`), and only for a window of at most two days beginning at most seven days ago.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { registerStore } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';

const H = 3_600_000;

describe(`forged reconcile requests at the ledger (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  let now = Date.parse('2026-06-01T10:00:00Z');
  beforeEach(async () => {
    rig = await startRig({ ledger: { catchUpBurst: 3, catchUpEveryMs: 60_000 } });
  });
  afterEach(async () => {
    await rig.close();
  });

  it('a flood for one store is answered at its rate and counted; a window too long, too old or in the future is refused', async () => {
    // A store the ledger knows whose agent never runs: only the forger's requests reach the ledger.
    const s = { id: uid('s') };
    const { publicKey } = generateKeyPairSync('ed25519');
    await registerStore(rig.ledgerDb, rig.village, s.id, 'store', publicKey.export({ type: 'spki', format: 'pem' }).toString());
    await rig.stopLedger();
    rig.startLedger(() => new Date(now));
    await waitFor('the ledger online', () => rig.ledger.connected);
    const m = await publisher(rig);
    let n = 0;
    const ask = (fromMs: number, toMs: number) => m.publish(storeTopic({ village: rig.village, store: s.id }, 'up/reconcile-request'), JSON.stringify({ id: `forged-${n++}`, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() }));
    /** Sends `bad` (to be refused) and waits until it is, so everything sent before it has been handled. */
    const settled = async (): Promise<void> => {
      const invalid = rig.ledger.refusals.get('invalid');
      await ask(now, now - H);
      await waitFor('the requests handled', () => rig.ledger.refusals.get('invalid') === invalid + 1);
      await rig.ledger.idle();
    };

    for (let i = 0; i < 12; i++) await ask(now - 48 * H, now);
    await waitFor('the flood throttled', () => rig.ledger.counters.throttled === 9);
    await settled();
    expect(rig.ledger.counters.throttled).toBe(9);
    // A minute later the store has one answer again.
    now += 60_000;
    await ask(now - 24 * H, now);
    await ask(now - 24 * H, now);
    await settled();
    expect(rig.ledger.counters.throttled).toBe(10);

    // Windows the ledger does not answer: longer than two days, from more than seven days ago, ending in the future.
    now += 10 * 60_000;
    const invalid = rig.ledger.refusals.get('invalid');
    await ask(Date.parse('2000-01-01T00:00:00Z'), Date.parse('2099-01-01T00:00:00Z'));
    await ask(now - 49 * H, now);
    await ask(now - 8 * 24 * H, now - 7 * 24 * H);
    await ask(now, now + 24 * H);
    await waitFor('the windows refused', () => rig.ledger.refusals.get('invalid') === invalid + 4);
    await rig.ledger.idle();
    expect(rig.ledger.counters.throttled).toBe(10);
    await m.stop();
  });
});
