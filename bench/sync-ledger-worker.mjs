// Worker bootstrap: the worker thread does not inherit tsx's loader, so register it here and
// then load the TypeScript worker module (as models/worker-entry.mjs does).
import { register } from 'tsx/esm/api';

register();
await import('./sync-ledger-worker.ts');
