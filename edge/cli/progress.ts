/**
 * Progress bars for long work at a terminal (cli-progress, the one file that imports it): on
 * stderr, so stdout stays the command's result (and its --json); silent when stderr is not a
 * terminal (a pipe, the journal, a test), where a bar would only be noise in a log.
 */
import { SingleBar, Presets } from 'cli-progress';

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
