/**
 * What a village's public board shows, computed from the ledger: this month's red list (红榜,
 * points earned from approved rule items that add points, with the items), the latest good
 * deeds (title and points, nobody's name), and the village's totals this month (an award later
 * reversed is in neither the red list nor the issued total). Only what the
 * village publishes; a villager who opted out is masked (张**, 诸葛**) or left off as the village chose;
 * staff are never ranked; no balance and no debt is ever part of it.
 *
 * Months are village months (UTC+8), as the rule library's cap periods are. A store's entry
 * counts in the month it was made by the store's clock, but not beyond its receipt plus the
 * allowed skew (../store-time.ts), as in the roll-up: a store clock months fast would put its
 * redemptions on a board to come.
 */
import type { SqlDb } from '../sql.ts';
import { madeAtSql } from '../store-time.ts';
import { localDate, periodStart } from '../governance/rules.ts';
import { clipText } from '../../../lib/text.ts';
import { maskName } from '../../../lib/chinese-names.ts';
import { BOARD_FORMAT, BOARD_NAME_MAX, BOARD_RED_LIST_MAX, BOARD_TITLE_MAX, type BoardBody, type BoardTotals, type Deed, type RedListMore, type RedListRow } from '../../protocol/board.ts';
import { boardSettings, type BoardSettings } from './settings.ts';

/** Items named per red-list line at most (the schema's bound). */
const ITEMS_PER_ROW = 3;

/** 张三 → 张**, 诸葛志实 → 诸葛**: the family name only (lib/chinese-names.ts). */
export { maskName };

/** The village month of `now` (UTC+8): its label and the instants it starts and ends. */
export function villageMonth(now: Date): { label: string; start: string; end: string } {
  const start = periodStart('month', now);
  const local = new Date(start.getTime() + 8 * 3_600_000);
  const nextLocal = Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1);
  return { label: localDate(now).slice(0, 7), start: start.toISOString(), end: new Date(nextLocal - 8 * 3_600_000).toISOString() };
}

/**
 * How many of the ranked (`points`, most first) the red list shows, and who it cannot show:
 * `size` places, not rows. Equal points share a place (1, 1, 3), and everyone at a place within
 * `size` is shown, so two equal earners are shown or left off together, never one of them picked
 * by id. A place whose holders would take the list past the message's BOARD_RED_LIST_MAX rows is
 * left off whole, with every place after it, and counted in `more`. Only the first place is
 * never left off: when it alone has more holders than the message carries (a new village where
 * everyone earned the same), its first BOARD_RED_LIST_MAX by id are shown and the rest counted,
 * since a red list with nobody on it tells a village nothing.
 */
export function redListCut(points: readonly number[], size: number): { shown: number; more: RedListMore | null } {
  let n = 0;
  // n is always the first of a place's holders, whose place is n + 1
  while (n < points.length && n + 1 <= size) {
    let end = n + 1;
    while (end < points.length && points[end] === points[n]) end++;
    if (end > BOARD_RED_LIST_MAX) {
      const shown = n === 0 ? BOARD_RED_LIST_MAX : n;
      return { shown, more: { rank: n + 1, points: points[n] as number, count: end - shown } };
    }
    n = end;
  }
  return { shown: n, more: null };
}

/** How many of the ranked the red list shows (redListCut). */
export function placesShown(points: readonly number[], size: number): number {
  return redListCut(points, size).shown;
}

/** Earnings of one villager from one item: one approval, or (`count`) several added up. */
interface EarningRow { villager_id: string; name: string; named: number | string | null; item_name: string; points: number | string; count?: number | string }

