/**
 * Writes to one village sent at the same time (awards, approvals, reversals): every one of them
 * takes the village's next stream seq, so on PostgreSQL they used to conflict on that one row and
 * run out of serialization retries (500). Each is answered as if sent alone, and the balances are
 * the sum of the entries. A transaction that cannot get through answers a bilingual 503 with Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import { silentLogger } from '../../edge/log.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { LedgerService } from '../../cloud-sync/ledger/service.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { busyError, type SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from '../ledger-gov/gov-app.ts';

describe(`writes to one village at the same time (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp();
  });
  afterAll(async () => {
    await g.close();
  });

  const balances = async (village: string) => {
    const rows = await g.db.query<{ id: string; balance: number | string }>(
      'SELECT v.id, COALESCE((SELECT SUM(points) FROM entries e WHERE e.villager_id = v.id), 0) AS balance FROM villagers v WHERE v.village = $1 ORDER BY v.id',
      [village],
    );
    return Object.fromEntries(rows.map((r) => [r.id, Number(r.balance)]));
  };

  it('60 awards at once: each answered 201, each in the stream once, balances the sum of the awards', async () => {
    for (let i = 0; i < 6; i++) expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/aw${i}`, { name: `村民${i}` })).statusCode).toBe(200);
    const sent = await Promise.all(Array.from({ length: 60 }, (_, i) => g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { id: `busy-${i}`, villager: `aw${i % 6}`, kind: 'award', points: i + 1, reason: '义务劳动' })));
    expect(sent.filter((r) => r.statusCode !== 201).map((r) => `${r.statusCode} ${r.body}`)).toEqual([]);
    const expected = Object.fromEntries(Array.from({ length: 6 }, (_, v) => [`aw${v}`, Array.from({ length: 10 }, (_, k) => k * 6 + v + 1).reduce((s, p) => s + p, 0)]));
    expect(await balances(g.a)).toEqual(expected);
    const seqs = await g.db.query<{ seq: number | string }>("SELECT seq FROM events WHERE village = $1 AND kind = 'entry' ORDER BY seq", [g.a]);
    expect(seqs).toHaveLength(60);
    expect(new Set(seqs.map((s) => Number(s.seq))).size).toBe(60);
  });

  it('40 approvals at once, then 40 reversals at once: each answered 200, balances back to zero', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/ap${i}`, { name: `村民${i}` })).statusCode).toBe(200);
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'SAF-FLOOD', villager: `ap${i}`, points: 10, evidence: 'witness:王支书' });
      expect(r.statusCode, r.body).toBe(201);
      ids.push((r.json() as { id: string }).id);
    }
    const approved = await Promise.all(ids.map((id) => g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${id}/approve`, {})));
    expect(approved.filter((r) => r.statusCode !== 200).map((r) => `${r.statusCode} ${r.body}`)).toEqual([]);
    const after = await balances(g.a);
    expect(ids.map((_, i) => after[`ap${i}`])).toEqual(ids.map(() => 10));
    const reversed = await Promise.all(ids.map((id) => g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${id}/reverse`, { reason: '误报' })));
    expect(reversed.filter((r) => r.statusCode !== 200).map((r) => `${r.statusCode} ${r.body}`)).toEqual([]);
    const end = await balances(g.a);
    expect(ids.map((_, i) => end[`ap${i}`])).toEqual(ids.map(() => 0));
  });

  it('writes to two villages at once, each village queued on its own: all answered, each stream without gaps', async () => {
    await g.call(g.vb, 'PUT', `/api/villages/${g.b}/villagers/bw0`, { name: '村民' });
    await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/aw-two`, { name: '村民' });
    const sent = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0
        ? g.call(g.va, 'POST', `/api/villages/${g.a}/entries`, { id: `two-a-${i}`, villager: 'aw-two', kind: 'award', points: 1, reason: '打扫村道' })
        : g.call(g.vb, 'POST', `/api/villages/${g.b}/entries`, { id: `two-b-${i}`, villager: 'bw0', kind: 'award', points: 1, reason: '打扫村道' })));
    expect(sent.filter((r) => r.statusCode !== 201).map((r) => `${r.statusCode} ${r.body}`)).toEqual([]);
    for (const v of [g.a, g.b]) {
      const seqs = (await g.db.query<{ seq: number | string }>('SELECT seq FROM events WHERE village = $1 ORDER BY seq', [v])).map((s) => Number(s.seq));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
  });
});

describe(`a transaction that cannot get through (${ledgerDbKind})`, () => {
  // PostgreSQL retries a serialization failure (40001) and then answers DB_BUSY; SQLite has one
  // writer at a time and never raises one, so there the error is not retried and goes up as it is.
  it('serialization failures past the retries answer DB_BUSY, bilingual, 503 with a Retry-After (PostgreSQL); SQLite does not retry', async () => {
    const g = await govApp();
    try {
      let tries = 0;
      const err = await g.db.transaction(async () => {
        tries++;
        throw Object.assign(new Error('could not serialize access due to concurrent update'), { code: '40001' });
      }).catch((e: unknown) => e);
      if (ledgerDbKind !== 'postgres') {
        expect(tries).toBe(1);
        expect(err).toMatchObject({ code: '40001' });
        return;
      }
      expect(tries).toBeGreaterThan(1);
      expect(err).toBeInstanceOf(EdgeError);
      expect(err).toMatchObject({ code: ErrorCode.DB_BUSY, zh: expect.stringContaining('稍后'), details: { status: 503, retryAfterS: expect.any(Number) } });
    } finally {
      await g.close();
    }
  });

  it('the API answers a busy database 503 with Retry-After and a bilingual body, not 500', async () => {
    const g = await govApp();
    const busy: SqlDb = { ...g.db, transaction: () => Promise.reject(busyError(new Error('40001'))) };
    const service = new LedgerService({ db: busy, key: privateEd25519('k1', newKeyPair().privatePem), log: silentLogger(), mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'unused' } });
    const app = buildLedgerApi({ db: busy, service, log: silentLogger(), tokens: [{ token: 'a-secret', role: 'village', village: g.a }] });
    try {
      await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/busy1`, { name: '村民' });
      const r = await app.inject({ method: 'POST', url: `/api/villages/${g.a}/entries`, headers: { authorization: 'Bearer a-secret' }, payload: { id: 'busy-x', villager: 'busy1', kind: 'award', points: 1, reason: '义务劳动' } });
      expect(r.statusCode).toBe(503);
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      expect(r.json()).toMatchObject({ error: ErrorCode.DB_BUSY, message: expect.stringContaining('busy'), zh: expect.stringContaining('稍后') });
    } finally {
      await app.close();
      await g.close();
    }
  });
});
