/**
 * The app under test: a copy of the Express + better-sqlite3 fixture with a mix added by this
 * checkout's CLI (which vendors its own `npm pack` into .deploy/ for the sidecar image).
 */

import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

export const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURE = join(ROOT, 'test/fixtures/projects/express');

/** `npm pack` of the current checkout (needs `npm run build` first: the package ships dist/). */
export async function packCheckout(dest: string): Promise<string> {
  if (!existsSync(join(ROOT, 'dist/src/commands/replicate.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the e2e suite');
  }
  await mkdir(dest, { recursive: true });
  const { stdout } = await execa('npm', ['pack', '--json', '--pack-destination', dest], { cwd: ROOT });
  const [info] = JSON.parse(stdout) as Array<{ filename: string }>;
  return join(dest, info.filename);
}

export interface Project {
  dir: string;
  /** What `ls-mix add` printed. */
  addOutput: string;
}

/** Copy the fixture into a fresh folder named like the app, and run `ls-mix add MIX` on it. */
export async function projectWithMix(mix: string): Promise<Project> {
  const dir = join(await mkdtemp(join(tmpdir(), 'ls-mix-e2e-')), 'notes-api');
  await cp(FIXTURE, dir, { recursive: true });
  // --no-proxy: these scenarios run the app without a network (proxy-host.test.ts has the proxy).
  const { stdout } = await execa('node', [join(ROOT, 'bin/run.js'), 'add', mix, '--dir', dir, '--no-proxy'], {
    stdin: 'ignore',
    env: { CI: 'true' },
  });
  return { dir, addOutput: stdout };
}

export async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}
