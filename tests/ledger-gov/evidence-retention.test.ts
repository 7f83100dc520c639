/**
 * Evidence photos' retention: after the configured period a kept photo's picture is purged
 * (its bytes emptied, `purged_at` set) while the row, its hash, the claim, its entry and the
 * audit remain, with "photo purged on DATE"; a photo of a claim still waiting for a decision
 * is kept; the database allows that one change only; the purge runs as a scheduled job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { silentLogger } from '../../edge/log.ts';
import { purgeEvidence } from '../../cloud-sync/ledger/governance/evidence-retention.ts';
import { fileReport } from '../../cloud-sync/ledger/governance/tasks.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { LedgerRetention } from '../../cloud-sync/ledger/retention.ts';
import { localDate } from '../../cloud-sync/ledger/governance/rules.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { tinyJpeg } from './photos.ts';
import { existsSync, readFileSync } from 'node:fs';
import sharp from 'sharp';

const DAY = 86_400_000;

describe(`evidence photo retention (${ledgerDbKind})`, () => {
  let g: GovApp;
  let zhang: string;
  const ids = { decided: '', waiting: '', loose: '' };
  let decidedClaim = '';
  const upload = async (who: string) => {
    const r = await g.upload(who, `/api/villages/${g.a}/evidence`, await tinyJpeg());
    expect(r.statusCode).toBe(201);
    return (r.json() as { id: string }).id;
  };
  const photo = (id: string) => g.call(g.va, 'GET', `/api/villages/${g.a}/evidence/${id}`);

  beforeAll(async () => {
    g = await govApp();
    zhang = await g.villager(g.a, 'zhang');
    ids.decided = await upload(zhang);
    ids.waiting = await upload(zhang);
    ids.loose = await upload(g.va);
    // One photo backs an approved self-report, one a report still waiting for the village.
    decidedClaim = ((await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', evidence: `photo:${ids.decided}` })).json() as { id: string }).id;
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${decidedClaim}/approve`, {})).statusCode).toBe(200);
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', evidence: `photo:${ids.waiting}` })).statusCode).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await g?.close();
  });

  it('keeps photos younger than the period; purges older ones but never one a pending claim needs', async () => {
    expect(await purgeEvidence(g.db, 365, new Date(Date.now() + 300 * DAY))).toMatchObject({ purged: 0 });
    expect((await photo(ids.decided)).statusCode).toBe(200);
    const later = new Date(Date.now() + 400 * DAY);
    expect(await purgeEvidence(g.db, 365, later)).toMatchObject({ purged: 2, claims: 1 });
    const on = localDate(later);
    for (const id of [ids.decided, ids.loose]) {
      const res = await photo(id);
      expect(res.statusCode).toBe(410);
      expect(res.json()).toMatchObject({ error: 'PHOTO_PURGED', zh: `照片已于 ${on} 按保存期限删除（申报记录和操作记录仍保留）`, message: expect.stringContaining(`photo purged on ${on}`) });
    }
    expect((await photo(ids.waiting)).statusCode).toBe(200);
    // The row, its hash, the claim and its entry remain; only the picture is gone.
    const rows = await g.db.query<{ id: string; sha256: string; purged_at: string | null; bytes: Buffer | Uint8Array }>('SELECT id, sha256, purged_at, bytes FROM gov_evidence WHERE village = $1 ORDER BY id', [g.a]);
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect({ id: r.id, purged: r.purged_at !== null, empty: Buffer.from(r.bytes).length === 0 }).toEqual({ id: r.id, purged: r.id !== ids.waiting, empty: r.id !== ids.waiting });
    }
    const claim = (await g.call(g.va, 'GET', `/api/villages/${g.a}/claims/${decidedClaim}`)).json() as { status: string; evidence: string; entry_id: string };
    expect(claim).toMatchObject({ status: 'approved', evidence: `photo:${ids.decided}` });
    expect(await g.db.query('SELECT id FROM entries WHERE id = $1', [claim.entry_id])).toHaveLength(1);
    // The audit says so, for the photo and for the claim that named it.
    const audit = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { subject: string; action: string; actor: string; detail: { message: string; zh: string } }[] };
    const purges = audit.events.filter((e) => e.action === 'evidence.purge');
    expect(purges.map((e) => e.subject).sort()).toEqual([`claim:${decidedClaim}`, `evidence:${ids.decided}`, `evidence:${ids.loose}`].sort());
    for (const e of purges) expect(e).toMatchObject({ actor: 'system', detail: { message: `photo purged on ${on}`, zh: `照片已于 ${on} 按保存期限删除` } });
    expect(audit.events.some((e) => e.action === 'evidence.upload' && e.subject === `evidence:${ids.decided}`)).toBe(true);
    // Again: nothing more to do. A report cannot name a purged photo.
    expect(await purgeEvidence(g.db, 365, later)).toMatchObject({ purged: 0 });
    const again = await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', evidence: `photo:${ids.decided}` });
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ field: 'evidence', zh: expect.stringContaining('已按保存期限删除') });
  });

  it('a purged photo\'s bytes are gone from the database\'s files, not only from its row', async () => {
    // A photo with detail (noise), so that its bytes fill pages of their own.
    const raw = Buffer.alloc(300 * 200 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = ((i * 2654435761) >>> 24) ^ (i % 251);
    const id = (await g.upload(zhang, `/api/villages/${g.a}/evidence`, await sharp(raw, { raw: { width: 300, height: 200, channels: 3 } }).jpeg().toBuffer())).json() as { id: string };
    const kept = Buffer.from((await g.db.query<{ bytes: Buffer | Uint8Array }>('SELECT bytes FROM gov_evidence WHERE id = $1', [id.id]))[0]!.bytes);
    expect(kept.length).toBeGreaterThan(8192);
    // From the picture's data, past the header (its tables are the same in every photo the ledger keeps)
    const samples = Array.from({ length: Math.floor(kept.length / 2048) - 1 }, (_, k) => kept.subarray((k + 1) * 2048, (k + 1) * 2048 + 128));
    const onDisk = () => {
      const files = [g.sqliteFile!, `${g.sqliteFile}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f));
      return samples.filter((s) => files.some((f) => f.includes(s))).length;
    };
    if (g.sqliteFile) expect(onDisk()).toBe(samples.length);
    expect(await purgeEvidence(g.db, 1, new Date(Date.now() + 2 * DAY))).toMatchObject({ purged: 1 });
    expect((await photo(id.id)).statusCode).toBe(410);
    if (g.sqliteFile) expect(onDisk()).toBe(0);
  });

  it('the database allows the purge once and nothing else: no other change, no delete', async () => {
    const tries = [
      ['UPDATE gov_evidence SET sha256 = $1 WHERE id = $2', ['0'.repeat(64), ids.waiting]],
      ['UPDATE gov_evidence SET purged_at = $1 WHERE id = $2', [new Date().toISOString(), ids.waiting]],
      ['UPDATE gov_evidence SET bytes = $1, purged_at = $2, uploaded_by = $3 WHERE id = $4', [Buffer.alloc(0), new Date().toISOString(), 'someone', ids.waiting]],
      ['UPDATE gov_evidence SET purged_at = $1 WHERE id = $2', ['2099-01-01T00:00:00.000Z', ids.decided]],
      ['DELETE FROM gov_evidence WHERE id = $1', [ids.loose]],
    ] as const;
    for (const [sql, params] of tries) await expect(g.db.run(sql, [...params]), sql).rejects.toThrow(/evidence is never/);
  });

  it('runs as a scheduled job of the ledger, at start and by its cron; bad options are refused bilingually', async () => {
    const fresh = await upload(zhang);
    let ahead = 0;
    const job = new LedgerRetention({ db: g.db, log: silentLogger(), options: { evidenceKeepDays: 30, alarmKeepDays: 0, cron: '*/2 * * * * *', timezone: 'Asia/Shanghai' }, clock: () => new Date(Date.now() + ahead) });
    job.start();
    try {
      // The run at start finds the photo young; 31 days on, the cron's next run purges it.
      await job.runOnce();
      expect((await photo(fresh)).statusCode).toBe(200);
      ahead = 31 * DAY;
      await expect.poll(async () => (await photo(fresh)).statusCode, { timeout: 30_000, interval: 200 }).toBe(410);
    } finally {
      await job.stop();
    }
    for (const bad of [{ evidenceKeepDays: -1 }, { evidenceKeepDays: 1.5 }, { evidenceKeepDays: 200_000_000 }, { evidenceKeepDays: 36_501 }, { alarmKeepDays: -3 }, { alarmKeepDays: 0.5 }, { alarmKeepDays: 1e12 }, { cron: 'every night' }, { timezone: 'Mars/Olympus' }]) {
      expect(() => LedgerRetention.check({ evidenceKeepDays: 365, alarmKeepDays: 365, cron: '15 3 * * *', timezone: 'Asia/Shanghai', ...bad })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', zh: expect.any(String) }));
    }
    // The largest accepted period still purges (a cut-off a Date can hold).
    expect(() => LedgerRetention.check({ evidenceKeepDays: 36_500, alarmKeepDays: 36_500, cron: '15 3 * * *', timezone: 'Asia/Shanghai' })).not.toThrow();
    expect(await purgeEvidence(g.db, 36_500, new Date())).toMatchObject({ purged: 0 });
  }, 60_000);
});

