/**
 * The lists the admin tablets poll besides the live picture — the door's events, the audit log,
 * the review queue, a villager search — are kept like it (edge/http/kept-reply.ts): many
 * requests while the ledger is unchanged run their queries once and share one ETag, a client
 * revalidating with If-None-Match gets a 304, and a ledger write gives a fresh reply. The
 * renderings are counted as runs of each route's SELECT (better-sqlite3's Statement#all).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { cachedStatement } from '../../edge/ledger/db.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { appendAudit } from '../../edge/ledger/audit.ts';
import { insertEntryEvent } from '../../edge/ledger/entry-events.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH }, pino({ level: 'silent' }));
let s: Signed;

// every SELECT run through Statement#all, by its SQL text
const statement = Object.getPrototypeOf(cachedStatement(ledger.db, 'SELECT 1')) as { all: (...a: unknown[]) => unknown };
const all = statement.all;
const ran: string[] = [];

beforeAll(async () => {
  addVillager(ledger.db, { id: 'v1', name: '王大妈', village: '前进村' });
  insertEntryEvent(ledger.db, { at: new Date().toISOString(), decision: 'admit', by: 'card', villagerId: 'v1', detail: {} });
  s = await signedIn(app, ledger.db);
  statement.all = function (this: { source: string }, ...a: unknown[]) {
    ran.push(this.source);
    return all.apply(this, a);
  };
});

afterAll(async () => {
  statement.all = all;
  await app.close();
  ledger.cleanup();
});

const get = (url: string, etag?: string) => app.inject({ url, headers: { cookie: s.cookie, ...(etag ? { 'if-none-match': etag } : {}) } });

const routes: Array<{ url: string; table: RegExp; write: () => void; shows: (body: string) => boolean }> = [
  { url: '/api/events?limit=20', table: /FROM entry_events/, write: () => insertEntryEvent(ledger.db, { at: new Date().toISOString(), decision: 'refuse', by: 'card', villagerId: 'v1', detail: {} }), shows: (b) => b.includes('"refuse"') },
  { url: '/api/audit?limit=50', table: /FROM audit_log/, write: () => appendAudit(ledger.db, { actor: 'wang', action: 'test.kept', target: 'v1' }), shows: (b) => b.includes('test.kept') },
  {
    url: '/api/review',
    table: /FROM review_lines/,
    write: () => {
      openSession(ledger.db, { id: 's9', kind: 'shopping', villagerId: 'v1', enteredBy: 'card', state: 'shopping', context: {} });
      settleSession(ledger.db, { sessionId: 's9', lines: [], review: [{ slot: 'A1', reason: 'not_stable', deltaG: 20, detail: null }] }, { creditFloor: 0 });
    },
    shows: (b) => b.includes('"s9"'),
  },
  { url: '/api/villagers/search?q=%E6%9D%8E&limit=50', table: /FROM villagers/, write: () => addVillager(ledger.db, { id: 'v8', name: '李五', village: '前进村' }), shows: (b) => b.includes('李五') },
];

describe('the lists the tablets poll are made once per ledger change', () => {
  it.each(routes)('$url: twenty requests, one rendering, one ETag; 304 until a ledger write', async ({ url, table, write, shows }) => {
    ran.length = 0;
    const replies = await Promise.all(Array.from({ length: 20 }, () => get(url)));
    expect(replies.map((r) => r.statusCode)).toEqual(replies.map(() => 200));
    expect(ran.filter((sql) => table.test(sql))).toHaveLength(1);
    const tags = new Set(replies.map((r) => r.headers.etag));
    expect(tags.size).toBe(1);
    const etag = replies[0]!.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);

    ran.length = 0;
    const again = await get(url, etag);
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(ran.filter((sql) => table.test(sql))).toHaveLength(0);

    write();
    const fresh = await get(url, etag);
    expect(fresh.statusCode).toBe(200);
    expect(fresh.headers.etag).toBeDefined();
    expect(shows(fresh.body)).toBe(true);
  });

  it('a ledger write that leaves a list as it was: made again, the same ETag, still a 304', async () => {
    const first = await get('/api/audit?limit=50');
    ran.length = 0;
    addVillager(ledger.db, { id: 'v7', name: '赵六', village: '前进村' });
    const again = await get('/api/audit?limit=50', first.headers.etag as string);
    expect(ran.filter((sql) => /FROM audit_log/.test(sql))).toHaveLength(1);
    expect(again.statusCode).toBe(304);
  });
});
