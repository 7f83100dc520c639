/**
 * Camera sources. `files` replays an image or a folder (tests, demo); `v4l2` and `rtsp` run
 * ffmpeg as a child process writing raw RGB frames of a fixed size. A source only emits the
 * frames it has; keeping only the newest is the pipeline's job. A camera that disappears is
 * reopened with exponential backoff and reported through `status`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { Backoff } from '../../lib/backoff.ts';
import { decodeImage } from '../../models/image.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { CameraConfig } from './config.ts';

export type CameraStatus = { state: 'up' } | { state: 'down'; reason: string; retryInMs: number };

export interface FrameSourceEvents {
  frame: [RgbFrame];
  status: [CameraStatus];
}

export interface FrameSource extends EventEmitter<FrameSourceEvents> {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface SourceOptions {
  camera: CameraConfig;
  width: number;
  height: number;
  frameRate: number;
  /** Longest wait between reopen attempts (config `camera_retry_max_ms`). */
  retryMaxMs: number;
  /** First wait before reopening a camera that went away. Default 500 ms. */
  retryFirstMs?: number;
  /**
   * How long a reopened camera must keep delivering frames before the wait starts over from
   * `retryFirstMs`; a camera that flaps (opens, dies at once) keeps backing off. Default 10 s.
   */
  retryResetAfterMs?: number;
  logger: Logger;
  /** ffmpeg executable (tests substitute a script that writes raw frames). */
  ffmpegPath?: string;
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff']);

export class FilesSource extends EventEmitter<FrameSourceEvents> implements FrameSource {
  private timer: NodeJS.Timeout | null = null;
  private frames: RgbFrame[] = [];
  private index = 0;
  private watcher: FSWatcher | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;
  /** The rescan in progress, and whether another change came in meanwhile. */
  private scanning: Promise<void> | null = null;
  private dirty = false;
  private stopped = false;

  constructor(private readonly opts: SourceOptions & { camera: Extract<CameraConfig, { kind: 'files' }> }) { super(); }

  async start(): Promise<void> {
    this.stopped = false;
    const p = this.opts.camera.path;
    const isDir = (await stat(p)).isDirectory();
    this.frames = await this.load();
    if (this.opts.camera.watch === true && isDir) {
      // fs.watch says only "something changed" (and may say it several times per write), so
      // each burst of events becomes one debounced rescan of the whole folder
      this.watcher = watch(p, () => this.scheduleRescan());
      this.watcher.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'camera files: cannot watch the folder'));
    }
    this.emit('status', { state: 'up' });
    this.timer = setInterval(() => this.tick(), 1000 / this.opts.frameRate);
  }

  /** Decodes every image of the path (one file, or a folder in name order). */
  private async load(): Promise<RgbFrame[]> {
    const p = this.opts.camera.path;
    let files: string[];
    try {
      files = (await stat(p)).isDirectory()
        ? (await readdir(p)).filter((f) => IMAGE_EXT.has(path.extname(f).toLowerCase())).sort().map((f) => path.join(p, f))
        : [p];
    } catch (err) {
      if (!this.watcher) throw err;
      // a watched folder that vanished shows nothing until it is back
      return [];
    }
    const decode = { maxSide: Math.max(this.opts.width, this.opts.height), maxInputPixels: 120_000_000 };
    const frames: RgbFrame[] = [];
    for (const f of files) {
      try {
        frames.push(await decodeImage(await readFile(f), decode));
      } catch (err) {
        // also a file removed between readdir and readFile, or one still being written: the next event rescans
        this.opts.logger.warn({ file: f, err: (err as Error).message }, 'camera files: skipping an image that does not decode');
      }
    }
    return frames;
  }

  private scheduleRescan(): void {
    if (this.stopped) return;
    if (this.rescanTimer) clearTimeout(this.rescanTimer);
    this.rescanTimer = setTimeout(() => {
      this.rescanTimer = null;
      this.rescan();
    }, 20);
  }

  private rescan(): void {
    if (this.scanning) {
      this.dirty = true;
      return;
    }
    this.scanning = this.load().then(
      (frames) => {
        if (this.stopped) return;
        this.frames = frames;
        this.index = 0;
      },
      (err: unknown) => this.opts.logger.warn({ err: (err as Error).message }, 'camera files: rescan failed'),
    ).finally(() => {
      this.scanning = null;
      if (this.dirty && !this.stopped) {
        this.dirty = false;
        this.rescan();
      }
    });
  }

  private tick(): void {
    if (this.frames.length === 0) return;
    if (this.index >= this.frames.length) {
      if (this.opts.camera.loop === false) return;
      this.index = 0;
    }
    const f = this.frames[this.index++] as RgbFrame;
    // a copy: the consumer transfers the buffer to the inference worker
    this.emit('frame', { width: f.width, height: f.height, data: f.data.slice() });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.rescanTimer) clearTimeout(this.rescanTimer);
    this.rescanTimer = null;
    this.watcher?.close();
    this.watcher = null;
    await this.scanning;
  }
}