/** The rows of the red list: earnings grouped per villager, ranked (equal points share a place). */
export function rankEarnings(rows: readonly EarningRow[], s: Pick<BoardSettings, 'red_list_size' | 'name_style'>): RedListRow[] {
  const byVillager = new Map<string, { name: string; named: boolean; points: number; items: Map<string, { count: number; points: number }> }>();
  for (const r of rows) {
    let v = byVillager.get(r.villager_id);
    if (!v) {
      v = { name: r.name, named: r.named === null || Number(r.named) === 1, points: 0, items: new Map() };
      byVillager.set(r.villager_id, v);
    }
    const pts = Number(r.points);
    v.points += pts;
    const item = v.items.get(r.item_name) ?? { count: 0, points: 0 };
    item.count += Number(r.count ?? 1);
    item.points += pts;
    v.items.set(r.item_name, item);
  }
  const eligible = [...byVillager.entries()]
    .filter(([, v]) => v.points > 0 && (v.named || s.name_style === 'mask'))
    .sort(([ida, a], [idb, b]) => b.points - a.points || (ida < idb ? -1 : ida > idb ? 1 : 0));
  const ranked = eligible.slice(0, placesShown(eligible.map(([, v]) => v.points), s.red_list_size));
  const out: RedListRow[] = [];
  for (const [i, [id, v]] of ranked.entries()) {
    const prev = out[out.length - 1];
    const rank = prev && prev.points === v.points ? prev.rank : i + 1;
    const items = [...v.items.entries()]
      .sort(([na, a], [nb, b]) => b.points - a.points || b.count - a.count || (na < nb ? -1 : na > nb ? 1 : 0))
      .slice(0, ITEMS_PER_ROW)
      .map(([name, it]) => ({ name: clipText(name, BOARD_NAME_MAX), count: it.count }));
    out.push({ rank, villager: id, name: v.named ? v.name : maskName(v.name), masked: !v.named, points: v.points, items });
  }
  return out;
}

/**
 * Approved claims, not reversed, whose entry added points (a deduction item's entry is a
 * penalty, negative): the good deeds. `ITEM` adds the rule item (its name), `TASK` the task.
 */
const EARNED = `
  FROM gov_claims c
  JOIN entries e ON e.id = c.entry_id
  JOIN villagers v ON v.id = c.villager_id
  LEFT JOIN board_villagers b ON b.villager_id = c.villager_id`;
const ITEM = 'JOIN gov_items gi ON gi.scope = c.item_scope AND gi.code = c.item_code AND gi.version = c.item_version';
const TASK = 'LEFT JOIN gov_tasks t ON t.id = c.task_id';
const APPROVED = "WHERE c.village = $1 AND c.status = 'approved' AND e.points > 0";

interface VillagerMonth { villager_id: string; named: number | string | null; staff: number | string | null; status: string; points: number | string; n: number | string }

export async function computeBoard(db: SqlDb, village: string, now: Date): Promise<BoardBody> {
  const s = await boardSettings(db, village);
  const month = villageMonth(now);
  const month$ = [village, month.start, month.end];
  const [vrow] = await db.query<{ name: string }>('SELECT name FROM villages WHERE id = $1', [village]);
  const villageName = clipText(vrow?.name ?? village, BOARD_NAME_MAX);
  // One pass over the month's approvals (a busy village makes thousands): each villager's
  // points and count, from which both the red list's places and the totals come.
  const perVillager = s.publish_red_list || s.publish_totals ? await db.query<VillagerMonth>(
    `SELECT c.villager_id, MAX(b.named) AS named, MAX(b.staff) AS staff, MAX(v.status) AS status, SUM(e.points) AS points, COUNT(*) AS n
     ${EARNED} ${APPROVED} AND c.decided_at >= $2 AND c.decided_at < $3 GROUP BY c.villager_id`,
    month$,
  ) : [];
  let redList: RedListRow[] = [];
  let redListMore: RedListMore | null = null;
  if (s.publish_red_list) {
    const eligible = perVillager
      .filter((r) => r.status !== 'left' && Number(r.staff ?? 0) === 0 && (s.name_style === 'mask' || Number(r.named ?? 1) === 1))
      .sort((a, b) => Number(b.points) - Number(a.points) || (a.villager_id < b.villager_id ? -1 : a.villager_id > b.villager_id ? 1 : 0));
    const cut = redListCut(eligible.map((r) => Number(r.points)), s.red_list_size);
    redListMore = cut.more;
    const ids = eligible.slice(0, cut.shown).map((r) => r.villager_id);
    // Only the places shown come back per item, for the items each line names.
    const rows = ids.length === 0 ? [] : await db.query<EarningRow>(
      `SELECT c.villager_id, v.name, b.named, gi.name AS item_name, SUM(e.points) AS points, COUNT(*) AS count ${EARNED} ${ITEM} ${APPROVED}
         AND c.decided_at >= $2 AND c.decided_at < $3 AND c.villager_id IN (${ids.map((_, i) => `$${i + 4}`).join(', ')})
       GROUP BY c.villager_id, v.name, b.named, gi.name`,
      [...month$, ...ids],
    );
    redList = rankEarnings(rows, s);
  }
  let deeds: Deed[] = [];
  if (s.publish_deeds) {
    const rows = await db.query<{ title: string; points: number | string; decided_at: string }>(
      `SELECT COALESCE(t.title, gi.name) AS title, e.points, c.decided_at ${EARNED} ${ITEM} ${TASK} ${APPROVED}
       ORDER BY c.decided_at DESC, c.id DESC LIMIT $2`,
      [village, s.deeds_count],
    );
    deeds = rows.map((r) => ({ title: clipText(r.title, BOARD_TITLE_MAX), village: villageName, points: Number(r.points), date: localDate(new Date(r.decided_at)) }));
  }
  return {
    format: BOARD_FORMAT,
    village: { id: village, name: villageName },
    month: month.label,
    computed_at: now.toISOString(),
    published: { red_list: s.publish_red_list, deeds: s.publish_deeds, totals: s.publish_totals },
    red_list: redList,
    // only when a place is cut: a board without it is read by every store as before
    ...(redListMore ? { red_list_more: redListMore } : {}),
    deeds,
    totals: s.publish_totals ? await monthTotals(db, month$, perVillager) : null,
  };
}

