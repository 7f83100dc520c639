/**
 * bench:ledger — settle 10,000 three-line sessions (one transaction each, synchronous=FULL,
 * on a file in the data folder's file system) and apply a 100,000-entry ledger snapshot.
 * Prints one JSON object on its last line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openLedger, closeLedger, type Db } from '../edge/ledger/db.ts';
import { applySnapshot, type Snapshot } from '../edge/ledger/snapshot.ts';
import { upsertProduct, upsertSlot } from '../edge/ledger/products.ts';
import { openSession, settleSession } from '../edge/ledger/sessions.ts';
import { findBalanceMismatches } from '../edge/ledger/entries.ts';
import { summarise, round, report } from './stats.ts';

const VILLAGERS = 5000;
const SESSIONS = 10_000;
const SNAPSHOT_ENTRIES = 100_000;
const dir = mkdtempSync(path.join(process.env.BENCH_DIR ?? tmpdir(), 'bench-ledger-'));

function snapshotOf(villagers: number, entries: number, prefix: string): Snapshot {
  const snap: Snapshot = { villagers: [], entries: [] };
  for (let i = 0; i < villagers; i++) snap.villagers.push({ id: `v${i}`, name: `村民${i}`, village: `村${i % 7}` });
  for (let i = 0; i < entries; i++) {
    const award = i % 4 !== 3;
    snap.entries.push({ id: `${prefix}-${i}`, villager: `v${i % villagers}`, kind: award ? 'award' : 'penalty', points: award ? 5 + (i % 20) : -(1 + (i % 5)), reason: award ? '打扫街道' : '占道', created_at: '2026-11-01T08:00:00.000Z' });
  }
  return snap;
}

function benchSnapshot(): number {
  const db = openLedger(path.join(dir, 'snapshot.sqlite'));
  try {
    const snap = snapshotOf(VILLAGERS, SNAPSHOT_ENTRIES, 's');
    const t0 = performance.now();
    const r = applySnapshot(db, snap, { creditFloor: 0 });
    const s = (performance.now() - t0) / 1000;
    if (r.applied !== SNAPSHOT_ENTRIES) throw new Error(`snapshot applied ${r.applied}`);
    if (findBalanceMismatches(db).length > 0) throw new Error('balance mismatch after snapshot');
    return s;
  } finally {
    closeLedger(db);
  }
}

function benchSettle(): { settle: number[]; open: number[] } {
  const db: Db = openLedger(path.join(dir, 'settle.sqlite'));
  try {
    applySnapshot(db, { villagers: snapshotOf(VILLAGERS, 0, 'x').villagers, entries: Array.from({ length: VILLAGERS }, (_, i) => ({ id: `seed-${i}`, villager: `v${i}`, kind: 'award' as const, points: 1_000_000, created_at: '2026-11-01T08:00:00.000Z' })) }, { creditFloor: 0 });
    const skus = ['oil', 'salt', 'soap', 'rice', 'soy', 'tissue'];
    skus.forEach((sku, i) => upsertProduct(db, { sku, name: sku, price: 3 + i, unitG: 100 + i * 50, toleranceG: 10 }));
    skus.forEach((sku, i) => upsertSlot(db, { slot: `S${i + 1}`, address: i + 1, sku, stock: 1_000_000 }));
    const settle: number[] = [];
    const open: number[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const id = `bench-${i}`;
      const t0 = performance.now();
      openSession(db, { id, kind: 'shopping', villagerId: `v${i % VILLAGERS}`, enteredBy: 'face', state: 'shopping', context: { baseline: { S1: 1000, S2: 2000, S3: 3000 } } });
      const t1 = performance.now();
      const lines = [0, 1, 2].map((k) => ({ sku: skus[(i + k) % skus.length]!, slot: `S${((i + k) % skus.length) + 1}`, count: 1 + ((i + k) % 3) }));
      const r = settleSession(db, { sessionId: id, lines, review: [] }, { creditFloor: 0 });
      const t2 = performance.now();
      if (r.status !== 'settled') throw new Error('not settled');
      open.push(t1 - t0);
      settle.push(t2 - t1);
    }
    if (findBalanceMismatches(db).length > 0) throw new Error('balance mismatch after settling');
    return { settle, open };
  } finally {
    closeLedger(db);
  }
}

try {
  const snapshotS = benchSnapshot();
  const { settle, open } = benchSettle();
  const s = summarise(settle);
  const o = summarise(open);
  process.stderr.write(`settle: p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms; snapshot ${round(snapshotS)} s\n`);
  report({
    villagers: VILLAGERS,
    sessions: SESSIONS,
    settle_p50_ms: s.p50,
    settle_p99_ms: s.p99,
    settle_max_ms: s.max,
    open_session_p99_ms: o.p99,
    snapshot_entries: SNAPSHOT_ENTRIES,
    snapshot_apply_s: round(snapshotS),
    synchronous: 'FULL',
    journal_mode: 'WAL',
    node: process.version,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
