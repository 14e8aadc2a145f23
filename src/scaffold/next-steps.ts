import { relative, sep } from 'node:path';
import type { TemplateManifest } from './manifest.js';

export interface NextStepsInput {
  /** The new project folder (absolute). */
  dir: string;
  /** Where the user ran the command from. */
  cwd: string;
  manifest: TemplateManifest;
  runtime: 'node' | 'dotnet';
}

const quote = (p: string) => (/^[\w./@+-]+$/.test(p) ? p : `"${p}"`);

/** The commands printed after `ls-mix new`: go there, install, run, test. */
export function nextSteps(input: NextStepsInput): string[] {
  const rel = relative(input.cwd, input.dir) || '.';
  const where = rel.startsWith(`..${sep}`) || rel === '..' ? input.dir : rel;
  const fallback =
    input.runtime === 'dotnet'
      ? { install: 'dotnet restore', run: 'dotnet run' }
      : { install: 'npm install', run: 'npm start', test: 'npm test' };
  const steps = { ...fallback, ...input.manifest.steps };
  const lines: string[] = [];
  if (where !== '.') lines.push(`cd ${quote(where)}`);
  lines.push(steps.install);
  lines.push(steps.run);
  if (steps.test) lines.push(steps.test);
  return lines;
}
