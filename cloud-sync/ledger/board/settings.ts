/**
 * What a village publishes on its stores' public board, and each villager's choice to be named
 * on it. Both are village decisions (a villager may also opt themself out); every change is a
 * step of the governance audit log (`gov_events`).
 */
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { audit, byStaff, fieldError } from '../governance/rules.ts';

export type NameStyle = 'mask' | 'omit';

export interface BoardSettings {
  publish_red_list: boolean;
  /** Places on the red list. */
  red_list_size: number;
  publish_deeds: boolean;
  /** Good deeds shown, newest first. */
  deeds_count: number;
  publish_totals: boolean;
  /** How a villager who opted out appears: masked (张**) or left off. */
  name_style: NameStyle;
}

export const DEFAULT_BOARD_SETTINGS: Readonly<BoardSettings> = { publish_red_list: true, red_list_size: 10, publish_deeds: true, deeds_count: 8, publish_totals: true, name_style: 'mask' };

interface SettingsRow { publish_red_list: number; red_list_size: number; publish_deeds: number; deeds_count: number; publish_totals: number; name_style: string }

export async function boardSettings(db: SqlDb, village: string): Promise<BoardSettings> {
  const [r] = await db.query<SettingsRow>('SELECT publish_red_list, red_list_size, publish_deeds, deeds_count, publish_totals, name_style FROM board_settings WHERE village = $1', [village]);
  if (!r) return { ...DEFAULT_BOARD_SETTINGS };
  return {
    publish_red_list: Number(r.publish_red_list) === 1, red_list_size: Number(r.red_list_size),
    publish_deeds: Number(r.publish_deeds) === 1, deeds_count: Number(r.deeds_count),
    publish_totals: Number(r.publish_totals) === 1, name_style: r.name_style === 'omit' ? 'omit' : 'mask',
  };
}

/** Changes the fields given, keeps the others; answers the settings now in force. */
export async function setBoardSettings(db: SqlDb, village: string, change: Partial<BoardSettings>, by: string, now: Date, staff?: string): Promise<BoardSettings> {
  return db.transaction(async (tx) => {
    const next: BoardSettings = { ...(await boardSettings(tx, village)), ...stripUndefined(change) };
    const b = (v: boolean) => (v ? 1 : 0);
    await tx.run(
      `INSERT INTO board_settings (village, publish_red_list, red_list_size, publish_deeds, deeds_count, publish_totals, name_style, updated_by, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (village) DO UPDATE SET publish_red_list = $2, red_list_size = $3, publish_deeds = $4, deeds_count = $5, publish_totals = $6, name_style = $7, updated_by = $8, updated_at = $9`,
      [village, b(next.publish_red_list), next.red_list_size, b(next.publish_deeds), next.deeds_count, b(next.publish_totals), next.name_style, by, now.toISOString()],
    );
    await audit(tx, village, 'board', 'board.settings', by, { ...stripUndefined(change), ...byStaff(staff) }, now);
    return next;
  });
}

export interface VillagerBoardChoice {
  /** False: the villager opted out of being named (shown masked or left off, as the village chose). */
  named: boolean;
  /** Staff (maintainers, the committee's own people) are never ranked. */
  staff: boolean;
}

export async function villagerBoardChoice(db: SqlDb, villager: string): Promise<VillagerBoardChoice> {
  const [r] = await db.query<{ named: number; staff: number }>('SELECT named, staff FROM board_villagers WHERE villager_id = $1', [villager]);
  return r ? { named: Number(r.named) === 1, staff: Number(r.staff) === 1 } : { named: true, staff: false };
}

/** A villager of `village` (else 404 naming the field), their choice changed as given. */
export async function setVillagerBoardChoice(db: SqlDb, village: string, villager: string, change: Partial<VillagerBoardChoice>, by: string, now: Date, staff?: string): Promise<VillagerBoardChoice> {
  return db.transaction(async (tx) => {
    const [v] = await tx.query<{ village: string }>('SELECT village FROM villagers WHERE id = $1', [villager]);
    if (!v || v.village !== village) throw fieldError('villager', `no villager ${villager} in this village`, `本村没有村民 ${villager}`, 404, ErrorCode.UNKNOWN_VILLAGER);
    const next: VillagerBoardChoice = { ...(await villagerBoardChoice(tx, villager)), ...stripUndefined(change) };
    await tx.run(
      `INSERT INTO board_villagers (villager_id, named, staff, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (villager_id) DO UPDATE SET named = $2, staff = $3, updated_by = $4, updated_at = $5`,
      [villager, next.named ? 1 : 0, next.staff ? 1 : 0, by, now.toISOString()],
    );
    await audit(tx, village, `villager:${villager}`, 'board.villager', by, { ...stripUndefined(change), ...byStaff(staff) }, now);
    return next;
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
