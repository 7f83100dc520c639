/* global fetch, window */
/**
 * How every page of the ledger puts a failed request into words, the same on each: the API's
 * refusal (api.ts answers `{error, message, zh, field?}`) as `zh / message`, the Chinese first
 * for the villagers and the English after it; a refusal whose body is not the API's JSON (a
 * proxy's error page, an answer cut short) by its HTTP status, in both languages; and a request
 * that got no answer at all (no network, the ledger down, a timeout: fetch rejects) as the ledger
 * not reached. The error keeps the status and the field the API named, so that a page can show
 * it beside that field. One short line or two on a phone. What a page says of its own (a field
 * left empty, a session ended) it says the same way, through `say`.
 */
'use strict';

(() => {
  const UNREACHABLE = '连不上村账本，请检查网络后再试 / the ledger cannot be reached; check the network';

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
    /** `fetch`, rejecting with the bilingual "cannot be reached" (status 0) when no answer came. */
    async fetch(url, init) {
      try {
        return await fetch(url, init);
      } catch {
        throw Object.assign(new Error(UNREACHABLE), { status: 0 });
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
