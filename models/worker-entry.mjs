// Worker bootstrap: the worker thread does not inherit tsx's loader, so register it here and
// then load the TypeScript worker module (works under tsx, vitest and bin/store-edge.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./engine-worker.ts');
