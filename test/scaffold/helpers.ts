import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export const REPO_ROOT = join(import.meta.dirname, '../..');
export const BIN = join(REPO_ROOT, 'bin/run.js');
export const TEAM_TEMPLATE = join(REPO_ROOT, 'test/fixtures/template-repos/team-express');

/** The CLI tests run the built binary: fail clearly when dist/ is missing. */
export function assertBuilt(): void {
  if (!existsSync(join(REPO_ROOT, 'dist/src/commands/new.js'))) {
    throw new Error('dist/ has no `new` command: run `npx tsc -p tsconfig.build.json` first');
  }
}

/** Runs `node bin/run.js ...args` as a subprocess (no TTY, CI=true), never throwing. */
export async function runCli(args: string[], opts: { cwd: string; env?: Record<string, string> }) {
  return execa('node', [BIN, ...args], {
    cwd: opts.cwd,
    env: { CI: 'true', NO_COLOR: '1', ...opts.env },
    reject: false,
    timeout: 120_000,
    stdin: 'ignore',
  });
}

/** A temp folder per test, removed by `cleanup()`. */
export function tempDirs() {
  const made: string[] = [];
  return {
    make(prefix = 'ls-mix-new-'): string {
      const d = mkdtempSync(join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
    cleanup(): void {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** git with an isolated, empty configuration (no user identity, like a fresh CI machine). */
export const BARE_GIT_ENV = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

/** git for test set-up (fixture repos), with its own identity. */
export async function git(cwd: string, ...args: string[]) {
  return execa('git', ['-c', 'user.name=Fixture', '-c', 'user.email=fixture@example.invalid', ...args], {
    cwd,
  });
}
