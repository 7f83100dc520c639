/**
 * Shopping and reconciling for the sync fault tests. A visit goes through the functions the
 * daemon's door and session engine use (the door's standing and policy, then the session
 * opened and settled by the ledger), without the simulated hardware: the faults are in the
 * sync, and a thousand full simulated visits would only add the shelves' timing.
 */
import { expect } from 'vitest';
import { doorPolicy, type PolicyVerdict } from '../../edge/entry/decision.ts';
import type { LedgerRules } from '../../edge/ledger/entries.ts';
import { doorStanding } from '../../edge/ledger/entry-events.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession, type SettleResult } from '../../edge/ledger/sessions.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import type { Db } from '../../edge/ledger/db.ts';
import type { Clock } from '../../edge/ledger/time.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';

/** Soap at 10 points on slot S1, with stock enough for any test. */
export const SOAP_PRICE = 10;

export function stockStore(db: Db): void {
  upsertProduct(db, { sku: 'soap', name: '肥皂', price: SOAP_PRICE, unitG: 100, toleranceG: 5 });
  upsertSlot(db, { slot: 'S1', address: 1, sku: 'soap', stock: 1_000_000 });
}

/** A villager shows a card and, if the door opens, takes `soaps` and leaves: the door's verdict, and the settlement if admitted. */
export function visit(db: Db, villagerId: string, sessionId: string, soaps: number, rules: LedgerRules, clock: Clock): { verdict: PolicyVerdict; settled?: SettleResult } {
  const standing = doorStanding(db, villagerId, rules, clock());
  const verdict = doorPolicy(standing, 'card', false);
  if (verdict !== 'admit') return { verdict };
  openSession(db, { id: sessionId, kind: 'shopping', villagerId, enteredBy: 'card', state: 'shopping', context: {} }, clock);
  return { verdict, settled: settleSession(db, { sessionId, lines: [{ sku: 'soap', slot: 'S1', count: soaps }], review: [] }, rules, clock) };
}

// sorted here, not in SQL: PostgreSQL's collation orders punctuation differently from SQLite's
/** The entries that moved points: a deduction that found the balance at the floor is kept at its store as one of 0 points, and the ledger records only its debt. */
const storeEntryIds = (db: Db): string[] => (db.prepare('SELECT id FROM entries WHERE points <> 0').pluck().all() as string[]).sort();

/**
 * The end state every fault test asks for: every outbox drained, every villager's balance in
 * every store equal to the ledger's, and no entry twice (the ledger's ids are distinct, and
 * each store holds exactly the ledger's entries that moved points). Waits for the drain, then checks.
 */
export async function expectReconciled(rig: Rig, stores: readonly TestStore[], villagers: readonly string[], timeoutMs = 240_000): Promise<Map<string, number>> {
  const ledgerBalances = async (): Promise<Map<string, number>> => new Map(await Promise.all(villagers.map(async (v) => [v, await balanceOf(rig.ledgerDb, v)] as const)));
  const agree = async (): Promise<boolean> => {
    if (stores.some((s) => countOutbox(s.db).pending > 0)) return false;
    const l = await ledgerBalances();
    return stores.every((s) => villagers.every((v) => getVillager(s.db, v)?.balance === l.get(v)));
  };
  await waitFor('every outbox drained and every store agreeing with the ledger', agree, timeoutMs);
  const counts = await rig.ledgerDb.query<{ n: number | string; d: number | string }>('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM entries WHERE village = $1', [rig.village]);
  expect(Number(counts[0]!.n)).toBe(Number(counts[0]!.d));
  const ledgerIds = (await rig.ledgerDb.query<{ id: string }>('SELECT id FROM entries WHERE village = $1 AND points <> 0', [rig.village])).map((r) => r.id).sort();
  for (const s of stores) expect(storeEntryIds(s.db)).toEqual(ledgerIds);
  const balances = await ledgerBalances();
  for (const s of stores) for (const v of villagers) expect(getVillager(s.db, v)?.balance).toBe(balances.get(v));
  return balances;
}
