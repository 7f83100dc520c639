/**
 * The public board (积分公示栏) as HTML, for a wall screen read from three metres (1920×1080
 * landscape) or a portrait tablet (800×1280): type sized from the viewport, everything on one
 * screen with no scrolling. The live part (`#board-live`) is also served alone, and the page's
 * small script (client.ts) swaps it in place, so a refresh never blanks the screen; without the
 * script the page still works, as a static page. Every value is escaped.
 */
import { esc } from '../admin-sections.ts';
import { formatTime } from '../time-format.ts';
import type { BoardView } from './view.ts';
import type { BoardBody } from '../../../cloud-sync/protocol/board.ts';

function monthLabel(month: string): string {
  const [y, m] = month.split('-');
  return `${y}年${Number(m)}月`;
}

const shortDate = (d: string): string => `${Number(d.slice(5, 7))}月${Number(d.slice(8, 10))}日`;

function ago(ms: number): string {
  const min = Math.max(0, Math.floor(ms / 60_000));
  if (min < 1) return '刚刚';
  if (min < 60) return `${min} 分钟前`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} 小时前`;
  return `${Math.floor(h / 24)} 天前`;
}

/** When the village data was computed, as every page shows a time: in the store's zone (`jobs.timezone`, else the system's), `2026-12-01 08:05`. */
function statusLine(v: BoardView, tz: string | undefined): string {
  const updated = v.updatedAt ? `村账本数据更新于 <time id="board-updated" datetime="${esc(v.updatedAt)}">${esc(formatTime(v.updatedAt, tz))}</time>（${esc(ago(v.now.getTime() - Date.parse(v.updatedAt)))}）` : '';
  switch (v.freshness) {
    case 'no-sync':
      return `<p id="board-status" class="note">本店未接入村账本：以下仅为本店商品兑换价</p>`;
    case 'waiting':
      return `<p id="board-status" class="note">正在等待村账本发来公示数据…</p>`;
    case 'fresh':
      return `<p id="board-status" class="ok">${updated}</p>`;
    case 'stale': {
      const why = v.offline ? '本店暂时与村账本断开连接' : '村账本数据已较长时间未更新';
      return `<p id="board-status" class="stale" data-stale="1"><strong>⚠ ${why}</strong>，红榜与统计可能不是最新的 · ${updated}</p>`;
    }
  }
}

function totals(b: BoardBody): string {
  const t = b.totals;
  if (!b.published.totals || !t) return '';
  const rate = t.villagers > 0 ? `${Math.round((t.participants / t.villagers) * 100)}%` : '—';
  const card = (id: string, n: string, label: string) => `<div class="stat" id="${id}"><span class="n">${n}</span><span class="l">${label}</span></div>`;
  return `<section id="totals" aria-label="本月合计">${[
    card('total-issued', String(t.issued), '本月发放积分'),
    card('total-redeemed', String(t.redeemed), '本月兑换积分'),
    card('total-deeds', String(t.deeds), '好人好事（件）'),
    card('total-participants', `${t.participants}<small>/${t.villagers}</small>`, `参与村民（${rate}）`),
  ].join('')}</section>`;
}

function redList(b: BoardBody): string {
  if (!b.published.red_list) return '';
  const rows = b.red_list.map((r) => {
    const items = r.items.map((i) => (i.count > 1 ? `${esc(i.name)}×${i.count}` : esc(i.name))).join('、');
    return `<li class="rank-${r.rank <= 3 ? r.rank : 'n'}"><span class="rank">${r.rank}</span><span class="who${r.masked ? ' masked' : ''}">${esc(r.name)}</span><span class="items">${items}</span><span class="pts">${r.points}<small>分</small></span></li>`;
  }).join('');
  const m = b.red_list_more;
  // those of a place the board's 50 rows could not carry: counted, never silently missing
  const more = m ? `<p id="red-list-more" class="more" data-count="${m.count}">另有 ${m.count} 位村民同为第 ${m.rank} 名（各 ${m.points} 分），榜上未能列出</p>` : '';
  const empty = rows || more ? '' : '<p class="empty">本月还没有获得积分的村民，期待您的第一份贡献！</p>';
  // how many rows this screen cannot hold: only the browser knows, the page's script fills it in
  const hidden = rows ? '<p id="red-list-hidden" class="more" data-count="0" hidden></p>' : '';
  return `<section id="red-list" class="panel"><h2>${esc(monthLabel(b.month))}红榜</h2>${rows ? `<ol>${rows}</ol>` : ''}${hidden}${more}${empty}</section>`;
}

function deeds(b: BoardBody): string {
  if (!b.published.deeds) return '';
  const rows = b.deeds.map((d) => `<li><span class="title">${esc(d.title)}</span><span class="meta">${esc(d.village)} · ${esc(shortDate(d.date))}</span><span class="pts">+${d.points}</span></li>`).join('');
  return `<section id="deeds" class="panel"><h2>好人好事</h2>${rows ? `<ul>${rows}</ul>` : '<p class="empty">暂无</p>'}</section>`;
}

function prices(v: BoardView): string {
  const rows = v.prices.map((p) => `<li class="${p.inStock ? 'in' : 'out'}"><span class="name">${esc(p.name)}</span><span class="price">${p.price}<small>分</small></span><span class="stock">${p.inStock ? '有货' : '缺货'}</span></li>`).join('');
  return `<section id="prices" class="panel"><h2>兑换价格</h2>${rows ? `<ul>${rows}</ul>` : '<p class="empty">暂无商品</p>'}</section>`;
}

/** The part of the page that changes: swapped in place by the page's script. */
export function boardLive(v: BoardView, tz?: string): string {
  const b = v.village;
  return `${statusLine(v, tz)}${b ? totals(b) : ''}<div class="cols">${b ? redList(b) : ''}${b ? deeds(b) : ''}${prices(v)}</div>`;
}

/**
 * The type scales with the screen (1rem is 1.8% of the width or 3.3% of the height, whichever is
 * less: 34.6 px on a 1920×1080 wall screen). `--small`, the smallest text (a line's items, a
 * deed's date, the 分 after points, the totals' labels, the notes under the red list), is .82rem:
 * 28 px there, legible from three metres. A portrait tablet, read from close by, keeps .7rem
 * (22 px at 800×1280), so a price line still names its product in half the width.
 */
const CSS = `
*{box-sizing:border-box}html{font-size:clamp(14px,min(1.8vw,3.3vh),56px);height:100%;--small:.82rem}
@media (orientation:portrait){html{font-size:clamp(14px,min(4vw,2.5vh),56px);--small:.7rem}}
body{margin:0;height:100%;overflow:hidden;background:#fff8ee;color:#1d1d1d;font-family:"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",system-ui,sans-serif;line-height:1.3}
.wrap{height:100%;display:flex;flex-direction:column;padding:.6rem 1rem;gap:.45rem}
header{display:flex;align-items:baseline;justify-content:space-between;gap:1rem;border-bottom:.12rem solid #c8102e;padding-bottom:.25rem}
h1{margin:0;font-size:1.6rem;color:#c8102e;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
h2{margin:0 0 .3rem;font-size:1.2rem;color:#c8102e;flex:none}
#board-live{flex:1;min-height:0;display:flex;flex-direction:column;gap:.45rem}
#board-status{margin:0;font-size:var(--small);color:#555}#board-status.stale{background:#fff0b3;color:#6b4e00;padding:.2rem .5rem;border-radius:.3rem}
#page-offline{display:none;margin:0;font-size:var(--small);background:#ffd6d6;color:#8a0000;padding:.2rem .5rem;border-radius:.3rem}
body.unreachable #page-offline{display:block}
#totals{display:grid;grid-template-columns:repeat(4,1fr);gap:.5rem}
.stat{background:#c8102e;color:#fff;border-radius:.4rem;padding:.2rem .6rem;display:flex;flex-direction:column}
.stat .n{font-size:1.7rem;font-weight:700;line-height:1.15}.stat .n small{font-size:.9rem;font-weight:400}.stat .l{font-size:var(--small)}
.cols{flex:1;min-height:0;display:grid;grid-template-columns:4fr 4fr 3fr;gap:.8rem}
.panel{min-height:0;overflow:hidden;background:#fff;border-radius:.5rem;padding:.4rem .7rem;box-shadow:0 0 0 .06rem #f0d9c0;display:flex;flex-direction:column}
/* Rows that do not fit wrap into a next column, outside the panel: a row is shown whole or not at all. */
ol,ul{list-style:none;margin:0;padding:0;flex:1;min-height:0;display:flex;flex-direction:column;flex-wrap:wrap;column-gap:1.4rem;align-content:flex-start}
li{width:100%;display:flex;align-items:baseline;gap:.5rem;padding:.12rem 0;border-bottom:.04rem solid #f3e3d0;white-space:nowrap}
li>*{flex:none}li .items,li .title,li .name{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis}
.rank{width:1.6rem;text-align:center;font-weight:700;color:#fff;background:#999;border-radius:50%;font-size:.85rem;line-height:1.6rem;height:1.6rem;align-self:center}
.rank-1 .rank{background:#d4a017}.rank-2 .rank{background:#9e9e9e}.rank-3 .rank{background:#b87333}.rank-n .rank{background:#c8102e}
.who{font-weight:700}.items{font-size:var(--small);color:#666}.pts,.price{font-weight:700;color:#c8102e}small{font-size:var(--small);margin-left:.1em}
.meta{font-size:var(--small);color:#777}.stock{font-size:var(--small);padding:0 .3rem;border-radius:.2rem}.in .stock{background:#e3f4e1;color:#17631c}.out .stock{background:#eee;color:#777}.out .name,.out .price{color:#999}
.empty{color:#777;font-size:var(--small)}
.more{flex:none;margin:.2rem 0 0;font-size:var(--small);color:#8a0000}.more[hidden]{display:none}
@media (orientation:portrait){
 #totals{gap:.35rem}.stat{padding:.15rem .4rem}.stat .n{font-size:1.25rem}.stat .l{font-size:.5rem;white-space:nowrap}
 .cols{grid-template-columns:1fr;grid-template-rows:auto auto minmax(0,1fr);gap:.5rem}
 #red-list li:nth-child(n+7),#deeds li:nth-child(n+4){display:none}
 #prices li{width:calc(50% - .7rem)}
}
`;

export function boardPage(v: BoardView, refreshS: number, tz?: string): string {
  const title = `${v.storeName} · 积分公示栏`;
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><link rel="icon" href="data:,"><style>${CSS}</style><script src="/board/board.js" defer></script>
<noscript><meta http-equiv="refresh" content="${refreshS}"></noscript></head>
<body><div class="wrap"><header><h1>${esc(title)}</h1></header>
<p id="page-offline">⚠ 与门店服务器的连接中断，正在重试…</p>
<div id="board-live" data-refresh-s="${refreshS}">${boardLive(v, tz)}</div></div></body></html>`;
}