/**
 * The month's totals. Redeemed is every redemption: a store's charge at settlement, and its
 * repayment of a debt (`debt:<entry>`, 偿还欠分): the goods taken beyond the balance, paid
 * for by the next points earned. Without the repayments a purchase of 30 by a villager with 10
 * in hand counted 10. A repayment counts in the month it was made, as points spent do.
 */
async function monthTotals(db: SqlDb, month$: unknown[], perVillager: readonly VillagerMonth[]): Promise<BoardTotals> {
  const made = madeAtSql(db, '');
  const [flows] = await db.query<{ redeemed: number | string | null }>(
    `SELECT SUM(CASE WHEN kind = 'redemption' THEN -points ELSE 0 END) AS redeemed
       FROM entries WHERE village = $1 AND ${made} >= $2 AND ${made} < $3`,
    month$,
  );
  // Issued is the points for deeds, as the town's roll-up counts them (governance/rollup.ts):
  // awards made by approving a claim (a rule item, a task). Opening points and other awards with
  // no claim are not issued for anything done. An award later reversed (…/reverse: its claim
  // `reversed`) was not issued: the red list leaves it out, and so does the month's total (the
  // roll-up, the town's record, keeps it and its reversal, in `adjusted`).
  const [deeds] = await db.query<{ points: number | string | null }>(
    `SELECT SUM(e.points) AS points FROM gov_claims c JOIN entries e ON e.id = c.entry_id
      WHERE c.village = $1 AND c.status = 'approved' AND e.kind = 'award' AND ${madeAtSql(db, 'e.')} >= $2 AND ${madeAtSql(db, 'e.')} < $3`,
    month$,
  );
  const [people] = await db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM villagers v LEFT JOIN board_villagers b ON b.villager_id = v.id WHERE v.village = $1 AND v.status <> 'left' AND COALESCE(b.staff, 0) = 0", [month$[0]]);
  return {
    issued: Math.max(0, Number(deeds?.points ?? 0)),
    redeemed: Math.max(0, Number(flows?.redeemed ?? 0)),
    deeds: perVillager.reduce((n, r) => n + Number(r.n), 0),
    // counted as the denominator is: staff and villagers who left are in neither
    participants: perVillager.filter((r) => Number(r.staff ?? 0) === 0 && r.status !== 'left').length,
    villagers: Number(people?.n ?? 0),
  };
}

/**
 * A cheap summary of everything a board is computed from: when it differs from the one the
 * last board was computed at, the board may have changed and is computed again.
 */
export async function boardChangeToken(db: SqlDb, village: string, now: Date): Promise<string> {
  const [r] = await db.query<{ e: number | string | null; g: number | string | null; v: string | null; n: string | null }>(
    `SELECT (SELECT MAX(seq) FROM entries WHERE village = $1) AS e,
            (SELECT MAX(seq) FROM gov_events WHERE village = $1) AS g,
            (SELECT MAX(updated_at) FROM villagers WHERE village = $1) AS v,
            (SELECT name FROM villages WHERE id = $1) AS n`,
    [village],
  );
  return [villageMonth(now).label, r?.e ?? 0, r?.g ?? 0, r?.v ?? '', r?.n ?? ''].join('|');
}
