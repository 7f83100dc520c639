/**
 * The live page's stream, read by a real client (fetch on a listening app, the SSE frames
 * parsed as a browser's EventSource does): a snapshot first, then the door, the cart, the
 * door's decisions in plain words and the alarms as the daemon's events arrive; no session,
 * no stream, and a session that ends (logout, new password, expiry) ends its stream; closing
 * the server ends open streams.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { LiveFeed, type DoorContact } from '../../edge/http/live-feed.ts';
import type { DaemonEvents } from '../../edge/events.ts';
import type { StoreStateSource } from '../../edge/http/queries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { insertEntryEvent } from '../../edge/ledger/entry-events.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, signedIn, signIn, TEST_AUTH, type Signed } from './admin-auth.ts';
import { setAdminPassword } from '../../edge/ledger/admin-accounts.ts';
import { hashPassword } from '../../edge/http/passwords.ts';

/** The lock driver as the feed sees it. */
class FakeLock extends EventEmitter {
  doorState: DoorContact = 'closed';
}

/** The shelf scales: weights set by the test, a sweep when the test says so. */
class FakeScales extends EventEmitter {
  weights = new Map<string, number | null>([['B1', 4500]]);
  status() {
    return [...this.weights].map(([slot, g]) => ({ slot, health: 'ok', stable_g: g }));
  }
  async zero(): Promise<void> {}
}

/** The session engine as the page sees it, changed by the test. */
const engine: { phase: string; current: StoreStateSource['current']; lines: Array<{ sku: string; slot: string; count: number }> } = { phase: 'idle', current: null, lines: [] };
const session: StoreStateSource = {
  get phase() {
    return engine.phase;
  },
  get current() {
    return engine.current;
  },
  cart: () => (engine.current ? { totalPoints: engine.lines.reduce((n, l) => n + l.count * 30, 0), cart: { lines: engine.lines, review: [] } } : null),
};

const ledger = tempLedger();
const relay = new EventEmitter<DaemonEvents>();
const lock = new FakeLock();
const scales = new FakeScales();
const live = new LiveFeed({ events: relay, lock: () => lock, scales: () => scales });
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, session, live, timeZone: 'Asia/Shanghai', scales: () => scales }, pino({ level: 'silent' }));
let base: string;
let s: Signed;

