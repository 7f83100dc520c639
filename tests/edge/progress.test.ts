/** Progress bars: drawn on a terminal, silent on a pipe or a log, off on request (--json). */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { progressBar } from '../../edge/cli/progress.ts';

function stream(tty: boolean): { s: NodeJS.WriteStream; out: () => string } {
  let text = '';
  const w = new Writable({ write(chunk: Buffer, _e, cb) { text += chunk.toString(); cb(); } });
  Object.assign(w, { isTTY: tty, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { s: w as unknown as NodeJS.WriteStream, out: () => text };
}

describe('progress bars', () => {
  it('draw done/total on a terminal', () => {
    const { s, out } = stream(true);
    const bar = progressBar('faces evaluate', { stream: s });
    bar.update(0, 40);
    bar.update(20, 40);
    bar.update(40, 40);
    bar.stop();
    expect(out()).toContain('faces evaluate');
    expect(out()).toContain('40/40');
    expect(out()).toContain('100%');
  });

  it('leave out done/total when asked (bytes): the percentage only', () => {
    const { s, out } = stream(true);
    const bar = progressBar('restore', { stream: s, counts: false });
    bar.update(0, 3_000_000);
    bar.update(3_000_000, 3_000_000);
    bar.stop();
    expect(out()).toContain('100%');
    expect(out()).not.toContain('3000000/3000000');
  });

  it('are silent when not on a terminal, or when turned off', () => {
    const pipe = stream(false);
    const a = progressBar('restore', { stream: pipe.s });
    a.update(1, 2);
    a.stop();
    expect(pipe.out()).toBe('');
    const tty = stream(true);
    const b = progressBar('restore', { stream: tty.s, enabled: false });
    b.update(1, 2);
    b.stop();
    expect(tty.out()).toBe('');
  });
});
