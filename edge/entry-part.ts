/**
 * The door as one part of the daemon: the face engine (inference worker), the camera, and the
 * entry pipeline that turns faces, QR codes and passbook cards into decisions and unlocks.
 * QR and card keep working when the camera or the face models are unavailable: face is never
 * the only way in.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Logger } from './log.ts';
import type { Db } from './ledger/db.ts';
import { doorDetector, engineChoice, recognizerChoice, type EntryConfig } from './entry/config.ts';
import { EntryPipeline, type DoorLock, type StoreOccupancy } from './entry/pipeline.ts';
import { livenessPosture } from './entry/liveness-posture.ts';
import { createFrameSource, type FrameSource } from './entry/camera.ts';
import { loadOrCreateTemplateKey } from './entry/templates.ts';
import { DoorLearning } from './entry/door-learning.ts';
import { CardLearning } from './entry/card-learning.ts';
import { countTemplates } from './ledger/face-templates.ts';
import { publicKeyFromPem } from './entry/credentials.ts';
import { Backoff, type BackoffOptions } from '../lib/backoff.ts';
import { EngineClient } from '../models/engine-client.ts';
import type { RgbFrame } from '../models/face-engine.ts';
import { isModelError } from '../models/errors.ts';
import { livenessNetModels, modelStartError, recognizerModels } from './entry/model-errors.ts';
import type { HealthBoard, Part } from './parts.ts';
import type { LedgerRules } from './ledger/entries.ts';
import { EdgeError, ErrorCode } from './errors.ts';
import { conversionProgress, type ConversionProgress } from './progress.ts';

/** Restarting a dead inference worker: 1 s, doubling to one attempt a minute. */
export const ENGINE_RESTART_BACKOFF: BackoffOptions = { firstMs: 1000, maxMs: 60_000, factor: 2 };

export interface EntryPartDeps {
  config: EntryConfig;
  dataDir: string;
  db: () => Db;
  lock: () => DoorLock;
  store: StoreOccupancy;
  /** The store's village (store.village): the door refuses a QR code issued for another. */
  village?: string | undefined;
  /** The store's ledger rules: the credit floor, and the offline limit when the store syncs. */
  rules?: LedgerRules | undefined;
  health: HealthBoard;
  /** No camera at all (the demo and the scenario runner hand frames in with `offer`). */
  withoutCamera: boolean;
  /** The store's time zone (jobs.timezone), for learning at the door's daily cap; absent: the system's. */
  timeZone?: string | undefined;
}

export class EntryPart implements Part {
  readonly name = 'entry';
  /** Critical when face recognition is on: a missing or altered model file must stop start-up. */
  readonly critical: boolean;
  private engine: EngineClient | undefined;
  private camera: FrameSource | null = null;
  /** The infrared lens of a binocular camera (entry.camera_ir). */
  private irCamera: FrameSource | null = null;
  private unwatchEngine: (() => void) | undefined;
  private readonly restart = new Backoff(ENGINE_RESTART_BACKOFF);
  /** The ONNX conversion while the engine starts: a bar at a terminal, else a log line per converted net. */
  private conversion: ConversionProgress | undefined;
  pipeline: EntryPipeline | undefined;

  constructor(private readonly deps: EntryPartDeps, private readonly log: Logger) {
    this.critical = deps.config.face_enabled;
  }

  /**
   * How the infrared lens is used, for /readyz: none configured, configured but never opened
   * (face entry off, or the demo without a camera), or opened with the door camera.
   */
  get irLens(): 'off' | 'unused' | 'on' {
    const c = this.deps.config;
    if (!c.camera_ir) return 'off';
    return c.face_enabled && !this.deps.withoutCamera ? 'on' : 'unused';
  }

  async start(): Promise<void> {
    try {
      await this.startParts();
    } catch (err) {
      // whatever did start (the inference worker above all) must not outlive a failed start
      await this.stop().catch((stopErr: unknown) => this.log.error({ err: stopErr }, 'cleaning up a failed entry start'));
      throw err;
    }
  }

