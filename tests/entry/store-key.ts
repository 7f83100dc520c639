/** The face-template key a store's first start leaves in its data folder: a CLI command reads it, never makes one. */
import path from 'node:path';
import { loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';

export function firstStartKey(dataDir: string): Buffer {
  return loadOrCreateTemplateKey(path.join(dataDir, 'keys', 'face-templates.key'));
}
