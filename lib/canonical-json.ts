/**
 * The canonical JSON form that signatures and digests are taken over (cloud-sync/protocol/sign.ts),
 * here in lib/ because the store writes its outbox payloads in it (edge/ledger/outbox.ts).
 *
 * Written here rather than taken from a library because our payloads hold only strings,
 * integers, booleans, null, arrays and objects: sorting object keys and using JSON.stringify for
 * the leaves is the whole of RFC 8785 for that subset.
 */

/** `"key":` for the keys seen so far (our payloads use a few dozen; bounded against odd input). */
const quotedKeys = new Map<string, string>();

/**
 * A string JSON.stringify would write as it is between quotes: no quote, backslash, control
 * character or surrogate (a lone one is escaped by JSON.stringify; pairs take that path too).
 */
// eslint-disable-next-line no-control-regex -- the control characters are what must be escaped
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/**
 * JSON text already in the canonical form (an outbox row's payload, which the store writes in
 * it: edge/ledger/outbox.ts), written into a larger canonical form as it is: a store's batch of
 * 100 rows is then signed without parsing each payload and writing it out again. Only
 * `canonicalJson` and `signedEnvelopeText` know it; JSON.stringify would write its field.
 */
export class CanonicalText {
  constructor(readonly text: string) {}
}

/**
 * `keep`: objects (or arrays) whose own canonical text the caller wants as well, as keys; each
 * gets its text as the value on the way (the ledger digests each row's payload of a message
 * whose signature it has just checked over the same text).
 */
export function canonicalJson(value: unknown, keep?: Map<unknown, string>): string {
  // Written with loops, string appends and a cache of quoted keys rather than map/filter/join:
  // every message is signed or verified over this form, and batches of 100 rows made it the
  // hottest code of the sync (bench:sync). Strings without anything to escape are quoted here
  // rather than by JSON.stringify, and keys are sorted only when they are not in order already
  // (objects we build are, mostly): together 30 % less time for a 100-row batch (measured
  // 2026-12-02, 462 -> 325 us, JSON.stringify alone 154 us). JSON.stringify with the sorted keys
  // as its property list was slower still (488 us): V8 leaves its fast path for a replacer.
  switch (typeof value) {
    case 'string':
      return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return JSON.stringify(value) ?? 'null';
  }
  if (value === null) return 'null';
  if (value instanceof CanonicalText) return value.text;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i], keep);
    }
    out += ']';
    if (keep?.has(value)) keep.set(value, out);
    return out;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  // The same order as keys.sort() (UTF-16 code units), checked before sorting.
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = obj[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    let q = quotedKeys.get(k);
    if (q === undefined) {
      q = `${JSON.stringify(k)}:`;
      if (quotedKeys.size < 1000) quotedKeys.set(k, q);
    }
    out += q + canonicalJson(v, keep);
  }
  out += '}';
  if (keep?.has(value)) keep.set(value, out);
  return out;
}

/**
 * The texts of the values of members named `key` in the objects at nesting `depth` of JSON text
 * `text` (the outermost value is depth 1; arrays count as a level), in order. A scan of the
 * text, building no values: the ledger takes each row's payload text out of a message whose
 * signature it has checked over that text (cloud-sync/protocol/sign.ts, checkSignature), where
 * writing the message's canonical form again cost more than checking the signature.
 * Whitespace between tokens is allowed; `text` is taken to be JSON (the caller parsed it).
 */
export function memberTexts(text: string, key: string, depth: number): string[] {
  const found: string[] = [];
  const quotedKey = JSON.stringify(key);
  let d = 0;
  let start = -1; // where the value of a matching member began, until its end at depth `depth`
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // The string's closing quote: the next quote not escaped (an odd run of backslashes before it).
      let j = text.indexOf('"', i + 1);
      for (;;) {
        if (j < 0) return found; // not JSON after all: what was found so far
        let b = j - 1;
        while (text.charCodeAt(b) === 0x5c /* \ */) b--;
        if ((j - 1 - b) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (d === depth && start < 0 && j + 1 - i === quotedKey.length && text.startsWith(quotedKey, i)) {
        let k = j + 1;
        while (k < text.length && text.charCodeAt(k) <= 0x20) k++;
        if (text.charCodeAt(k) === 0x3a /* : */) {
          start = k + 1;
          i = k;
          continue;
        }
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      d++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (d === depth && start >= 0) {
        found.push(text.slice(start, i).trim());
        start = -1;
      }
      d--;
    } else if (c === 0x2c /* , */ && d === depth && start >= 0) {
      found.push(text.slice(start, i).trim());
      start = -1;
    }
  }
  return found;
}
