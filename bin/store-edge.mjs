#!/usr/bin/env node
// Entry point of the `store-edge` command. The sources are TypeScript run through tsx,
// so a maintainer's `npx store-edge` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../edge/cli/index.ts');
process.exitCode = await main(process.argv);
