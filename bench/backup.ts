/**
 * The nightly jobs on a large ledger: the online backup (copy + integrity_check) of a ledger of
 * 5,000 villagers, 200,000 entries and 100,000 door decisions, the event loop's longest stall
 * while it runs (the store keeps serving meanwhile), the restore of that copy, and the
 * retention purge of the door decisions. Prints one JSON object on its last line.
 * Run: npx tsx bench/backup.ts --json
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { openLedger, closeLedger, inTransaction } from '../edge/ledger/db.ts';
import { applySnapshot, type Snapshot } from '../edge/ledger/snapshot.ts';
import { insertEntryEvent } from '../edge/ledger/entry-events.ts';
import { backupLedger, restoreCopy } from '../edge/ledger/backup.ts';
import { applyRetention } from '../edge/ledger/retention.ts';
import { round, report } from './stats.ts';

const VILLAGERS = 5000;
const ENTRIES = 200_000;
const EVENTS = 100_000;
const dir = mkdtempSync(path.join(process.env.BENCH_DIR ?? tmpdir(), 'bench-backup-'));

try {
  const file = path.join(dir, 'ledger.sqlite');
  const seedDb = openLedger(file);
  const snap: Snapshot = { villagers: [], entries: [] };
  for (let i = 0; i < VILLAGERS; i++) snap.villagers.push({ id: `v${i}`, name: `村民${i}`, village: 'qianjin' });
  for (let i = 0; i < ENTRIES; i++) snap.entries.push({ id: `e-${i}`, villager: `v${i % VILLAGERS}`, kind: 'award', points: 5 + (i % 20), reason: '打扫街道', created_at: '2026-11-01T08:00:00.000Z' });
  applySnapshot(seedDb, snap, { creditFloor: 0 });
  inTransaction(seedDb, 'bench events', () => {
    for (let i = 0; i < EVENTS; i++) insertEntryEvent(seedDb, { at: new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString(), decision: 'matched', by: 'card', villagerId: `v${i % VILLAGERS}`, detail: { card: 'PB-****01', unlocked: true } });
  });
  // closed (checkpointed) and opened again, as the daemon finds it at night
  closeLedger(seedDb);
  const db = openLedger(file);
  const ledgerBytes = statSync(file).size;

  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const t0 = performance.now();
  const copy = await backupLedger(db, path.join(dir, 'backups'), new Date('2026-12-01T18:30:00Z'));
  const backupS = (performance.now() - t0) / 1000;
  loop.disable();

  const t1 = performance.now();
  const purged = applyRetention(db, { entryEventsDays: 180, leftVillagerTemplatesDays: 30 }, new Date('2026-12-01T19:15:00Z'));
  const retentionS = (performance.now() - t1) / 1000;
  closeLedger(db);

  const t2 = performance.now();
  restoreCopy(copy.file, file, new Date());
  const restoreS = (performance.now() - t2) / 1000;

  report({
    villagers: VILLAGERS,
    entries: ENTRIES,
    entry_events: EVENTS,
    ledger_mb: round(ledgerBytes / 1024 ** 2, 1),
    backup_with_integrity_check_s: round(backupS),
    event_loop_max_stall_during_backup_ms: round(loop.max / 1e6, 1),
    restore_with_checks_s: round(restoreS),
    retention_deleted_events: purged.entryEvents,
    retention_s: round(retentionS),
    node: process.version,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
