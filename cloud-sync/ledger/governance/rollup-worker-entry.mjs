// Worker bootstrap of the town roll-up (rollup-runner.ts): a worker thread does not inherit
// tsx's loader, so register it here, then load the TypeScript worker (as models/worker-entry.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./rollup-worker.ts');
