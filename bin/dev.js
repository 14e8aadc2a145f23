#!/usr/bin/env node
// Development entry point: runs the TypeScript sources directly (no build step), from any folder.
import { execute } from '@oclif/core';
import { register } from 'tsx/esm/api';

register();
const { normalizeArgv } = await import('../src/argv.ts');
process.argv = normalizeArgv(process.argv);
await execute({ development: true, dir: import.meta.url });
