/** `store-edge ARGS` run in this process (edge/cli/index.ts `main`), with what it wrote to stderr. */
import { vi } from 'vitest';
import { main } from '../../edge/cli/index.ts';

export async function runCli(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try {
    const code = await main(['node', 'store-edge', ...args]);
    return { code, err };
  } finally {
    spy.mockRestore();
  }
}