  private async startParts(): Promise<void> {
    const { config, dataDir, health } = this.deps;
    const keyFile = path.resolve(dataDir, config.key_file);
    if (!existsSync(keyFile)) {
      const n = countTemplates(this.deps.db());
      if (n > 0) {
        // a new key would make every enrolled face unreadable: the old key must come back
        throw new EdgeError(ErrorCode.CONFIG_INVALID, `the face template key ${keyFile} is missing but ${n} encrypted face templates exist; restore the key file from a backup, or remove the templates (store-edge faces remove) and enrol again`, { zh: '人脸模板密钥文件丢失：请从备份恢复密钥，或删除人脸模板后重新录入' });
      }
    }
    const templateKey = loadOrCreateTemplateKey(keyFile);
    const qrPublicKey = this.loadQrKey();
    if (config.face_enabled) {
      const recognizer = recognizerChoice(config.recognizer, dataDir);
      const runtime = engineChoice(config, dataDir);
      const engine = new EngineClient({
        detector: doorDetector(config), detectorInputSize: config.detector_input_size, detectorMinScore: config.detector_min_score, liveness: config.liveness.enabled,
        recognizer, ...runtime, onConversion: (step) => this.conversion?.onStep(step),
      });
      try {
        await this.startEngine(engine);
      } catch (err) {
        await engine.stop().catch(() => undefined);
        // a model the operator named (entry.recognizer.path, the liveness net) is bad config, exit 2; the shipped weights: npm ci
        if (isModelError(err)) throw modelStartError(err, [...recognizerModels(recognizer), ...livenessNetModels(runtime.livenessNet)]);
        throw err;
      }
      this.engine = engine;
      this.unwatchEngine = engine.onExit((err) => this.onEngineExit(err));
      this.reportEngine(engine);
      if (!this.deps.withoutCamera) {
        this.camera = createFrameSource({ camera: config.camera, width: config.frame_width, height: config.frame_height, frameRate: config.frame_rate, retryMaxMs: config.camera_retry_max_ms, logger: this.log });
        if (config.camera_ir) this.irCamera = createFrameSource({ camera: config.camera_ir, width: config.frame_width, height: config.frame_height, frameRate: config.frame_rate, retryMaxMs: config.camera_retry_max_ms, logger: this.log });
      }
    }
    const pipeline = new EntryPipeline({
      config,
      db: this.deps.db(),
      recogniser: this.engine ?? null,
      lock: this.deps.lock(),
      store: this.deps.store,
      camera: this.camera,
      irCamera: this.irCamera,
      templateKey,
      qrPublicKey,
      village: this.deps.village,
      logger: this.log,
      rules: this.deps.rules,
      learning: config.adapt.enabled ? new DoorLearning({ db: this.deps.db(), key: templateKey, config, timeZone: this.deps.timeZone, now: Date.now, logger: this.log }) : undefined,
      cardLearning: config.adapt.card.enabled ? new CardLearning({ db: this.deps.db(), key: templateKey, config, now: Date.now }) : undefined,
    });
    // A decision that could not be written is a ledger write failure: a fault until the next one is written.
    // An admission the ledger failed (the standing unread, the visit unwritten): a fault until the next decision goes without.
    let recordFailed = false;
    let ledgerFailed = false;
    pipeline.on('fault', (f) => {
      if (f.where === 'camera') health.set('camera', 'degraded', f.message);
      if (f.where === 'record') {
        recordFailed = true;
        health.fault('door records', 'LEDGER_WRITE', f.message);
      }
      if (f.where === 'ledger') {
        ledgerFailed = true;
        health.fault('door ledger', 'LEDGER_READ', f.message);
      }
    });
    pipeline.on('decision', () => {
      if (!recordFailed) health.clearFault('door records');
      if (!ledgerFailed) health.clearFault('door ledger');
      recordFailed = false;
      ledgerFailed = false;
    });
    this.camera?.on('status', (s) => health.set('camera', s.state === 'up' ? 'ok' : 'degraded', s.state === 'down' ? s.reason : undefined));
    // without IR frames no face opens the door (uncertain: card or QR code): degraded, not down
    this.irCamera?.on('status', (s) => health.set('camera_ir', s.state === 'up' ? 'ok' : 'degraded', s.state === 'down' ? s.reason : undefined));
    this.pipeline = pipeline;
    await pipeline.start();
    this.log.info({ face: config.face_enabled, camera: this.camera ? config.camera.kind : 'none', qr: qrPublicKey !== null }, 'entry ready / 门禁就绪');
    const posture = livenessPosture(config);
    if (posture.status === 'warn') this.log.warn({ fix: posture.fix }, posture.detail);
  }

