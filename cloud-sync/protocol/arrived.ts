/**
 * The texts messages arrived as, by the value decoded from each (payloads.ts `decode`), kept
 * only for those in signedEnvelopeText's form (`sig` in front): a signature on such a value is
 * checked over the text itself (sign.ts `checkSignature`), which takes it out again. A module of
 * its own so that the decoder and the signatures need not import each other.
 */
export const SIG_FIRST = '{"sig":"';

const arrivedTexts = new WeakMap<object, string>();

/** `value` was decoded from `text`. */
export function noteArrivedText(value: unknown, text: string): void {
  if (typeof value === 'object' && value !== null && text.startsWith(SIG_FIRST)) arrivedTexts.set(value, text);
}

/**
 * The text `value` arrived as, once: taken out whatever the caller then decides, so that a value
 * that lives on (a snapshot's parts held until the last arrives) does not keep its text, twice
 * its size as a JS string of Chinese names, beside it.
 */
export function takeArrivedText(value: object): string | undefined {
  const text = arrivedTexts.get(value);
  arrivedTexts.delete(value);
  return text;
}
