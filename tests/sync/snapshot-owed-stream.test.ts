/**
 * A repayment an interrupted apply in slices left owed (edge/ledger/snapshot-owed.ts), when the
 * villager's last entries in the snapshot are the store's own sale and award: the rest of its
 * history then comes by the stream (deltas after a restart, each event through
 * applyStreamEvent), where the store's own entries change nothing and are not applied again. The
 * record must name an entry the stream still brings, or the debt stands; review of 047a5b3.
 */
import { describe, it, expect } from 'vitest';
import { applyEntry, redeemAtExit } from '../../edge/ledger/entries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { inTransaction, type Db } from '../../edge/ledger/db.ts';
import { getMeta } from '../../edge/ledger/meta.ts';
import { applySnapshot, type Snapshot } from '../../edge/ledger/snapshot.ts';
import { applySnapshotInSlices } from '../../edge/ledger/snapshot-slices.ts';
import { applyStreamEvent } from '../../cloud-sync/agent/apply-event.ts';
import { changesNothing } from '../../cloud-sync/agent/inbound-checks.ts';
import type { InboundDeps } from '../../cloud-sync/agent/inbound-types.ts';
import type { Envelope } from '../../cloud-sync/protocol/payloads.ts';
import { tempLedger } from '../ledger/helpers.ts';

const rules = { creditFloor: 0 };
const AT = '2026-12-01T08:00:00.000Z';
const clock = () => new Date(AT);

/** `h` here: an award of 3 at the store, then a sale of 9 (6 of debt). */
function local(db: Db): void {
  addVillager(db, { id: 'h', name: '村民h', village: 'qianjin' }, clock);
  applyEntry(db, { id: 'seed', villagerId: 'h', kind: 'award', points: 3, origin: 'store' }, rules, clock);
  inTransaction(db, 'a sale', () => redeemAtExit(db, { id: 'sale-h', villagerId: 'h', points: 9, origin: 'store', reference: 'session:sale-h' }, rules, AT));
}

/** The ledger's history of `h`: 40 awards, 45 penalties, then the store's own two entries last. */
function snapshotOf(db: Db, own: string[]): Snapshot {
  const snap: Snapshot = { villagers: [{ id: 'h', name: '村民h', village: 'qianjin', status: 'active' }], entries: [] };
  for (let i = 0; i < 40; i++) snap.entries.push({ id: `h${i}`, villager: 'h', kind: 'award', points: 2, reference: null, reason: '扫地', created_at: AT });
  for (let i = 0; i < 45; i++) snap.entries.push({ id: `hp${i}`, villager: 'h', kind: 'penalty', points: -1, reference: null, reason: '乱堆', created_at: AT });
  for (const id of own) {
    const e = db.prepare('SELECT kind, points, reference FROM entries WHERE id = ?').get(id) as { kind: 'award' | 'redemption'; points: number; reference: string | null };
    snap.entries.push({ id, villager: 'h', kind: e.kind, points: e.points, ...(e.reference !== null ? { reference: e.reference } : {}), created_at: AT });
  }
  return snap;
}

const villagerH = (db: Db) => db.prepare("SELECT balance, debt FROM villagers WHERE id = 'h'").get() as { balance: number; debt: number };
const repayments = (db: Db) => (db.prepare("SELECT COUNT(*) AS n FROM entries WHERE villager_id = 'h' AND reference LIKE 'debt:%'").get() as { n: number }).n;

/** Applies `snap` in slices of 20 rows and stops it, as killed, at the first turn that finds `killAt` true. */
async function interrupted(db: Db, snap: Snapshot, killAt: () => boolean): Promise<void> {
  const r = await applySnapshotInSlices(db, snap, rules, {
    sliceRows: 20, sliceMs: Number.POSITIVE_INFINITY, clock,
    turn: async () => {
      if (killAt()) throw new Error('killed');
    },
  }).then(() => 'finished', () => 'killed');
  expect(r).toBe('killed');
}

/** The rest of the history by deltas, then `cut` as `whole`: repaid once, no record left. */
function caughtUp(cut: Db, whole: Db, snap: Snapshot): void {
  deltas(cut, snap, ['seed', 'sale-h']);
  expect(villagerH(cut)).toEqual(villagerH(whole));
  expect(repayments(cut)).toBe(1);
  expect(getMeta(cut, 'snapshot.repay_owed') ?? '').toBe('');
}

/** Every entry of `snap` as one stream event, in order, as deltas bring them. */
function deltas(db: Db, snap: Snapshot, own: string[]): void {
  const deps = { db: () => db, address: { village: 'qianjin', store: 's1' }, rules, clock, refusals: { add: () => undefined }, onResyncWanted: () => undefined, snapshotPending: () => false } as unknown as InboundDeps;
  snap.entries.forEach((body, k) => {
    const e = { v: 1, id: `ev-${k + 1}`, kind: 'entry', village: 'qianjin', seq: k + 1, issued_at: AT, expires_at: '2027-01-01T00:00:00.000Z', key_id: 'ledger-1', body } as unknown as Envelope;
    // the store's own entries come back as changing nothing: the path that skips them
    if (own.includes(body.id)) expect(changesNothing(db, e)).toBe(true);
    expect(applyStreamEvent(deps, e).kind).toBe('applied');
  });
}

describe('a repayment owed across slices, the rest of the history by the stream', () => {
  it('repays once when the villager ends with the store\'s own entries, as the whole snapshot does', async () => {
    const whole = tempLedger();
    local(whole.db);
    const snap = snapshotOf(whole.db, ['seed', 'sale-h']);
    applySnapshot(whole.db, snap, rules, clock);
    expect(villagerH(whole.db)).toEqual({ balance: 29, debt: 0 });

    const cut = tempLedger();
    local(cut.db);
    // killed once the record names h's last earning
    await interrupted(cut.db, snap, () => (getMeta(cut.db, 'snapshot.repay_owed') ?? '').includes('"h39"'));
    caughtUp(cut.db, whole.db, snap);
    whole.cleanup();
    cut.cleanup();
  });

  it('repays in the slice itself when the store holds all the rest of the history', async () => {
    // Only the store's own entries follow the last earning: nothing of it is still to come, by
    // any path. Killed after the slice that wrote the last earning, the stream then brings
    // nothing new, so the slice itself must have repaid.
    const whole = tempLedger();
    local(whole.db);
    const snap = snapshotOf(whole.db, ['seed', 'sale-h']);
    // 39 awards: the last, h38, ends the second slice (the first holds the registry row and 19
    // entries), and the store's own two entries are the next piece
    snap.entries = snap.entries.filter((e) => !e.id.startsWith('hp') && e.id !== 'h39');
    applySnapshot(whole.db, snap, rules, clock);

    const cut = tempLedger();
    local(cut.db);
    await interrupted(cut.db, snap, () => cut.db.prepare("SELECT 1 FROM entries WHERE id = 'h38'").get() !== undefined);
    caughtUp(cut.db, whole.db, snap);
    whole.cleanup();
    cut.cleanup();
  });
});