export const CAMERA_RETRY_FIRST_MS = 500;
export const CAMERA_RETRY_RESET_AFTER_MS = 10_000;

export function ffmpegArgs(camera: Exclude<CameraConfig, { kind: 'files' }>, width: number, height: number, frameRate: number): string[] {
  const input = camera.kind === 'v4l2'
    ? ['-f', 'v4l2', '-framerate', String(frameRate), '-i', camera.device]
    : ['-rtsp_transport', 'tcp', '-i', camera.url];
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    ...input,
    // scale and pad to exactly width×height so every frame has the same byte length
    '-vf', `fps=${frameRate},scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
}

export class FfmpegSource extends EventEmitter<FrameSourceEvents> implements FrameSource {
  private child: ChildProcess | null = null;
  private stopped = true;
  private readonly retry: Backoff;
  private upTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: SourceOptions & { camera: Exclude<CameraConfig, { kind: 'files' }> }) {
    super();
    const firstMs = opts.retryFirstMs ?? CAMERA_RETRY_FIRST_MS;
    this.retry = new Backoff({ firstMs, maxMs: Math.max(firstMs, opts.retryMaxMs) });
  }

  start(): Promise<void> {
    this.stopped = false;
    this.spawnOnce();
    return Promise.resolve();
  }

  private spawnOnce(): void {
    const { width, height, frameRate, camera } = this.opts;
    const frameBytes = width * height * 3;
    const child = spawn(this.opts.ffmpegPath ?? 'ffmpeg', ffmpegArgs(camera, width, height, frameRate), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let pending: Buffer[] = [];
    let have = 0;
    let stderr = '';
    let sawFrame = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      have += chunk.length;
      while (have >= frameBytes) {
        const all = Buffer.concat(pending);
        const frame = new Uint8Array(frameBytes);
        frame.set(all.subarray(0, frameBytes));
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [rest] : [];
        have = rest.length;
        if (!sawFrame) {
          sawFrame = true;
          this.emit('status', { state: 'up' });
          // only a camera that stays up for a while earns a fresh backoff
          this.upTimer = setTimeout(() => this.retry.reset(), this.opts.retryResetAfterMs ?? CAMERA_RETRY_RESET_AFTER_MS);
        }
        this.emit('frame', { width, height, data: frame });
      }
    });
    child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-500); });
    const onGone = (reason: string): void => {
      if (this.child !== child) return;
      this.child = null;
      if (this.upTimer) clearTimeout(this.upTimer);
      if (this.stopped) return;
      const retryInMs = this.retry.schedule(() => this.spawnOnce());
      // null: a reopen is already scheduled
      if (retryInMs === null) return;
      this.opts.logger.warn({ reason, retryInMs }, 'camera down; reopening');
      this.emit('status', { state: 'down', reason, retryInMs });
    };
    child.on('error', (err) => onGone(`cannot run ffmpeg: ${err.message}`));
    child.on('exit', (code, signal) => onGone(`ffmpeg exited (${signal ?? code}) ${stderr.trim()}`.trim()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retry.cancel();
    if (this.upTimer) clearTimeout(this.upTimer);
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

export function createFrameSource(opts: SourceOptions): FrameSource {
  const camera = opts.camera;
  switch (camera.kind) {
    case 'files': return new FilesSource({ ...opts, camera });
    case 'v4l2':
    case 'rtsp': return new FfmpegSource({ ...opts, camera });
  }
}
