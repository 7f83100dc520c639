/**
 * `store-edge ledger serve` connects under the same MQTT client id at every start (by default
 * derived from its database; --client-id / MQTT_CLIENT_ID to choose one), so a restarted ledger
 * resumes its persistent broker session and gets what the stores published while it was down,
 * instead of leaving behind, at each restart, a session that queues every store's traffic for a
 * client that never returns.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../ledger/helpers.ts';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { publisher, startBroker, uid, waitFor, type Broker } from '../../harness/sync/rig.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('ledger-session-');
let broker: Broker | undefined;
const kids: ReturnType<typeof spawn>[] = [];
afterAll(async () => {
  for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
  await broker?.close();
  t.cleanup();
});

function run(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, DATABASE_URL: '', MQTT_CLIENT_ID: '', STORE_EDGE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  kids.push(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => out };
}

describe('the ledger\'s broker session', () => {
  it('is the same at every start: what the stores sent while the ledger was down waits for it', async () => {
    broker = await startBroker();
    const key = path.join(t.dir, 'key.pem');
    expect(await run(['ledger', 'keygen', '--out', key]).exited).toBe(0);
    const tokens = path.join(t.dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify([{ token: 'town-token-0123456789', role: 'town' }]));
    const args = ['ledger', 'serve', '--broker', broker.url, '--db', path.join(t.dir, 'l.sqlite'), '--key-file', key, '--tokens-file', tokens, '--port', '0'];
    const idOf = (out: string) => /"mqtt_client_id":"([^"]+)"/.exec(out)?.[1];
    const urlOf = (out: string) => /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];

    const first = run(args);
    await waitFor('the ledger serving', () => urlOf(first.out()) !== undefined || first.child.exitCode !== null, 60_000);
    const id = idOf(first.out());
    expect(id, first.out()).toMatch(/^ledger-[0-9a-f]{16}$/);
    broker.leaves(id!);
    // subscribed: its API says connected
    const village = uid('sv');
    const auth = { authorization: 'Bearer town-token-0123456789', 'content-type': 'application/json' };
    expect((await fetch(`${urlOf(first.out())}/api/villages`, { method: 'POST', headers: auth, body: JSON.stringify({ id: village, name: '一村' }) })).status).toBe(201);
    await waitFor('the ledger connected', async () => ((await (await fetch(`${urlOf(first.out())}/api/villages/${village}/sync`, { headers: auth })).json()) as { connected: boolean }).connected, 30_000);
    first.child.kill('SIGTERM');
    expect(await first.exited, first.out()).toBe(0);

    // the stores go on while it is down
    const pub = await publisher({ broker });
    for (let i = 0; i < 3; i++) expect(await pub.publish(`vps/v1/${village}/store/s1/heartbeat`, `{"n":${i}}`)).toBe(true);
    await pub.stop();

    // the next start is the same client, and resumes the session that kept them
    const second = run(args);
    await waitFor('the ledger serving again', () => urlOf(second.out()) !== undefined || second.child.exitCode !== null, 60_000);
    expect(idOf(second.out())).toBe(id);
    second.child.kill('SIGTERM');
    expect(await second.exited, second.out()).toBe(0);
    const probe = new SyncMqtt({ url: broker.url, clientId: id!, persistentSession: true });
    const present = new Promise<boolean>((resolve) => probe.once('connect', (s) => resolve(s)));
    probe.start([]);
    expect(await present).toBe(true);
    await probe.stop();
  }, 180_000);
});
