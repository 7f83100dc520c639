/**
 * `points award|penalty|adjust`: points given or taken by hand at the store PC. Each change is
 * audited in its own transaction (cli-audit.ts: the command, points, reason, the OS user and
 * SUDO_USER), its entry carries `BY_HAND_REFERENCE` so the village ledger's passbook tells it
 * from a purchase or a village award, and one beyond `ledger.cli_adjust_max` points (either
 * sign) needs `--force`: without it a bilingual refusal, exit 2, nothing applied.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { withCommon, withLedger, parseIntOption, print, type CommonOptions } from './context.ts';
import { auditCli } from './cli-audit.ts';
import { requireVillager } from '../ledger/villagers.ts';
import { applyEntry, entryIdTaken, getEntry, BY_HAND_REFERENCE, type EntryKind } from '../ledger/entries.ts';
import { inTransaction } from '../ledger/db.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { freeText } from '../ledger/free-text.ts';

type PointsOptions = CommonOptions & { villager: string; points: string; reason: string; id?: string; force?: boolean };

/** The refusal of a manual change of `asked` points beyond `max` without --force. */
function tooLarge(asked: number, max: number): EdgeError {
  return new EdgeError(
    ErrorCode.INVALID_ARGUMENT,
    `${asked} points by hand at the store PC is more than ledger.cli_adjust_max (${max}): it is sent to the village ledger as a hand-made change and audited; check the amount, or give --force if it is meant`,
    { zh: `在门店电脑上手工调整 ${asked} 分，超过上限 ledger.cli_adjust_max（${max} 分）：该调整会作为店内手工调整发往村账本并记入审计日志；请核对分数，确属本意请加 --force`, details: { field: '--points', max } },
  );
}

export function registerPointsCommands(program: Command): void {
  const points = program.command('points').description('award or deduct points / 积分');
  const entryCommand = (name: 'award' | 'penalty' | 'adjust', kind: EntryKind, sign: 1 | -1 | 0, zh: string) =>
    withCommon(points.command(name).description(zh), { json: true })
      .requiredOption('--villager <id>', 'villager id / 村民编号')
      .requiredOption('--points <n>', 'points (a whole number) / 积分')
      .requiredOption('--reason <text>', 'why / 事由')
      .option('--id <entryId>', 'entry id, to make a retry safe (default: a new id) / 流水编号')
      .option('--force', 'make a change beyond ledger.cli_adjust_max points / 允许超过 ledger.cli_adjust_max 的调整')
      .action((o: PointsOptions) => {
        const n = parseIntOption('--points', o.points);
        if (sign !== 0 && n <= 0) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--points must be a positive whole number, got ${o.points}`, { zh: '--points 必须是正整数' });
        // a tab or line break is a space, as on the admin page; other control characters are refused
        const reason = freeText({ field: '--reason', zh: '--reason 事由' }, o.reason);
        if (reason === '') throw new EdgeError(ErrorCode.INVALID_ARGUMENT, '--reason must not be empty', { zh: '--reason 事由不能为空' });
        const asked = sign === 0 ? n : sign * n;
        const { result, villager } = withLedger(o, (db, config) => {
          const max = config.ledger.cli_adjust_max;
          // a retry of an entry made already (its --id, the first run's output lost) is answered as the duplicate it is, not refused for its size
          const made = o.id !== undefined && getEntry(db, o.id) !== undefined;
          const big = Math.abs(asked) > max && !made;
          if (big && !o.force) throw tooLarge(asked, max);
          if (big) process.stderr.write(`警告：手工调整 ${asked} 分，超过上限 ledger.cli_adjust_max（${max} 分），已按 --force 执行并记入审计日志 / warning: ${asked} points by hand, beyond ledger.cli_adjust_max (${max}), made under --force and audited\n`);
          return inTransaction(db, `points ${name} from the command line`, () => {
            const before = requireVillager(db, o.villager);
            const r = applyEntry(db, { id: o.id ?? `cli:${randomUUID()}`, villagerId: o.villager, kind, points: asked, reason, reference: BY_HAND_REFERENCE, origin: 'cli' }, { creditFloor: config.ledger.credit_floor, store: config.store.id });
            const after = requireVillager(db, o.villager);
            if (r.status !== 'duplicate') {
              auditCli(db, `points ${name}`, {
                action: `points.${name}`, target: o.villager,
                before: { balance: before.balance, debt: before.debt },
                after: { entry: r.entry.id, kind, points: asked, applied: r.entry.points, balance: after.balance, debt: after.debt, reason, forced: big },
              });
            }
            return { result: r, villager: after };
          });
        });
        // the same id for another villager, kind or points is another entry, not a retry
        if (result.status === 'duplicate' && result.conflict) throw entryIdTaken(result.entry);
        if (result.status === 'duplicate') {
          print(o, { status: result.status, entry: result.entry }, `重复流水，未重复记账 duplicate entry ${result.entry.id}: nothing applied`);
          return;
        }
        // what really happened, not what was asked: a deduction may stop at the floor, an award may go to debt
        const repaid = -(result.debtRepaid?.points ?? 0);
        const signedText = `${asked > 0 ? '+' : ''}${asked}`;
        const zhParts = [signedText];
        const enParts = [signedText];
        if (result.debtAdded > 0) {
          zhParts.push(`实扣 ${-result.entry.points}，计入欠分 ${result.debtAdded}`);
          enParts.push(`${-result.entry.points} deducted, ${result.debtAdded} recorded as debt`);
        }
        if (repaid > 0) {
          zhParts.push(`偿还欠分 ${repaid}`);
          enParts.push(`repaid debt ${repaid}`);
        }
        zhParts.push(`余额 ${villager.balance}`);
        enParts.push(`balance ${villager.balance}`);
        if (villager.debt > 0) {
          zhParts.push(`欠分 ${villager.debt}`);
          enParts.push(`debt ${villager.debt}`);
        }
        print(
          o,
          { status: result.status, villager: villager.id, [name]: n, ...(asked < 0 ? { charged: -result.entry.points, debtAdded: result.debtAdded } : { repaid }), balance: villager.balance, debt: villager.debt, entry: result.entry },
          `${villager.id}: ${zhParts.join('，')} / ${enParts.join(', ')}`,
        );
      });
  entryCommand('award', 'award', 1, 'award points for village work / 奖励积分');
  entryCommand('penalty', 'penalty', -1, 'deduct points as a penalty / 扣分');
  entryCommand('adjust', 'adjustment', 0, 'correct a balance (signed) / 调整积分');
}
