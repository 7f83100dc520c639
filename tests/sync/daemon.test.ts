/** The agent as a Part of the daemon: it follows the ledger, and /healthz shows its state; the door applies the offline limit. */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validateConfig } from '../../edge/config/load.ts';
import { StoreDaemon } from '../../edge/main.ts';
import { tempDir } from '../ledger/helpers.ts';
import { newKeyPair } from '../../cloud-sync/protocol/sign.ts';
import { addCard } from '../../edge/entry/credentials.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import type { Announcement } from '../../edge/session/receipt.ts';
import { brokerKind, startBroker, uid, waitFor } from '../../harness/sync/rig.ts';
import { storeClientId } from '../../cloud-sync/agent/identity.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';

const t = tempDir('sync-daemon-');
afterAll(() => t.cleanup());

describe(`the daemon with sync enabled (${brokerKind})`, () => {
  it('starts the agent after the ledger and reports it on /healthz', async () => {
    const broker = await startBroker();
    const config = validateConfig({
      data_dir: t.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false },
      store: { id: uid('s'), village: uid('v') },
      sync: { enabled: true, broker_url: broker.url, heartbeat_s: 1, ledger_public_keys: [{ id: 'k1', pem: newKeyPair().publicPem }] },
    });
    const address = { village: config.store.village, store: config.store.id };
    broker.leaves(storeClientId(address), [storeTopic(address, 'status')]);
    const daemon = new StoreDaemon(config, pino({ level: 'silent' }));
    try {
      await daemon.start();
      const health = async () => (await (await fetch(new URL('/healthz', daemon.httpAddress))).json()) as { parts: Record<string, { health: string; detail?: string }> };
      await waitFor('/healthz to show the agent connected', async () => (await health()).parts.sync?.detail?.startsWith('connected;') ?? false);
      expect((await health()).parts.sync).toMatchObject({ health: 'ok', detail: expect.stringMatching(/outbox \d+ pending; last ack seq \d+; inbound seq \d+; refused: none/) });
    } finally {
      await daemon.stop();
      await broker.close();
    }
  });

  it('with a broker but no ledger ever heard from, the door applies sync.offline_daily_limit', async () => {
    const broker = await startBroker();
    const own = tempDir('sync-daemon-offline-');
    const config = validateConfig({
      data_dir: own.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false },
      store: { id: uid('s'), village: uid('v') },
      sync: { enabled: true, broker_url: broker.url, offline_daily_limit: 20, ledger_public_keys: [{ id: 'k1', pem: newKeyPair().publicPem }] },
    });
    const address = { village: config.store.village, store: config.store.id };
    broker.leaves(storeClientId(address), [storeTopic(address, 'status')]);
    const daemon = new StoreDaemon(config, pino({ level: 'silent' }));
    try {
      await daemon.start();
      const db = daemon.db;
      for (const [id, card] of [['off-a', 'PB-OFF-A'], ['off-b', 'PB-OFF-B']] as const) {
        addVillager(db, { id, name: id, village: config.store.village });
        applyEntry(db, { id: `${id}-aw`, villagerId: id, kind: 'award', points: 100, origin: 'cli' }, { creditFloor: 0 });
        addCard(db, card, id, new Date().toISOString());
      }
      applyEntry(db, { id: 'off-b-spent', villagerId: 'off-b', kind: 'redemption', points: -20, origin: 'store' }, { creditFloor: 0 });
      const said: Announcement[] = [];
      daemon.events.on('announce', (a) => said.push(a));
      const pipeline = daemon.entry!.pipeline!;
      expect(await pipeline.presentCode('PB-OFF-B')).toMatchObject({ decision: 'offline_limit', unlocked: false });
      expect(await pipeline.presentCode('PB-OFF-A')).toMatchObject({ decision: 'matched', unlocked: true, detail: { offlineAllowance: 20 } });
      expect(said.map((a) => [a.reason, a.villagerId])).toEqual([['offline_limit', 'off-b'], ['welcome', 'off-a']]);
      expect(said[1]?.text).toContain('up to 20 points');
    } finally {
      await daemon.stop();
      await broker.close();
      own.cleanup();
    }
  }, 120_000);
});
