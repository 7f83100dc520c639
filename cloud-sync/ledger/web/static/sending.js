/* global window */
/**
 * One request at a time from a button or a form, for every page of the ledger: a double tap, a
 * double click or Enter pressed twice sends once. `sendOnce(el, fn)` runs `fn` with `el`'s
 * buttons (a form's, or the button itself) disabled and marked busy (ledger.css shows them
 * working); a call while `fn` runs does nothing. When `fn` ends, whatever its answer, the
 * buttons are as they were, so after a refusal the page shows the error and the button is
 * ready for another try.
 */
'use strict';

window.sendOnce = async (el, fn) => {
  if (el.dataset.busy) return;
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
    delete el.dataset.busy;
    el.removeAttribute('aria-busy');
    for (const [b, was] of buttons) {
      b.disabled = was;
      b.removeAttribute('aria-busy');
    }
  }
};