beforeAll(async () => {
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  upsertProduct(ledger.db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(ledger.db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  s = await signedIn(app, ledger.db);
  await app.listen({ host: '127.0.0.1', port: 0 });
  live.start();
  const addr = app.server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});

afterAll(async () => {
  live.stop();
  await app.close();
  ledger.cleanup();
});

interface SseMessage { event: string; data: unknown }

/** An EventSource-like reader over fetch: messages queue up; `next(name, until)` waits for one that fits. */
async function openStream(cookie: string) {
  const ctl = new AbortController();
  const res = await fetch(`${base}/api/live`, { headers: { cookie, accept: 'text/event-stream' }, signal: ctl.signal });
  const queue: SseMessage[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) queue.push({ event, data: JSON.parse(data.join('\n')) });
          waiters.splice(0).forEach((w) => w());
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true;
    waiters.splice(0).forEach((w) => w());
  })();
  async function next<T>(event: string, fits: (d: T) => boolean = () => true): Promise<T> {
    for (;;) {
      const i = queue.findIndex((m) => m.event === event && fits(m.data as T));
      if (i >= 0) return queue.splice(i, 1)[0]!.data as T;
      if (ended) throw new Error(`stream ended before a fitting '${event}' message; had ${JSON.stringify(queue.map((m) => m.event))}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  }
  const pending = (event: string): number => queue.filter((m) => m.event === event).length;
  return { res, next, pending, close: () => ctl.abort(), ended: () => pump };
}

describe('live stream', () => {
  it('refuses a client without a session (401, bilingual)', async () => {
    const res = await fetch(`${base}/api/live`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: string; zh: string };
    expect(body.error).toBe('UNAUTHENTICATED');
    expect(body.zh).toMatch(/登录/);
  });

  it('sends a snapshot, then the door, the cart, the decisions and the alarms as they change', async () => {
    const stream = await openStream(s.cookie);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const snap = await stream.next<{ door: { door: string; lock: string }; store: { phase: string }; decisions: unknown[]; alarms: unknown[] }>('snapshot');
    expect(snap.door).toMatchObject({ door: 'closed', lock: 'locked' });
    expect(snap.store.phase).toBe('idle');
    expect(snap.decisions).toEqual([]);

    // the card opens the door: the decision in plain words, the lock, the door contact
    insertEntryEvent(ledger.db, { at: new Date().toISOString(), decision: 'matched', by: 'card', villagerId: 'V001', detail: { card: 'PB-****01', unlocked: true } });
    relay.emit('entry_decision', { at: Date.now(), by: 'card', decision: 'matched', villagerId: 'V001', unlocked: true, detail: {}, latencyMs: 120 });
    const decisions = await stream.next<Array<{ words_zh: string; words_en: string; villager_name: string }>>('decisions');
    expect(decisions[0]).toMatchObject({ words_zh: '刷卡放行', words_en: 'Card: let in', villager_name: '王大妈' });
    lock.emit('unlocked', { release_at: Date.now() + 3000, confirmed_at: Date.now(), pulse_ms: 3000 });
    expect(await stream.next<{ lock: string; unlocked_until: string }>('door', (d) => d.lock === 'unlocked')).toMatchObject({ lock: 'unlocked' });
    lock.doorState = 'open';
    lock.emit('door', { state: 'open', initial: false, at: Date.now() });
    await stream.next<{ door: string }>('door', (d) => d.door === 'open');
    lock.emit('relocked', { at: Date.now() });
    await stream.next<{ lock: string }>('door', (d) => d.lock === 'locked');
    // the relay board goes silent: the door is unknown, not shown as it last was; then read again
    lock.doorState = 'unknown';
    lock.emit('inputs', { state: 'unread', polls: 5, at: Date.now() });
    await stream.next<{ door: string }>('door', (d) => d.door === 'unknown');
    lock.doorState = 'closed';
    lock.emit('inputs', { state: 'read', polls: 5, at: Date.now() });
    await stream.next<{ door: string }>('door', (d) => d.door === 'closed');

    // she is inside and lifts oil off B1: the cart follows the weights
    engine.phase = 'shopping';
    engine.current = { sessionId: 'sess-1', villagerId: 'V001', kind: 'shopping', enteredBy: 'card', openedAt: Date.now() };
    relay.emit('session_state', { phase: 'shopping', sessionId: 'sess-1', villagerId: 'V001' } as unknown as DaemonEvents['session_state'][0]);
    const shopping = await stream.next<{ phase: string; villager_name: string; cart: { lines: unknown[] } }>('store', (d) => d.phase === 'shopping');
    expect(shopping).toMatchObject({ villager_name: '王大妈', phase_zh: '购物中', cart: { lines: [] } });
    engine.lines = [{ sku: 'oil', slot: 'B1', count: 2 }];
    relay.emit('cart', {} as DaemonEvents['cart'][0]);
    const cart = await stream.next<{ cart: { lines: Array<{ name: string; count: number }>; total_points: number } }>('store', (d) => (d as { cart: { lines: unknown[] } }).cart?.lines.length === 1);
    expect(cart.cart).toMatchObject({ lines: [{ name: '菜籽油', slot: 'B1', count: 2, points: 60 }], total_points: 60 });

    // a face the door does not know, three frames
    insertEntryEvent(ledger.db, { at: new Date().toISOString(), decision: 'unknown', by: 'face', villagerId: null, detail: { frames: 3, seen: 'unknown,unknown,unknown', unlocked: false } });
    relay.emit('entry_decision', { at: Date.now(), by: 'face', decision: 'unknown', villagerId: null, unlocked: false, detail: {}, latencyMs: null });
    const later = await stream.next<Array<{ words_zh: string; decision: string }>>('decisions', (d) => d.length === 2);
    expect(later[0]).toMatchObject({ decision: 'unknown', words_zh: '未识别（3 帧都不像已登记村民）' });

    // a shelf moves while nobody is inside; a part raises its own alarm through the hook
    relay.emit('alarm', { kind: 'unattended_shelf', slot: 'A1', deltaG: -412.4, at: Date.now() });
    const alarms = await stream.next<Array<{ kind: string; zh: string; en: string }>>('alarms');
    expect(alarms[0]).toMatchObject({ kind: 'unattended_shelf' });
    expect(alarms[0]!.zh).toContain('A1');
    expect(alarms[0]!.zh).toContain('-412 克');
    live.raise({ kind: 'backup_failed', zh: '今晚的备份失败了', en: 'Tonight’s backup failed' });
    const more = await stream.next<Array<{ kind: string }>>('alarms', (d) => d.length === 2);
    expect(more.map((a) => a.kind)).toEqual(['backup_failed', 'unattended_shelf']);
    stream.close();
    await stream.ended();
  });

  it('sends a burst of cart changes as few messages, the last one right', async () => {
    const stream = await openStream(s.cookie);
    await stream.next('snapshot');
    for (let i = 1; i <= 20; i++) {
      engine.lines = [{ sku: 'oil', slot: 'B1', count: i }];
      relay.emit('cart', {} as DaemonEvents['cart'][0]);
    }
    const last = await stream.next<{ cart: { lines: Array<{ count: number }> } }>('store', (d) => d.cart?.lines[0]?.count === 20);
    expect(last.cart.lines[0]!.count).toBe(20);
    // 20 changes in one turn of the event loop: one message (two if a timer fell between)
    expect(stream.pending('store')).toBeLessThanOrEqual(1);
    stream.close();
    await stream.ended();
  });

  it('pushes the weights on the shelves: only when one changed, a burst as one message with the last weights', async () => {
    const stream = await openStream(s.cookie);
    const snap = await stream.next<{ shelves: Array<Record<string, unknown>> }>('snapshot');
    expect(snap.shelves).toEqual([{ slot: 'B1', address: 13, unit_id: null, sku: 'oil', name: '菜籽油', stock: 5, scale: 'ok', weight_g: 4500, counted: 5 }]);
    const signals: string[] = [];
    const onChange = (topic: string): void => void signals.push(topic);
    live.on('change', onChange);
    try {
      scales.emit('sweep');
      // sweeps that read the same weights signal nothing
      signals.length = 0;
      for (let i = 0; i < 5; i++) scales.emit('sweep');
      expect(signals).toEqual([]);
      // a villager lifts oil off B1: several readings within a moment
      for (const g of [4400, 3950, 3700, 3600]) {
        scales.weights.set('B1', g);
        scales.emit('sweep');
      }
      expect(signals).toEqual(['shelves', 'shelves', 'shelves', 'shelves']);
    } finally {
      live.off('change', onChange);
    }
    const moved = await stream.next<Array<{ slot: string; weight_g: number | null; counted: number | null }>>('shelves');
    // one message for the burst, with the weight it came to rest at
    expect(moved).toEqual([expect.objectContaining({ slot: 'B1', weight_g: 3600, counted: 4, stock: 5 })]);
    expect(stream.pending('shelves')).toBe(0);
    // the slot moving again: no weight at rest, no count
    scales.weights.set('B1', null);
    scales.emit('sweep');
    expect(await stream.next<Array<{ weight_g: number | null }>>('shelves')).toEqual([expect.objectContaining({ weight_g: null, counted: null })]);
    scales.weights.set('B1', 4500);
    scales.emit('sweep');
    await stream.next<Array<{ weight_g: number | null }>>('shelves', (d) => d[0]?.weight_g === 4500);
    stream.close();
    await stream.ended();
  });

  it('answers the same picture once as JSON, and a page that loads only its own script', async () => {
    const now = await fetch(`${base}/api/live/now`, { headers: { cookie: s.cookie } });
    expect(now.status).toBe(200);
    const body = (await now.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['alarms', 'at', 'decisions', 'door', 'open_alarms', 'shelves', 'store']);
    // this feed has no alarm board (alarms turned off): no open alarms list
    expect(body.open_alarms).toBeNull();
    const page = await fetch(`${base}/live`, { headers: { cookie: s.cookie } });
    const html = await page.text();
    // the stream's following (assets/follow-live.js) first, then the page's own drawing
    expect(html).toContain('<script src="/assets/follow-live.js" defer></script><script src="/assets/live.js" defer></script>');
    expect(html).toContain('data-tz="Asia/Shanghai"');
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp.split(';').find((d) => d.trim().startsWith('script-src'))?.trim()).toBe("script-src 'self'");
    const script = await fetch(`${base}/assets/live.js`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(await script.text()).toContain('LiveFollow.follow(');
    const follow = await fetch(`${base}/assets/follow-live.js`);
    expect(follow.headers.get('content-type')).toMatch(/javascript/);
    expect(await follow.text()).toContain("new EventSource('/api/live')");
    const en = await fetch(`${base}/live?lang=en`, { headers: { cookie: s.cookie } });
    expect(await en.text()).toContain('<html lang="en">');
  });

  it('ends a stream when its session ends: logout at once; a new password or the expiry before anything more is sent', async () => {
    // logout with the stream's own cookie: the stream ends without waiting for a message
    const a = await signIn(app);
    const byLogout = await openStream(a.cookie);
    await byLogout.next('snapshot');
    const out = await fetch(`${base}/logout`, { method: 'POST', headers: { ...a.post, 'content-type': 'application/json' }, body: '{}' });
    expect(out.status).toBe(200);
    await byLogout.ended();

    // a new password set by `store-edge admin password` (another process): no event reaches the old stream
    await createAccount(ledger.db, 'li');
    const li = await signIn(app, 'li');
    const byPassword = await openStream(li.cookie);
    await byPassword.next('snapshot');
    setAdminPassword(ledger.db, 'li', await hashPassword('another password 123'));
    // a session whose working day is over
    const b = await signIn(app);
    const byExpiry = await openStream(b.cookie);
    await byExpiry.next('snapshot');
    const sid = decodeURIComponent(b.cookie.slice('store_admin='.length)).split('.')[0]!;
    expect(ledger.db.prepare('UPDATE admin_sessions SET expires_at = ? WHERE sid = ?').run('2000-01-01T00:00:00.000Z', sid).changes).toBe(1);
    // a tablet still signed in keeps receiving
    const kept = await openStream(s.cookie);
    await kept.next('snapshot');

    live.raise({ kind: 'backup_failed', zh: '备份失败（会话结束后）', en: 'backup failed (after the session ended)' });
    await kept.next('alarms', (d: Array<{ zh: string }>) => d.some((x) => x.zh.includes('会话结束后')));
    await byPassword.ended();
    await byExpiry.ended();
    expect(byPassword.pending('alarms')).toBe(0);
    expect(byExpiry.pending('alarms')).toBe(0);
    kept.close();
  });

  it('ends open streams when the server closes', async () => {
    const other = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, session, live }, pino({ level: 'silent' }));
    await other.listen({ host: '127.0.0.1', port: 0 });
    const port = (other.server.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/api/live`, { headers: { cookie: s.cookie } });
    const reader = res.body!.getReader();
    await reader.read();
    await other.close();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
    }
    // every stream gone, on both apps: the feed has no listener left
    await vi.waitFor(() => expect(live.listenerCount('change')).toBe(0), { timeout: 10_000, interval: 20 });
  });
});
