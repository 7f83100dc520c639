/**
 * The store's alarms on the admin page (which stays current by itself): the active ones, with
 * who acknowledged each and when, and a link to the /alarms page (alarms-page.ts) to acknowledge
 * them. Chinese, or English with `lang` `en`; every value goes through `esc`.
 */
import type { AlarmRow } from '../ledger/alarms.ts';
import { ALARM_TEXT, type AlarmKind } from '../ops/alarms.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { formatTime } from './time-format.ts';
import { alarmDetail, say, SEVERITY } from './admin-words.ts';

const kindText = (kind: string, lang: Lang): string => ALARM_TEXT[kind as AlarmKind]?.[lang] ?? kind;

export const ALARM_WORDS = {
  zh: {
    alarms: '告警', off: '未启用（配置 alarms.enabled）', none: '没有未解除的告警', count: (n: number, open: number) => `${n} 条未解除，其中 ${open} 条未确认`, link: '确认告警、查看历史',
    severity: '级别', alarm: '告警', detail: '说明', raised: '发生时间', ack: '确认', notAcked: '未确认', acked: '已确认：', sep: '，', times: (n: number) => `，共 ${n} 次`, subject: (s: string) => `（${s}）`, note: (n: string) => `“${n}”`,
  },
  en: {
    alarms: 'Alarms', off: 'Off (config alarms.enabled)', none: 'No open alarms', count: (n: number, open: number) => `${n} open, ${open} of them not acknowledged`, link: 'Acknowledge alarms, see the history',
    severity: 'Severity', alarm: 'Alarm', detail: 'Detail', raised: 'Raised', ack: 'Acknowledged', notAcked: 'not acknowledged', acked: 'Acknowledged by ', sep: ', ', times: (n: number) => `, ${n} times`, subject: (s: string) => ` (${s})`, note: (n: string) => `"${n}"`,
  },
};

/** Acknowledged by whom, when, with their note; or not yet. */
export function ackText(a: AlarmRow, lang: Lang = 'zh', tz?: string): string {
  const t = ALARM_WORDS[lang];
  if (a.acknowledged_at === null) return `<span class="bad">${t.notAcked}</span>`;
  return `${t.acked}${esc(a.acknowledged_by ?? '')}${t.sep}${esc(formatTime(a.acknowledged_at, tz))}${a.ack_note ? `${t.sep}${esc(t.note(a.ack_note))}` : ''}`;
}

export function alarmCells(a: AlarmRow, lang: Lang = 'zh', tz?: string): string {
  const t = ALARM_WORDS[lang];
  return `<td class="${a.severity === 'critical' ? 'bad' : ''}">${esc(say(SEVERITY, lang, a.severity))}</td><td>${esc(kindText(a.kind, lang))}${a.subject ? esc(t.subject(a.subject)) : ''}${a.kind === 'door_open' && a.cleared_at === null ? ` · <a href="/door" data-action="door-override">${lang === 'zh' ? '门磁故障？' : 'Sensor faulty?'}</a>` : ''}</td><td class="detail">${esc(alarmDetail(a.detail, lang))}</td><td>${esc(formatTime(a.raised_at, tz))}${a.seen > 1 ? t.times(a.seen) : ''}</td>`;
}

/** The table head of the alarm lists: severity, alarm, detail, raised, then `more`. */
export const alarmHead = (lang: Lang, ...more: string[]): string => {
  const t = ALARM_WORDS[lang];
  return `<tr>${[t.severity, t.alarm, t.detail, t.raised, ...more].map((h) => `<th>${h}</th>`).join('')}</tr>`;
};

/** On the admin page: the active alarms, and a link to acknowledge them. */
export function alarmsSection(active: AlarmRow[] | undefined, lang: Lang = 'zh', tz?: string): string {
  const t = ALARM_WORDS[lang];
  if (active === undefined) return `<h2>${t.alarms}</h2><p id="alarms" data-enabled="false">${t.off}</p>`;
  const open = active.filter((a) => a.acknowledged_at === null).length;
  const rows = active.map((a) => `<tr data-alarm="${a.id}" data-kind="${esc(a.kind)}" data-acknowledged="${a.acknowledged_at !== null}">${alarmCells(a, lang, tz)}<td>${ackText(a, lang, tz)}</td></tr>`).join('');
  return `<h2>${t.alarms}</h2><p>${active.length === 0 ? t.none : t.count(active.length, open)} · <a href="/alarms" id="alarms-link">${t.link}</a></p>
<table id="alarms">${alarmHead(lang, t.ack)}${rows || '<tr><td colspan="5">—</td></tr>'}</table>`;
}
