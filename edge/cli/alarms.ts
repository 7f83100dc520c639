/**
 * `store-edge alarms …`: the store's alarms from the store PC's terminal, as on the /alarms page —
 * list them, acknowledge one, clear by hand the one kind only a maintainer can
 * (`villager_id_taken`, `idle_shelf_change`: edge/ops/alarms.ts CLEARED_BY_HAND). Each change is in the audit log as
 * `cli`. A running daemon notices a change made here at its next alarm check and tells the
 * village then (edge/ops/alarm-watch.ts).
 */
import type { Command } from 'commander';
import { silentLogger } from '../log.ts';
import { withCommon, withLedger, readLedger, parseIntOption, print, type CommonOptions } from './context.ts';
import { AlarmBoard, ALARM_TEXT, type AlarmKind } from '../ops/alarms.ts';
import type { AlarmRow } from '../ledger/alarms.ts';
import { freeText } from '../ledger/free-text.ts';
import { EdgeError, ErrorCode } from '../errors.ts';

const ACTOR = 'cli';
const NOTE_MAX = 500;

/** The alarm id argument: a whole number from 1. */
function alarmId(value: string): number {
  const id = parseIntOption('ID', value);
  if (id < 1) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `ID must be an alarm id from 1, got ${value}`, { zh: `ID 必须是从 1 开始的告警编号，收到 ${value}` });
  return id;
}

/** --note as the page takes it: tabs and line breaks a space, trimmed, empty is none, at most 500 characters, no other control characters. */
function noteOf(raw: string | undefined): string | null {
  const note = raw === undefined ? null : freeText({ field: '--note', zh: '--note 备注' }, raw) || null;
  if (note !== null && [...note].length > NOTE_MAX) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--note must have at most ${NOTE_MAX} characters`, { zh: `--note 备注最多 ${NOTE_MAX} 字` });
  return note;
}

/** One line per alarm: id, severity, kind in both languages, subject, state. */
function line(a: AlarmRow): string {
  const t = ALARM_TEXT[a.kind as AlarmKind] ?? { en: a.kind, zh: a.kind };
  const ack = a.acknowledged_at ? `已确认 acknowledged by ${a.acknowledged_by} ${a.acknowledged_at}${a.ack_note ? ` "${a.ack_note}"` : ''}` : '未确认 not acknowledged';
  const state = a.cleared_at ? `已解除 cleared ${a.cleared_at}${a.cleared_by && a.cleared_by !== 'resolved' ? ` by ${a.cleared_by}` : ''}` : ack;
  return `#${a.id}\t${a.severity}\t${t.zh} ${t.en}${a.subject ? ` (${a.subject})` : ''}\t${a.raised_at}${a.seen > 1 ? ` ×${a.seen}` : ''}\t${state}\n\t${a.detail}`;
}

/**
 * Run `fn` on the store ledger's alarm board (its log is the daemon's business, not this
 * terminal's). `read`: `fn` only reads, so it also answers from a data folder this user may not
 * write, such as a backup mounted read-only (context.ts readLedger).
 */
const onBoard = <T>(o: CommonOptions, fn: (b: AlarmBoard) => T, read = false): T => (read ? readLedger : withLedger)(o, (db) => fn(new AlarmBoard(() => db, silentLogger())));

export function registerAlarmsCommand(program: Command): void {
  const alarms = program.command('alarms').description("the store's alarms / 门店告警");
  withCommon(alarms.command('list').description('the alarms not yet cleared, and the latest ones / 未解除的告警和最近的告警'), { json: true })
    .option('--limit <n>', 'how many of the latest to list (1–500) / 列出最近多少条', '20')
    .action((o: CommonOptions & { limit: string }) => {
      const limit = parseIntOption('--limit', o.limit);
      if (limit < 1 || limit > 500) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--limit must be from 1 to 500, got ${o.limit}`, { zh: `--limit 必须在 1 到 500 之间，收到 ${o.limit}` });
      const { active, recent } = onBoard(o, (b) => ({ active: b.active(), recent: b.recent(limit) }), true);
      const text = [
        `未解除的告警 open alarms: ${active.length === 0 ? '无 none' : ''}`, ...active.map(line),
        `最近的告警 latest alarms: ${recent.length === 0 ? '无 none' : ''}`, ...recent.map(line),
      ].join('\n');
      print(o, { active, recent }, text);
    });
  withCommon(alarms.command('acknowledge').argument('<ID>', 'alarm id (from `alarms list`) / 告警编号').description('acknowledge an open alarm: someone knows and is dealing with it / 确认告警'), { json: true })
    .option('--note <text>', 'what is being done (at most 500 characters) / 备注')
    .action((id: string, o: CommonOptions & { note?: string }) => {
      const r = onBoard(o, (b) => b.acknowledge(alarmId(id), ACTOR, noteOf(o.note)));
      print(o, { alarm: r.alarm, acknowledged: r.acknowledged, audit_id: r.auditId }, r.acknowledged ? `已确认告警 acknowledged alarm #${r.alarm.id}` : `告警 #${r.alarm.id} 已由 ${r.alarm.acknowledged_by} 确认，未作更改 / acknowledged already by ${r.alarm.acknowledged_by}, nothing changed`);
    });
  withCommon(alarms.command('clear').argument('<ID>', 'alarm id (from `alarms list`) / 告警编号').description('clear by hand an alarm only a maintainer can say is settled (villager_id_taken, idle_shelf_change) / 手动解除告警（仅限村民编号已属别村、无人时货架变动）'), { json: true })
    .option('--note <text>', 'why it is settled (at most 500 characters) / 解除说明')
    .action((id: string, o: CommonOptions & { note?: string }) => {
      const r = onBoard(o, (b) => b.clearByHand(alarmId(id), ACTOR, noteOf(o.note)));
      print(o, { alarm: r.alarm, cleared: r.cleared, audit_id: r.auditId }, r.cleared ? `已解除告警 cleared alarm #${r.alarm.id}` : `告警 #${r.alarm.id} 已解除，未作更改 / cleared already, nothing changed`);
    });
}
