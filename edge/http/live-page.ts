/**
 * The live page's HTML: the frame the script (assets/live.js) fills from the picture embedded
 * here and then from the stream. The picture travels as a JSON data block (not run as script,
 * so the CSP's "scripts from this origin only" holds); without the script the page says so.
 */
import type { StoreConfig } from '../config/schema.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';

const T = {
  zh: { title: '实时', door: '门和门锁', inside: '店内', decisions: '门口最近的判断', alarms: '告警', openAlarms: '未解除的告警', mayAck: '门店维护员或村管理员（任一已登录账号）都可以确认：表示已有人知道并在处理，告警仍显示到故障排除；确认记入操作记录并同步给村里。「村民编号已属别村」只有村里能核实：村里更正后，可在此手动解除（写明说明，记入操作记录）。', shelves: '货架重量', back: '返回管理页', other: 'English', connecting: '正在连接…', noscript: '此页面需要启用 JavaScript 才能实时更新。' },
  en: { title: 'Live', door: 'Door and lock', inside: 'Inside the store', decisions: "The door's last decisions", alarms: 'Alarms', openAlarms: 'Open alarms', mayAck: 'A maintainer or a village admin (any signed-in account) may acknowledge: someone knows and is dealing with it; the alarm stays until the fault is gone. Acknowledging is audited and sent to the village. "Villager id held by another village" is settled only by the village: once it has corrected its records, clear it here (with why; audited).', shelves: 'Weights on the shelves', back: 'Back to admin', other: '中文', connecting: 'Connecting…', noscript: 'This page needs JavaScript to update live.' },
} as const;

/** `<` in JSON inside a script element could end it early: escaped as \u003c. */
const jsonBlock = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

export function livePage(d: { store: StoreConfig; lang: Lang; now: unknown; timeZone: string | undefined }): string {
  const t = T[d.lang];
  const other = d.lang === 'zh' ? 'en' : 'zh';
  return `<!doctype html><html lang="${d.lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
<title>${esc(d.store.name)} · ${t.title}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;color:#222;background:#fafafa;font-size:18px}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding:.8rem 1.2rem;background:#24527a;color:#fff}
header h1{font-size:1.3rem;margin:0}header a{color:#fff}#live-status{margin-left:auto;font-size:.9rem}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:1rem;padding:1rem}
section{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:.8rem 1rem}h2{font-size:1.1rem;margin:.2rem 0 .6rem}
.big{font-size:1.5rem;font-weight:600}.ok{color:#080}.bad{color:#b00}.warn{color:#a60}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.35rem .3rem;text-align:left}
ul{list-style:none;margin:0;padding:0}li{padding:.4rem 0;border-bottom:1px solid #eee}li time{color:#666;margin-right:.6rem;font-variant-numeric:tabular-nums}
#ack-who{font-size:.9rem;color:#555}.ack{display:flex;flex-wrap:wrap;gap:.4rem;margin-top:.3rem}.ack input{flex:1;min-width:10rem;font-size:1rem}.ack button{font-size:1rem;padding:.3rem 1rem}
</style></head>
<body data-lang="${d.lang}" data-tz="${esc(d.timeZone ?? '')}">
<header><h1>${esc(d.store.name)} · ${t.title}</h1><a href="/">${t.back}</a><a href="/live?lang=${other}" id="lang-switch">${t.other}</a><span id="live-status">${t.connecting}</span></header>
<noscript><p class="bad">${t.noscript}</p></noscript>
<main>
<section id="door-section"><h2>${t.door}</h2><p class="big" id="door-state">—</p><p id="lock-state">—</p></section>
<section id="store-section"><h2>${t.inside}</h2><p class="big" id="store-phase">—</p><p id="store-who"></p><div id="cart"></div></section>
<section id="decisions-section"><h2>${t.decisions}</h2><ul id="decisions"></ul></section>
<section id="alarms-section"><h2>${t.alarms}</h2><ul id="alarms"></ul></section>
<section id="open-alarms-section"><h2>${t.openAlarms}</h2><p id="ack-who">${t.mayAck}</p><ul id="open-alarms"></ul><p id="ack-status" role="status"></p></section>
<section id="shelves-section"><h2>${t.shelves}</h2><div id="shelf-weights"></div></section>
</main>
<script type="application/json" id="live-data">${jsonBlock(d.now)}</script>
<script src="/assets/follow-live.js" defer></script><script src="/assets/live.js" defer></script>
</body></html>`;
}
