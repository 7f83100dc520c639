/* global TextEncoder, window */
/**
 * The request id of a photo's upload, made of what the photo is for and its bytes:
 * `photoKey(scope, bytes)`, 32 hex digits of SHA-256(scope, NUL, bytes). The same photo chosen
 * again for the same claim (after a reload, when the page remembers nothing) is the same upload,
 * which the ledger answers with the photo it kept (governance/request-ids.ts) instead of keeping
 * a second one. The hash is js-sha256 (served from node_modules as /assets/sha256.min.js, loaded
 * before this file): the village Wi-Fi serves plain HTTP, where the browser's crypto.subtle is
 * missing. A photo the page sends is at most 8 MB, a few hundred ms.
 */
'use strict';

(() => {
  /** The upload's request id: what it is for (`scope`, e.g. a claim's id) and the photo's bytes (an ArrayBuffer). */
  window.photoKey = (scope, bytes) => window.sha256.create().update(new TextEncoder().encode(`${scope}\0`)).update(new Uint8Array(bytes)).hex().slice(0, 32);
})();
