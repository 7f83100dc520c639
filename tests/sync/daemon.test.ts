/** The agent as a Part of the daemon: it follows the ledger, and /healthz shows its state. */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validateConfig } from '../../edge/config/load.ts';
import { StoreDaemon } from '../../edge/main.ts';
import { tempDir } from '../ledger/helpers.ts';
import { newKeyPair } from '../../cloud-sync/protocol/sign.ts';
import { brokerKind, startBroker, uid, waitFor } from '../../harness/sync/rig.ts';

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
});
