/* global document, LiveFollow */
// The products and shelves page's script (edge/http/shelves-page.ts): follows the live stream
// (/api/live, its `snapshot` and `shelves` messages) and puts each slot's weight, the count it
// makes and the stock into the table's cells in place, so the calibration wizard and the count
// show what the scale reads now without a reload. The forms never change: a value being typed
// stays. Without this script the page still works, with the weights as they were when it loaded.
// A stream the server refuses: assets/follow-live.js, loaded first.
'use strict';

const table = document.getElementById('shelves');
const lang = table && table.dataset.lang === 'en' ? 'en' : 'zh';
const T = {
  zh: { g: '克', moving: '称重中…', absent: '没有秤', no_reply: '秤没有回应', implausible: '读数异常', none: '—', live: '重量实时更新中', lost: '连接中断，正在重连…' },
  en: { g: 'g', moving: 'weighing…', absent: 'no scale', no_reply: 'scale not answering', implausible: 'implausible reading', none: '—', live: 'Weights update live', lost: 'Connection lost, reconnecting…' },
}[lang];

/** The same words as the page's own cells (shelves-page.ts weightWords). */
function weightText(s) {
  if (s.weight_g !== null) return `${s.weight_g} ${T.g}`;
  if (s.scale === 'ok') return T.moving;
  return T[s.scale] || T.none;
}

function setText(cell, text) {
  if (cell && cell.textContent !== text) cell.textContent = text;
}

function drawShelves(list) {
  for (const s of list) {
    const row = table.querySelector(`tr[data-slot="${globalThis.CSS.escape(s.slot)}"]`);
    if (!row) continue;
    setText(row.querySelector('td.weight'), weightText(s));
    setText(row.querySelector('td.counted'), s.counted === null ? T.none : String(s.counted));
    setText(row.querySelector('td.stock'), String(s.stock));
    row.dataset.weight = s.weight_g === null ? '' : String(s.weight_g);
  }
}

if (table) {
  LiveFollow.follow({
    status: document.getElementById('live-status'),
    words: T,
    listen: (stream) => {
      stream.addEventListener('snapshot', (m) => drawShelves(JSON.parse(m.data).shelves || []));
      stream.addEventListener('shelves', (m) => drawShelves(JSON.parse(m.data)));
    },
  });
}
