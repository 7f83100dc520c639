/**
 * A session row the ledger already holds that comes again under a new row id (the store moved
 * its unacknowledged rows past the ledger's contiguous seq, edge rollback) counts once in the
 * reconcile answer: sessions are counted by session id, as entries are by entry id, so the
 * daily reconciliation does not say "ledgers disagree" for a villager whose ledgers agree.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { ledgerTotals } from '../../cloud-sync/ledger/reconcile.ts';
import { addVillage, registerStore, upsertVillager, type Signer } from '../../cloud-sync/ledger/tables.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

const signer: Signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };
let L: Awaited<ReturnType<typeof tempLedgerDb>>;
beforeEach(async () => { L = await tempLedgerDb(); });
afterEach(async () => { await L.drop(); });

it(`a session row resent under a new row id counts once in the reconcile answer (${ledgerDbKind})`, async () => {
  const now = new Date();
  const at = now.toISOString();
  await addVillage(L.db, 'va', 'va', at);
  await registerStore(L.db, 'va', 's1', 'store', 'unused');
  await upsertVillager(L.db, { id: 'zhang', name: '张三', village: 'va', status: 'active' }, signer, now);
  const entry = { id: 'redemption:sess-1', villager: 'zhang', kind: 'redemption', points: -5, reference: 'session:sess-1', reason: '超市兑换 / store purchase', created_at: at };
  const session = { id: 'sess-1', kind: 'shopping', villager: 'zhang', entered_by: 'card', total_points: 5, charged: 5, debt: 0, lines: [], review: 0, opened_at: at, closed_at: at };
  const rows = (a: number, b: number): Row[] => [
    { id: `s1:${a}`, seq: a, topic: 'entry', payload: entry, created_at: at },
    { id: `s1:${b}`, seq: b, topic: 'session', payload: session, created_at: at },
  ];
  await applyStoreRows(L.db, 'va', 's1', rows(1, 2), signer, now);
  // The same two rows, moved by the store to new seqs (their acks were lost / the file went back in time).
  await applyStoreRows(L.db, 'va', 's1', rows(3, 4), signer, now);
  const from = new Date(now.getTime() - 60_000).toISOString();
  const to = new Date(now.getTime() + 60_000).toISOString();
  const totals = await ledgerTotals(L.db, 'va', 's1', from, to);
  expect(totals).toEqual([{ villager: 'zhang', entries: 1, points: -5, redeemed: 5, sessions: 1 }]);
});
