/**
 * The demo's village office tokens (harness/demo/village.ts officeTokens): two named ones,
 * `office` that files the good deeds and `review` that approves them, since a named token does not
 * approve its own record; an older demo's unnamed village token becomes `office`, and a file that
 * has both is left as it is. The result is a tokens file the ledger takes, with no unnamed village token.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { officeTokens, type TokenEntry } from '../../harness/demo/village.ts';
import { loadTokens } from '../../cloud-sync/ledger/run.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'demo-tokens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const town: TokenEntry = { token: 'town-token-0123456789', role: 'town' };
const taken = (tokens: TokenEntry[]) => {
  const f = path.join(dir, 'tokens.json');
  writeFileSync(f, JSON.stringify(tokens));
  return loadTokens(f);
};

describe("the demo village office's tokens", () => {
  it('a fresh file gets `office` and `review`; a second start changes nothing', () => {
    const tokens: TokenEntry[] = [{ ...town }];
    const first = officeTokens(tokens, 'demo-village');
    expect(first.office).not.toBe(first.review);
    expect(tokens.map((t) => [t.role, t.village, t.name])).toEqual([['town', undefined, undefined], ['village', 'demo-village', 'office'], ['village', 'demo-village', 'review']]);
    const again = JSON.stringify(tokens);
    expect(officeTokens(tokens, 'demo-village')).toEqual(first);
    expect(JSON.stringify(tokens)).toBe(again);
    expect(taken(tokens).filter((t) => t.role === 'village' && t.name === undefined)).toEqual([]);
  });

  it("an older demo's unnamed village token becomes `office`, and `review` is added", () => {
    const older: TokenEntry[] = [{ ...town }, { token: 'older-village-token-0001', role: 'village', village: 'demo-village' }];
    const t = officeTokens(older, 'demo-village');
    expect(t.office).toBe('older-village-token-0001');
    expect(older.map((e) => e.name)).toEqual([undefined, 'office', 'review']);
    expect(taken(older)).toHaveLength(3);
  });

  it('a name taken whatever the case, or by another village (the demo village renamed), gets no second token of that name: the file still loads', () => {
    const handRenamed: TokenEntry[] = [{ ...town }, { token: 'hand-renamed-token-0001', role: 'village', village: 'demo-village', name: 'Office' }];
    expect(officeTokens(handRenamed, 'demo-village').office).toBe('hand-renamed-token-0001');
    expect(taken(handRenamed)).toHaveLength(3);
    const moved: TokenEntry[] = [{ ...town }, { token: 'old-village-office-0001', role: 'village', village: 'old-village', name: 'office' }, { token: 'old-village-review-0001', role: 'village', village: 'old-village', name: 'review' }];
    const t = officeTokens(moved, 'demo-village');
    expect([t.office, t.review]).not.toContain('old-village-office-0001');
    expect(moved.slice(3).map((e) => [e.village, e.name])).toEqual([['demo-village', 'office-demo-village'], ['demo-village', 'review-demo-village']]);
    expect(taken(moved)).toHaveLength(5);
    expect(officeTokens(moved, 'demo-village')).toEqual(t);
    expect(moved).toHaveLength(5);
  });
});
