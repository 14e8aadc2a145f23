#!/usr/bin/env -S node --import tsx
// Development entry point: runs the TypeScript sources directly (no build step).
import { execute } from '@oclif/core';
import { normalizeArgv } from '../src/argv.ts';

process.argv = normalizeArgv(process.argv);
await execute({ development: true, dir: import.meta.url });
