/**
 * SyncMqtt schedules its own reconnects (cloud-sync/mqtt.ts): the first attempt after a drop
 * comes within a tenth of `reconnectMs`, failed attempts back off up to `reconnectMs`, each
 * wait jittered. Between the client and the broker (aedes, or the one at MQTT_URL) stands a
 * line the test can cut or refuse, as a village uplink would.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ReconnectBackoff, SyncMqtt, reconnectDelay } from '../../cloud-sync/mqtt.ts';
import { brokerKind, startBroker, uid, waitFor } from '../../harness/sync/rig.ts';

/** A TCP line to `target`: `cut` drops every connection; while `refusing` > 0 each new one is closed at once (and counted down). */
async function line(target: URL): Promise<{ url: string; accepted: () => number; cut: () => void; refuse: (n: number) => void; close: () => Promise<void> }> {
  const open = new Set<net.Socket>();
  let accepted = 0;
  let refusing = 0;
  const server = net.createServer((s) => {
    accepted++;
    if (refusing > 0) {
      refusing--;
      s.destroy();
      return;
    }
    const up = net.connect(Number(target.port || 1883), target.hostname);
    open.add(s).add(up);
    const drop = (): void => {
      s.destroy();
      up.destroy();
      open.delete(s);
      open.delete(up);
    };
    s.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
    s.pipe(up).pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    accepted: () => accepted,
    cut: () => {
      for (const s of open) s.destroy();
      open.clear();
    },
    refuse: (n) => {
      refusing = n;
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('reconnectDelay', () => {
  it('starts within a tenth of the longest wait, doubles, stops at it, and is half random', () => {
    const lo = (a: number): number => reconnectDelay(a, 1000, () => 0);
    const hi = (a: number): number => reconnectDelay(a, 1000, () => 0.999_999);
    expect([lo(0), hi(0)]).toEqual([50, 100]);
    expect([lo(1), hi(1)]).toEqual([100, 200]);
    expect([lo(3), hi(3)]).toEqual([400, 800]);
    expect([lo(4), hi(4)]).toEqual([500, 1000]);
    expect([lo(50), hi(50)]).toEqual([500, 1000]);
    for (let a = 0; a < 8; a++) expect(reconnectDelay(a + 1, 1000, () => 0.5)).toBeGreaterThanOrEqual(reconnectDelay(a, 1000, () => 0.5));
  });
});

/** A broker, a line to it and a client on that line; `fn` runs, then everything is closed. */
async function onLine(opts: { reconnectMs: number; persistentSession: boolean }, fn: (l: Awaited<ReturnType<typeof line>>, m: SyncMqtt) => Promise<void>): Promise<void> {
  const broker = await startBroker();
  const l = await line(new URL(broker.url));
  const clientId = uid('rc-');
  broker.leaves(clientId);
  const m = new SyncMqtt({ url: l.url, clientId, ...opts });
  try {
    await fn(l, m);
  } finally {
    await m.stop();
    await l.close();
    await broker.close();
  }
}

describe('ReconnectBackoff', () => {
  const mid = (): number => 0.5;
  it('grows over failed attempts and starts afresh after a connection that held', () => {
    const b = new ReconnectBackoff(1000, mid);
    expect([b.next(0), b.next(100), b.next(300)]).toEqual([75, 150, 300]);
    b.connected(1_000);
    expect(b.next(2_000)).toBe(75); // up for 1 s, the longest wait: a fresh start
  });

  it('keeps backing off when each connection is dropped at once (another client under the same id)', () => {
    const b = new ReconnectBackoff(1000, mid);
    const waits: number[] = [];
    let t = 0;
    for (let i = 0; i < 6; i++) {
      b.connected(t);
      t += 20; // kicked 20 ms after CONNACK
      waits.push(b.next(t));
      t += waits[waits.length - 1]!;
    }
    expect(waits).toEqual([75, 150, 300, 600, 750, 750]);
  });
});

describe(`SyncMqtt reconnects (${brokerKind})`, () => {
  // A longest wait of 60 s: a client that waited it (mqtt.js's fixed period) would outlast waitFor's 20 s.
  it('comes back after a cut line long before its longest wait', () => onLine({ reconnectMs: 60_000, persistentSession: true }, async (l, m) => {
    let connects = 0;
    m.on('connect', () => connects++);
    m.start(['test/reconnect']);
    await waitFor('first connection', () => connects === 1);
    l.cut();
    await waitFor('the drop seen', () => !m.connected);
    await waitFor('connected again', () => connects === 2);
    expect(l.accepted()).toBe(2);
  }));

  it('tries again and again while refused, backing off, and connects once the line is back', () => onLine({ reconnectMs: 400, persistentSession: false }, async (l, m) => {
    l.refuse(4);
    m.start([]);
    await waitFor('connected after four refusals', () => m.connected);
    expect(l.accepted()).toBe(5);
  }));

  it('stop() cancels an attempt that is due', () => onLine({ reconnectMs: 200, persistentSession: false }, async (l, m) => {
    l.refuse(1_000_000);
    m.start([]);
    await waitFor('two attempts refused', () => l.accepted() >= 2);
    await m.stop();
    const after = l.accepted();
    // The longest wait is 200 ms: a live retry loop would have made two more attempts in 1 s.
    await new Promise((r) => setTimeout(r, 1000));
    expect(l.accepted()).toBe(after);
    expect(m.connected).toBe(false);
  }));
});
