/**
 * Every audit action the store writes is named in both languages on the admin page's audit
 * section (edge/http/admin-words.ts ACTION): an action without words there showed its raw code
 * (`door.sensor_override`, `slot.count`, …) to the maintainer. The actions are read from the
 * code itself (every `action: '…'` literal under edge/), so a new one without words fails here.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ACTION } from '../../edge/http/admin-words.ts';

const root = path.resolve(import.meta.dirname, '../../edge');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? sources(p) : d.name.endsWith('.ts') ? [p] : [];
  });
}

const written = [...new Set(sources(root).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\baction: '([a-z_]+\.[a-z_-]+)'/g)].map((m) => m[1]!)))].sort();

describe('audit actions on the admin page', () => {
  it('finds the actions the code writes', () => {
    // the scan itself works: some actions known to be written are among them
    expect(written).toEqual(expect.arrayContaining(['account.create', 'alarm.clear', 'door.sensor_override', 'slot.count']));
  });

  it('names every one of them in Chinese and in English', () => {
    const missing = written.flatMap((a) => (['zh', 'en'] as const).filter((l) => !ACTION[l][a]).map((l) => `${a} (${l})`));
    expect(missing).toEqual([]);
  });
});