  async stop(): Promise<void> {
    this.restart.cancel();
    this.unwatchEngine?.();
    this.unwatchEngine = undefined;
    await this.pipeline?.stop();
    this.pipeline = undefined;
    await this.engine?.stop();
    this.engine = undefined;
  }

  /**
   * The inference worker died (out of memory, a native crash in a model): faces are refused
   * meanwhile (QR and card still work), and the worker is restarted with backoff and given
   * the gallery again.
   */
  private onEngineExit(err: Error): void {
    this.deps.health.set('face engine', 'degraded', err.message);
    this.log.error({ err }, 'inference worker died; restarting / 人脸识别进程退出，正在重启');
    this.scheduleEngineRestart();
  }

  private async startEngine(engine: EngineClient): Promise<void> {
    this.conversion = conversionProgress({
      line: (text, step) => {
        const fields = { event: 'onnx_conversion', net: step.net, phase: step.phase, index: step.index, total: step.total, ...(step.ms !== undefined ? { ms: Math.round(step.ms) } : {}) };
        if (step.phase === 'failed') this.log.warn(fields, text);
        else this.log.info(fields, text);
      },
    });
    try {
      await engine.start();
    } finally {
      this.conversion.stop();
      this.conversion = undefined;
    }
  }

  /** The runtime the engine started on: an ONNX engine that fell back to tfjs works, but degraded. */
  private reportEngine(engine: EngineClient): void {
    if (engine.fallback) {
      this.log.warn({ engine: engine.engine }, `${engine.fallback} / 人脸模型未能转换为 ONNX，改用 tfjs 运行`);
      this.deps.health.set('face engine', 'degraded', engine.fallback);
      return;
    }
    this.log.info({ engine: engine.engine }, `face engine on ${engine.engine} / 人脸识别运行于 ${engine.engine}`);
    for (const note of engine.notes) this.log.warn({ engine: engine.engine }, note);
    this.deps.health.set('face engine', 'ok');
  }

  private scheduleEngineRestart(): void {
    this.restart.schedule(() => void this.restartEngine());
  }

  private async restartEngine(): Promise<void> {
    const engine = this.engine;
    if (!engine || !this.pipeline) return;
    try {
      await this.startEngine(engine);
      await this.pipeline.reloadAll();
      this.restart.reset();
      this.reportEngine(engine);
      this.log.info('inference worker restarted / 人脸识别进程已重启');
    } catch (err) {
      this.log.error({ err }, 'inference worker restart failed / 人脸识别进程重启失败');
      if (this.pipeline) this.scheduleEngineRestart();
    }
  }

  /**
   * The door camera's next frame, for enrolment at the door from the admin page; refused when
   * there is no camera or it sends nothing within `timeoutMs`. The listener goes with the answer.
   */
  nextFrame(timeoutMs: number): Promise<RgbFrame> {
    const camera = this.camera;
    if (!camera) return Promise.reject(new EdgeError(ErrorCode.FACE_UNAVAILABLE, 'this store has no door camera (entry.camera)', { zh: '本店没有门口摄像头，不能拍照录入' }));
    return new Promise((resolve, reject) => {
      const onFrame = (f: RgbFrame): void => {
        clearTimeout(timer);
        resolve(f);
      };
      const timer = setTimeout(() => {
        camera.off('frame', onFrame);
        reject(new EdgeError(ErrorCode.FACE_UNAVAILABLE, `the door camera sent no picture within ${timeoutMs} ms`, { zh: '门口摄像头没有画面，请检查摄像头后再试' }));
      }, timeoutMs);
      camera.once('frame', onFrame);
    });
  }

  /** For tests and the admin page: the engine's handle. */
  get faceEngine(): EngineClient | undefined {
    return this.engine;
  }

  private loadQrKey(): KeyObject | null {
    const file = path.resolve(this.deps.dataDir, this.deps.config.qr_public_key_file);
    if (!existsSync(file)) {
      this.log.warn({ file }, 'no QR public key: QR codes are refused until one is installed; cards and faces work / 未配置二维码公钥');
      return null;
    }
    try {
      return publicKeyFromPem(readFileSync(file));
    } catch (err) {
      throw new EdgeError(ErrorCode.CONFIG_INVALID, `QR public key ${file} is not an Ed25519 public key in PEM: ${(err as Error).message}`, { zh: '二维码公钥文件无效', cause: err });
    }
  }
}
