/**
 * A password typed at the terminal, as the screen shows it: one `*` per character typed,
 * Backspace (DEL or ^H) takes back the last character (a whole one: 密 is one, not three bytes),
 * Ctrl-U clears the line, Enter ends it, Ctrl-C cancels (nothing changed, exit 130); any other
 * control character (an arrow key, Tab, Ctrl-D) is refused rather than stored unseen. From a
 * pipe, the first line as it is. The raw mode the terminal needs is always given back.
 */
import { EdgeError, ErrorCode } from '../errors.ts';

/** What the keys typed so far make. */
export type Line =
  | { kind: 'typing'; chars: readonly string[] }
  | { kind: 'done'; password: string }
  | { kind: 'cancelled' }
  | { kind: 'refused'; key: string };

const BACKSPACE = new Set(['\x7f', '\b']);
const CTRL_U = '\x15';
const CTRL_C = '\x03';

/** The line after `input` is typed on `chars` (pure: the terminal's keys, one code point at a time). */
export function typeKeys(chars: readonly string[], input: string): Line {
  let now = [...chars];
  for (const c of input) {
    if (c === '\r' || c === '\n') return { kind: 'done', password: now.join('') };
    if (c === CTRL_C) return { kind: 'cancelled' };
    if (BACKSPACE.has(c)) now.pop();
    else if (c === CTRL_U) now = [];
    else if (/\p{Cc}/u.test(c)) return { kind: 'refused', key: keyName(c) };
    else now.push(c);
  }
  return { kind: 'typing', chars: now };
}

/** A control character as a person knows the key: Ctrl-D, Esc, Tab. */
function keyName(c: string): string {
  const code = c.codePointAt(0)!;
  if (c === '\x1b') return 'Esc (an arrow or function key)';
  if (c === '\t') return 'Tab';
  return code < 0x20 ? `Ctrl-${String.fromCharCode(code + 64)}` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The terminal (or pipe) a password is read from, and where its prompt goes. */
export interface PasswordIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  output: { write(s: string): unknown };
}

const STDIO: PasswordIo = { input: process.stdin, output: process.stderr };

/** One line from `io.input`: typed at a terminal (hidden, `*` shown, edited as above) or piped. */
export async function readPasswordLine(prompt: string, io: PasswordIo = STDIO): Promise<string> {
  const { input, output } = io;
  input.setEncoding('utf8'); // whole characters per chunk, never half of one
  if (!(input.isTTY && input.setRawMode)) return readPipedLine(input);
  input.setRawMode(true); // before the prompt: a key typed at once is not echoed or edited by the terminal
  output.write(prompt);
  let line: Line = { kind: 'typing', chars: [] };
  try {
    for await (const chunk of input) {
      const before = line.kind === 'typing' ? line.chars : [];
      line = typeKeys(before, chunk as string);
      const now = line.kind === 'typing' ? line.chars.length : line.kind === 'done' ? [...line.password].length : before.length;
      if (now !== before.length) output.write(now > before.length ? '*'.repeat(now - before.length) : '\b \b'.repeat(before.length - now));
      if (line.kind !== 'typing') break;
    }
  } finally {
    input.setRawMode(false);
    output.write('\n');
    input.pause();
  }
  if (line.kind === 'cancelled') throw new EdgeError(ErrorCode.CANCELLED, 'cancelled (Ctrl-C): nothing changed', { zh: '已取消（Ctrl-C），未做任何更改' });
  if (line.kind === 'refused') {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the password: ${line.key} cannot be part of a password (only Backspace and Ctrl-U edit it); nothing changed, run the command again`, {
      zh: `密码中不能有控制键 ${line.key}（只能用退格键 Backspace 和 Ctrl-U 修改）；未做任何更改，请重新运行命令`,
    });
  }
  return line.kind === 'done' ? line.password : line.chars.join(''); // the terminal closed: what was typed
}

async function readPipedLine(input: NodeJS.ReadableStream): Promise<string> {
  let got = '';
  try {
    for await (const chunk of input) {
      got += chunk as string;
      if (/[\r\n]/.test(got)) break;
    }
  } finally {
    input.pause();
  }
  return got.split(/\r?\n|\r/)[0] ?? '';
}
