import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE } from './manifest.js';
import type { ProjectNames } from './names.js';
import { isBinary, renameSegment, renameText } from './rename.js';

/** Never copied from a template folder: its own history and installed packages. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

export interface CopyResult {
  /** Written files, relative to the target, `/`-separated, sorted. */
  files: string[];
  /** Things left out on purpose (symlinks), to tell the user. */
  warnings: string[];
}

/** One folder to copy: its files land under `into` (a `/`-separated subfolder, '' = top). */
export interface CopySource {
  dir: string;
  into?: string;
}

/**
 * Copies template folders into `dest` in order (a later folder's file wins over an earlier
 * one's), renaming placeholders in text contents and in file and folder names.
 */
export function copyTemplate(sources: readonly CopySource[], dest: string, names: ProjectNames): CopyResult {
  const written = new Set<string>();
  const warnings: string[] = [];
  for (const src of sources) copyDir(src.dir, '', src.into ?? '', dest, names, written, warnings);
  return { files: [...written].sort(), warnings };
}

function copyDir(
  srcRoot: string,
  rel: string,
  into: string,
  dest: string,
  names: ProjectNames,
  written: Set<string>,
  warnings: string[],
): void {
  const entries = readdirSync(join(srcRoot, rel), { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  for (const entry of entries) {
    const srcRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (rel === '' && entry.name === MANIFEST_FILE) continue;
    if (entry.isSymbolicLink()) {
      warnings.push(`skipped symlink ${srcRel} (templates copy plain files only)`);
      continue;
    }
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) copyDir(srcRoot, srcRel, into, dest, names, written, warnings);
      continue;
    }
    if (!entry.isFile()) continue;
    const outRel = (into ? `${into}/${srcRel}` : srcRel)
      .split('/')
      .map((s) => renameSegment(s, names))
      .join('/');
    const srcPath = join(srcRoot, srcRel);
    const outPath = join(dest, ...outRel.split('/'));
    const content = readFileSync(srcPath);
    const out = isBinary(content) ? content : Buffer.from(renameText(content.toString('utf8'), names));
    mkdirSync(join(outPath, '..'), { recursive: true });
    writeFileSync(outPath, out, { mode: statSync(srcPath).mode & 0o777 });
    written.add(outRel);
  }
}
