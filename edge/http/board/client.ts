/**
 * The board page's only script, served from the store itself (`/board/board.js`, no CDN): it
 * fetches the live part every `data-refresh-s` seconds and swaps it in place only when it
 * changed, so the wall screen never goes blank as a full reload would; when the store's server
 * does not answer it says so on screen and keeps what it shows. It also counts the red list's
 * rows this screen cannot hold (hidden on a portrait tablet, or wrapped out of the panel on a
 * wall screen) and says how many under the list (`#red-list-hidden`), after each swap and each
 * resize: showing the count can take a row's room, so it counts again until the count holds.
 * Plain ES5-era browser code in a string: it runs in the browser, not in Node, and needs no
 * build step.
 */
export const BOARD_SCRIPT = `(function () {
  'use strict';
  var live = document.getElementById('board-live');
  if (!live || !window.fetch) return;
  var every = Math.max(2, Number(live.getAttribute('data-refresh-s')) || 30) * 1000;
  var last = null;
  function unseen(panel) {
    var p = panel.getBoundingClientRect();
    var rows = panel.querySelectorAll('li');
    var n = 0;
    for (var i = 0; i < rows.length; i++) {
      if (window.getComputedStyle(rows[i]).display === 'none') { n++; continue; }
      var r = rows[i].getBoundingClientRect();
      if (r.left >= p.right - 1 || r.top >= p.bottom - 1 || r.bottom > p.bottom + 1) n++;
    }
    return n;
  }
  function countHidden() {
    var panel = document.getElementById('red-list');
    var note = document.getElementById('red-list-hidden');
    if (!panel || !note) return;
    for (var k = 0; k < 4; k++) {
      var n = unseen(panel);
      if (note.getAttribute('data-count') === String(n) && note.hidden === (n === 0)) return;
      note.setAttribute('data-count', String(n));
      note.textContent = n > 0 ? '屏幕放不下另外 ' + n + ' 位' : '';
      note.hidden = n === 0;
    }
  }
  countHidden();
  window.addEventListener('resize', countHidden);
  window.addEventListener('load', countHidden);
  function tick() {
    fetch('/board/live', { cache: 'no-store', credentials: 'omit' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (html) {
        if (html !== last) { live.innerHTML = html; last = html; countHidden(); }
        document.body.classList.remove('unreachable');
        document.body.setAttribute('data-polled-at', new Date().toISOString());
      })
      .catch(function () { document.body.classList.add('unreachable'); })
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
`;
