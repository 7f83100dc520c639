/**
 * Progress bars for long work at a terminal (cli-progress, the one file that imports it): on
 * stderr, so stdout stays the command's result (and its --json); silent when stderr is not a
 * terminal (a pipe, the journal, a test), where a bar would only be noise in a log — except the
 * ONNX conversion, which says in a line per net why a first start is slow.
 */
import { SingleBar, Presets } from 'cli-progress';
import type { ConversionListener, ConversionStep } from '../models/face-engine.ts';

export interface Progress {
  /** `done` of `total` steps (total may be learnt late). */
  update(done: number, total: number): void;
  stop(): void;
}

const SILENT: Progress = { update: () => undefined, stop: () => undefined };

/** `counts: false` leaves out `done/total` (for steps that are bytes, where a percentage says more). */
export function progressBar(label: string, opts: { stream?: NodeJS.WriteStream; enabled?: boolean; counts?: boolean } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.enabled === false || !stream.isTTY) return SILENT;
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}%${opts.counts === false ? '' : ' | {value}/{total}'} | {eta_formatted}`, stream, hideCursor: true, clearOnComplete: false, etaBuffer: 20 }, Presets.shades_classic);
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** A view of the ONNX conversion at start (`entry.engine: onnx`), fed the engine's steps. */
export interface ConversionProgress {
  readonly onStep: ConversionListener;
  /** Ends the bar (a failed start, or nets left on tfjs, may stop before the last step). */
  stop(): void;
}

const seconds = (ms: number | undefined): string => `${((ms ?? 0) / 1000).toFixed(1)} s`;

/** One line per step, in both languages; null for a net read from the cache (nothing to say). */
export function conversionLine(s: ConversionStep): string | null {
  const of = `${s.index}/${s.total}`;
  switch (s.phase) {
    case 'converting': return `onnx: converting ${s.net} (${of}) … / 正在转换人脸模型 ${s.net}（${of}）…`;
    case 'converted': return `onnx: ${s.net} converted in ${seconds(s.ms)} (${of}) / 人脸模型 ${s.net} 已转换，用时 ${seconds(s.ms)}（${of}）`;
    case 'failed': return `onnx: converting ${s.net} failed after ${seconds(s.ms)}: ${s.error ?? 'unknown error'} / 人脸模型 ${s.net} 转换失败`;
    case 'cached': return null;
  }
}

/**
 * The conversion of the face nets, which takes a while only the first time (later starts read
 * them from the cache): at a terminal a bar, drawn from the first net that must be converted;
 * elsewhere a line per converted net (`line`, default: on the stream), so that the journal shows
 * why this start is slow. Nothing at all when turned off (--json) or when every net is cached.
 */
export function conversionProgress(opts: { stream?: NodeJS.WriteStream; enabled?: boolean; line?: (text: string, step: ConversionStep) => void } = {}): ConversionProgress {
  const stream = opts.stream ?? process.stderr;
  if (opts.enabled === false) return { onStep: () => undefined, stop: () => undefined };
  if (!stream.isTTY) {
    const line = opts.line ?? ((text: string) => { stream.write(`${text}\n`); });
    return {
      onStep: (s) => {
        const text = conversionLine(s);
        if (text) line(text, s);
      },
      stop: () => undefined,
    };
  }
  const bar = progressBar('ONNX 转换 converting face nets', { stream });
  let drawing = false;
  let stopped = false;
  const stop = (): void => {
    if (drawing && !stopped) bar.stop();
    stopped = true;
  };
  return {
    onStep: (s) => {
      if (stopped) return;
      if (s.phase === 'converting') drawing = true;
      if (!drawing) return;
      if (s.phase === 'failed') return stop();
      bar.update(s.phase === 'converting' ? s.index - 1 : s.index, s.total);
      if (s.phase !== 'converting' && s.index === s.total) stop();
    },
    stop,
  };
}
