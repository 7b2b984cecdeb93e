#!/usr/bin/env node
// Runs the CLI straight from the TypeScript sources (no build step): tsx's ESM loader compiles
// shared/ on the fly and caches the result.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../shared/cli/main.ts');
const { processIO } = await import('../shared/cli/io.ts');
process.exitCode = await main(process.argv.slice(2), processIO());
