import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../../runtime/errors.js';

/**
 * Makes sure the project can be written into `dir`: it is missing (created here) or an empty
 * folder; a non-empty one only with `force`. Returns whether this call created it, so a
 * failed run can remove what it made and leave nothing behind.
 */
export function prepareTarget(dir: string, force: boolean): { created: boolean } {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    return { created: true };
  }
  if (!statSync(dir).isDirectory()) {
    throw new UserError(`${dir} exists and is not a folder`, { hint: 'Choose another name or --output.' });
  }
  const entries = readdirSync(dir);
  if (entries.length > 0 && !force) {
    const shown =
      entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, ... (${entries.length} in all)` : '');
    throw new UserError(`Target folder ${dir} is not empty (${shown})`, {
      hint: 'Choose another name or --output, or pass --force to write into it (files with the same names are replaced).',
    });
  }
  return { created: false };
}

/** Refuses a target inside the template folder (the copy would copy itself). */
export function assertOutsideTemplate(target: string, templateDir: string): void {
  const rel = relative(templateDir, target);
  if (rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'))) {
    throw new UserError(`The new project folder ${target} is inside the template folder ${templateDir}`, {
      hint: 'Create the project somewhere else (--output).',
    });
  }
}
