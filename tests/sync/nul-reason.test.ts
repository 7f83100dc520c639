/**
 * A store entry whose reason holds U+0000 (the protocol's Text(500) has no pattern, and old
 * stores took any text) is acknowledged and counted `unapplied` on both ledger databases: SQLite
 * would store it, PostgreSQL's TEXT cannot, and the whole batch failed there for ever, the other
 * sales of the batch with it. The two databases now agree, and the rest of the batch is applied.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { applyRowGroup } from '../../cloud-sync/ledger/group.ts';
import { countRows, newCounters } from '../../cloud-sync/ledger/counters.ts';
import { addVillage, balanceOf, registerStore, upsertVillager, type Signer } from '../../cloud-sync/ledger/tables.ts';
import { checkers, type Row } from '../../cloud-sync/protocol/payloads.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

const signer: Signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };
let L: Awaited<ReturnType<typeof tempLedgerDb>>;
beforeEach(async () => { L = await tempLedgerDb(); });
afterEach(async () => { await L.drop(); });

it(`an entry with NUL in its text is held, acknowledged and counted unapplied; the rest of its batch is applied (${ledgerDbKind})`, async () => {
  const now = new Date();
  const at = now.toISOString();
  await addVillage(L.db, 'va', 'va', at);
  await registerStore(L.db, 'va', 's1', 'store', 'unused');
  await upsertVillager(L.db, { id: 'zhang', name: '张三', village: 'va', status: 'active' }, signer, now);
  const nul = { id: 'redemption:sess-1', villager: 'zhang', kind: 'redemption', points: -5, reference: 'session:sess-1', reason: 'soap\u0000', created_at: at };
  expect(checkers.wireEntry.Check(nul)).toBe(true);
  const other = { id: 'redemption:sess-0', villager: 'zhang', kind: 'redemption', points: -2, reference: 'session:sess-0', reason: 'salt', created_at: at };
  const nulRef = { ...other, id: 'refund:sess-0', kind: 'refund', points: 1, reference: '\u0000', reason: null };
  const rows: Row[] = [
    { id: 's1:1', seq: 1, topic: 'entry', payload: other, created_at: at },
    { id: 's1:2', seq: 2, topic: 'entry', payload: nul, created_at: at },
    { id: 's1:3', seq: 3, topic: 'entry', payload: nulRef, created_at: at },
  ];
  const out = await applyRowGroup(L.db, [{ village: 'va', store: 's1', rows }], signer, () => now, () => undefined);
  const o = out[0]!;
  if (!o.ok) throw new Error(`batch failed: ${String(o.error)}`);
  expect(o.result.ackIds).toEqual(['s1:1', 's1:2', 's1:3']);
  expect(o.result.contiguousSeq).toBe(3);
  expect(o.result.unapplied).toEqual([{ id: 's1:2', why: 'nul' }, { id: 's1:3', why: 'nul' }]);
  expect(o.result.events.flatMap((e) => (e.body as { entries: { id: string }[] }).entries.map((x) => x.id))).toEqual(['redemption:sess-0']);
  expect(await balanceOf(L.db, 'zhang')).toBe(-2);

  const lines: { msg: string; rows?: unknown }[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  const counters = newCounters();
  countRows(counters, log, 'va', 's1', rows.length, o.result);
  expect(counters.unapplied).toBe(2);
  expect(lines).toHaveLength(1);
  expect(lines[0]!.msg).toContain('NUL');
  expect(lines[0]!.msg).toContain('未记账');

  // Sent again: copies, nothing changes.
  const again = await applyRowGroup(L.db, [{ village: 'va', store: 's1', rows }], signer, () => now, () => undefined);
  expect(again[0]!.ok && again[0]!.result.duplicates).toBe(3);
  expect(await balanceOf(L.db, 'zhang')).toBe(-2);
});
