/**
 * The /alarms page, which does not reload itself while a note is typed: the active alarms with
 * an acknowledge form each, and the latest alarms, cleared or not. Chinese first; no script.
 */
import type { StoreConfig } from '../config/schema.ts';
import type { AlarmRow } from '../ledger/alarms.ts';
import { esc, time } from './admin-sections.ts';
import { ackText, alarmCells } from './alarms-section.ts';
import { layout } from './pages.ts';

/** The /alarms page: active alarms with an acknowledge form each, and the latest ones. */
export function alarmsPage(d: { store: StoreConfig; active: AlarmRow[]; recent: AlarmRow[]; csrf: string }): string {
  const form = (a: AlarmRow): string => (a.id === 0
    ? '账本无法写入，暂不能确认'
    : `<form class="inline" method="post" action="/api/alarms/${a.id}/acknowledge"><input type="hidden" name="_csrf" value="${esc(d.csrf)}"><input name="note" maxlength="500" placeholder="备注（如：已通知电工，明早更换）" aria-label="确认备注" style="width:18rem"> <button type="submit" data-action="acknowledge">确认</button></form>`);
  const active = d.active
    .map((a) => `<tr data-alarm="${a.id}" data-kind="${esc(a.kind)}" data-acknowledged="${a.acknowledged_at !== null}">${alarmCells(a)}<td>${a.acknowledged_at === null ? form(a) : ackText(a)}</td></tr>`)
    .join('');
  const recent = d.recent
    .map((a) => `<tr data-alarm="${a.id}">${alarmCells(a)}<td>${a.cleared_at ? `${esc(time(a.cleared_at))}${a.cleared_by && a.cleared_by !== 'resolved' ? `（${esc(a.cleared_by)}）` : ''}` : '<span class="bad">未解除</span>'}</td><td>${a.acknowledged_at === null ? '—' : ackText(a)}</td></tr>`)
    .join('');
  return layout(`${d.store.name} · 告警`, `<h1>${esc(d.store.name)} · 告警</h1><p><a href="/">返回管理页</a></p>
<p>确认告警表示已有人知道并在处理：确认后告警仍然显示（标为“已确认”），直到故障真正排除；同一故障再次发生（或变得更严重）会重新告警。确认会记入操作记录，并随告警列表同步给村里。</p>
<h2>未解除的告警</h2><table id="active-alarms"><tr><th>级别</th><th>告警</th><th>说明</th><th>发生时间</th><th>确认</th></tr>${active || '<tr><td colspan="5">没有未解除的告警</td></tr>'}</table>
<h2>最近的告警</h2><table id="recent-alarms"><tr><th>级别</th><th>告警</th><th>说明</th><th>发生时间</th><th>解除时间</th><th>确认</th></tr>${recent || '<tr><td colspan="6">—</td></tr>'}</table>`);
}
