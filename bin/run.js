#!/usr/bin/env node
// Installed entry point: runs the compiled commands in dist/.
import { execute } from '@oclif/core';
import { normalizeArgv } from '../dist/src/argv.js';

process.argv = normalizeArgv(process.argv);
await execute({ dir: import.meta.url });
