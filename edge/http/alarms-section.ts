/**
 * The store's alarms on the admin page (which reloads every 5 s): the active ones, with who
 * acknowledged each and when, and a link to the /alarms page (alarms-page.ts) to acknowledge them.
 * Chinese first; every value goes through `esc`.
 */
import type { AlarmRow } from '../ledger/alarms.ts';
import { ALARM_TEXT, type AlarmKind } from '../ops/alarms.ts';
import { esc, time } from './admin-sections.ts';

const kindZh = (kind: string): string => ALARM_TEXT[kind as AlarmKind]?.zh ?? kind;
const SEVERITY_ZH: Record<string, string> = { critical: '严重', warning: '警告' };

/** Acknowledged by whom, when, with their note; or not yet. */
export function ackText(a: AlarmRow): string {
  if (a.acknowledged_at === null) return '<span class="bad">未确认</span>';
  return `已确认：${esc(a.acknowledged_by ?? '')}，${esc(time(a.acknowledged_at))}${a.ack_note ? `，“${esc(a.ack_note)}”` : ''}`;
}

export function alarmCells(a: AlarmRow): string {
  return `<td class="${a.severity === 'critical' ? 'bad' : ''}">${esc(SEVERITY_ZH[a.severity] ?? a.severity)}</td><td>${esc(kindZh(a.kind))}${a.subject ? `（${esc(a.subject)}）` : ''}</td><td class="detail">${esc(a.detail)}</td><td>${esc(time(a.raised_at))}${a.seen > 1 ? `，共 ${a.seen} 次` : ''}</td>`;
}

/** On the admin page (which reloads every 5 s): the active alarms, and a link to acknowledge them. */
export function alarmsSection(active: AlarmRow[] | undefined): string {
  if (active === undefined) return '<h2>告警</h2><p id="alarms" data-enabled="false">未启用（配置 alarms.enabled）</p>';
  const open = active.filter((a) => a.acknowledged_at === null).length;
  const rows = active.map((a) => `<tr data-alarm="${a.id}" data-kind="${esc(a.kind)}" data-acknowledged="${a.acknowledged_at !== null}">${alarmCells(a)}<td>${ackText(a)}</td></tr>`).join('');
  return `<h2>告警</h2><p>${active.length === 0 ? '没有未解除的告警' : `${active.length} 条未解除，其中 ${open} 条未确认`} · <a href="/alarms" id="alarms-link">确认告警、查看历史</a></p>
<table id="alarms"><tr><th>级别</th><th>告警</th><th>说明</th><th>发生时间</th><th>确认</th></tr>${rows || '<tr><td colspan="5">—</td></tr>'}</table>`;
}

