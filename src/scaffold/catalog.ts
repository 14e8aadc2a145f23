import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closest } from 'fastest-levenshtein';
import { UserError } from '../../runtime/errors.js';
import { readManifest, type TemplateManifest } from './manifest.js';

/** Short names users type for the most common templates. */
export const TEMPLATE_ALIASES: Readonly<Record<string, string>> = {
  blazor: 'blazor-server',
  vue: 'vue-vite',
  next: 'nextjs',
};

export interface BuiltinTemplate {
  name: string;
  dir: string;
  manifest: TemplateManifest;
}

/** `templates/projects` inside this package, found from the running file (src/ or dist/src/). */
export function projectTemplatesRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'templates', 'projects');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('templates/projects not found next to the ls-mix package');
}

/** Every built-in template (folders starting with `_` are shared parts, not templates). */
export function listBuiltinTemplates(): BuiltinTemplate[] {
  const root = projectTemplatesRoot();
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('_'))
    .map((e) => ({ name: e.name, dir: join(root, e.name), manifest: readManifest(join(root, e.name)) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Looks up a built-in template by name or alias; an unknown name suggests the closest one. */
export function findBuiltinTemplate(name: string): BuiltinTemplate {
  const wanted = TEMPLATE_ALIASES[name] ?? name;
  const all = listBuiltinTemplates();
  const found = all.find((t) => t.name === wanted);
  if (found) return found;
  const names = [...all.map((t) => t.name), ...Object.keys(TEMPLATE_ALIASES)];
  throw new UserError(`Unknown template "${name}". Did you mean "${closest(name, names)}"?`, {
    hint: `Built-in templates: ${all.map((t) => t.name).join(', ')} (aliases: ${Object.entries(
      TEMPLATE_ALIASES,
    )
      .map(([a, t]) => `${a} -> ${t}`)
      .join(', ')}). A git URL or a local folder works too.`,
  });
}
