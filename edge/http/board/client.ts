/**
 * The board page's only script, served from the store itself (`/board/board.js`, no CDN): it
 * fetches the live part every `data-refresh-s` seconds and swaps it in place only when it
 * changed, so the wall screen never goes blank as a full reload would; when the store's server
 * does not answer it says so on screen and keeps what it shows. Plain ES5-era browser code in a
 * string: it runs in the browser, not in Node, and needs no build step.
 */
export const BOARD_SCRIPT = `(function () {
  'use strict';
  var live = document.getElementById('board-live');
  if (!live || !window.fetch) return;
  var every = Math.max(2, Number(live.getAttribute('data-refresh-s')) || 30) * 1000;
  var last = null;
  function tick() {
    fetch('/board/live', { cache: 'no-store', credentials: 'omit' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (html) {
        if (html !== last) { live.innerHTML = html; last = html; }
        document.body.classList.remove('unreachable');
        document.body.setAttribute('data-polled-at', new Date().toISOString());
      })
      .catch(function () { document.body.classList.add('unreachable'); })
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
`;
