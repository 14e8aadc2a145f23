/**
 * `replicate` and `restore` restart themselves once, at startup, with a V8 flag that V8 reads
 * only when the isolate is created (`v8.setFlagsFromString` later has no effect on it):
 * `--single-threaded`, no background compiler / GC threads, each of which keeps a malloc arena
 * of its own. On Node 24 that takes 3-13 MiB off most peaks for the same CPU (docs/bench.md,
 * eighteenth round; `--no-maglev` on top did not help there). `process.execve` replaces the
 * process image, so the pid, stdio and signal handling stay the same (a container's pid 1 stays
 * pid 1). Node without `process.execve` (before 22.15) runs on unchanged. `LS_MIX_LEAN=0` turns
 * the restart off.
 */

import { setFlagsFromString } from 'node:v8';

export const LEAN_V8_FLAGS: readonly string[] = ['--single-threaded'];

/**
 * Set in the process on every Node: `replicate` runs for months and `restore` streams
 * gigabytes, so V8's young generation stays at its initial 1 MB semi-spaces instead of growing
 * to 8-16 MB with module loading and the restore's buffers (-5 MB of idle RSS for replicate,
 * -10 to -14 MB of restore's peak). The other commands keep V8's default (faster start).
 */
const IN_PROCESS_V8_FLAG = '--semi-space-growth-factor=1';

/** `1` in the restarted process (removed again at once); a user's `0` turns the restart off. */
export const LEAN_ENV = 'LS_MIX_LEAN';

const LEAN_COMMANDS = new Set(['replicate', 'restore']);

type Env = Record<string, string | undefined>;

export interface LeanRestart {
  file: string;
  args: string[];
  env: Env;
}

/** What to execute instead of this process, or undefined when it runs on as it is. */
export function planLeanRestart(
  argv: readonly string[],
  execArgv: readonly string[],
  env: Env,
  execPath: string,
): LeanRestart | undefined {
  if (!LEAN_COMMANDS.has(argv[2] ?? '') || env[LEAN_ENV] !== undefined) return undefined;
  const flags = LEAN_V8_FLAGS.filter((f) => !execArgv.includes(f));
  return {
    file: execPath,
    // The user's node options (execArgv) come first and stay; ours follow them.
    args: [execPath, ...execArgv, ...flags, ...argv.slice(1)],
    env: { ...env, [LEAN_ENV]: '1' },
  };
}

type Execve = (file: string, args: string[], env: Env) => never;

/**
 * For `replicate` / `restore`: restart lean when this Node can, then set the in-process flag.
 * Returns when the process runs on as it is (another command, no `process.execve`, or execve
 * failed: the restart saves memory, it is never a reason not to run). The marker leaves the
 * environment at once, so the app `-exec` starts (or any other child) sees the user's.
 */
export function leanStart(proc: NodeJS.Process = process): void {
  if (!LEAN_COMMANDS.has(proc.argv[2] ?? '')) return;
  const execve = (proc as unknown as { execve?: Execve }).execve;
  const plan = planLeanRestart(proc.argv, proc.execArgv, proc.env, proc.execPath);
  if (plan && typeof execve === 'function' && proc.platform !== 'win32') {
    try {
      execve.call(proc, plan.file, plan.args, plan.env);
    } catch {
      // e.g. EACCES / ENOEXEC on an unusual install: run on in this process.
    }
  }
  if (proc.env[LEAN_ENV] === '1') delete proc.env[LEAN_ENV];
  setFlagsFromString(IN_PROCESS_V8_FLAG);
}
