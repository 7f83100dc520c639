/**
 * A store's own `down/snapshot` recorded off its topic and published again: at the store's
 * current seq it is applied only while one of the store's own requests is outstanding, else it
 * is refused as replayed (it would undo a block made at the store: a stolen card working again,
 * and count as contact). And a snapshot never undoes a local status change the ledger has not
 * acknowledged yet, unless it is the stricter of the two.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { markOutboxAckedSeqs, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { lastContact } from '../../edge/ledger/sync-state.ts';
import { addVillager, getVillager, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { tempLedger } from '../ledger/helpers.ts';

describe(`a snapshot replayed (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig(); });
  afterEach(async () => { await rig.close(); });

  it('at the store\'s own seq, with no request outstanding: refused, the local block stands, no contact', async () => {
    await rig.ledger.putVillager({ id: 'wang', name: '王五', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 500, created_at: new Date().toISOString() });
    const name = uid('s');
    const address = { village: rig.village, store: name };
    const spy = new SyncMqtt({ url: rig.broker.url, clientId: uid('spy-'), persistentSession: false });
    let snap: Buffer | undefined;
    spy.on('message', (_t, p) => { snap ??= Buffer.from(p); });
    const up = new Promise<void>((r) => spy.once('connect', () => r()));
    spy.start([storeTopic(address, 'down/snapshot')]);
    await up;
    const s = await rig.addStore(name);
    await waitFor('snapshot applied and recorded', () => getVillager(s.db, 'wang')?.balance === 500 && snap !== undefined);
    await rig.stopLedger();
    setVillagerStatus(s.db, 'wang', 'blocked'); // card reported stolen while the ledger is away
    const contact = lastContact(s.db);
    const m = await publisher(rig);
    await m.publish(storeTopic(address, 'down/snapshot'), snap!);
    await waitFor('the copy refused as replayed', () => (s.agent.state().refused.replayed ?? 0) >= 1, 5_000);
    expect(getVillager(s.db, 'wang')?.status).toBe('blocked');
    expect(lastContact(s.db)).toBe(contact);
    await m.stop();
    await spy.stop();
  }, 60_000);
});

describe('a snapshot and a local status change not yet acknowledged', () => {
  let l: ReturnType<typeof tempLedger>;
  beforeEach(() => {
    l = tempLedger();
    addVillager(l.db, { id: 'sun', name: '孙七', village: 'v1' });
    markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), new Date().toISOString());
  });
  afterEach(() => l.cleanup());
  const snapshotSays = (status: 'active' | 'blocked' | 'left') => applySnapshot(l.db, { villagers: [{ id: 'sun', name: '孙七', village: 'v1', status }], entries: [] }, { creditFloor: 0 });
  const ackAll = () => markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), new Date().toISOString());

  it.each([
    // local change (pending), the snapshot says, status after; then after the ack
    ['blocked', 'active', 'blocked', 'active'],
    ['left', 'active', 'left', 'active'],
    ['left', 'blocked', 'left', 'blocked'],
    ['active', 'blocked', 'blocked', 'blocked'], // the stricter one wins: never let a stranger in
  ] as const)('local %s, snapshot %s: %s while pending, %s once acknowledged', (local, said, pendingResult, ackedResult) => {
    if (local === 'active') {
      setVillagerStatus(l.db, 'sun', 'blocked');
      ackAll();
    }
    setVillagerStatus(l.db, 'sun', local);
    snapshotSays(said);
    expect(getVillager(l.db, 'sun')?.status).toBe(pendingResult);
    ackAll();
    snapshotSays(said);
    expect(getVillager(l.db, 'sun')?.status).toBe(ackedResult);
  });
});
