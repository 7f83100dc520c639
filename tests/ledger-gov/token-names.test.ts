/**
 * The tokens file's optional `name` (run.ts loadTokens): 1 to 64 letters, digits, . _ -, each its
 * own in the file (whatever the case); a bad or repeated name is refused at start, exit 2, in
 * both languages, naming the entry. A village token without a name is said once at start (a
 * warning): separation of duties does not reach it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokens, runLedger } from '../../cloud-sync/ledger/run.ts';
import { newKeyPair } from '../../cloud-sync/protocol/sign.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'ledger-token-names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = path.join(dir, 'ledger-key.pem');
writeFileSync(keyFile, newKeyPair().privatePem);
let n = 0;
const tokensFile = (entries: unknown[]): string => {
  const f = path.join(dir, `tokens-${++n}.json`);
  writeFileSync(f, JSON.stringify(entries));
  return f;
};
const town = { token: 'town-token-0123456789', role: 'town' };
const village = (token: string, name?: string) => ({ token, role: 'village', village: 'v1', ...(name === undefined ? {} : { name }) });

describe('token names in the tokens file', () => {
  it('takes names of 1 to 64 safe characters, and a file without names as before', () => {
    const f = tokensFile([{ ...town, name: 'town.rollup' }, village('village-token-000001', 'o'), village('village-token-000002', 'A'.repeat(64)), village('village-token-000003')]);
    expect(loadTokens(f).map((t) => t.name)).toEqual(['town.rollup', 'o', 'A'.repeat(64), undefined]);
  });

  it.each([
    ['empty', '', 2],
    ['65 characters', 'x'.repeat(65), 2],
    ['a colon', 'token:office', 2],
    ['a space', 'the office', 2],
    ['a slash', 'a/b', 2],
    ['Chinese', '村委会', 2],
    ['a number', 7, 2],
  ])('refuses a name with %s, naming the entry, in both languages', (_what, name, entry) => {
    const f = tokensFile([town, village('village-token-000001', name as string)]);
    expect(() => loadTokens(f)).toThrow(expect.objectContaining({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: entry ${entry} .*"name" must be 1 to 64 letters, digits`)),
      zh: expect.stringContaining(`第 ${entry} 项`),
    }));
  });

  it('refuses a name given twice (whatever the case), naming both entries, in both languages', () => {
    const f = tokensFile([{ ...town, name: 'Office' }, village('village-token-000001', 'other'), village('village-token-000002', 'office')]);
    expect(() => loadTokens(f)).toThrow(expect.objectContaining({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('entries 1 and 3 have the same name'),
      zh: expect.stringMatching(/第 1 项和第 3 项.*名称.*相同/),
    }));
  });

  it('`ledger serve` exits 2 on a repeated name, in both languages, before anything starts', async () => {
    const f = tokensFile([town, village('village-token-000001', 'office'), village('village-token-000002', 'office')]);
    const child = spawn(process.execPath, [bin, 'ledger', 'serve', '--broker', 'mqtt://127.0.0.1:1', '--db', path.join(dir, 'cli.sqlite'), '--key-file', keyFile, '--tokens-file', f, '--port', '0'], { env: { ...process.env, DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(2);
    expect(out).toContain('entries 2 and 3 have the same name');
    expect(out).toContain('第 2 项和第 3 项');
  }, 60_000);

  it('says once at start, in both languages, that village tokens have no name, and which villages', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const f = tokensFile([town, village('village-token-000001'), village('village-token-000002'), village('village-token-000003', 'office'), { token: 'village-token-000004', role: 'village', village: 'v2' }]);
    const run = await runLedger({ brokerUrl: 'mqtt://127.0.0.1:1', sqliteFile: path.join(dir, 'warn.sqlite'), keyFile, keyId: 'k1', tokensFile: f, host: '127.0.0.1', port: 0, log: pino({ level: 'debug' }, sink) });
    await run.stop();
    const said = lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('no name'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: 40, unnamed_village_tokens: 3, villages: ['v1', 'v2'] });
    expect(said[0]!.msg).toContain('没有名称');
    // the warning names no token's secret
    expect(JSON.stringify(said[0])).not.toContain('village-token-00000');
  }, 60_000);

  it('says nothing when every village token has a name', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
    const f = tokensFile([town, village('village-token-000001', 'office'), village('village-token-000002', 'review')]);
    const run = await runLedger({ brokerUrl: 'mqtt://127.0.0.1:1', sqliteFile: path.join(dir, 'quiet.sqlite'), keyFile, keyId: 'k1', tokensFile: f, host: '127.0.0.1', port: 0, log: pino({ level: 'debug' }, sink) });
    await run.stop();
    expect(lines.join('')).not.toContain('no name');
  }, 60_000);
});
