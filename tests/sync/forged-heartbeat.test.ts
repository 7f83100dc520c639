/**
 * A heartbeat moves the village stream (a ledger restored from an older backup: the store has
 * applied seqs the ledger hands out again, tests/sync/stream-ahead.test.ts) only when it is
 * signed by the store's registered key. An unsigned one (a forger on the store's topic, or a
 * store older than signed heartbeats) updates that store's own record and gets its beat, but
 * never raises the village seq; one signed by another key is refused as forged; numbers beyond
 * the schema's bound are refused as invalid.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { villageSeq } from '../../cloud-sync/ledger/tables.ts';
import { newKeyPair, privateEd25519, signControl } from '../../cloud-sync/protocol/sign.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';

const at = () => new Date().toISOString();

describe(`heartbeats and the village stream (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig(); });
  afterEach(async () => { await rig.close(); });

  it('a forged heartbeat does not move the stream; awards keep reaching every store', async () => {
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'zhang', kind: 'award', points: 10, reason: 'x', created_at: at() });
    await waitFor('store b has the award', () => getVillager(b.db, 'zhang')?.balance === 10);
    const before = await villageSeq(rig.ledgerDb, rig.village);
    const refused = (r: string) => rig.ledger.refusals.toJSON()[r as 'invalid'] ?? 0;
    const [invalid0, forged0, unsigned0] = [refused('invalid'), refused('forged'), refused('unsigned')];

    const m = await publisher(rig);
    const topic = storeTopic({ village: rig.village, store: a.id }, 'heartbeat');
    const hb = (inbound: number) => ({ at: at(), outbox_pending: 0, last_acked_seq: 0, inbound_seq: inbound, refused: {} });
    // Beyond the schema's bound: refused as invalid.
    await m.publish(topic, JSON.stringify(hb(Number.MAX_SAFE_INTEGER - 1)));
    // Unsigned, ahead of the stream: the store's record only.
    await m.publish(topic, JSON.stringify(hb(before + 1000)));
    // Signed by a key that is not the store's: forged.
    const other = privateEd25519('store', newKeyPair().privatePem);
    await m.publish(topic, JSON.stringify(signControl(hb(before + 2000), { village: rig.village, store: a.id }, other)));
    await waitFor('the three heartbeats handled', () => refused('invalid') > invalid0 && refused('forged') > forged0 && refused('unsigned') > unsigned0);
    await rig.ledger.idle();
    await m.stop();

    expect(await villageSeq(rig.ledgerDb, rig.village)).toBe(before);
    expect(rig.ledger.counters.ahead).toBe(0);
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'zhang', kind: 'award', points: 5, reason: 'y', created_at: at() });
    await waitFor('store b has the next award', () => getVillager(b.db, 'zhang')?.balance === 15);
    await waitFor('store a has it too', () => getVillager(a.db, 'zhang')?.balance === 15);
  }, 60_000);
});

describe(`catch-ups a heartbeat prompts (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig({ ledger: { behindAfterMs: 0, catchUpBurst: 2, catchUpEveryMs: 600_000 } }); });
  afterEach(async () => { await rig.close(); });

  it('go through the per-store budget of snapshot requests: a flood of "behind" heartbeats gets at most the burst', async () => {
    const a = await rig.addStore();
    await waitFor('store online', () => a.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    const m = await publisher(rig);
    const topic = storeTopic({ village: rig.village, store: a.id }, 'heartbeat');
    for (let i = 0; i < 10; i++) await m.publish(topic, JSON.stringify({ at: at(), outbox_pending: 0, last_acked_seq: 0, inbound_seq: 0, refused: {} }));
    await waitFor('the flood handled', () => rig.ledger.counters.throttled >= 8);
    await m.stop();
    expect(rig.ledger.counters.deltas + rig.ledger.counters.snapshots).toBeLessThanOrEqual(2);
  }, 60_000);
});
