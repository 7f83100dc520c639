/**
 * The ledger's plain routes under governance (api.ts): a direct entry, and a villager's record.
 *
 * A direct entry (`POST …/entries`, an award or a penalty with a free reason and no rule item) is
 * the village's machines' route: its scripts and the demo's village office, by a bearer token. A
 * person of the village office signed in files a record on `/village` (`POST …/reports`), which
 * another staff member approves (duties.ts); on this route they are refused (403 on `role`), or
 * the route would be the way round the approval. What a machine posts here:
 * - gives or takes at most ITEM_POINTS_MAX points, the most any rule item does (the schema);
 * - takes no id of the ids the ledger and the stores make themselves (RESERVED_ENTRY_IDS): an
 *   approved record's `gov:<claim>` taken first would block that record's approval, and a
 *   `…:reversal` would pass for a reversal (400 on `id`);
 * - is a step of the village's audit log (`entry.direct`, with the caller as actor), in the
 *   entry's transaction; the same entry sent again (a retry) is not a second step.
 * A villager added, renamed, or whose status changes (the record's `status`, or a block or unblock
 * command) is a step too (`villager.add`, `villager.change` with what was and what is).
 * docs/governance.md#direct-entries-and-villager-records.
 */
import type { FastifyRequest } from 'fastify';
import { ErrorCode } from '../../../edge/errors.ts';
import type { LedgerService } from '../service.ts';
import type { VillagerChange } from '../tables.ts';
import type { EntryBody } from '../../protocol/payloads.ts';
import { audit, byStaff, fieldError } from './rules.ts';

/**
 * Entry ids made by the ledger and the stores, never to be taken by a direct entry: the ledger's
 * approved records and their reversals (tasks.ts: `gov:<claim>`, `<entry>:reversal`), a store's
 * purchases, refunds, review charges and `points award` (edge/ledger: `redemption:`, `refund:`,
 * `review:`, `cli:`) and its debt repayments (`<entry>#debt@<store>`, or `debt#<hash>`).
 */
export const RESERVED_ENTRY_IDS = { prefixes: ['gov:', 'redemption:', 'refund:', 'review:', 'cli:', 'debt#'], inside: ['#debt'], suffixes: [':reversal'] } as const;

/** The reserved part of `id` (RESERVED_ENTRY_IDS), or undefined. */
export function reservedPart(id: string): string | undefined {
  return RESERVED_ENTRY_IDS.prefixes.find((p) => id.startsWith(p)) ?? RESERVED_ENTRY_IDS.inside.find((p) => id.includes(p)) ?? RESERVED_ENTRY_IDS.suffixes.find((p) => id.endsWith(p));
}

/** Refuses a direct entry from a staff account signed in (403 on `role`), and one with a reserved id (400 on `id`). */
export function checkDirectEntry(req: FastifyRequest, id: string): void {
  if (req.staffUser) {
    throw fieldError('role', 'a staff account does not post entries directly: file a record on /village (POST /api/villages/:village/reports), which another staff member of the village approves; direct entries are for the village\'s machines (bearer token)',
      '工作人员不能直接记账：请在村务办公页（/village）登记积分，经本村其他工作人员审核通过后生效；直接记账只供本村的系统令牌使用', 403);
  }
  const part = reservedPart(id);
  if (part !== undefined) {
    throw fieldError('id', `entry id ${id} is in a namespace the ledger and the stores use themselves (${part}); choose another id`,
      `记录编号 ${id} 属于账本和门店自用的编号（${part}），请换一个编号`, 400, ErrorCode.INVALID_ARGUMENT);
  }
}

/** The entry made and audited in one transaction (`entry.direct`); a retry of one made before is no second step. */
export async function postDirectEntry(service: LedgerService, village: string, e: EntryBody, actor: string, staff: string | undefined, now: Date): Promise<{ duplicate: boolean; published: boolean }> {
  const { result, published } = await service.decide(village, async (tx) => {
    const held = (await tx.query('SELECT 1 AS one FROM entries WHERE id = $1', [e.id])).length > 0;
    // another entry under this id is refused by the award path (409), and this step with it
    if (!held) await audit(tx, village, `villager:${e.villager}`, 'entry.direct', actor, { entry: e.id, kind: e.kind, points: e.points, reason: e.reason ?? null, ...byStaff(staff) }, now);
    return { entries: [e], result: held };
  });
  return { duplicate: result, published };
}

/** The audit step of a villager's record changed (tables.ts VillagerChange); `command`: the block or unblock that changed it. */
export function villagerAudit(village: string, id: string, actor: string, staff: string | undefined, now: Date, command?: string): VillagerChange {
  return async (tx, was, is) => {
    if (!was) return audit(tx, village, `villager:${id}`, 'villager.add', actor, { name: is.name, status: is.status, ...byStaff(staff) }, now);
    const detail = {
      ...(was.name === is.name ? {} : { name: { from: was.name, to: is.name } }),
      ...(was.status === is.status ? {} : { status: { from: was.status, to: is.status } }),
      ...(command === undefined ? {} : { command }), ...byStaff(staff),
    };
    return audit(tx, village, `villager:${id}`, 'villager.change', actor, detail, now);
  };
}
