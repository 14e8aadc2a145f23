import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed ls-mix folder (holds package.json and templates/), from src/ or dist/src/. */
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'templates'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('ls-mix package root (package.json + templates/) not found');
}

export const PACKAGE_ROOT = findPackageRoot();
export const MIXES_DIR = path.join(PACKAGE_ROOT, 'templates', 'mixes');
export const GENERATOR_VERSION: string = (
  JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
