/* global crypto, document, window */
/**
 * One request at a time from a button or a form, for every page of the ledger: a double tap, a
 * double click or Enter pressed twice sends once. `sendOnce(el, fn)` runs `fn` with `el`'s
 * buttons (a form's, or the button itself) disabled and marked busy (ledger.css shows them
 * working); a call while `fn` runs does nothing, and the page's messages keep their place, so
 * the button stays under the second tap. When `fn` ends, whatever its answer, the buttons are
 * as they were, so after a refusal the page shows the error and the button is ready for
 * another try. A request the network never answers does not keep them busy for ever: it is given
 * up at its deadline (errors.js `LedgerErrors.fetch`, 30 s, an upload 120 s) and said as timed out.
 *
 * A send that did reach the ledger but whose answer was lost or never came in time (a weak
 * village network, a reload while it ran) is made safe by the form's request id (`formRequest`,
 * `requestId`): the ledger answers the same id again with what the first send made
 * (governance/request-ids.ts).
 */
'use strict';

/**
 * Keeps the message lines showing something (p.ok, p.err) where they are until `release()`: a
 * page clears its messages as it sends, and an empty line folds away (ledger.css), which would
 * move every button below it up, and put another button (the next row's 启用, say) under the
 * second tap of a double tap.
 */
function holdMessages() {
  const held = [];
  for (const p of document.querySelectorAll('p.ok, p.err')) {
    if (p.textContent === '' || p.offsetParent === null) continue;
    const shown = window.getComputedStyle(p);
    const keep = { 'min-height': `${p.getBoundingClientRect().height}px`, 'margin-top': shown.marginTop, 'margin-bottom': shown.marginBottom };
    const was = Object.keys(keep).map((k) => [k, p.style.getPropertyValue(k)]);
    for (const [k, v] of Object.entries(keep)) p.style.setProperty(k, v);
    held.push(() => {
      for (const [k, v] of was) {
        if (v) p.style.setProperty(k, v);
        else p.style.removeProperty(k);
      }
    });
  }
  return () => held.forEach((release) => release());
}

window.sendOnce = async (el, fn) => {
  if (el.dataset.busy) return;
  const release = holdMessages();
  el.dataset.busy = '1';
  el.setAttribute('aria-busy', 'true');
  const buttons = (el.tagName === 'BUTTON' ? [el] : [...el.querySelectorAll('button')]).map((b) => [b, b.disabled]);
  for (const [b] of buttons) {
    b.disabled = true;
    b.setAttribute('aria-busy', 'true');
  }
  try {
    await fn();
  } finally {
    release();
    delete el.dataset.busy;
    el.removeAttribute('aria-busy');
    for (const [b, was] of buttons) {
      b.disabled = was;
      b.removeAttribute('aria-busy');
    }
  }
};

/** 32 random hex digits. getRandomValues, not randomUUID: the village Wi-Fi serves plain HTTP, where randomUUID is missing. */
window.requestId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * The request id of the form `name` (the ledger's `request` field): the same on every send of the
 * form until `renew()`, which the page calls when the ledger has taken the form (a new fill is a
 * new form) or refused the id as used for other content (409 on `request`), never after a send
 * that got no answer (unreachable, timed out): that send may have reached the ledger. Kept in the tab's
 * sessionStorage, so a press after a reload is a resend too; in the page alone where the browser
 * refuses storage.
 */
window.formRequest = (name) => {
  const key = `ledger-request:${name}`;
  let id;
  const keep = (value) => {
    try {
      window.sessionStorage.setItem(key, value);
    } catch {
      // storage refused (a private window): the id lives as long as the page
    }
    return value;
  };
  const stored = () => {
    try {
      return window.sessionStorage.getItem(key) || undefined;
    } catch {
      return undefined;
    }
  };
  return {
    get id() {
      id ??= stored() ?? keep(window.requestId());
      return id;
    },
    renew() {
      id = keep(window.requestId());
    },
  };
};
