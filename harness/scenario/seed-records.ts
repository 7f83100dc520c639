/**
 * The scenario's records as the ledger takes them (products, slots, villagers with their opening
 * balances and cards), each error naming the scenario entry it came from. The same writes run
 * first on a ledger in memory (`checkScenarioRecords`), so an id the ledger refuses (a villager
 * id with a space, a card number too short, a scale address beyond the bus) is found before
 * anything is written to a data folder or started, not half-way through seeding it.
 */
import { addCard } from '../../edge/entry/credentials.ts';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import { scenarioWeighLimits, type Scenario } from './scenario.ts';

/** The village of a scenario's store (`store.village` in the runners' config) and of its villagers, whom its QR codes name. */
export const SCENARIO_VILLAGE = 'scenario';

/** `fn`, its bad-input errors told as the scenario file's, at `where` (e.g. `villagers[2]`). */
function at<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof EdgeError) || err.code !== ErrorCode.INVALID_ARGUMENT) throw err;
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `scenario ${where}: ${err.message}`, { zh: `场景文件 ${where}：${err.zh ?? err.message}`, cause: err });
  }
}

/** Writes the scenario's products, slots, villagers, opening balances and cards into `db`. */
export function seedRecords(db: Db, s: Scenario): void {
  const limits = scenarioWeighLimits(s.session);
  s.products.forEach((p, i) => at(`products[${i}]`, () => upsertProduct(db, { sku: p.sku, name: p.name, price: p.price, unitG: p.unit_g, toleranceG: p.tolerance_g }, { limits })));
  s.slots.forEach((sl, i) => at(`slots[${i}]`, () => upsertSlot(db, { slot: sl.slot, address: sl.scale, sku: sl.sku, stock: sl.stock })));
  const rules = { creditFloor: s.creditFloor };
  s.villagers.forEach((v, i) => at(`villagers[${i}]`, () => {
    addVillager(db, { id: v.id, name: v.name, village: SCENARIO_VILLAGE, isMaintainer: v.maintainer });
    if (v.balance > 0) applyEntry(db, { id: `seed:${v.id}`, villagerId: v.id, kind: 'award', points: v.balance, reason: 'scenario opening balance', origin: 'cli' }, rules);
    if (v.card) addCard(db, v.card, v.id, new Date().toISOString());
  }));
}

/** Refuses (exit 2, naming the entry) a scenario whose records the ledger would refuse; writes nothing. */
export function checkScenarioRecords(s: Scenario): void {
  const db = openLedger(':memory:');
  try {
    seedRecords(db, s);
  } finally {
    closeLedger(db);
  }
}
