/**
 * Face enrolment and withdrawal for the admin page, on the running door: the door's own
 * recognition engine analyses the uploaded photo, `enrolVillager` checks consent, quality and
 * collisions with other villagers (edge/entry/enrol.ts), and the door's gallery learns the new
 * templates at once. The consent given with an upload is recorded in the transaction that
 * stores its templates, so a refused upload leaves none on record and takes back none.
 */
import path from 'node:path';
import type { Db } from '../ledger/db.ts';
import type { EntryConfig } from './config.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import { EdgeError } from '../errors.ts';
import { enrolVillager, inProcess, searcherOf, type Enrolled, type FaceAnalyser } from './enrol.ts';
import { countTemplates, loadOrCreateTemplateKey } from './templates.ts';
import { withdrawFaceData } from './face-photos.ts';
import { confirmPendingTemplate, listPending, pendingThumbnail, rejectPendingTemplate, type ConfirmResult, type PendingView } from './pending-review.ts';

/** The maintainer's review of pending templates (card-confirmed learning) on the running door. */
export interface PendingReview {
  list(villagerId: string): PendingView[];
  /** The face thumbnail (JPEG) of a pending template; null when none was kept. */
  thumbnail(villagerId: string, id: number): Buffer | null;
  /** Confirm: it becomes a learned template and the door matches with it at once. */
  confirm(villagerId: string, id: number, actor: string): Promise<ConfirmResult>;
  reject(villagerId: string, id: number, actor: string): void;
}

export interface FaceEnrolment {
  /**
   * Enrol one photo; `consentBy` records consent first ('self' or a guardian's name).
   * `alreadyEnrolled`: the villager already held this picture (the form sent twice): nothing stored, not an error.
   */
  enrol(villagerId: string, photo: { name: string; frame: RgbFrame }, consentBy: string): Promise<{ templates: number; total: number; alreadyEnrolled: boolean }>;
  /** Delete the villager's templates and kept enrolment photos and withdraw consent; the door forgets the face. */
  withdraw(villagerId: string): Promise<number>;
  /** A picture from the door camera now, to enrol from as from an upload; absent without a camera. */
  doorFrame?(): Promise<RgbFrame>;
  /** Pending templates of card-confirmed learning; absent: none to review. */
  pending?: PendingReview;
}

export interface DoorFacesDeps {
  db: () => Db;
  config: EntryConfig;
  dataDir: string;
  /** The door's engine (absent while faces are off or the engine is restarting). */
  engine: () => FaceAnalyser | undefined;
  /** The door re-reads one villager's templates. */
  reload: (villagerId: string) => Promise<void>;
  /** The door camera's next frame (EntryPart.nextFrame); absent: no snapshot enrolment. */
  doorFrame?: () => Promise<RgbFrame>;
}

export class DoorFaces implements FaceEnrolment {
  readonly doorFrame?: () => Promise<RgbFrame>;

  readonly pending: PendingReview = {
    list: (villagerId) => listPending(this.deps.db(), villagerId, new Date()),
    thumbnail: (villagerId, id) => pendingThumbnail(this.deps.db(), this.key(), villagerId, id, new Date()),
    confirm: async (villagerId, id, actor) => {
      const engine = this.deps.engine();
      const r = await confirmPendingTemplate(this.deps.db(), this.key(), this.deps.config, villagerId, id, actor, new Date(), engine ? searcherOf(engine) : inProcess);
      await this.deps.reload(villagerId);
      return r;
    },
    reject: (villagerId, id, actor) => rejectPendingTemplate(this.deps.db(), villagerId, id, actor, new Date()),
  };

  constructor(private readonly deps: DoorFacesDeps) {
    if (deps.doorFrame) this.doorFrame = deps.doorFrame;
  }

  private key(): Buffer {
    return loadOrCreateTemplateKey(path.resolve(this.deps.dataDir, this.deps.config.key_file));
  }

  async enrol(villagerId: string, photo: { name: string; frame: RgbFrame }, consentBy: string): Promise<{ templates: number; total: number; alreadyEnrolled: boolean }> {
    const engine = this.deps.engine();
    if (!engine) throw new EdgeError('FACE_UNAVAILABLE', 'face recognition is not running at the door (entry.face_enabled, or the engine is restarting)', { zh: '门口人脸识别没有运行（未启用或正在重启），暂时不能录入' });
    const db = this.deps.db();
    // the consent given with the upload is recorded with its templates (enrolVillager): an upload
    // that fails records none, and takes back none that another upload, here or in another
    // process, rests on
    const r: Enrolled = await enrolVillager(db, this.key(), engine, this.deps.config, villagerId, [photo], new Date().toISOString(), consentBy);
    await this.deps.reload(villagerId);
    return { templates: r.templates, total: countTemplates(db, villagerId), alreadyEnrolled: r.alreadyEnrolled.length > 0 };
  }

  async withdraw(villagerId: string): Promise<number> {
    const n = withdrawFaceData(this.deps.db(), this.deps.dataDir, this.deps.config, villagerId).templates;
    await this.deps.reload(villagerId);
    return n;
  }
}
