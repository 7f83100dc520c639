/**
 * How every onnxruntime session of the face engine is made, and how a model file that an
 * operator supplies (an ArcFace recognizer, a liveness net) is read: once, checked against its
 * configured sha256, and the verified bytes are what the session loads.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.ts';

/**
 * CPU, all graph optimisations, `threads` intra-op threads (entry.onnx_threads; default 2) and
 * idle pool threads that sleep instead of spinning: on two cores a spinning pool takes the CPU
 * from the other stages of the frame and from the main thread between runs (docs/face-engine.md, Sessions).
 */
export function cpuSessionOptions(threads?: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads ?? 2,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/**
 * Reads, verifies and loads an operator's model file. Throws MODEL_MISSING, MODEL_ALTERED or
 * MODEL_UNLOADABLE naming the file; `label` starts the message (`recognizer`, `liveness net`) and
 * `model` goes in the error's details.
 */
export async function loadVerifiedSession(file: string, sha256: string, label: string, model: string, threads?: number): Promise<ort.InferenceSession> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ModelError('MODEL_MISSING', `${label}: cannot read ${file}`, { cause: err, details: { model, file } });
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== sha256.toLowerCase()) {
    throw new ModelError('MODEL_ALTERED', `${label}: sha256 of ${file} is ${sha}, the configuration says ${sha256}`, { details: { model, file } });
  }
  try {
    return await ort.InferenceSession.create(bytes, cpuSessionOptions(threads));
  } catch (err) {
    throw new ModelError('MODEL_UNLOADABLE', `${label}: onnxruntime cannot load ${file}: ${(err as Error).message}`, { cause: err, details: { model, file } });
  }
}
