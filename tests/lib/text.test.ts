/** clipText: a start of the text within a UTF-16 limit, cut between characters as a reader sees them. */
import { describe, expect, it } from 'vitest';
import { clipText } from '../../lib/text.ts';

describe('clipText', () => {
  it.each([
    ['fits: unchanged', '修路', 4, '修路'],
    ['Chinese of the basic plane: by units', '修'.repeat(5), 3, '修修修'],
    ['a rare character (two units) is not split', `修${'𠀀'.repeat(3)}`, 4, '修𠀀'],
    ['a flag (two characters) is dropped whole', 'ab🇨🇳', 5, 'ab'],
    ['an emoji keeps its skin-tone modifier or goes', 'a👍🏽', 4, 'a'],
    ['a letter keeps its accent', 'cafe\u0301s', 4, 'caf'],
    ['one cluster longer than the limit is cut between code points', `e${'\u0301'.repeat(9)}`, 3, 'e\u0301\u0301'],
    ['nothing fits', '𠀀', 1, ''],
  ])('%s', (_what, text, max, want) => {
    const got = clipText(text, max);
    expect(got).toBe(want);
    expect(got.length).toBeLessThanOrEqual(max);
    expect(/\p{Cs}/u.test(got)).toBe(false);
  });
});
