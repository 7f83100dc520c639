/**
 * What a village's public board shows, computed from the ledger: this month's red list (红榜,
 * points earned from approved rule items that add points, with the items), the latest good
 * deeds (title and points, nobody's name), and the village's totals this month. Only what the
 * village publishes; a villager who opted out is masked (张**) or left off as the village chose;
 * staff are never ranked; no balance and no debt is ever part of it.
 *
 * Months are village months (UTC+8), as the rule library's cap periods are.
 */
import type { SqlDb } from '../sql.ts';
import { localDate, periodStart } from '../governance/rules.ts';
import { BOARD_FORMAT, type BoardBody, type BoardTotals, type Deed, type RedListRow } from '../../protocol/board.ts';
import { boardSettings, type BoardSettings } from './settings.ts';

/** Items named per red-list line at most (the schema's bound). */
const ITEMS_PER_ROW = 3;

/** 张三 → 张**: the family name only, and never how long the name is. */
export function maskName(name: string): string {
  const first = Array.from(name.trim())[0] ?? '某';
  return `${first}**`;
}

/** The village month of `now` (UTC+8): its label and the instants it starts and ends. */
export function villageMonth(now: Date): { label: string; start: string; end: string } {
  const start = periodStart('month', now);
  const local = new Date(start.getTime() + 8 * 3_600_000);
  const nextLocal = Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1);
  return { label: localDate(now).slice(0, 7), start: start.toISOString(), end: new Date(nextLocal - 8 * 3_600_000).toISOString() };
}

interface EarningRow { villager_id: string; name: string; named: number | null; item_name: string; points: number | string }

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
    item.count++;
    item.points += pts;
    v.items.set(r.item_name, item);
  }
  const ranked = [...byVillager.entries()]
    .filter(([, v]) => v.points > 0 && (v.named || s.name_style === 'mask'))
    .sort(([ida, a], [idb, b]) => b.points - a.points || (ida < idb ? -1 : ida > idb ? 1 : 0));
  const out: RedListRow[] = [];
  for (const [i, [id, v]] of ranked.entries()) {
    if (out.length >= s.red_list_size) break;
    const prev = out[out.length - 1];
    const rank = prev && prev.points === v.points ? prev.rank : i + 1;
    const items = [...v.items.entries()]
      .sort(([na, a], [nb, b]) => b.points - a.points || b.count - a.count || (na < nb ? -1 : na > nb ? 1 : 0))
      .slice(0, ITEMS_PER_ROW)
      .map(([name, it]) => ({ name: name.slice(0, 100), count: it.count }));
    out.push({ rank, villager: id, name: v.named ? v.name : maskName(v.name), masked: !v.named, points: v.points, items });
  }
  return out;
}

/** Approved claims of rule items that add points, not reversed; staff and villagers who left excluded. */
const EARNED = `
  FROM gov_claims c
  JOIN entries e ON e.id = c.entry_id
  JOIN villagers v ON v.id = c.villager_id
  JOIN gov_items gi ON gi.scope = c.item_scope AND gi.code = c.item_code AND gi.version = c.item_version
  LEFT JOIN gov_tasks t ON t.id = c.task_id
  LEFT JOIN board_villagers b ON b.villager_id = c.villager_id
  WHERE c.village = $1 AND c.status = 'approved' AND gi.direction = 'add' AND e.points > 0`;

export async function computeBoard(db: SqlDb, village: string, now: Date): Promise<BoardBody> {
  const s = await boardSettings(db, village);
  const month = villageMonth(now);
  const [vrow] = await db.query<{ name: string }>('SELECT name FROM villages WHERE id = $1', [village]);
  let redList: RedListRow[] = [];
  if (s.publish_red_list) {
    const rows = await db.query<EarningRow>(
      `SELECT c.villager_id, v.name, b.named, gi.name AS item_name, e.points ${EARNED}
         AND v.status <> 'left' AND COALESCE(b.staff, 0) = 0 AND c.decided_at >= $2 AND c.decided_at < $3`,
      [village, month.start, month.end],
    );
    redList = rankEarnings(rows, s);
  }
  let deeds: Deed[] = [];
  if (s.publish_deeds) {
    const rows = await db.query<{ title: string; points: number | string; decided_at: string }>(
      `SELECT COALESCE(t.title, gi.name) AS title, e.points, c.decided_at ${EARNED}
       ORDER BY c.decided_at DESC, c.id DESC LIMIT $2`,
      [village, s.deeds_count],
    );
    const villageName = vrow?.name ?? village;
    deeds = rows.map((r) => ({ title: r.title.slice(0, 200), village: villageName.slice(0, 100), points: Number(r.points), date: localDate(new Date(r.decided_at)) }));
  }
  return {
    format: BOARD_FORMAT,
    village: { id: village, name: (vrow?.name ?? village).slice(0, 100) },
    month: month.label,
    computed_at: now.toISOString(),
    published: { red_list: s.publish_red_list, deeds: s.publish_deeds, totals: s.publish_totals },
    red_list: redList,
    deeds,
    totals: s.publish_totals ? await monthTotals(db, village, month) : null,
  };
}

async function monthTotals(db: SqlDb, village: string, month: { start: string; end: string }): Promise<BoardTotals> {
  const [flows] = await db.query<{ issued: number | string | null; redeemed: number | string | null }>(
    `SELECT SUM(CASE WHEN kind = 'award' THEN points ELSE 0 END) AS issued,
            SUM(CASE WHEN kind = 'redemption' AND (reference IS NULL OR reference NOT LIKE 'debt:%') THEN -points ELSE 0 END) AS redeemed
       FROM entries WHERE village = $1 AND created_at >= $2 AND created_at < $3`,
    [village, month.start, month.end],
  );
  const [deeds] = await db.query<{ deeds: number | string; participants: number | string }>(
    `SELECT COUNT(*) AS deeds, COUNT(DISTINCT CASE WHEN COALESCE(b.staff, 0) = 0 THEN c.villager_id END) AS participants ${EARNED}
       AND c.decided_at >= $2 AND c.decided_at < $3`,
    [village, month.start, month.end],
  );
  const [people] = await db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM villagers v LEFT JOIN board_villagers b ON b.villager_id = v.id WHERE v.village = $1 AND v.status <> 'left' AND COALESCE(b.staff, 0) = 0", [village]);
  return {
    issued: Math.max(0, Number(flows?.issued ?? 0)),
    redeemed: Math.max(0, Number(flows?.redeemed ?? 0)),
    deeds: Number(deeds?.deeds ?? 0),
    participants: Number(deeds?.participants ?? 0),
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
