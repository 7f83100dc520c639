/** `faces evaluate-liveness` refuses bad folders before any model runs, naming the flag (exit 2, Chinese and English). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-run.ts';
import { tempDir } from '../ledger/helpers.ts';

const tmp = tempDir('faces-liveness-cli-');
afterAll(() => tmp.cleanup());

const run = (args: string[]): ReturnType<typeof runCli> => runCli(['faces', 'evaluate-liveness', '--data-dir', path.join(tmp.dir, 'data'), ...args]);

describe('faces evaluate-liveness refuses bad input', () => {
  const real = path.join(tmp.dir, 'real');
  const broken = path.join(tmp.dir, 'broken');
  beforeAll(async () => {
    mkdirSync(path.join(real, 'p1'), { recursive: true });
    await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).jpeg().toFile(path.join(real, 'p1', 'a.jpg'));
    mkdirSync(path.join(broken, 'p1'), { recursive: true });
    writeFileSync(path.join(broken, 'p1', 'a.jpg'), 'not a jpeg');
  });

  it('a missing --attack folder is named as --attack', async () => {
    const r = await run(['--real', real, '--attack', path.join(tmp.dir, 'nowhere')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--attack ${path.join(tmp.dir, 'nowhere')}: no such folder`);
    expect(r.err).toContain('文件夹不存在');
  });

  it('frames loose in the folder: each presentation wants a sub-folder', async () => {
    const loose = path.join(tmp.dir, 'loose');
    mkdirSync(loose, { recursive: true });
    writeFileSync(path.join(loose, 'f1.jpg'), 'x');
    const r = await run(['--real', loose, '--attack', real]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("put each presentation's frames in a sub-folder");
    expect(r.err).toContain('每次呈现一个的子文件夹');
  });

  it('one presentation is enough, but a file that is not an image is named', async () => {
    // --real (one presentation) passes its checks; --attack is the one refused
    const r = await run(['--real', real, '--attack', broken]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--attack ${broken}: not an image: ${path.join('p1', 'a.jpg')}`);
  });
});
