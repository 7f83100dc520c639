/**
 * `store-edge faces identify` (several photos, one JSON line each, models loaded once),
 * `store-edge faces present` (frames of one person at the door → the door's one decision),
 * and the camera half of `faces enroll --camera`. Bad input (a missing file, a file that is
 * not an image) is found before the models load where it can be, and exits with code 2.
 */
import { existsSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { pino } from 'pino';
import type { FaceEngine } from '../../models/face-engine.ts';
import { Gallery } from '../../models/gallery.ts';
import { decodeImage, DEFAULT_DECODE, type DecodeOptions } from '../../models/image.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import { EdgeError, ErrorCode, isEdgeError } from '../errors.ts';
import { closeLedger, type Db } from '../ledger/db.ts';
import { createFrameSource } from '../entry/camera.ts';
import { enrolFromCamera } from '../entry/camera-enrol.ts';
import { descriptorLength, type EntryConfig } from '../entry/config.ts';
import { identifyPhoto } from '../entry/enrol.ts';
import { presentFrames } from '../entry/present.ts';
import { loadGallery } from '../entry/templates.ts';
import { parseIntOption, print, withCommon, type CommonOptions } from './context.ts';
import { collect } from './repeatable.ts';

export interface FacesEnv { db: Db; entry: EntryConfig; dataDir: string; key: Buffer }
export interface FacesDeps {
  openEnv(o: CommonOptions): FacesEnv;
  /** `json`: no conversion progress (stdout is the command's JSON). */
  startEngine(entry: EntryConfig, dataDir: string, at?: 'photo' | 'door', json?: boolean): Promise<FaceEngine>;
}

/** Every file readable, before any model loads: a typo costs no wait. */
async function checkReadable(files: readonly string[]): Promise<void> {
  for (const f of files) {
    try {
      await access(f);
    } catch (err) {
      throw new EdgeError('INVALID_ARGUMENT', `${f}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { zh: `${f}：无法读取文件`, details: { file: f } });
    }
  }
}

async function readFrame(file: string, decode: DecodeOptions = DEFAULT_DECODE): Promise<RgbFrame> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new EdgeError('INVALID_ARGUMENT', `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { zh: `${file}：无法读取文件`, details: { file } });
  }
  try {
    return await decodeImage(buf, decode);
  } catch (err) {
    throw new EdgeError('INVALID_ARGUMENT', `${file}: not an image that can be decoded (${(err as Error).message})`, { zh: `${file}：不是可解码的图片`, details: { file } });
  }
}

function galleryOf(env: FacesEnv): Gallery {
  const g = new Gallery(1024, descriptorLength(env.entry));
  for (const e of loadGallery(env.db, env.key, env.entry)) g.add(e.villagerId, e.descriptors);
  return g;
}

export function registerFaceDoorCommands(faces: Command, deps: FacesDeps): void {
  withCommon(faces.command('identify'), { json: true })
    .description('who is in these photos? one line per photo (the door\'s thresholds, one frame each) / 识别照片，每张一行')
    .requiredOption('--photo <file>', 'photo (repeatable) / 照片，可多张', collect)
    .option('--liveness', 'let the liveness check decide (a photo of a photo is a spoof) / 启用活体判断')
    .action(async (o: CommonOptions & { photo: string[]; liveness?: boolean }) => {
      await checkReadable(o.photo);
      const env = deps.openEnv(o);
      try {
        const engine = await deps.startEngine(env.entry, env.dataDir, 'photo', o.json === true);
        try {
          const gallery = galleryOf(env);
          for (const file of o.photo) {
            const frame = await readFrame(file);
            const r = await identifyPhoto(env.db, env.key, engine, env.entry, frame, { liveness: o.liveness === true }, gallery);
            print(o, { photo: file, ...r }, `${file}: ${r.decision}${r.villager ? ` ${r.villager}` : ''} (faces ${r.faces}, distance ${r.distance?.toFixed(3) ?? '-'}, margin ${r.margin?.toFixed(3) ?? '-'})`);
          }
        } finally {
          engine.stop();
        }
      } finally {
        closeLedger(env.db);
      }
    });

  withCommon(faces.command('present'), { json: true })
    .description('frames of one person at the door, in order → the door\'s one decision (k of n) / 模拟门口连续帧，给出门禁决定')
    .requiredOption('--frames <files...>', 'consecutive camera frames / 连续帧图片')
    .action(async (o: CommonOptions & { frames: string[] }) => {
      await checkReadable(o.frames);
      const env = deps.openEnv(o);
      try {
        // the door's own detector, its input size and liveness setting, on frames scaled as the camera delivers them
        const engine = await deps.startEngine(env.entry, env.dataDir, 'door', o.json === true);
        try {
          const decode = { maxSide: Math.max(env.entry.frame_width, env.entry.frame_height), maxInputPixels: DEFAULT_DECODE.maxInputPixels };
          let i = 0;
          const next = async (): Promise<RgbFrame | null> => {
            const f = o.frames[i++];
            return f === undefined ? null : readFrame(f, decode);
          };
          const r = await presentFrames(engine, galleryOf(env), env.entry, next);
          print(o, r, `${r.decision}${r.villager ? ` ${r.villager}` : ''} after ${r.frames} frames (${r.seen.join(', ')})`);
        } finally {
          engine.stop();
        }
      } finally {
        closeLedger(env.db);
      }
    });
}

/** `faces enroll --camera`: the configured door camera, several quality-gated frames. */
export async function enrolAtCamera(env: FacesEnv, engine: FaceEngine, villagerId: string, o: { frames: string; timeout: string }, at: string, consentGivenBy?: string): Promise<{ templates: number }> {
  const frames = parseIntOption('--frames', o.frames);
  const timeoutS = parseIntOption('--timeout', o.timeout);
  if (frames < 1 || frames > 20) throw new EdgeError('INVALID_ARGUMENT', `--frames must be 1–20, got ${frames}`, { zh: `--frames 须为 1–20，收到 ${frames}` });
  if (timeoutS < 1 || timeoutS > 600) throw new EdgeError('INVALID_ARGUMENT', `--timeout must be 1–600 s, got ${timeoutS}`, { zh: `--timeout 须为 1–600 秒，收到 ${timeoutS}` });
  const e = env.entry;
  // a device that is not there is said at once, as doctor says it, not after --timeout
  if (e.camera.kind === 'v4l2' && !existsSync(e.camera.device)) throw cameraUnavailable(e.camera, 'no such device', '设备不存在');
  const source = createFrameSource({
    camera: e.camera, width: e.frame_width, height: e.frame_height, frameRate: e.frame_rate,
    retryMaxMs: e.camera_retry_max_ms, logger: pino({ level: 'warn' }, pino.destination(2)),
  });
  let received = 0;
  let down: string | undefined;
  source.on('frame', () => void received++);
  source.on('status', (s) => { if (s.state === 'down') down = s.reason.replace(/\s+/g, ' '); });
  try {
    // a camera that shows no usable face is given up on after 20 frames per template wanted
    return await enrolFromCamera(env.db, env.key, source, engine, e, villagerId, { frames, timeoutMs: timeoutS * 1000, maxExamined: frames * 20 }, at, consentGivenBy);
  } catch (err) {
    // not one frame: the camera failed, not the villager's pose or light
    if (received === 0 && isEdgeError(err, ErrorCode.FACE_REJECTED)) {
      throw cameraUnavailable(e.camera, `no frame within ${timeoutS} s${down ? `: ${down}` : ''}`, `${timeoutS} 秒内没有收到任何画面`);
    }
    throw err;
  }
}

/** The camera named (a v4l2 device, or an RTSP address without its password), with why it gave nothing. */
function cameraUnavailable(camera: EntryConfig['camera'], en: string, zh: string): EdgeError {
  const where = camera.kind === 'v4l2' ? `entry.camera.device ${camera.device}` : camera.kind === 'rtsp' ? `entry.camera.url ${redactUrl(camera.url)}` : `entry.camera.path ${camera.path}`;
  return new EdgeError(ErrorCode.CAMERA_UNAVAILABLE, `the camera (${where}) cannot be opened: ${en}; plug the camera in, or set ${where.split(' ')[0]} (store-edge doctor checks it)`, {
    zh: `无法打开摄像头（${where}）：${zh}；请插上摄像头或修改 ${where.split(' ')[0]}（可用 store-edge doctor 检查）`,
    details: { camera: where },
  });
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
