#!/usr/bin/env node
// Installed entry point: runs the compiled commands in dist/.
// replicate / restore get V8's memory settings before any other module loads (src/lean-start.ts).
const { leanStart } = await import('../dist/src/lean-start.js');
leanStart();

const { normalizeArgv } = await import('../dist/src/argv.js');
process.argv = normalizeArgv(process.argv);

// Plain `replicate` / `restore` runs skip oclif (its ~14 MB stay out of a sidecar's RSS);
// help, --json and anything unusual go through oclif as before (see src/direct.ts).
const { runDirect } = await import('../dist/src/direct.js');
if (!(await runDirect(process.argv))) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
