/**
 * The demo loop of `npm start`, on the real daemon with simulated hardware (shortened pauses,
 * fast scales, faces off so no model loads): it stocks an empty ledger once, the villagers'
 * points come from the demo's village ledger over MQTT, villagers come and go through the
 * scenario steps, the door refuses whom it should, the shelves get restocked, the store and
 * the village ledger agree, and it stops cleanly. It never runs outside demo mode.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validateConfig } from '../../edge/config/load.ts';
import { StoreDaemon } from '../../edge/main.ts';
import { findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { listSessions } from '../../edge/ledger/sessions.ts';
import { listVillagers } from '../../edge/ledger/villagers.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { DEMO_SCENARIOS, loadDemoStore } from '../../harness/demo/store.ts';
import { demoAddOn } from '../../harness/demo/index.ts';
import { tempDir } from '../ledger/helpers.ts';
import { createAccount, signInHttp } from './admin-auth.ts';

const physics = { settleMs: 60, noiseG: 1, creepGPerMin: 0 };
const fastDrivers = { scales: { poll_interval_ms: 15, stable_window: 3, stable_band_g: 4 }, lock: { input_poll_ms: 15, release_check_ms: 50 }, modbus: { response_timeout_ms: 100 } };
const t = tempDir('demo-');
afterAll(() => t.cleanup());

function config(dir: string, extra: Record<string, unknown> = {}) {
  return validateConfig({ data_dir: dir, demo: true, http: { port: 0 }, log: { level: 'silent' }, drivers: fastDrivers, entry: { face_enabled: false }, session: { stability_wait_ms: 1000 }, ...extra });
}

async function untilAsync(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the demo store', () => {
  it('is the union of the scenario files, without power cuts, with a maintainer', () => {
    const store = loadDemoStore();
    expect(store.visits.map((v) => v.name)).toEqual([...DEMO_SCENARIOS]);
    expect(store.slots.map((s) => `${s.slot}@${s.scale}`)).toEqual(['A1@11', 'A2@12', 'B1@13']);
    expect(store.maintainer.id).toBe('chen');
    expect(store.visits.flatMap((v) => v.steps).some((s) => (s.kind as string) === 'power_cut')).toBe(false);
    // a villager who has a card in one file and a face in another has both
    expect(store.villagers.find((v) => v.id === 'zhang')).toMatchObject({ card: 'PB-0001', face: { photo: 'sample2.jpg', index: 0 }, enrolled: true });
  });
});

describe('demo loop on the daemon', () => {
  it('stocks once, lets villagers come and go, refuses, restocks, keeps the ledger right, stops cleanly', async () => {
    const cfg = config(t.dir);
    const addOn = demoAddOn(cfg, { pace: { stepMs: 20, visitMs: 20 } });
    expect(addOn).toBeDefined();
    const daemon = new StoreDaemon(cfg, pino({ level: process.env.DEMO_TEST_LOG ?? 'silent' }), { physics, seed: 1 }, addOn ? [addOn] : []);
    await daemon.start();
    try {
      const demo = addOn?.villagers;
      expect(demo).toBeDefined();
      // one whole round and the first visit of the next (QR codes then), after a restock
      await until(() => (demo?.stats.visits ?? 0) + (demo?.stats.failures ?? 0) >= DEMO_SCENARIOS.length + 1, 90_000, 'a round of demo visits');
      expect(demo?.stats.failures).toBe(0);
      const db = daemon.db;
      const sessions = listSessions(db, { limit: 100 });
      const settled = sessions.filter((s) => s.status === 'settled');
      expect(settled.filter((s) => s.kind === 'shopping').length).toBeGreaterThanOrEqual(7);
      expect(settled.some((s) => s.kind === 'restock')).toBe(true);
      const decisions = db.prepare('SELECT decision, by, villager_id AS v FROM entry_events').all() as Array<{ decision: string; by: string; v: string | null }>;
      expect(decisions).toEqual(expect.arrayContaining([
        { decision: 'store_busy', by: 'card', v: 'li' },
        { decision: 'blocked', by: 'card', v: 'zhao' },
        { decision: 'matched', by: 'qr', v: 'zhang' },
      ]));
      expect(findBalanceMismatches(db)).toEqual([]);

      // every point came from the village ledger over MQTT: signed awards applied by the sync
      // agent (origin 'ledger'), none written into the store's ledger by the demo itself
      const awards = db.prepare("SELECT id, origin FROM entries WHERE kind = 'award'").all() as Array<{ id: string; origin: string }>;
      expect(awards.filter((a) => a.id.startsWith('demo-opening:')).length).toBe(loadDemoStore().villagers.filter((v) => v.balance > 0).length);
      expect(awards.some((a) => a.id.startsWith('demo-award:'))).toBe(true);
      expect(awards.filter((a) => a.origin !== 'ledger')).toEqual([]);

      // the villagers stop; the store and the village ledger then agree on every balance
      await demo?.stop();
      const village = addOn!.village!;
      const token = (JSON.parse(readFileSync(path.join(village.dir, 'api-tokens.json'), 'utf8')) as Array<{ token: string }>)[0]!.token;
      const ledgerBalance = async (id: string) => ((await (await fetch(new URL(`/api/villages/${cfg.store.village}/villagers/${id}`, village.apiUrl), { headers: { authorization: `Bearer ${token}` } })).json()) as { balance: number }).balance;
      await createAccount(db);
      const admin = await signInHttp(daemon.httpAddress!);
      const sync = async () => (await (await admin.get('/api/sync')).json()) as Record<string, unknown>;
      await untilAsync(async () => {
        if ((await sync()).outbox_pending !== 0) return false;
        for (const v of listVillagers(db)) if ((await ledgerBalance(v.id)) !== v.balance) return false;
        return true;
      }, 60_000, 'the store and the village ledger to agree');
      expect(await sync()).toMatchObject({ enabled: true, connected: true, outbox_pending: 0, last_acked_seq: expect.any(Number), last_ack_at: expect.any(String), inbound_seq: expect.any(Number), refused: { unsigned: 0, forged: 0, replayed: 0, expired: 0, invalid: 0 } });
      expect((await sync()).last_acked_seq).toBeGreaterThan(0);
      const page = await (await admin.get('/')).text();
      expect(page).toContain('<table id="sync" data-enabled="true" data-connected="true">');
    } finally {
      await daemon.stop();
    }
    expect(daemon.health.report().parts.demo?.health).toBe('stopped');
    expect(daemon.health.report().parts['village ledger']?.health).toBe('stopped');
    // the village's files, made at first start, are this user's only
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    const villageDir = path.join(t.dir, 'village');
    expect([mode(villageDir), mode(path.join(villageDir, 'ledger-key.pem')), mode(path.join(villageDir, 'api-tokens.json')), mode(path.join(villageDir, 'ledger.sqlite')), mode(path.join(t.dir, 'sync-store-key.pem'))]).toEqual(['700', '600', '600', '600', '600']);

    // a second start on the same ledger does not stock the store again
    const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
    const before = listVillagers(db).map((v) => [v.id, v.balance]);
    const opening = db.prepare("SELECT COUNT(*) AS n FROM entries WHERE id LIKE 'demo-opening:%'").get() as { n: number };
    closeLedger(db);
    const quiet = demoAddOn(config(t.dir), { pace: { stepMs: 60_000, visitMs: 60_000 } });
    const again = new StoreDaemon(config(t.dir), pino({ level: 'silent' }), { physics, seed: 1 }, quiet ? [quiet] : []);
    await again.start();
    try {
      expect(listVillagers(again.db).map((v) => [v.id, v.balance])).toEqual(before);
      expect(again.db.prepare("SELECT COUNT(*) AS n FROM entries WHERE id LIKE 'demo-opening:%'").get()).toEqual(opening);
    } finally {
      await again.stop();
    }
  }, 120_000);

  it('does not run with demo: false, demo_loop: false or real drivers, and leaves the ledger empty', async () => {
    expect(demoAddOn(config(t.dir, { drivers: { ...fastDrivers, simulated: false } }))).toBeUndefined();
    for (const [i, extra] of [{ demo: false }, { demo_loop: false }].entries()) {
      const dir = path.join(t.dir, `off-${i}`);
      const cfg = config(dir, extra);
      const addOn = demoAddOn(cfg);
      expect(addOn, JSON.stringify(extra)).toBeUndefined();
      const daemon = new StoreDaemon(cfg, pino({ level: 'silent' }), { physics }, addOn ? [addOn] : []);
      await daemon.start();
      try {
        expect(Object.keys(daemon.health.report().parts)).not.toContain('demo');
        expect(listVillagers(daemon.db)).toEqual([]);
      } finally {
        await daemon.stop();
      }
    }
  });
});
