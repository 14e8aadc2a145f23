/**
 * Processes for the benchmarks: the CLI as users run it (compiled dist/, `node bin/run.js`),
 * peak RSS (VmHWM) and CPU seconds read from /proc/PID while they run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
/** The CLI under test: bin/run.js of the packaged copy (see package.ts), else of the repo. */
export let CLI = join(ROOT, 'bin/run.js');
export function useCli(path: string): void {
  CLI = path;
}
const TICKS = 100; // USER_HZ on Linux

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Peak resident set (VmHWM) in MiB, or undefined when the process is gone. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of a live process (its own, not its children's). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
}

export interface Watched {
  child: ChildProcess;
  /** Latest readings (kept from before the process exited). */
  peakMiB: number;
  cpu: number;
  stderr: string;
  /** Tail of stdout (Litestream logs there). */
  stdout: string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawn and sample /proc every 50 ms so the last readings before exit are kept. */
export function watch(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Watched {
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w: Watched = {
    child,
    peakMiB: 0,
    cpu: 0,
    stderr: '',
    stdout: '',
    // 'close', not 'exit': the last output (a failure's reason) may arrive after 'exit'.
    exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 120_000);
      const code = await w.exited;
      clearTimeout(t);
      return code;
    },
  };
  child.stdout?.on('data', (d) => {
    w.stdout = (w.stdout + d).slice(-20_000);
  });
  child.stderr?.on('data', (d) => {
    w.stderr = (w.stderr + d).slice(-20_000);
  });
  const sample = () => {
    if (!child.pid) return;
    const rss = peakRssMiB(child.pid);
    const cpu = cpuSeconds(child.pid);
    if (rss !== undefined) w.peakMiB = Math.max(w.peakMiB, rss);
    if (cpu !== undefined) w.cpu = Math.max(w.cpu, cpu);
  };
  const timer = setInterval(sample, 50);
  child.on('exit', () => clearInterval(timer));
  return w;
}

/**
 * The last output of a process, for a warning: stderr, else stdout (Litestream logs there); a
 * Go panic from its first line (its cause), not the end of its stack trace.
 */
export function lastOutput(w: Watched, chars = 1000): string {
  const text = w.stderr.trim() || w.stdout;
  const panic = text.search(/^(panic: |fatal error: )/m);
  return panic >= 0 ? text.slice(panic, panic + chars) : text.slice(-chars);
}

/** `ls-mix ARGS` (built CLI) with /proc sampling. */
export function lsMix(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Watched {
  return watch(process.execPath, [CLI, ...args], opts);
}

/** Run to completion; resolves with wall ms, peak RSS and CPU seconds; throws on failure. */
export async function runToEnd(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ ms: number; peakMiB: number; cpu: number; stderr: string }> {
  const t0 = performance.now();
  const w = watch(cmd, args, opts);
  const code = await w.exited;
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${w.stderr.slice(-2000)}`);
  return { ms, peakMiB: w.peakMiB, cpu: w.cpu, stderr: w.stderr };
}

export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 120_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Wall and CPU seconds of a short command, measured by GNU time (CPU of the whole command). */
export async function timed(cmd: string, args: string[]): Promise<{ wall: number; cpu: number }> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/time',
      ['-f', '%e %U %S', cmd, ...args],
      { maxBuffer: 1 << 20 },
      (err, _out, stderr) => {
        if (err) return reject(new Error(`${cmd} ${args.join(' ')}: ${stderr}`));
        const [e, u, s] = stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
        resolve({ wall: e, cpu: u + s });
      },
    );
  });
}
