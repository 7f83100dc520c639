/**
 * A store's `villager` rows `{op: "add"}`: a villager registered at the store. The ledger
 * registers them under the name given there (./rows.ts) (those held in another village are named
 * in the ack's `foreign`: rows.ts reportForeignAdds, docs/sync-outbox.md).
 */
import { VILLAGER_NAME_MAX } from '../protocol/payloads.ts';

export interface AddRow { batch: number; village: string; row: string; id: string; again?: boolean; name?: string }

/** The name a store registered a villager under, when the stores would take it (else the ledger names them by id). */
export function nameOfAdd(p: { name?: unknown }): string | undefined {
  const n = p.name;
  // no control characters (a NUL PostgreSQL cannot store), within what every store takes
  // eslint-disable-next-line no-control-regex
  return typeof n === 'string' && n.trim() !== '' && n.length <= VILLAGER_NAME_MAX && !/[\u0000-\u001f\u007f]/.test(n) ? n : undefined;
}

export const isAdd = (p: unknown): p is { op: 'add'; id: string; name?: unknown } => typeof p === 'object' && p !== null && (p as { op?: unknown }).op === 'add' && typeof (p as { id?: unknown }).id === 'string';

/**
 * A villager a store's maintainer registered under an id the ledger holds in another village
 * (`villageOf`: each id's village as the table holds it now): the row is kept as before, and
 * counted `other-village` so the ledger logs it, and named to the store in its ack (`foreign`), so
 * its maintainer sees it as an alarm. Villager ids are unique only among those the ledger
 * registered, and that villager's entries would not apply.
 */
export function reportForeignAdds(adds: AddRow[], villageOf: ReadonlyMap<string, string>, results: { unapplied: { id: string; why: string }[]; foreignAdds: string[] }[]): void {
  for (const a of adds) {
    const held = villageOf.get(a.id);
    if (held === undefined || held === a.village) continue;
    // a copy was counted when it first came; it is named again, since the store may not have heard
    if (!a.again) results[a.batch]!.unapplied.push({ id: a.row, why: 'other-village' });
    results[a.batch]!.foreignAdds.push(a.row);
  }
}
