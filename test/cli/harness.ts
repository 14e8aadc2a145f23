/**
 * The built CLI (`node bin/run.js`, compiled dist/) as a subprocess, for tests of the runtime's
 * safety paths: a long-running `replicate` whose JSON log lines can be awaited, and one-shot
 * commands.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'bin/run.js');

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist/src/commands/replicate.js'))) {
    throw new Error('dist/ has no replicate command: run `npm run build` first');
  }
}

export function cli(args: string[], opts: { timeout?: number; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, LITESTREAM_CONFIG: '/nonexistent/litestream.yml', ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeout ?? 60_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, pid: r.pid };
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A running `ls-mix replicate` (JSON logs on stderr). */
export class Replicator {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, 'replicate', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LITESTREAM_CONFIG: '/nonexistent/litestream.yml' },
    });
    running.add(this);
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.raw.push(line);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line (an oclif error message)
        }
      }
      for (const w of this.waiters.splice(0)) w();
    };
    this.child.stderr!.on('data', onData);
    this.child.stdout!.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  count(msg: RegExp): number {
    return this.lines.filter((l) => msg.test(l.msg)).length;
  }

  /** Wait (at most `ms`) until `n` log lines match; throws with the log when they do not. */
  async waitFor(msg: RegExp, opts: { n?: number; ms?: number } = {}): Promise<LogLine> {
    const n = opts.n ?? 1;
    const deadline = Date.now() + (opts.ms ?? 20_000);
    for (;;) {
      const hits = this.lines.filter((l) => msg.test(l.msg));
      if (hits.length >= n) return hits[n - 1];
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no log line ${msg} (x${n}); log:\n${this.raw.join('\n')}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** SIGTERM, then wait at most `ms` for the exit (SIGKILL and throw past it). */
  async stop(ms = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill('SIGTERM');
    return this.waitExit(ms);
  }

  async waitExit(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      t = setTimeout(() => resolve('timeout'), ms);
    });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(t);
    if (r === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(`replicate did not exit within ${ms} ms of SIGTERM; log:\n${this.raw.join('\n')}`);
    }
    return r;
  }
}

const running = new Set<Replicator>();

/** SIGKILL every replicate process a test left running (afterAll). */
export async function killAll(): Promise<void> {
  for (const r of [...running]) {
    r.child.kill('SIGKILL');
    await r.exited;
  }
}
