/**
 * Free text a maintainer types (a refund's reason, an alarm's note, an entry's reason): a tab or a
 * line break is whitespace (a run of them one space), any other control character is refused,
 * naming the field in each language: its Chinese name in the Chinese message.
 */
import { describe, expect, it } from 'vitest';
import { freeText, refuseControlChars } from '../../edge/ledger/free-text.ts';
import { isEdgeError } from '../../edge/errors.ts';

const REASON = { field: 'reason', zh: '退分原因' };

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (isEdgeError(err)) return err;
    throw err;
  }
  throw new Error('not refused');
};

describe('free text', () => {
  it('a tab or line break becomes a space (a run of them one), then trimmed', () => {
    expect(freeText(REASON, '油\t过期')).toBe('油 过期');
    expect(freeText(REASON, '油\r\n\t过期')).toBe('油 过期');
    expect(freeText(REASON, '\t 油过期 \n')).toBe('油过期');
    expect(freeText(REASON, '油  过期')).toBe('油  过期');
    expect(freeText(REASON, '\t\n')).toBe('');
  });

  it('any other control character is refused, naming the field in Chinese and in English', () => {
    for (const text of ['油\u0000过期', '油\u0007', '\u001b[31m', '油\u007f']) {
      const err = refusal(() => freeText(REASON, text));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.zh).toMatch(/^退分原因不能包含控制字符/);
      expect(err.zh).not.toContain('reason');
      expect(err.message).toMatch(/^reason must not contain control characters/);
      expect(err.details).toMatchObject({ field: 'reason' });
    }
    expect(() => refuseControlChars(REASON, null)).not.toThrow();
    expect(() => refuseControlChars(REASON, '油 过期')).not.toThrow();
  });
});
