/**
 * Whether a database may be taken as the village ledger before anything is written to it. The
 * migrations create their tables in whatever they are given, so a --db typed one folder off
 * (the store's own ledger) or another program's database would get the village's tables added,
 * or fail half-way, instead of being refused. A new, empty database is a ledger not yet made.
 */
import { APPLICATION_ID } from '../../edge/ledger/db.ts';
import type { SqlDb } from './sql.ts';

/** Why a database is not a village ledger, in both languages. */
export interface NotALedger { en: string; zh: string }

async function tableNames(db: SqlDb): Promise<string[]> {
  const rows = db.dialect === 'sqlite'
    ? await db.query<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    // the schema this connection works in (search_path): another schema's tables are not ours to judge
    : await db.query<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name');
  return rows.map((r) => r.name);
}

/** Undefined for a village ledger or an empty database; else why it is neither. Reads only. */
export async function notAVillageLedger(db: SqlDb): Promise<NotALedger | undefined> {
  if (db.dialect === 'sqlite') {
    const [row] = await db.query<{ application_id: number }>('PRAGMA application_id');
    if (Number(row?.application_id) === APPLICATION_ID) {
      return { en: "it is a store's ledger (the data folder's ledger.sqlite that store-edge start makes)", zh: '这是门店账本（store-edge start 在数据目录中创建的 ledger.sqlite）' };
    }
  }
  const tables = await tableNames(db);
  if (tables.length === 0 || tables.includes('ledger_schema')) return undefined;
  const shown = `${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}`;
  return { en: `it holds another program's tables (${shown}) and no ledger_schema`, zh: `其中是别的程序的表（${shown}），没有 ledger_schema` };
}
