/**
 * `ls-mix replicate` as a process: replicate every configured db; with -exec, run the app as a
 * child once every db holds its read lock, forward signals to it, and when it exits (with any
 * code — Litestream #436) do a final sync to every replica and exit with the child's code.
 * Without -exec, SIGINT/SIGTERM do a final sync and exit 0. A second signal forces the exit.
 */
import { constants } from 'node:os';
import type { ResultPromise } from 'execa';
import { type Config, DEFAULTS } from './config/types.js';
import { UserError } from './errors.js';
import { LiveRuntime, primaryDbs } from './live/index.js';
import type { Logger } from './log.js';
import { Replication } from './replicate/index.js';

/** Split a command line like a POSIX shell does for words: quotes and backslashes, no expansion. */
export function parseCommandLine(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1])) word += command[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new UserError(`-exec: unterminated ${quote} quote in "${command}"`);
  if (inWord) words.push(word);
  return words;
}

export interface RunReplicateOptions {
  config: Config;
  /** The app to run as a child (-exec, or `exec:` in the config). */
  exec?: string;
  logger: Logger;
  /** Live replicas: discard local changes of a diverged replica and copy the primary again. */
  resync?: boolean;
  /** Bound on the final sync at shutdown (ms; default DEFAULTS.shutdownSyncTimeout). */
  shutdownSyncTimeout?: number;
  /** Where signals come from (tests pass an EventEmitter). */
  signals?: NodeJS.EventEmitter;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function signalExitCode(signal: string | undefined): number {
  const n = signal ? constants.signals[signal as keyof typeof constants.signals] : undefined;
  return n ? 128 + n : 1;
}

/** Resolves with the exit code the process should end with. */
export async function runReplicate(opts: RunReplicateOptions): Promise<number> {
  const { config, logger: log } = opts;
  const events = opts.signals ?? process;
  if (config.dbs.length === 0) {
    throw new UserError(`no databases to replicate${config.source ? ` in ${config.source}` : ''}`, {
      hint: 'Add a `dbs:` entry to the config, or run `ls-mix replicate DB_PATH REPLICA_URL...`.',
    });
  }
  const argv = opts.exec ? parseCommandLine(opts.exec) : undefined;
  if (argv && argv.length === 0) throw new UserError('-exec: empty command');

  // SIGUSR1 (sent by `ls-mix snapshot`) may arrive while the dbs are still opening: remember it.
  let rep: Replication | undefined;
  let snapshotPending = false;
  const snapshotNow = () => {
    log.info('SIGUSR1: taking a snapshot on every replica');
    rep?.snapshotAll().catch((err) => log.error({ err: (err as Error).message }, 'snapshot failed'));
  };
  const onUsr1 = () => {
    if (rep) snapshotNow();
    else snapshotPending = true;
  };
  events.on('SIGUSR1', onUsr1);
  // The HTTP server (addr) and live replicas (dbs with upstream): runtime/live/.
  let live: LiveRuntime | undefined;
  try {
    live = await LiveRuntime.start(config, { logger: log, resync: opts.resync });
    rep = await Replication.start({ ...config, dbs: primaryDbs(config) }, { logger: log });
    live.attach(rep);
  } catch (err) {
    await live?.close();
    events.off('SIGUSR1', onUsr1);
    throw err;
  }
  if (snapshotPending) snapshotNow();

  let child: ResultPromise | undefined;
  let shuttingDown = false;
  let resolveStop!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => {
    resolveStop = resolve;
  });

  const onSignal = (signal: (typeof SIGNALS)[number]) => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: exiting without waiting for the final sync');
      child?.kill('SIGKILL');
      process.exit(signalExitCode(signal));
    }
    shuttingDown = true;
    if (child) {
      log.info({ signal }, 'signal forwarded to the child process');
      child.kill(signal);
    } else {
      log.info({ signal }, 'signal received: final sync, then exit');
      resolveStop(0);
    }
  };
  const handlers = SIGNALS.map((s) => {
    const h = () => onSignal(s);
    events.on(s, h);
    return [s, h] as const;
  });

  if (argv) {
    const [file, ...args] = argv;
    log.info({ command: opts.exec }, 'starting child process');
    // execa (~100 modules, ~8 MB of RSS) loads only when there is a child to run.
    const { execa } = await import('execa');
    child = execa(file, args, { stdio: 'inherit', reject: false, cleanup: true, forceKillAfterDelay: false });
    child.then((result) => {
      let code = result.exitCode ?? signalExitCode(result.signal);
      if (result.failed && result.exitCode === undefined && !result.signal) {
        code = 127; // as a shell reports a command it cannot run
        log.error({ err: (result.message ?? '').split('\n')[0] }, 'child process could not start');
      } else {
        log.info({ code, signal: result.signal }, 'child process exited');
      }
      shuttingDown = true;
      resolveStop(code);
    });
  }

  // Our timers are unref'd (a library must not hold its host process open): this one keeps the
  // replicate process alive until a signal or the child's exit.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const code = await stopped;
  clearInterval(keepAlive);
  // The server first: no stream may read a db the monitor is closing.
  await live.close();
  const timeoutMs = opts.shutdownSyncTimeout ?? config.shutdownSyncTimeout ?? DEFAULTS.shutdownSyncTimeout;
  const { unshipped } = await rep.close({ finalSync: true, timeoutMs });
  events.off('SIGUSR1', onUsr1);
  for (const [s, h] of handlers) events.off(s, h);
  // A backup left behind is a failure even when the app exited 0 (its code wins otherwise).
  return unshipped.length > 0 && code === 0 ? 1 : code;
}