/**
 * The purge and a report naming the same old photo at the same moment: the purge picks its photos
 * before its transaction, and a filing checks its photo before its own. Each checks again inside
 * its transaction, so whichever comes second sees the other: a photo a pending claim names is
 * never emptied, and a claim never comes to name a purged photo. Ordered here by the steps
 * themselves (a wrapper runs the other side at the exact point), not by timing.
 */
describe(`evidence photo retention against a report at the same moment (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp();
    await g.villager(g.a, 'zhao');
  }, 60_000);
  afterAll(async () => {
    await g?.close();
  });
  const oldPhoto = async () => ((await g.upload(g.va, `/api/villages/${g.a}/evidence`, await tinyJpeg(), { fields: { villager: 'zhao' } })).json() as { id: string }).id;
  const purgedAt = async (id: string) => (await g.db.query<{ purged_at: string | null }>('SELECT purged_at FROM gov_evidence WHERE id = $1', [id]))[0]!.purged_at;
  const later = () => new Date(Date.now() + 400 * DAY);

  it('a report filed after the purge chose its photos, before its transaction: the photo is kept, the claim waits with it', async () => {
    const photo = await oldPhoto();
    let filed: Awaited<ReturnType<typeof fileReport>> | undefined;
    // the purge's choice made, the report is filed before the purge's transaction begins
    const racing: SqlDb = {
      ...g.db,
      query: async <T>(sql: string, params?: unknown[]) => {
        const rows = await g.db.query<T>(sql, params);
        if (!filed && /FROM gov_evidence e/.test(sql)) filed = await fileReport(g.db, g.a, 'village', { villager: 'zhao', item: 'ENV-SWEEP-LANE', evidence: `photo:${photo}` }, 'village:test', new Date());
        return rows;
      },
    };
    const out = await purgeEvidence(racing, 365, later());
    expect(filed?.claim.status).toBe('reported');
    expect({ purged: out.purged, purgedAt: await purgedAt(photo) }).toEqual({ purged: 0, purgedAt: null });
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/evidence/${photo}`)).statusCode).toBe(200);
    // decided, it is purged by the next run
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${filed!.claim.id}/reject`, { reason: '照片不清楚' })).statusCode).toBe(200);
    expect(await purgeEvidence(g.db, 365, later())).toMatchObject({ purged: 1, claims: 1 });
  });

  it('a purge that ends between the report\'s check of its photo and its transaction: the report is refused on evidence, no claim names the purged photo', async () => {
    const photo = await oldPhoto();
    const racing: SqlDb = {
      ...g.db,
      transaction: async (fn, opts) => {
        expect(await purgeEvidence(g.db, 365, later())).toMatchObject({ purged: 1 });
        return g.db.transaction(fn, opts);
      },
    };
    const err = await fileReport(racing, g.a, 'village', { villager: 'zhao', item: 'ENV-SWEEP-LANE', evidence: `photo:${photo}` }, 'village:test', new Date()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'evidence' }, zh: expect.stringContaining('已按保存期限删除') });
    expect(await g.db.query('SELECT id FROM gov_claims WHERE evidence = $1', [`photo:${photo}`])).toEqual([]);
    expect(await purgedAt(photo)).not.toBeNull();
  });
});

describe(`evidence retention and a photo with a witness's name (${ledgerDbKind})`, () => {
  it('a pending claim whose evidence is a photo and words keeps its photo; once decided, the purge takes it and notes it on the claim', async () => {
    const g = await govApp();
    try {
      const zhang = await g.villager(g.a, 'zhang');
      const up = await g.upload(zhang, `/api/villages/${g.a}/evidence`, await tinyJpeg());
      expect(up.statusCode).toBe(201);
      const id = (up.json() as { id: string }).id;
      const filed = await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', evidence: `photo:${id} 证明人：王大妈` });
      expect(filed.statusCode).toBe(201);
      const claim = (filed.json() as { id: string }).id;
      const later = () => new Date(Date.now() + 400 * DAY);
      expect(await purgeEvidence(g.db, 365, later())).toMatchObject({ purged: 0 });
      expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/evidence/${id}`)).statusCode).toBe(200);
      expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${claim}/approve`, {})).statusCode).toBe(200);
      expect(await purgeEvidence(g.db, 365, later())).toMatchObject({ purged: 1, claims: 1 });
      const audit = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { subject: string; action: string }[] };
      expect(audit.events.some((e) => e.subject === `claim:${claim}` && e.action === 'evidence.purge')).toBe(true);
    } finally {
      await g.close();
    }
  }, 60_000);

  it('a photo reference followed by blanks alone is checked like any other (no photo of another villager slips through)', async () => {
    const g = await govApp();
    try {
      await g.villager(g.a, 'zhang');
      const li = await g.villager(g.a, 'li');
      const zhang = await g.villager(g.a, 'zhang');
      const up = await g.upload(li, `/api/villages/${g.a}/evidence`, await tinyJpeg());
      const lis = (up.json() as { id: string }).id;
      const r = await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', evidence: `photo:${lis}   ` });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ field: 'evidence' });
    } finally {
      await g.close();
    }
  }, 60_000);
});
