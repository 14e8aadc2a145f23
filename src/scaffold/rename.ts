import { replacePlaceholders } from '../generator/index.js';
import type { ProjectNames } from './names.js';

/** File names stored under another name so npm publishing and git don't act on them. */
const DOTFILE_RENAMES: Readonly<Record<string, string>> = {
  _gitignore: '.gitignore',
};

/**
 * Replaces every placeholder spelling (`MyApp`, `my-app`, `myapp`, `my_app`, `My App`) with
 * the generator's own rule (whole words only: `MyApp.Client` -> `Acme.Client`, while
 * `MyApplication` stays).
 */
export function renameText(text: string, names: ProjectNames): string {
  return replacePlaceholders(text, names);
}

/** The output name of one path segment: placeholders replaced, `_gitignore` -> `.gitignore`. */
export function renameSegment(segment: string, names: ProjectNames): string {
  return DOTFILE_RENAMES[segment] ?? replacePlaceholders(segment, names);
}

/** A buffer is treated as binary (copied untouched) when its first 8 KiB hold a NUL byte. */
export function isBinary(content: Buffer): boolean {
  return content.subarray(0, 8192).includes(0);
}
