/** Progress bars: drawn on a terminal, silent on a pipe or a log (the ONNX conversion: a line per net), off on request (--json). */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { conversionLine, conversionProgress, progressBar } from '../../edge/progress.ts';
import type { ConversionStep } from '../../models/face-engine.ts';

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

describe('the ONNX conversion at start', () => {
  const step = (index: number, phase: ConversionStep['phase'], net: ConversionStep['net'] = 'faceLandmark68', total = 3): ConversionStep =>
    ({ net, index, total, phase, ...(phase === 'converted' || phase === 'failed' ? { ms: 1234 } : {}), ...(phase === 'failed' ? { error: 'bad shard' } : {}) });

  it('draws a bar at a terminal from the first net converted, and ends it at the last', () => {
    const { s, out } = stream(true);
    const view = conversionProgress({ stream: s });
    view.onStep(step(1, 'cached', 'faceRecognition'));
    expect(out()).toBe('');
    view.onStep(step(2, 'converting'));
    view.onStep(step(2, 'converted'));
    view.onStep(step(3, 'converting', 'tinyFaceDetector'));
    view.onStep(step(3, 'converted', 'tinyFaceDetector'));
    expect(out()).toContain('ONNX');
    expect(out()).toContain('3/3');
    expect(out()).toContain('100%');
    const drawn = out().length;
    view.stop();
    view.onStep(step(3, 'converted', 'tinyFaceDetector'));
    expect(out().length).toBe(drawn);
  });

  it('draws nothing when every net comes from the cache', () => {
    const { s, out } = stream(true);
    const view = conversionProgress({ stream: s });
    for (let i = 1; i <= 3; i++) view.onStep(step(i, 'cached'));
    view.stop();
    expect(out()).toBe('');
  });

  it('writes a line per converted net when not on a terminal, in both languages, none for a cached one', () => {
    const { s, out } = stream(false);
    const view = conversionProgress({ stream: s });
    view.onStep(step(1, 'cached', 'faceRecognition'));
    view.onStep(step(2, 'converting'));
    view.onStep(step(2, 'converted'));
    view.onStep(step(3, 'converting', 'tinyFaceDetector'));
    view.onStep(step(3, 'failed', 'tinyFaceDetector'));
    view.stop();
    expect(out().trim().split('\n')).toEqual([
      'onnx: converting faceLandmark68 (2/3) … / 正在转换人脸模型 faceLandmark68（2/3）…',
      'onnx: faceLandmark68 converted in 1.2 s (2/3) / 人脸模型 faceLandmark68 已转换，用时 1.2 s（2/3）',
      'onnx: converting tinyFaceDetector (3/3) … / 正在转换人脸模型 tinyFaceDetector（3/3）…',
      'onnx: converting tinyFaceDetector failed after 1.2 s: bad shard / 人脸模型 tinyFaceDetector 转换失败',
    ]);
  });

  it('hands the lines to a logger when given one (the daemon), with the step', () => {
    const { s, out } = stream(false);
    const lines: Array<[string, ConversionStep]> = [];
    const view = conversionProgress({ stream: s, line: (text, st) => lines.push([text, st]) });
    view.onStep(step(1, 'converting'));
    view.onStep(step(1, 'converted'));
    expect(out()).toBe('');
    expect(lines.map(([, st]) => st.phase)).toEqual(['converting', 'converted']);
    expect(lines[1]?.[0]).toBe(conversionLine(step(1, 'converted')));
  });

  it('is silent with --json, at a terminal or not', () => {
    for (const tty of [true, false]) {
      const { s, out } = stream(tty);
      const view = conversionProgress({ stream: s, enabled: false });
      view.onStep(step(1, 'converting'));
      view.onStep(step(1, 'converted'));
      view.stop();
      expect(out()).toBe('');
    }
  });

  it('stops the bar when a net fails (the engine falls back to tfjs and says so itself)', () => {
    const { s, out } = stream(true);
    const view = conversionProgress({ stream: s });
    view.onStep(step(1, 'converting'));
    view.onStep(step(1, 'failed'));
    const drawn = out().length;
    view.onStep(step(2, 'converting'));
    view.stop();
    expect(out().length).toBe(drawn);
  });
});
