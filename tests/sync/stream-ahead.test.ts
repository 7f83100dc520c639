/**
 * The village ledger restored from an older backup hands out village seqs again that its stores
 * have applied already: a store would refuse every new event as replayed, and awards made after
 * the restore would never reach it. The ledger sees it in the store's heartbeat (inbound_seq above
 * the village seq), moves the stream past it and sends the store the village as it stands.
 */
import { afterEach, describe, it } from 'vitest';
import { inboundSeq } from '../../edge/ledger/sync-state.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { villageSeq } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';
import type { SyncConfig } from '../../cloud-sync/agent/config.ts';

const at = () => new Date().toISOString();

describe(`a village ledger restored from an older backup (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  /**
   * A store level with the village (zhang 13, from aw-0 … aw-3), then the village ledger restored
   * from a backup taken after aw-0: aw-1 … aw-3 and their events gone, the stream to hand out
   * their seqs again. Returns the store and the village seq it had applied.
   */
  async function restoredUnderStore(r: Rig, over: Partial<SyncConfig>): Promise<{ s: TestStore; before: number }> {
    const s = await r.addStore(undefined, over);
    await waitFor('the store online', () => s.agent.state().connected);
    await r.ledger.putVillager({ id: 'zhang', name: '张三', village: r.village, status: 'active' });
    await r.ledger.award(r.village, { id: 'aw-0', villager: 'zhang', kind: 'award', points: 10, reason: '打扫卫生', created_at: at() });
    const backupSeq = await villageSeq(r.ledgerDb, r.village); // the backup is taken here
    for (let i = 1; i <= 3; i++) await r.ledger.award(r.village, { id: `aw-${i}`, villager: 'zhang', kind: 'award', points: 1, reason: '垃圾分类', created_at: at() });
    const before = await villageSeq(r.ledgerDb, r.village);
    await waitFor('the store level', () => inboundSeq(s.db) === before && getVillager(s.db, 'zhang')?.balance === 13);

    // The ledger's disk dies; it comes back from the backup taken at backupSeq.
    await r.stopLedger();
    await r.ledgerDb.exec(ledgerDbKind === 'postgres' ? 'DROP TRIGGER entries_no_change ON entries' : 'DROP TRIGGER entries_no_delete');
    await r.ledgerDb.run("DELETE FROM entries WHERE id IN ('aw-1', 'aw-2', 'aw-3')");
    await r.ledgerDb.run('DELETE FROM events WHERE village = $1 AND seq > $2', [r.village, backupSeq]);
    await r.ledgerDb.run('UPDATE villages SET next_seq = $1 WHERE id = $2', [backupSeq + 1, r.village]);
    r.startLedger();
    await waitFor('the ledger online again', () => r.ledger.connected);
    return { s, before };
  }

  const held = (s: TestStore, ids: string[]) => ids.every((id) => s.db.prepare('SELECT 1 FROM entries WHERE id = ?').get(id) !== undefined);

  it('moves its stream past what a store applied, and awards made after the restore reach the store', async () => {
    rig = await startRig();
    const r = rig;
    const { s, before } = await restoredUnderStore(r, { retransmit_ms: 500, retransmit_max_ms: 1000 });
    // The store's next heartbeat shows it ahead of the restored stream.
    // (Both waited for: the move is committed a moment before the ledger counts it.)
    await waitFor('the stream moved past the store, and counted', async () => (await villageSeq(r.ledgerDb, r.village)) > before && r.ledger.counters.ahead > 0);

    // Life goes on: the village awards 5 points, three times.
    for (let i = 1; i <= 3; i++) await r.ledger.award(r.village, { id: `new-${i}`, villager: 'zhang', kind: 'award', points: 5, reason: '防汛值守', created_at: at() });
    await waitFor('the new awards at the store', () => held(s, ['new-1', 'new-2', 'new-3']));
    // And the stream goes on from there: the next award arrives as a stream event.
    await r.ledger.award(r.village, { id: 'new-4', villager: 'zhang', kind: 'award', points: 2, reason: '调解纠纷', created_at: at() });
    await waitFor('the next award at the store', async () => held(s, ['new-4']) && inboundSeq(s.db) === (await villageSeq(r.ledgerDb, r.village)));
  }, 60_000);

  it('a store brought level by seq with events it never had (awarded right after the restore) asks for the village as it stands', async () => {
    rig = await startRig();
    const r = rig;
    const { s } = await restoredUnderStore(r, { retransmit_ms: 500, retransmit_max_ms: 1000, heartbeat_s: 60 });
    // Awarded at once, under the seqs the store applied before, most likely before the store's
    // heartbeat shows it ahead (then the store is level by seq, holding other events under them).
    for (let i = 1; i <= 3; i++) await r.ledger.award(r.village, { id: `new-${i}`, villager: 'zhang', kind: 'award', points: 5, reason: '防汛值守', created_at: at() });
    await waitFor('the new awards at the store', () => held(s, ['new-1', 'new-2', 'new-3']));
    await r.ledger.award(r.village, { id: 'new-4', villager: 'zhang', kind: 'award', points: 2, reason: '调解纠纷', created_at: at() });
    await waitFor('the next award at the store', () => held(s, ['new-4']));
  }, 60_000);
});
