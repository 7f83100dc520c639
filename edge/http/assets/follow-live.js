/* global document, EventSource, fetch, location, setTimeout, window */
// Following the live stream (/api/live), shared by the live page (live.js) and the shelves page
// (shelves.js), which load it first. A connection that drops (the network, a restart) EventSource
// makes again by itself; one the server refuses (a 401 once the session has ended, a 503 when it
// is busy) it does not. Then: signed out → the login, which comes back here (with something typed
// in a form, the page stays and says so in both languages with the sign-in link, and follows again
// once signed in, in another tab say); signed in → follow again after a while, saying it reconnects.
'use strict';

window.LiveFollow = (() => {
  /** Said in both languages: the session has ended, and the way to sign in again. */
  const SIGNED_OUT = { text: '登录已结束（在别处退出、改了密码或已过 8 小时），请重新登录 / Signed out (elsewhere, a new password, or the 8 hours are over): sign in again', link: '登录 Sign in' };
  /** Waits before following again after a refusal, longer each time (ms). */
  const RETRY_MS = [1000, 2000, 5000, 10000, 30000];
  /** The login, which brings the maintainer back to this page. */
  const loginHref = () => `/login?next=${encodeURIComponent(location.pathname + location.search)}`;

  /** Whether the maintainer has typed in a form of the page: a redirect to the login would lose it. */
  function typedIn() {
    const changed = (i) => (i.type === 'checkbox' || i.type === 'radio' ? i.checked !== i.defaultChecked : i.value !== i.defaultValue);
    return [...document.querySelectorAll('input, textarea')].some((i) => i.type !== 'hidden' && changed(i))
      || [...document.querySelectorAll('option')].some((o) => o.selected !== o.defaultSelected);
  }

  /** Signed in (the user), signed out (null), or not known (the server not reached: undefined). */
  async function signedIn() {
    try {
      const r = await fetch('/api/me', { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' });
      return r.ok ? (await r.json()).user : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Follows the stream for a page: `status` the line that says how it stands, `words` its
   * `live` and `lost` texts in the page's language, `listen(stream)` adds the page's handlers,
   * `signedInAgain()` (optional) is told before following again after a new sign-in.
   */
  function follow({ status, words, listen, signedInAgain }) {
    const start = (tries) => {
      const stream = new EventSource('/api/live');
      listen(stream);
      stream.addEventListener('open', () => {
        tries = 0;
        status.textContent = words.live;
        status.dataset.connected = 'true';
      });
      stream.addEventListener('error', () => {
        if (status.dataset.connected !== 'signed-out') {
          status.textContent = words.lost;
          status.dataset.connected = 'false';
        }
        if (stream.readyState === EventSource.CLOSED) void refused(stream, tries);
      });
    };
    const refused = async (stream, tries) => {
      stream.close();
      const user = await signedIn();
      if (user === null && !typedIn()) {
        location.assign(loginHref());
        return;
      }
      if (user === null) {
        const link = document.createElement('a');
        link.href = loginHref();
        link.id = 'live-login';
        link.textContent = SIGNED_OUT.link;
        status.replaceChildren(SIGNED_OUT.text, ' ', link);
        status.dataset.connected = 'signed-out';
      }
      setTimeout(() => (user === null ? void waitForSignIn() : start(tries + 1)), RETRY_MS[Math.min(tries, RETRY_MS.length - 1)]);
    };
    /** Signed out with something typed: follows again once signed in (another tab), asking every few seconds. */
    const waitForSignIn = async () => {
      if (await signedIn()) {
        if (signedInAgain) signedInAgain();
        start(0);
        return;
      }
      setTimeout(() => void waitForSignIn(), RETRY_MS[2]);
    };
    start(0);
  }

  return { follow, loginHref, SIGNED_OUT };
})();
