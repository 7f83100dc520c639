/**
 * End to end through the real stack: a task published at the village ledger, claimed, reported
 * and approved; the signed award reaches a whole store daemon (simulated hardware) over MQTT; the
 * villager scans the passbook card, takes a bag of salt and leaves; the redemption goes back to
 * the ledger, where the balance is the award less the price.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { balanceOf, registerStore } from '../../cloud-sync/ledger/tables.ts';
import { newKeyPair } from '../../cloud-sync/protocol/sign.ts';
import { storeClientId } from '../../cloud-sync/agent/identity.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { brokerKind, ledgerDbKind, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { ScenarioRun } from '../../harness/scenario/run.ts';
import { parseScenario } from '../../harness/scenario/scenario.ts';
import { stepsOnDaemon } from '../../harness/scenario/in-process.ts';
import { tempDir } from '../ledger/helpers.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe(`governance to the store's shelf (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  let g: GovApp;
  const t = tempDir('gov-purchase-');
  afterAll(() => t.cleanup());
  beforeEach(async () => {
    rig = await startRig();
    g = await govApp({ db: rig.ledgerDb, service: rig.ledger, village: rig.village });
  });
  afterEach(async () => {
    await g.close();
    await rig.close();
  });

  it('publish → claim → report → approve → the award at the store → bought with at the shelf → the redemption at the ledger', async () => {
    const v = `/api/villages/${rig.village}`;
    const zhao = await g.villager(rig.village, 'zhao');

    // The store: its signing key made beforehand, so the ledger knows it before it first speaks.
    const storeId = uid('s');
    const keysDir = path.join(t.dir, 'keys');
    mkdirSync(keysDir, { recursive: true });
    const storeKey = newKeyPair();
    writeFileSync(path.join(keysDir, 'sync-store-key.pem'), storeKey.privatePem, { mode: 0o600 });
    await registerStore(rig.ledgerDb, rig.village, storeId, 'store', storeKey.publicPem);
    rig.broker.leaves(storeClientId({ village: rig.village, store: storeId }), [storeTopic({ village: rig.village, store: storeId }, 'status')]);

    const scenario = parseScenario({
      name: 'governance-purchase',
      products: [{ sku: 'salt', name: '食盐', price: 3, unit_g: 400, tolerance_g: 10 }],
      slots: [{ slot: 'A1', scale: 11, sku: 'salt', stock: 6 }],
      villagers: [{ id: 'zhao', name: '村民zhao', balance: 0, card: 'PB-0009' }],
      steps: [{ enter: { villager: 'zhao', by: 'card' } }, { take: { slot: 'A1', count: 1 } }, { exit: {} }],
    });
    const run = new ScenarioRun(scenario, {
      dataDir: path.join(t.dir, 'store'),
      config: {
        store: { id: storeId, village: rig.village },
        keys_dir: keysDir,
        sync: { enabled: true, broker_url: rig.broker.url, ledger_public_keys: [{ id: 'ledger-1', pem: rig.ledgerKey.publicPem }], poll_ms: 20, retransmit_ms: 200, retransmit_max_ms: 1000, heartbeat_s: 1 },
      },
    });
    await run.seed();
    await run.boot();
    try {
      const db = run.store.db;
      expect(getVillager(db, 'zhao')?.balance).toBe(0);

      // The village's work: a task, claimed, reported and approved.
      const task = (await g.call(g.va, 'POST', `${v}/tasks`, { title: '说法评理：西头两家院墙', item: 'MED-DISPUTE', points: 12, max_claimants: 1 })).json() as { id: string };
      const claim = (await g.call(zhao, 'POST', `${v}/tasks/${task.id}/claim`)).json() as { id: string };
      expect((await g.call(zhao, 'POST', `${v}/claims/${claim.id}/report`, { evidence: 'witness:李支书', note: '两家签了协议' })).json()).toMatchObject({ status: 'reported' });
      expect((await g.call(g.va, 'POST', `${v}/claims/${claim.id}/approve`, {})).json()).toMatchObject({ published: true, balance: 12 });
      await waitFor('the award at the store', () => getVillager(db, 'zhao')?.balance === 12, 60_000);

      // At the store: the passbook card, a bag of salt, the exit button.
      const until = async (check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> => waitFor(what, check, ms);
      const { steps, detach } = stepsOnDaemon(scenario, () => run.store, { until, stepNo: () => 1, beforeExit: () => undefined }, { key: generateKeyPairSync('ed25519').privateKey, village: 'none' });
      try {
        for (const step of scenario.steps) if (step.kind !== 'power_cut') await steps.perform(step);
      } finally {
        detach();
      }
      await waitFor('the purchase settled at the store', () => getVillager(db, 'zhao')?.balance === 9, 60_000);

      // Back at the ledger: the redemption arrived once, and both sides agree.
      await waitFor('the redemption at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhao')) === 9, 60_000);
      const rows = await rig.ledgerDb.query<{ kind: string; points: number | string; origin_store: string | null }>('SELECT kind, points, origin_store FROM entries WHERE villager_id = $1 ORDER BY seq', ['zhao']);
      expect(rows.map((r) => [r.kind, Number(r.points), r.origin_store])).toEqual([
        ['award', 12, null],
        ['redemption', -3, storeId],
      ]);
    } finally {
      await run.store.stop();
    }
  }, 180_000);
});
