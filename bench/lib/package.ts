/**
 * The CLI as it ships: the npm package's files (bin/, dist/, templates/, package.json) in a temp
 * folder with an oclif manifest, so oclif loads only the command that runs (without one it
 * imports every command, and every storage SDK, on each start). Built here rather than in the
 * repo, where a stale manifest would hide commands others are adding.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './env.js';
import { ROOT } from './proc.js';

export function packagedCli(): string {
  const dir = tempDir('pkg');
  for (const f of ['bin', 'dist', 'templates', 'package.json'])
    cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(join(ROOT, 'node_modules/.bin/oclif'), ['manifest'], { cwd: dir, stdio: 'ignore' });
  return join(dir, 'bin/run.js');
}
