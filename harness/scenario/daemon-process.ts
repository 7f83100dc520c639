/**
 * The store daemon as a child process for the scenario runner's process mode: the same
 * command a maintainer runs (`node bin/store-edge.mjs start --config FILE`), JSON log lines on
 * its stdout. The runner reads what the daemon did from those lines (door decisions,
 * announcements, receipts) and from the ledger; a power cut is `kill('SIGKILL')`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { DaemonLogLine } from './world.ts';

const BIN = fileURLToPath(new URL('../../bin/store-edge.mjs', import.meta.url));
const TAIL_LINES = 40;

export interface DaemonProcessOptions {
  configFile: string;
  /** Every log line, in order, across restarts. */
  onLine: (line: DaemonLogLine) => void;
  /** Give up on a start that has not served its admin page within this long. */
  readyTimeoutMs?: number;
}

/** Every daemon child of this process, so none outlives the runner (exit, SIGINT). */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class DaemonProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly tail: string[] = [];

  constructor(private readonly opts: DaemonProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** The last lines the daemon wrote (stdout and stderr), for error messages. */
  logTail(): string {
    return this.tail.join('\n');
  }

  /** Starts the daemon and resolves with its admin page URL once every part has started. */
  async start(): Promise<string> {
    if (this.child) throw new EdgeError(ErrorCode.INTERNAL, 'the daemon child is already running');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STORE_EDGE_')));
    const child = spawn(process.execPath, [BIN, 'start', '--config', this.opts.configFile], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    live.add(child);
    // 'close', not 'exit': the log lines written before a SIGKILL are all read by then
    this.exited = new Promise<void>((resolve) => child.once('close', () => {
      live.delete(child);
      if (this.child === child) this.child = null;
      resolve();
    }));
    let ready: ((url: string) => void) | null = null;
    const readyUrl = new Promise<string>((resolve) => (ready = resolve));
    let partFailed: ((error: string) => void) | null = null;
    const degraded = new Promise<{ error: string }>((resolve) => (partFailed = (error) => resolve({ error })));
    this.readLines(child, 'stdout', (text) => {
      let line: DaemonLogLine;
      try {
        line = JSON.parse(text) as DaemonLogLine;
      } catch {
        return;
      }
      // the composition root logs the admin page's address once every part has started
      if (typeof line.url === 'string' && line.msg?.startsWith('admin page')) ready?.(line.url);
      // a daemon running degraded (a part failed, e.g. the admin page's port is taken) would
      // make the scenario's outcome depend on what is missing: a failed start for the runner
      if ((line.level ?? 0) >= 50 && line.msg?.includes('failed to start')) partFailed?.(`could not start its ${typeof line.part === 'string' ? line.part : 'parts'}`);
      this.opts.onLine(line);
    });
    this.readLines(child, 'stderr', () => undefined);
    // a safety net against a hung start: loading the face models alone takes over a minute
    // on a loaded 2-core machine
    const timeoutMs = this.opts.readyTimeoutMs ?? 180_000;
    let timer: NodeJS.Timeout | undefined;
    const failure = await Promise.race([
      readyUrl.then((url) => ({ url })),
      degraded,
      this.exited.then(() => ({ error: `exited (${String(child.exitCode ?? child.signalCode)}) before it was ready` })),
      new Promise<{ error: string }>((resolve) => (timer = setTimeout(() => resolve({ error: `did not serve its admin page within ${timeoutMs} ms` }), timeoutMs))),
    ]);
    clearTimeout(timer);
    if ('url' in failure) return failure.url;
    await this.kill('SIGKILL');
    throw new EdgeError(ErrorCode.INTERNAL, `the store daemon (${this.opts.configFile}) ${failure.error}; last lines of its log:\n${this.logTail()}`, { zh: '门店守护进程未能启动' });
  }

  /** Sends a signal and waits until the child is gone. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
  }

  /** A clean stop (SIGTERM), and SIGKILL if it hangs. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    if (this.child === child) await this.kill('SIGKILL');
  }

  private readLines(child: ChildProcess, stream: 'stdout' | 'stderr', each: (line: string) => void): void {
    let buffered = '';
    child[stream]?.setEncoding('utf8');
    child[stream]?.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
        each(line);
      }
    });
  }
}
