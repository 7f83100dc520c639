/** What the restore tests share: a store ledger and a copy of it that lacks the latest villager. */
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { backupLedger } from '../../edge/ledger/backup.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';

/** In `dir/name`: a ledger with villager `before` (甲), a copy of it, then villager `after` (乙) added: the copy lacks `after`. */
export async function storeWithCopy(dir: string, name: string): Promise<{ target: string; copy: string }> {
  const target = path.join(dir, name, 'ledger.sqlite');
  const db = openLedger(target);
  addVillager(db, { id: 'before', name: '甲', village: 'demo-village' });
  const copy = (await backupLedger(db, path.join(dir, `${name}-backups`), new Date('2026-12-01T02:30:00Z'))).file;
  addVillager(db, { id: 'after', name: '乙', village: 'demo-village' });
  closeLedger(db);
  return { target, copy };
}

/** The name of villager `id` in the ledger `file`, undefined when it has none. */
export function villagerName(file: string, id: string): string | undefined {
  const db = openLedger(file);
  try {
    return getVillager(db, id)?.name;
  } finally {
    closeLedger(db);
  }
}
