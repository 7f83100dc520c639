/**
 * The models package's own error class: models/ imports nothing from edge/, so the daemon
 * maps these codes onto its EdgeError (MODEL_INVALID, FACE_REJECTED...) at the boundary.
 */
export const ModelErrorCode = {
  /** A weight file listed in the manifest is absent. */
  MODEL_MISSING: 'MODEL_MISSING',
  /** A weight file's size or sha256 differs from the manifest (altered, truncated, other version). */
  MODEL_ALTERED: 'MODEL_ALTERED',
  /** A weight file passed the hash but tfjs could not build a model from it. */
  MODEL_UNLOADABLE: 'MODEL_UNLOADABLE',
  /** An image or frame that cannot be analysed (undecodable, zero-sized, too large, wrong length). */
  IMAGE_INVALID: 'IMAGE_INVALID',
  /** The inference worker died or was stopped while a request was in flight. */
  ENGINE_STOPPED: 'ENGINE_STOPPED',
  /** An unexpected failure inside the engine (a tfjs error): the frame is dropped, the door stays shut. */
  ENGINE_FAILED: 'ENGINE_FAILED',
  /** A gallery operation with bad input (wrong descriptor length, not normalisable). */
  GALLERY_INVALID: 'GALLERY_INVALID',
  /** A sealed descriptor that does not open (another key, an altered row); details: its owner. */
  TEMPLATE_UNREADABLE: 'TEMPLATE_UNREADABLE',
} as const;
export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];

export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code: ModelErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ModelErrorCode, message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.details = opts.details;
  }
}

export function isModelError(err: unknown, code?: ModelErrorCode): err is ModelError {
  return err instanceof ModelError && (code === undefined || err.code === code);
}
