/** Finding villagers from the admin page: by id or a part of the name, in id order, a page at a time. */
import { cachedStatement, type Db } from './db.ts';
import { villagerFromRow, type Villager } from './villagers.ts';

/** `%` and `_` in what the maintainer typed are letters, not wildcards. */
const likeText = (q: string): string => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Villagers whose id or name contains `q` (all when empty), ids after `after`; `next` is the cursor of the next page. */
export function searchVillagers(db: Db, q: string, opts: { limit: number; after?: string }): { items: Villager[]; next: string | null } {
  const rows = cachedStatement(db, `SELECT * FROM villagers WHERE id > ? AND (? = '' OR id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\') ORDER BY id LIMIT ?`)
    .all(opts.after ?? '', q, likeText(q), likeText(q), opts.limit + 1) as Parameters<typeof villagerFromRow>[0][];
  const items = rows.slice(0, opts.limit).map(villagerFromRow);
  return { items, next: rows.length > opts.limit ? items[items.length - 1]!.id : null };
}
