/**
 * The daemon's one error class. Callers branch on `code`, never on the message.
 * `message` is for logs (English); `zh` is the text shown to maintainers and villagers.
 */
export const ErrorCode = {
  // configuration and start-up
  CONFIG_INVALID: 'CONFIG_INVALID',
  CONFIG_UNREADABLE: 'CONFIG_UNREADABLE',
  DATA_DIR_LOCKED: 'DATA_DIR_LOCKED',
  PORT_IN_USE: 'PORT_IN_USE',
  // database
  DB_NEWER_THAN_CODE: 'DB_NEWER_THAN_CODE',
  DB_NOT_OURS: 'DB_NOT_OURS',
  DB_CORRUPT: 'DB_CORRUPT',
  DB_FULL: 'DB_FULL',
  DB_IO: 'DB_IO',
  /** The database kept refusing a change for other changes made at the same time: nothing changed, try again shortly (503). */
  DB_BUSY: 'DB_BUSY',
  // ledger rules
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  UNKNOWN_VILLAGER: 'UNKNOWN_VILLAGER',
  UNKNOWN_PRODUCT: 'UNKNOWN_PRODUCT',
  UNKNOWN_SLOT: 'UNKNOWN_SLOT',
  UNKNOWN_SESSION: 'UNKNOWN_SESSION',
  DUPLICATE_ID: 'DUPLICATE_ID',
  /** An entry id already held by an entry with other content: a different entry, not a retry. */
  ENTRY_ID_TAKEN: 'ENTRY_ID_TAKEN',
  INSUFFICIENT_POINTS: 'INSUFFICIENT_POINTS',
  ALREADY_SETTLED: 'ALREADY_SETTLED',
  /** A blocked villager, or one who left the village: the right PIN or code, but no sign-in. */
  VILLAGER_INACTIVE: 'VILLAGER_INACTIVE',
  /** So many ids nobody has were tried lately that a login of one without a recent attempt is paused (503; the ledger's villager login). */
  LOGIN_BUSY: 'LOGIN_BUSY',
  /** A slot still holding goods cannot change or lose its product until counted empty. */
  SLOT_NOT_EMPTY: 'SLOT_NOT_EMPTY',
  /** A slot's scale address other than the unit id the config gives its scale (drivers.scales.list), which is the one weighed. */
  SCALE_ADDRESS_CONFIGURED: 'SCALE_ADDRESS_CONFIGURED',
  /** A product put on a slot no scale of the daemon's list weighs: it would never be charged. */
  SLOT_WITHOUT_SCALE: 'SLOT_WITHOUT_SCALE',
  // faces, entry
  NO_CONSENT: 'NO_CONSENT',
  FACE_REJECTED: 'FACE_REJECTED',
  MODEL_INVALID: 'MODEL_INVALID',
  TOKEN_INVALID: 'TOKEN_INVALID',
  FACE_TEMPLATE_UNREADABLE: 'FACE_TEMPLATE_UNREADABLE',
  /** An enrolment whose face lies within the match threshold of another villager's template. */
  FACE_COLLISION: 'FACE_COLLISION',
  /** Stored face templates made by another recognizer than entry.recognizer: enrol again. */
  FACE_TEMPLATES_OTHER_RECOGNIZER: 'FACE_TEMPLATES_OTHER_RECOGNIZER',
  /** Face recognition is not running at the door (off, or its engine restarting). */
  FACE_UNAVAILABLE: 'FACE_UNAVAILABLE',
  /** A pending template (card-confirmed learning) that the rules of learning no longer allow to confirm. */
  FACE_LEARNING_REFUSED: 'FACE_LEARNING_REFUSED',
  // hardware and runtime
  NOT_FOUND: 'NOT_FOUND',
  /** The camera gave no frame at all (its device missing, or ffmpeg cannot open it): a failure, as doctor reports it. */
  CAMERA_UNAVAILABLE: 'CAMERA_UNAVAILABLE',
  /** `store-edge doctor` found something to fix (its table says what). */
  CHECKS_FAILED: 'CHECKS_FAILED',
  /** The village ledger cannot be reached (not connected, or no answer in time). */
  SYNC_OFFLINE: 'SYNC_OFFLINE',
  /** The person at the terminal cancelled (Ctrl-C at a prompt): nothing changed; the CLI exits 130, as a shell does for Ctrl-C. */
  CANCELLED: 'CANCELLED',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class EdgeError extends Error {
  override readonly name = 'EdgeError';
  readonly code: ErrorCode;
  /** Chinese text for people (admin page, CLI, door display). */
  readonly zh: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { zh?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.zh = opts.zh;
    this.details = opts.details;
  }

  /** "中文 / English" for a maintainer's terminal. */
  forPeople(): string {
    return this.zh ? `${this.zh} / ${this.message}` : this.message;
  }
}

export function isEdgeError(err: unknown, code?: ErrorCode): err is EdgeError {
  return err instanceof EdgeError && (code === undefined || err.code === code);
}

/** System error codes of a disk (or quota) without room: a write refused so is `DB_FULL` where it concerns the ledger. */
export const NO_ROOM: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);
/** System error codes of a folder this process may not write: read-only filesystem, or no permission. */
export const NOT_WRITABLE: ReadonlySet<string> = new Set(['EROFS', 'EACCES', 'EPERM']);
