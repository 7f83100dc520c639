/**
 * Schema version 2: a ledger of version 1, whose door decisions were written before card
 * numbers were masked, is opened by this program. Every full card number in
 * `entry_events.detail` is masked; nothing else in any row changes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import path from 'node:path';
import { APPLICATION_ID, closeLedger, openLedger } from '../../edge/ledger/db.ts';
import * as v1 from '../../edge/ledger/migrations/001-initial.ts';
import { LATEST_VERSION } from '../../edge/ledger/migrations/index.ts';
import { maskCard } from '../../edge/entry/credentials.ts';
import { tempDir } from './helpers.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

interface Row { id: number; at: string; decision: string; by: string; villager_id: string | null; detail: string | null }

/** The door decisions as a version-1 program wrote them (full card numbers, as JSON.stringify wrote detail). */
const OLD_ROWS: Omit<Row, 'id'>[] = [
  { at: '2026-11-01T08:00:00.000Z', decision: 'admitted', by: 'card', villager_id: 'zhangsan', detail: JSON.stringify({ card: 'PB-0001' }) },
  { at: '2026-11-01T08:05:00.000Z', decision: 'refused', by: 'card', villager_id: null, detail: JSON.stringify({ why: 'unknown card', card: 'PB-7KQ9-XM4T' }) },
  { at: '2026-11-01T08:06:00.000Z', decision: 'refused', by: 'card', villager_id: 'lisi', detail: JSON.stringify({ why: 'card revoked', card: '88231907', revokedAt: '2026-10-30T09:00:00.000Z', note: '李四 挂失 / lost', n: 1.5 }) },
  { at: '2026-11-01T08:07:00.000Z', decision: 'refused', by: 'card', villager_id: null, detail: JSON.stringify({ why: 'unknown card', card: 'X1' }) },
  // written by the masking version already, a face, a code that could not be read, no detail at all
  { at: '2026-11-01T09:00:00.000Z', decision: 'admitted', by: 'card', villager_id: 'wangwu', detail: JSON.stringify({ card: 'PB-****07' }) },
  { at: '2026-11-01T09:01:00.000Z', decision: 'admitted', by: 'face', villager_id: 'zhangsan', detail: JSON.stringify({ score: 0.91, frames: [1, 2, 3] }) },
  { at: '2026-11-01T09:02:00.000Z', decision: 'refused', by: 'card', villager_id: null, detail: JSON.stringify({ why: 'unreadable code' }) },
  { at: '2026-11-01T09:03:00.000Z', decision: 'refused', by: 'qr', villager_id: null, detail: null },
];

function versionOneLedger(file: string): Row[] {
  const raw = new Database(file);
  raw.exec(v1.sql);
  raw.pragma(`application_id = ${APPLICATION_ID}`);
  raw.pragma(`user_version = ${v1.version}`);
  const insert = raw.prepare('INSERT INTO entry_events (at, decision, by, villager_id, detail) VALUES (@at, @decision, @by, @villager_id, @detail)');
  for (const r of OLD_ROWS) insert.run(r);
  const rows = raw.prepare('SELECT * FROM entry_events ORDER BY id').all() as Row[];
  raw.close();
  return rows;
}

describe('opening a version-1 ledger with full card numbers in door decisions', () => {
  it('masks every card number and changes nothing else in any row', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = path.join(t.dir, 'ledger.sqlite');
    const before = versionOneLedger(file);

    const db = openLedger(file);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    const after = db.prepare('SELECT * FROM entry_events ORDER BY id').all() as Row[];
    closeLedger(db);

    const expected = before.map((r) => {
      const d = r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>);
      return d !== null && typeof d.card === 'string' ? { ...r, detail: JSON.stringify({ ...d, card: maskCard(d.card) }) } : r;
    });
    expect(after).toEqual(expected);
    expect(after.map((r) => (r.detail === null ? undefined : (JSON.parse(r.detail) as { card?: string }).card))).toEqual([
      'PB-****01', 'PB-****4T', '****07', '****', 'PB-****07', undefined, undefined, undefined,
    ]);
    // no full number is left anywhere in the table
    for (const full of ['PB-0001', 'PB-7KQ9-XM4T', '88231907']) expect(JSON.stringify(after)).not.toContain(full);
  });

  it('a ledger opened again is left as it is', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = path.join(t.dir, 'ledger.sqlite');
    versionOneLedger(file);
    closeLedger(openLedger(file));
    const once = new Database(file, { readonly: true });
    const first = once.prepare('SELECT * FROM entry_events ORDER BY id').all();
    once.close();
    closeLedger(openLedger(file));
    const twice = new Database(file, { readonly: true });
    expect(twice.prepare('SELECT * FROM entry_events ORDER BY id').all()).toEqual(first);
    twice.close();
  });
});
