/**
 * Waiting for something with a limit: resolves when `p` settles or after `ms`, whichever comes
 * first; true if `p` did (fulfilled or rejected: the caller only bounds the wait, the outcome is
 * its own business). The timer is cleared either way, so a stop that bounds its waits leaves
 * nothing behind that keeps the process alive. Imports nothing of ours.
 */
export function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, ms)); });
  return Promise.race([p.then(() => true, () => true), late]).finally(() => clearTimeout(timer));
}
