import { execa } from 'execa';
import { UserError } from '../../runtime/errors.js';

/** Identity written into the new repo's own config when git has none (fresh CI machines). */
export const FALLBACK_GIT_USER = { name: 'ls-mix', email: 'ls-mix@users.noreply.localhost' };

export interface GitInitResult {
  commit: string;
  /** True when no user.name/email was configured and the fallback was set locally. */
  usedFallbackIdentity: boolean;
}

async function git(cwd: string, args: string[]) {
  return execa('git', args, { cwd, env: { GIT_TERMINAL_PROMPT: '0' } });
}

async function configured(cwd: string, key: string): Promise<boolean> {
  const r = await execa('git', ['config', '--get', key], { cwd, reject: false });
  return r.exitCode === 0 && r.stdout.trim().length > 0;
}

/** `git init` (branch main), stage everything, and make the first commit. */
export async function initRepository(dir: string, message: string): Promise<GitInitResult> {
  try {
    await git(dir, ['init', '--quiet', '--initial-branch=main']);
    let usedFallbackIdentity = false;
    if (!(await configured(dir, 'user.name'))) {
      await git(dir, ['config', 'user.name', FALLBACK_GIT_USER.name]);
      usedFallbackIdentity = true;
    }
    if (!(await configured(dir, 'user.email'))) {
      await git(dir, ['config', 'user.email', FALLBACK_GIT_USER.email]);
      usedFallbackIdentity = true;
    }
    await git(dir, ['add', '--all']);
    await git(dir, ['commit', '--quiet', '--no-verify', '-m', message]);
    const { stdout } = await git(dir, ['rev-parse', '--short', 'HEAD']);
    return { commit: stdout.trim(), usedFallbackIdentity };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError('git is not installed (or not on PATH)', {
        hint: 'Install git, or run again with --no-git.',
      });
    }
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new UserError(`git failed in ${dir}: ${stderr.split('\n').pop() || (err as Error).message}`, {
      hint: 'Fix git, or run again with --no-git.',
    });
  }
}
