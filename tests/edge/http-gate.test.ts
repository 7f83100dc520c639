/**
 * The admin gate: at most a few requests worked on at once, the rest in arrival order; a
 * client that gives up while waiting frees its place; probes and the live stream are not gated.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import Fastify from 'fastify';
import { registerAdminGate } from '../../edge/http/admin-gate.ts';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH } from './admin-auth.ts';
import { PUBLIC_RATE_PER_MINUTE } from '../../edge/http/auth.ts';

const app = Fastify();
const gate = registerAdminGate(app, { slots: 2 });
let running = 0;
let most = 0;
const order: number[] = [];
/** Each request holds its slot until the test lets it go. */
const holds: Array<() => void> = [];
app.get('/api/slow/:n', async (req) => {
  running += 1;
  most = Math.max(most, running);
  order.push(Number((req.params as { n: string }).n));
  await new Promise<void>((resolve) => holds.push(resolve));
  running -= 1;
  return { ok: true };
});
app.get('/healthz', async () => ({ status: 'ok' }));
afterAll(async () => {
  await app.close();
});

describe('admin gate', () => {
  it('works on two at a time, in arrival order; /healthz passes by', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const replies: Array<Promise<number>> = [];
    // one after another, each arrived before the next is sent: the arrival order is known
    for (let i = 0; i < 6; i++) {
      replies.push(fetch(`${base}/api/slow/${i}`).then((r) => r.status));
      await vi.waitFor(() => expect(gate.inFlight() + gate.waiting()).toBe(i + 1), { timeout: 10_000, interval: 5 });
    }
    expect(gate.waiting()).toBe(4);
    expect(gate.inFlight()).toBe(2);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // a client that gives up while waiting frees its place
    const ctl = new AbortController();
    const gaveUp = fetch(`${base}/api/slow/99`, { signal: ctl.signal }).catch(() => 'aborted');
    await vi.waitFor(() => expect(gate.waiting()).toBe(5), { timeout: 10_000, interval: 10 });
    ctl.abort();
    expect(await gaveUp).toBe('aborted');
    await vi.waitFor(() => expect(gate.waiting()).toBe(4), { timeout: 10_000, interval: 10 });
    while (order.length < 6 || holds.length > 0) {
      await vi.waitFor(() => expect(holds.length).toBeGreaterThan(0), { timeout: 10_000, interval: 5 });
      holds.shift()!();
    }
    expect(await Promise.all(replies)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(gate.inFlight()).toBe(0);
  });

  it('begins at most perSecond requests a second; the rest wait, none is refused', async () => {
    const fast = Fastify();
    registerAdminGate(fast, { slots: 100, perSecond: 10 });
    const began: number[] = [];
    fast.get('/api/quick', async () => {
      began.push(performance.now());
      return { ok: true };
    });
    const replies = await Promise.all(Array.from({ length: 30 }, () => fast.inject('/api/quick')));
    await fast.close();
    expect(replies.map((r) => r.statusCode)).toEqual(Array(30).fill(200));
    // a bucket of 10, then 10 a second: the 30th begins no sooner than 2 s after the first
    // (a lower bound only: a slow machine makes it later, never earlier)
    expect(began[29]! - began[0]!).toBeGreaterThanOrEqual(1900);
  });

  it('while a villager is in the store: one request at a time at the busy rate; back to the usual ones once idle', async () => {
    const gated = Fastify();
    let busy = true;
    const g = registerAdminGate(gated, { slots: 4, perSecond: 1000, busySlots: 1, busyPerSecond: 5, storeBusy: () => busy });
    let now = 0;
    let most = 0;
    const began: number[] = [];
    const release: Array<() => void> = [];
    gated.get('/api/held', async () => {
      now += 1;
      most = Math.max(most, now);
      began.push(performance.now());
      await new Promise<void>((resolve) => release.push(resolve));
      now -= 1;
      return { ok: true };
    });
    const first = Array.from({ length: 8 }, () => gated.inject('/api/held'));
    // one at a time while busy: each is let go only once it is the only one running
    while (began.length < 8) {
      await vi.waitFor(() => expect(release.length).toBeGreaterThan(0), { timeout: 10_000, interval: 5 });
      expect(g.inFlight()).toBe(1);
      release.shift()!();
    }
    expect((await Promise.all(first)).map((r) => r.statusCode)).toEqual(Array(8).fill(200));
    expect(most).toBe(1);
    // a bucket of 5, then 5 a second: the 8th began no sooner than 0.6 s after the first
    expect(began[7]! - began[0]!).toBeGreaterThanOrEqual(550);
    // idle again: four at once
    busy = false;
    most = 0;
    const second = Array.from({ length: 4 }, () => gated.inject('/api/held'));
    await vi.waitFor(() => expect(release.length).toBe(4), { timeout: 10_000, interval: 5 });
    expect(most).toBe(4);
    for (const r of release.splice(0)) r();
    expect((await Promise.all(second)).map((r) => r.statusCode)).toEqual(Array(4).fill(200));
    await gated.close();
  });

  it('lets the board and its parts by, as docs/store-admin.md says: /board/live and /board/board.js answer while every slot is held', async () => {
    const held = Fastify();
    const g = registerAdminGate(held, { slots: 1 });
    const release: Array<() => void> = [];
    held.get('/api/held', async () => {
      await new Promise<void>((resolve) => release.push(resolve));
      return { ok: true };
    });
    for (const p of ['/board', '/board/live', '/board/board.js']) held.get(p, async () => 'board');
    const holding = held.inject('/api/held');
    const waiting = held.inject('/api/held');
    await vi.waitFor(() => expect(g.waiting()).toBe(1), { timeout: 10_000, interval: 5 });
    for (const p of ['/board', '/board/live', '/board/board.js']) expect((await held.inject(p)).statusCode, p).toBe(200);
    await vi.waitFor(() => expect(release.length).toBe(1), { timeout: 10_000, interval: 5 });
    release.shift()!();
    await vi.waitFor(() => expect(release.length).toBe(1), { timeout: 10_000, interval: 5 });
    release.shift()!();
    expect((await Promise.all([holding, waiting])).map((r) => r.statusCode)).toEqual([200, 200]);
    await held.close();
  });

  it('in the app, the login check comes first: requests without a session get their 401 without taking the signed-in maintainers\' turns', async () => {
    const ledger = tempLedger();
    const session = { phase: 'shopping', current: null, cart: () => null };
    const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, session }, pino({ level: 'silent' }));
    try {
      session.phase = 'idle';
      const s = await signedIn(app, ledger.db);
      session.phase = 'shopping'; // a villager inside: 25 requests a second pass the gate
      const t0 = performance.now();
      // .then() sends each at once (an inject is sent when it is awaited)
      const flood = Array.from({ length: 300 }, () => app.inject('/api/store').then((r) => r));
      const mine = await app.inject({ url: '/api/store', headers: { cookie: s.cookie } });
      const elapsed = performance.now() - t0;
      expect(mine.statusCode).toBe(200);
      expect(new Set((await Promise.all(flood)).map((r) => r.statusCode))).toEqual(new Set([401]));
      // behind 300 gated requests at 25 a second it would have waited at least 11 s
      expect(elapsed).toBeLessThan(5000);
    } finally {
      await app.close();
      ledger.cleanup();
    }
  }, 60_000);
  it('anonymous requests to the public routes (login page, /api/me, the scripts) do not take the gate\'s turns; they are limited per address instead', async () => {
    const ledger = tempLedger();
    const session = { phase: 'shopping', current: null, cart: () => null };
    const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, session }, pino({ level: 'silent' }));
    try {
      session.phase = 'idle';
      const s = await signedIn(app, ledger.db);
      session.phase = 'shopping'; // a villager inside: 25 requests a second pass the gate
      const t0 = performance.now();
      // a visitor on the store's network (the store PC itself, loopback, is not limited)
      const visitor = (url: string) => app.inject({ url, remoteAddress: '192.168.1.23' });
      const flood = ['/assets/admin.js', '/login', '/api/me', '/assets/live.js'].flatMap((url) => Array.from({ length: 150 }, () => visitor(url).then((r) => r)));
      const mine = await app.inject({ url: '/api/store', headers: { cookie: s.cookie } });
      const elapsed = performance.now() - t0;
      expect(mine.statusCode).toBe(200);
      // behind 600 gated requests at 25 a second it would have waited about 24 s
      expect(elapsed).toBeLessThan(5000);
      // answered or limited, nothing else (a burst all at once may be limited as a whole)
      for (const r of await Promise.all(flood)) expect([200, 429]).toContain(r.statusCode);
      // one after another: each address may ask each such route PUBLIC_RATE_PER_MINUTE times a minute, then 429
      for (let i = 0; i < PUBLIC_RATE_PER_MINUTE; i++) expect((await visitor('/assets/shelves.js')).statusCode).toBe(200);
      expect((await visitor('/assets/shelves.js')).statusCode).toBe(429);
      expect((await app.inject('/assets/shelves.js')).statusCode).toBe(200);
      const limited = await visitor('/api/me');
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ error: 'RATE_LIMITED', zh: expect.any(String), message: expect.any(String) });
      // a signed-in maintainer is gated as everywhere, never counted against the address
      session.phase = 'idle';
      expect((await app.inject({ url: '/assets/admin.js', remoteAddress: '192.168.1.23', headers: { cookie: s.cookie } })).statusCode).toBe(200);
      expect((await app.inject({ url: '/api/me', remoteAddress: '192.168.1.23', headers: { cookie: s.cookie } })).json().user).toMatchObject({ username: 'wang' });
    } finally {
      await app.close();
      ledger.cleanup();
    }
  }, 60_000);
});
