/**
 * The session config keys the docs name (`session.…`, `weight.…` in code spans of
 * docs/scenarios.md and docs/store-admin.md) are keys the config accepts: a scenario or config file
 * written from the docs must not be refused as having an unknown property.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SessionConfigSchema } from '../../edge/session/config.ts';

type Node = { properties?: Record<string, Node> };

/** Every `session.a.b` / `weight.x` named in a code span of `file`. */
function namedKeys(file: string): string[] {
  const spans = readFileSync(file, 'utf8').match(/`[^`\n]+`/g) ?? [];
  const keys = spans.flatMap((s) => [...s.matchAll(/(?<![\w./-])(session(?:\.\w+)+|weight\.\w+)/g)].map((m) => m[1] as string));
  return [...new Set(keys)];
}

function known(key: string): boolean {
  let node: Node | undefined = SessionConfigSchema as Node;
  for (const part of key.replace(/^session\./, '').split('.')) node = node?.properties?.[part];
  return node !== undefined;
}

describe('session config keys named in the docs', () => {
  it.each(['docs/scenarios.md', 'docs/store-admin.md'])('%s names only keys the config accepts', (file) => {
    const keys = namedKeys(file);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => !known(k))).toEqual([]);
  });
});
