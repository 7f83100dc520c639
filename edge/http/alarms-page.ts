/**
 * The /alarms page, which does not reload itself while a note is typed: the active alarms with
 * an acknowledge form each (and a clear form for a kind only a maintainer can clear), and the latest alarms, cleared or not. Chinese, or English with
 * `lang` `en`; no script.
 */
import type { StoreConfig } from '../config/schema.ts';
import type { AlarmRow } from '../ledger/alarms.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { formatTime } from './time-format.ts';
import { ackText, alarmCells, alarmHead, ALARM_WORDS } from './alarms-section.ts';
import { otherLang } from './admin-words.ts';
import { CLEARED_BY_HAND } from '../ops/alarms.ts';
import { layout } from './pages.ts';
import { fieldMessage, formMessage, kept, type FormRefusal } from './form-fields.ts';

const T = {
  zh: {
    back: '返回管理页', noWrite: '账本无法写入，暂不能确认', note: '备注（如：已通知电工，明早更换）', noteLabel: '确认备注', acknowledge: '确认',
    how: '确认告警表示已有人知道并在处理：确认后告警仍然显示（标为“已确认”），直到故障真正排除；同一故障再次发生（或变得更严重）会重新告警。确认会记入操作记录，并随告警列表同步给村里。',
    clearNote: '解除说明（如：村委已更正邻村的编号）', clearLabel: '解除说明', clear: '解除',
    howClear: '“村民编号已属别村”只有村里能核实处理，本店看不到它何时解决：该村民在本店登记为离开（换新编号重新登记）后它会自动解除；若村委已在村账本更正（例如邻村的记录有误），可在此手动解除。解除会记入操作记录；村账本再次为新的记录报告同一冲突时会重新告警。“无人时货架重量变化”在该货位重量恢复后自动解除；若货品确已不见，请查看监控、清点货架后在此手动解除。',
    open: '未解除的告警', noneOpen: '没有未解除的告警', recent: '最近的告警', cleared: '解除时间', notCleared: '未解除', by: (b: string) => `（${b}）`,
  },
  en: {
    back: 'Back to admin', noWrite: 'The ledger cannot be written: cannot acknowledge now', note: 'Note (e.g. electrician told, replaced tomorrow morning)', noteLabel: 'Acknowledgement note', acknowledge: 'Acknowledge',
    how: 'Acknowledging an alarm says someone knows and is dealing with it: it stays listed (marked acknowledged) until the fault is really gone; the same fault again (or worse) raises it again. Acknowledging is audited and sent to the village with the alarm list.',
    clearNote: "Why (e.g. the village corrected the other village's record)", clearLabel: 'Why it is cleared', clear: 'Clear',
    howClear: "\"Villager id held by another village\" is settled only by the village; the store cannot see when it is: it clears by itself once that villager is set to left here (registered again under another id); if the village has corrected its ledger (the other village's record was wrong, say), clear it here. Clearing is audited; the village ledger reporting the same conflict for a new row raises it again. \"Shelf changed with nobody in the store\" clears by itself when that slot's weight comes back; if the goods are really gone, check the camera and count the shelf, then clear it here.",
    open: 'Open alarms', noneOpen: 'No open alarms', recent: 'Latest alarms', cleared: 'Cleared', notCleared: 'not cleared', by: (b: string) => ` (${b})`,
  },
};

/**
 * The /alarms page: active alarms with an acknowledge form each, and the latest ones; a refused
 * form (`acknowledge-ID`, `clear-ID`) shows why beside its note, with the note as typed.
 */
export function alarmsPage(d: { store: StoreConfig; active: AlarmRow[]; recent: AlarmRow[]; csrf: string; lang?: Lang; refusal?: FormRefusal; timeZone?: string | undefined }): string {
  const tz = d.timeZone;
  const lang = d.lang ?? 'zh';
  const t = T[lang];
  const w = ALARM_WORDS[lang];
  const r = d.refusal;
  /** The note field of one form: what was typed when it was refused, and why beside it. */
  const note = (form: string, placeholder: string, label: string): string => `${formMessage(r, form, ['note'])}<input name="note" maxlength="500" placeholder="${esc(placeholder)}" aria-label="${esc(label)}" style="width:18rem" value="${esc(kept(r, form, 'note'))}"${r?.form === form ? ' autofocus' : ''}>${fieldMessage(r, form, 'note')}`;
  const form = (a: AlarmRow): string => (a.id === 0
    ? t.noWrite
    : `<form class="inline" method="post" action="/api/alarms/${a.id}/acknowledge"><input type="hidden" name="_csrf" value="${esc(d.csrf)}">${note(`acknowledge-${a.id}`, t.note, t.noteLabel)} <button type="submit" data-action="acknowledge">${t.acknowledge}</button></form>`);
  // only for a kind the store cannot see go away (edge/ops/alarms.ts CLEARED_BY_HAND)
  const clearForm = (a: AlarmRow): string => (a.id === 0 || !CLEARED_BY_HAND.has(a.kind)
    ? ''
    : `<br><form class="inline" method="post" action="/api/alarms/${a.id}/clear"><input type="hidden" name="_csrf" value="${esc(d.csrf)}">${note(`clear-${a.id}`, t.clearNote, t.clearLabel)} <button type="submit" data-action="clear">${t.clear}</button></form>`);
  const active = d.active
    .map((a) => `<tr data-alarm="${a.id}" data-kind="${esc(a.kind)}" data-acknowledged="${a.acknowledged_at !== null}">${alarmCells(a, lang, tz)}<td>${a.acknowledged_at === null ? form(a) : ackText(a, lang, tz)}${clearForm(a)}</td></tr>`)
    .join('');
  const recent = d.recent
    .map((a) => `<tr data-alarm="${a.id}">${alarmCells(a, lang, tz)}<td>${a.cleared_at ? `${esc(formatTime(a.cleared_at, tz))}${a.cleared_by && a.cleared_by !== 'resolved' ? esc(t.by(a.cleared_by)) : ''}` : `<span class="bad">${t.notCleared}</span>`}</td><td>${a.acknowledged_at === null ? '—' : ackText(a, lang, tz)}</td></tr>`)
    .join('');
  return layout(`${d.store.name} · ${w.alarms}`, `<h1>${esc(d.store.name)} · ${w.alarms}</h1><p><a href="/">${t.back}</a> · ${otherLang(lang, '/alarms')}</p>
<p>${t.how}</p>${d.active.some((a) => CLEARED_BY_HAND.has(a.kind)) ? `<p>${esc(t.howClear)}</p>` : ''}
<h2>${t.open}</h2><table id="active-alarms">${alarmHead(lang, w.ack)}${active || `<tr><td colspan="5">${t.noneOpen}</td></tr>`}</table>
<h2>${t.recent}</h2><table id="recent-alarms">${alarmHead(lang, t.cleared, w.ack)}${recent || '<tr><td colspan="6">—</td></tr>'}</table>`, undefined, lang);
}
