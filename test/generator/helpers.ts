/** Shared test helpers: fixture copies in temp folders, file-tree snapshots, the fixture matrix. */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from '../../src/generator/index.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES_DIR = path.join(REPO, 'test/fixtures/projects');
export const GOLDEN_DIR = path.join(REPO, 'test/golden');
/** A small fixed tarball standing in for the vendored `npm pack` of ls-mix (goldens stay stable). */
export const GOLDEN_TARBALL = path.join(REPO, 'test/fixtures/vendor/ls-mix-golden.tgz');

/** Variant -> fixture folder: one realistic app per variant. */
export const FIXTURES: Record<string, string> = {
  web: 'dotnet-web',
  node: 'express',
  'blazor-server': 'blazor-server',
  nextjs: 'nextjs',
  'vue-vite': 'vue-vite',
};

/** Every mix x every fixture variant it is made for. */
export async function matrix(): Promise<{ mix: string; variant: string; fixture: string }[]> {
  const out = [];
  for (const m of await loadCatalog()) {
    for (const [variant, fixture] of Object.entries(FIXTURES)) {
      if ((m.variants as string[]).includes(variant)) out.push({ mix: m.name, variant, fixture });
    }
  }
  return out;
}

const temps: string[] = [];

/** A fresh copy of a fixture app in a temp folder (removed by cleanupTemps). */
export async function copyFixture(fixture: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `ls-mix-${fixture}-`));
  temps.push(dir);
  await cp(path.join(FIXTURES_DIR, fixture), dir, { recursive: true });
  return dir;
}

export async function tempDir(prefix = 'ls-mix-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** A throwaway project of the given files (root-relative posix path -> content), folders made as needed. */
export async function projectWith(files: Record<string, string>, prefix = 'ls-mix-'): Promise<string> {
  const dir = await tempDir(prefix);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  return dir;
}

export async function cleanupTemps(): Promise<void> {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/**
 * Every text file under dir (posix relative path -> content). Tarballs (the vendored ls-mix
 * .tgz: bytes, checked by the tests that care) are left out.
 */
export async function readTree(dir: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of await readTree(dir, p)) out.set(k, v);
    else if (e.isFile() && !p.endsWith('.tgz')) out.set(p, await readFile(path.join(dir, p), 'utf8'));
  }
  return out;
}

/** `want` appears in `lines` in order, each line unchanged (other lines may sit between). */
export function inOrder(want: string[], lines: string[]): boolean {
  let i = 0;
  for (const l of lines) if (i < want.length && l === want[i]) i++;
  return i === want.length;
}
