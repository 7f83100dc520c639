/**
 * The terminal password reader (edge/cli/password-input.ts) on a fake raw-mode terminal: the
 * keys' effect as a table, the terminal's raw mode always given back, the prompt only once raw
 * mode is on, one `*` per character shown and taken back. The real terminal: cli-password-terminal.
 */
import { PassThrough } from 'node:stream';
import { describe, it, expect } from 'vitest';
import { readPasswordLine, typeKeys, type PasswordIo } from '../../edge/cli/password-input.ts';
import { isEdgeError } from '../../edge/errors.ts';

describe('typeKeys', () => {
  it.each([
    ['abc\r', 'abc'],
    ['abX\x7fc\n', 'abc'],
    ['abX\bc\r', 'abc'],
    ['\x7f\x7fab\r', 'ab'],
    ['密码X\x7f对\r', '密码对'],
    ['😀x\x7f\x7fok\r', 'ok'],
    ['wrong\x15right\r', 'right'],
    ['right\rafter the line', 'right'],
  ])('%j → %j', (keys, password) => {
    expect(typeKeys([], keys)).toEqual({ kind: 'done', password });
  });

  it('Ctrl-C cancels; other control keys are refused, named as a person knows them', () => {
    expect(typeKeys(['a'], 'b\x03c\r')).toEqual({ kind: 'cancelled' });
    expect(typeKeys([], 'ab\x1b[D\r')).toEqual({ kind: 'refused', key: 'Esc (an arrow or function key)' });
    expect(typeKeys([], 'ab\x04')).toEqual({ kind: 'refused', key: 'Ctrl-D' });
    expect(typeKeys([], 'a\tb')).toEqual({ kind: 'refused', key: 'Tab' });
    expect(typeKeys([], 'a\x85')).toEqual({ kind: 'refused', key: 'U+0085' });
    expect(typeKeys(['a'], 'bc')).toEqual({ kind: 'typing', chars: ['a', 'b', 'c'] });
  });
});

/** A terminal: raw mode recorded, what was written to the screen kept, in order. */
function fakeTerminal(): { io: PasswordIo; input: PassThrough; events: string[]; screen: () => string } {
  const input = new PassThrough();
  const events: string[] = [];
  let screen = '';
  Object.assign(input, { isTTY: true, setRawMode: (raw: boolean) => events.push(`raw ${raw}`) });
  return { io: { input, output: { write: (s: string) => { screen += s; events.push(`write ${JSON.stringify(s)}`); } } }, input, events, screen: () => screen };
}

describe('readPasswordLine at a terminal', () => {
  it('turns raw mode on before the prompt and off after; shows and takes back one * per character, split bytes and all', async () => {
    const term = fakeTerminal();
    const read = readPasswordLine('Password: ', term.io);
    const mi = Buffer.from('密');
    term.input.write('ab');
    await expect.poll(term.screen).toBe('Password: **');
    term.input.write(mi.subarray(0, 2)); // half a character: nothing yet
    term.input.write(mi.subarray(2));
    await expect.poll(term.screen).toBe('Password: ***');
    term.input.write('\x7f');
    await expect.poll(term.screen).toBe('Password: ***\b \b');
    term.input.write('c\r');
    expect(await read).toBe('abc');
    expect(term.events[0]).toBe('raw true');
    expect(term.events[1]).toBe('write "Password: "');
    expect(term.events.at(-2)).toBe('raw false');
    expect(term.screen()).toBe('Password: ***\b \b*\n');
  });

  it('gives raw mode back when cancelled (CANCELLED) or refused (INVALID_ARGUMENT, both languages)', async () => {
    for (const [keys, code, zh] of [['ab\x03', 'CANCELLED', '已取消'], ['ab\x1b[A', 'INVALID_ARGUMENT', '密码中不能有控制键 Esc']] as const) {
      const term = fakeTerminal();
      const read = readPasswordLine('Password: ', term.io);
      term.input.write(keys);
      const err: unknown = await read.catch((e: unknown) => e);
      expect(isEdgeError(err) && err.code).toBe(code);
      expect(isEdgeError(err) && err.forPeople()).toContain(zh);
      expect(term.events.filter((e) => e.startsWith('raw'))).toEqual(['raw true', 'raw false']);
    }
  });

  it('from a pipe: the first line as it is, no prompt', async () => {
    const input = new PassThrough();
    let screen = '';
    const read = readPasswordLine('Password: ', { input, output: { write: (s: string) => (screen += s) } });
    input.end('piped password\nsecond line\n');
    expect(await read).toBe('piped password');
    expect(screen).toBe('');
  });
});
