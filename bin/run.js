#!/usr/bin/env node
// Installed entry point: runs the compiled commands in dist/.
import { setFlagsFromString } from 'node:v8';

// `replicate` runs for months and `restore` streams gigabytes: keep V8's young generation at
// its initial 1 MB semi-spaces instead of letting module loading and the restore's buffers grow
// them to 8-16 MB (-5 MB of idle RSS for replicate, -10 to -14 MB of restore's peak). Set before
// any module loads; the other commands keep V8's default (fewer scavenges, faster start).
const command = process.argv[2];
// replicate / restore restart once with start-up-only memory settings (see src/lean-start.ts).
const { leanStart } = await import('../dist/src/lean-start.js');
leanStart();
if (command === 'replicate' || command === 'restore') setFlagsFromString('--semi-space-growth-factor=1');

const { normalizeArgv } = await import('../dist/src/argv.js');
process.argv = normalizeArgv(process.argv);

// Plain `replicate` / `restore` runs skip oclif (its ~14 MB stay out of a sidecar's RSS);
// help, --json and anything unusual go through oclif as before (see src/direct.ts).
const { runDirect } = await import('../dist/src/direct.js');
if (!(await runDirect(process.argv))) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
