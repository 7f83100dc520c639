/** Writes a test's ONNX graph to a file and returns it with its sha256 (the config's check). */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export function writeModel(dir: string, name: string, bytes: Uint8Array): { file: string; sha256: string } {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return { file, sha256: createHash('sha256').update(bytes).digest('hex') };
}
