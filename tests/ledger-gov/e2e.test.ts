/** End to end: a task published, claimed, reported and approved at the ledger; the award reaches a store over MQTT. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe(`governance end to end (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  let g: GovApp;
  beforeEach(async () => {
    rig = await startRig();
    g = await govApp({ db: rig.ledgerDb, service: rig.ledger, village: rig.village });
  });
  afterEach(async () => {
    await g.close();
    await rig.close();
  });

  it('publish → claim → report → approve: the signed award reaches the store; a reversal follows it there', async () => {
    const store = await rig.addStore();
    await waitFor('the store online', () => store.agent.state().connected);
    const v = `/api/villages/${rig.village}`;
    const zhao = await g.villager(rig.village, 'zhao');
    await waitFor('the villager at the store', () => getVillager(store.db, 'zhao') !== undefined);
    const task = (await g.call(g.va, 'POST', `${v}/tasks`, { title: '说法评理：东头两家地界', item: 'MED-DISPUTE', points: 12, max_claimants: 1 })).json() as { id: string };
    const claim = (await g.call(zhao, 'POST', `${v}/tasks/${task.id}/claim`)).json() as { id: string };
    expect((await g.call(zhao, 'POST', `${v}/claims/${claim.id}/report`, { evidence: 'witness:李支书', note: '两家签了协议' })).json()).toMatchObject({ status: 'reported' });
    const approved = await g.call(g.va, 'POST', `${v}/claims/${claim.id}/approve`, {});
    expect(approved.json()).toMatchObject({ published: true, duplicate: false, balance: 12 });
    await waitFor('the award at the store', () => getVillager(store.db, 'zhao')?.balance === 12);
    // Approving again sends nothing new: the store still holds 12.
    expect((await g.call(g.va, 'POST', `${v}/claims/${claim.id}/approve`, {})).json()).toMatchObject({ duplicate: true, published: false });
    const reversed = await g.call(g.va, 'POST', `${v}/claims/${claim.id}/reverse`, { reason: '协议未履行' });
    expect(reversed.json()).toMatchObject({ published: true, balance: 0 });
    await waitFor('the reversal at the store', () => getVillager(store.db, 'zhao')?.balance === 0);
    const entries = store.db.prepare('SELECT id, kind, points FROM entries WHERE villager_id = ? ORDER BY rowid').all('zhao');
    expect(entries).toEqual([
      expect.objectContaining({ id: `gov:${claim.id}`, kind: 'award', points: 12 }),
      expect.objectContaining({ id: `gov:${claim.id}:reversal`, kind: 'adjustment', points: -12 }),
    ]);
  });
});
