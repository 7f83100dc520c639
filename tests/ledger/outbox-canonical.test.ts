/**
 * Outbox payloads in the canonical JSON form (schema 14): written so, rewritten so from older
 * ledgers, and what the sync agent builds on it: a rows message signed over the stored text
 * spliced in (not parsed and written again), and an ack's digest taken of the stored text.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { APPLICATION_ID, closeLedger, inTransaction, openLedger } from '../../edge/ledger/db.ts';
import { MIGRATIONS } from '../../edge/ledger/migrations/index.ts';
import { enqueueOutbox, markOutboxAcked, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { unsentMissingFrom } from '../../edge/ledger/restore-unsent.ts';
import { ackedSeqs, rowsMessage } from '../../cloud-sync/agent/rows.ts';
import { checkers, decode } from '../../cloud-sync/protocol/payloads.ts';
import { canonicalJson, checkEnvelope, newKeyPair, privateEd25519, publicEd25519, rowDigest } from '../../cloud-sync/protocol/sign.ts';
import { tempDir, tempLedger } from './helpers.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const AT = '2026-12-03T08:00:00.000Z';
/** Keys out of order, a nested object, characters JSON.stringify writes as they are and one it escapes. */
const PAYLOAD = { villager: '张三', kind: 'redemption', points: -7, id: 'sess-1', lines: [{ sku: 'oil', n: 1, name: '油 "5L"' }], created_at: AT, note: 'a\u0001b' };

/** What a version-13 program stored: JSON.stringify, keys in the order the code built them. */
function storeOldRow(file: string, payload: unknown, acked: boolean): void {
  const db = new Database(file);
  db.prepare('INSERT INTO outbox (topic, payload, created_at, acked_at) VALUES (?, ?, ?, ?)').run('entry', JSON.stringify(payload), AT, acked ? AT : null);
  db.pragma('user_version = 13');
  db.close();
}

/**
 * A ledger as a version-13 program left it: its migrations and no later one (a later schema's
 * indexes already in place would make its migration fail where no store's ledger could).
 */
function version13Ledger(): { file: string; cleanup: () => void } {
  const t = tempDir('ledger-');
  const file = path.join(t.dir, 'ledger.sqlite');
  const raw = new Database(file);
  for (const m of MIGRATIONS.filter((x) => x.version <= 13)) {
    raw.exec(m.sql);
    m.up?.(raw);
  }
  raw.pragma(`application_id = ${APPLICATION_ID}`);
  raw.pragma('user_version = 13');
  raw.close();
  return { file, cleanup: t.cleanup };
}

describe('outbox payloads in the canonical form', () => {
  it('are written in it: keys sorted, the same value', () => {
    const t = tempLedger();
    cleanup = t.cleanup;
    inTransaction(t.db, 'a row', () => enqueueOutbox(t.db, 'entry', PAYLOAD, AT));
    const [row] = pendingOutbox(t.db);
    expect(row!.payloadText).toBe(canonicalJson(PAYLOAD));
    expect(row!.payloadText).not.toBe(JSON.stringify(PAYLOAD));
    expect(row!.payload).toEqual(PAYLOAD);
  });

  it('schema 14 rewrites rows an older program stored, acknowledged ones too, changing no value or digest; a damaged row stays as it is', () => {
    const t = version13Ledger();
    cleanup = t.cleanup;
    storeOldRow(t.file, PAYLOAD, true);
    storeOldRow(t.file, { b: 2, a: 1 }, false);
    const damaged = new Database(t.file);
    damaged.prepare('INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?)').run('entry', '{"b":2,', AT);
    damaged.close();
    const before = new Database(t.file, { readonly: true });
    const old = before.prepare('SELECT payload FROM outbox ORDER BY seq').pluck().all() as string[];
    before.close();
    expect(old).toEqual([JSON.stringify(PAYLOAD), '{"b":2,"a":1}', '{"b":2,']);
    const db = openLedger(t.file);
    const now = db.prepare('SELECT payload FROM outbox ORDER BY seq').pluck().all() as string[];
    closeLedger(db);
    expect(now).toEqual([canonicalJson(PAYLOAD), '{"a":1,"b":2}', '{"b":2,']); // a damaged row stays; the store still opens
    expect(now.slice(0, 2).map((p) => JSON.parse(p))).toEqual([PAYLOAD, { a: 1, b: 2 }]);
    expect(rowDigest(JSON.parse(now[0]!))).toBe(rowDigest(PAYLOAD));
  });
});

describe('a rows message over the stored text', () => {
  it('parses to an envelope whose signature verifies and whose rows carry the payloads; a changed byte is forged', () => {
    const t = tempLedger();
    cleanup = t.cleanup;
    inTransaction(t.db, 'rows', () => {
      enqueueOutbox(t.db, 'entry', PAYLOAD, AT);
      enqueueOutbox(t.db, 'villager', { op: 'add', id: 'li', name: '李四', village: 'qianjin' }, AT);
    });
    const k = newKeyPair();
    const text = rowsMessage({ village: 'qianjin', store: 's1' }, privateEd25519('store', k.privatePem), pendingOutbox(t.db), Date.parse(AT));
    const ring = new Map([['store', publicEd25519(k.publicPem)]]);
    const env = decode(Buffer.from(text), checkers.envelope);
    expect(env.ok).toBe(true);
    if (!env.ok) return;
    expect(checkEnvelope(env.value, ring, Date.parse(AT), 0)).toBeUndefined();
    expect(checkers.rows.Check(env.value.body)).toBe(true);
    expect((env.value.body as { rows: Array<{ payload: unknown }> }).rows.map((r) => r.payload)).toEqual([PAYLOAD, { op: 'add', id: 'li', name: '李四', village: 'qianjin' }]);
    const tampered = decode(Buffer.from(text.replace('"points":-7', '"points":-1')), checkers.envelope);
    expect(tampered.ok && checkEnvelope(tampered.value, ring, Date.parse(AT), 0)).toBe('forged');
  });

  it("an ack's digests, taken by the ledger of the parsed payload, mark the rows whose stored text they digest", () => {
    const t = tempLedger();
    cleanup = t.cleanup;
    const seq = inTransaction(t.db, 'a row', () => enqueueOutbox(t.db, 'entry', PAYLOAD, AT));
    const ids = [`s1:${seq}`];
    expect(ackedSeqs(t.db, 's1', { ids, digests: [rowDigest(PAYLOAD)] })).toEqual([seq]);
    expect(ackedSeqs(t.db, 's1', { ids, digests: [rowDigest({ ...PAYLOAD, points: -8 })] })).toEqual([]);
  });
});

describe('a restore from a copy taken before schema 14', () => {
  it('finds the unsent rows the copy holds in the old spelling, and only those missing', () => {
    const t = tempLedger();
    cleanup = t.cleanup;
    closeLedger(t.db);
    const copy = path.join(t.dir, 'copy.sqlite');
    copyFileSync(t.file, copy);
    storeOldRow(copy, PAYLOAD, false);
    const db = openLedger(t.file);
    inTransaction(db, 'rows', () => {
      enqueueOutbox(db, 'entry', PAYLOAD, AT);
      enqueueOutbox(db, 'entry', { ...PAYLOAD, id: 'sess-2' }, AT);
    });
    markOutboxAcked(db, 0, AT);
    closeLedger(db);
    expect(unsentMissingFrom(t.file, copy)).toEqual({ read: true, rows: [{ seq: 2, topic: 'entry' }] });
  });
});
