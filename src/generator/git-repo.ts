/**
 * Where GitHub looks for workflows (the git root's .github/workflows/, wherever in the repo the
 * app is) and which branch a push to should release (the repo's default branch, from git).
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaulted, detected, flagged } from './detect-facts.js';
import type { Fact } from './types.js';

const run = promisify(execFile);

/** The nearest folder at or above `dir` holding `.git` (a folder, or a file in a worktree). */
export async function findGitRoot(dir: string): Promise<string | undefined> {
  let current = path.resolve(dir);
  for (;;) {
    if (await stat(path.join(current, '.git')).catch(() => undefined)) return current;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0' };

async function git(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', args, { cwd, env: GIT_ENV });
    return stdout.trim() || undefined;
  } catch {
    return undefined; // no git, or the ref does not exist
  }
}

/** Paths git tracks under `root` (`git ls-files`); undefined outside a git repo or without git. */
export async function trackedFiles(root: string): Promise<string[] | undefined> {
  try {
    // A big monorepo lists megabytes of paths: execFile's default 1 MiB cap would fail it.
    const { stdout } = await run('git', ['ls-files', '-z'], {
      cwd: root,
      env: GIT_ENV,
      maxBuffer: 256 << 20,
    });
    return stdout.split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** The URL of the `origin` remote, if there is one. */
export function originUrl(gitRoot: string): Promise<string | undefined> {
  return git(gitRoot, ['remote', 'get-url', 'origin']);
}

/** A branch name git accepts and that is safe in a YAML flow list. */
export function isBranchName(b: string): boolean {
  return /^[\w][\w./-]*$/.test(b) && !b.includes('..') && !b.endsWith('/') && !b.endsWith('.lock');
}

/**
 * The default branch: the remote's HEAD (what GitHub calls the default branch), else the
 * branch checked out now (a repo not pushed yet), else `main`.
 */
export async function detectDefaultBranch(gitRoot: string | undefined, flag?: string): Promise<Fact<string>> {
  if (flag !== undefined) return flagged(flag, '--branch');
  if (!gitRoot) return defaulted('main', 'not in a git repository');
  const remote = await git(gitRoot, ['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD']);
  if (remote?.startsWith('origin/') && isBranchName(remote.slice(7)))
    return detected(remote.slice(7), 'git origin/HEAD');
  const head = await git(gitRoot, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  if (head && isBranchName(head)) return detected(head, 'git HEAD (the branch checked out)');
  return defaulted('main', 'git names no branch');
}
