/* global AbortController, FormData, Response, clearTimeout, fetch, setTimeout, window */
/**
 * How every page of the ledger puts a failed request into words, the same on each: the API's
 * refusal (api.ts answers `{error, message, zh, field?}`) as `zh / message`, the Chinese first
 * for the villagers and the English after it; a refusal whose body is not the API's JSON (a
 * proxy's error page, an answer cut short) by its HTTP status, in both languages; a request that
 * got no answer at all (no network, the ledger down: fetch rejects) as the ledger not reached;
 * and one whose answer did not come in time as timed out. The error keeps the status and the
 * field the API named, so that a page can show it beside that field. One short line or two on a
 * phone. What a page says of its own (a field left empty, a session ended) it says the same way,
 * through `say`.
 *
 * Every request of the pages goes through `LedgerErrors.fetch`, and each has a deadline: a
 * request the network holds and never answers (a village's weak mobile uplink, a proxy that keeps
 * the connection) would otherwise keep its button busy for ever (sending.js), the person seeing
 * nothing. After the deadline the request is given up (aborted), the page says it timed out, and
 * the button is ready again. A form's request id is not renewed by a timeout (sending.js
 * `formRequest`), so pressing again sends the same id: if the first send did reach the ledger,
 * the ledger answers it again and applies nothing twice (docs/request-ids.md).
 */
'use strict';

(() => {
  const UNREACHABLE = '连不上村账本，请检查网络后再试 / the ledger cannot be reached; check the network';
  const TIMED_OUT = '请求超时，请检查网络后重试 / The request timed out; check the network and try again';
  /**
   * How long a request may take, its answer read to the end, in ms. JSON: an answer is a few KB
   * and the ledger's slowest (a town-year's roll-up) takes about a second; 30 s is a weak
   * mobile uplink's seconds of round trips many times over, and as long as a person waits at a
   * busy button. An upload (a FormData body: an evidence photo, which the pages make a JPEG
   * of at most 1600 px a side (photo-shrink.js), under 1 MB as a rule): 1 MB at 0.1 Mbit/s (a poor EDGE uplink)
   * takes some 80 s, so 120 s; under the ledger's own 300 s for a request to arrive (api.ts).
   */
  const DEADLINE_MS = { json: 30_000, upload: 120_000 };
  /**
   * The deadline of a request sent with `init`. The browser tests shorten it, set as
   * `window.LedgerRequestTimeouts = { json, upload }` (ms) before a send, so that they wait for a
   * held request's timeout, not half a minute; nothing on the pages sets it.
   */
  const deadline = (init) => {
    const kind = typeof FormData !== 'undefined' && init?.body instanceof FormData ? 'upload' : 'json';
    const set = window.LedgerRequestTimeouts?.[kind];
    return Number.isFinite(set) && set > 0 ? set : DEADLINE_MS[kind];
  };
  /** The statuses whose answer has no body (a Response with a body for them throws). */
  const NO_BODY = new Set([101, 103, 204, 205, 304]);

  /** Said by the status alone, for an answer that is not the API's JSON (or lacks one language). */
  const byStatus = (status) => (status >= 500
    ? { zh: `村账本暂时无法回答（HTTP ${status}），请稍后再试`, en: `the ledger could not answer (HTTP ${status}); try again later` }
    : { zh: `村账本拒绝了请求（HTTP ${status}）`, en: `the ledger refused the request (HTTP ${status})` });
  const said = (v) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

  /** The text of a refusal: its body's `zh` and `message` (`data`, the parsed JSON or {}), else its `status`. */
  const text = (data, status) => {
    const fallback = byStatus(status);
    return `${said(data.zh) ?? fallback.zh} / ${said(data.message) ?? fallback.en}`;
  };

  window.LedgerErrors = {
    text,
    /** A line a page makes itself, in the same `zh / en` form as the ledger's refusals. */
    say: (zh, en) => `${zh} / ${en}`,
    /**
     * `fetch` with a deadline (DEADLINE_MS), its answer read to the end within it (headers that
     * come and a body that stalls are a request that never ends too), rejecting with the bilingual
     * "cannot be reached" (status 0) when no answer came, and "timed out" (status 0, `timedOut`)
     * when none came in time.
     */
    async fetch(url, init = {}) {
      const stop = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        stop.abort();
      }, deadline(init));
      try {
        const res = await fetch(url, { ...init, signal: stop.signal });
        const body = NO_BODY.has(res.status) ? null : await res.arrayBuffer();
        return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      } catch {
        throw Object.assign(new Error(timedOut ? TIMED_OUT : UNREACHABLE), { status: 0, timedOut });
      } finally {
        clearTimeout(timer);
      }
    },
    /** The error of `res`, an answer that is not ok: its text, its status, and the field it names. */
    async refusal(res) {
      const data = await res.json().catch(() => undefined);
      const body = data !== null && typeof data === 'object' ? data : {};
      return Object.assign(new Error(text(body, res.status)), { status: res.status, field: said(body.field) });
    },
  };
})();
