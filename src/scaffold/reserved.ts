import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TemplateReservedNames } from './names.js';

const SKIPPED = new Set(['.git', 'node_modules', 'bin', 'obj']);

/**
 * The names a project made from these template folders can't take: the npm dependencies of
 * its package.json files and the C# / Razor types it declares (`class NotesDb`, `App.razor`).
 */
export function templateReservedNames(dirs: readonly string[]): TemplateReservedNames {
  const dependencies = new Set<string>();
  const typeNames = new Set<string>();
  const walk = (dir: string, depth: number): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < 4 && !SKIPPED.has(e.name)) walk(full, depth + 1);
      } else if (e.name === 'package.json') {
        for (const d of packageDependencies(full)) dependencies.add(d);
      } else if (e.name.endsWith('.razor')) {
        typeNames.add(e.name.slice(0, -'.razor'.length));
      } else if (e.name.endsWith('.cs')) {
        const text = readFileSync(full, 'utf8');
        for (const m of text.matchAll(/\b(?:class|record|struct|interface|enum)\s+([A-Z]\w*)/g))
          typeNames.add(m[1]);
      }
    }
  };
  for (const dir of dirs) if (existsSync(dir)) walk(dir, 0);
  // Every ASP.NET app also has the compiler-generated Program class.
  if (typeNames.size > 0) typeNames.add('Program');
  return { dependencies: [...dependencies], typeNames: [...typeNames] };
}

function packageDependencies(file: string): string[] {
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>;
    return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  } catch {
    return []; // a broken package.json is reported by the generator's detection
  }
}
