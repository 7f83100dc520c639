/**
 * Cutting people's text to a length limit. The API takes text by characters (ajv counts code
 * points) while the messages sent to the stores are checked by TypeBox, whose maxLength counts
 * UTF-16 units: 𠀀 is one character and two units. `String.prototype.slice` cuts by units, so it
 * can split such a character (a lone surrogate, shown as �) or a flag (🇨🇳 is two characters).
 */
const graphemes = new Intl.Segmenter('zh', { granularity: 'grapheme' });

/**
 * The longest start of `text` that is at most `maxUnits` UTF-16 units and ends between two
 * characters as a reader sees them (grapheme clusters): never inside a surrogate pair, a flag,
 * an emoji with its modifier or a letter with its accent. `text` itself when it fits. A single
 * cluster longer than the limit (a pile of combining marks) is cut between code points instead.
 */
export function clipText(text: string, maxUnits: number): string {
  if (text.length <= maxUnits) return text;
  let end = 0;
  for (const { segment } of graphemes.segment(text)) {
    if (end + segment.length > maxUnits) break;
    end += segment.length;
  }
  if (end > 0) return text.slice(0, end);
  for (const ch of text) {
    if (end + ch.length > maxUnits) break;
    end += ch.length;
  }
  return text.slice(0, end);
}
