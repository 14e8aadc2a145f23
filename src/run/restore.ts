/**
 * The body of `ls-mix restore`, shared by the oclif command and the direct entry (direct.ts):
 * it needs parsed flags and a way to print, nothing from oclif.
 */
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { UserError } from '../../runtime/errors.js';
import { lazyLogger } from '../../runtime/log.js';
import { isReplicaUrl } from '../../runtime/replica/url.js';
import {
  formatIndex,
  type IntegrityLevel,
  NoBackupError,
  parseIndex,
  type RestoreResult,
  restoreDatabase,
} from '../../runtime/restore.js';
import { byteProgress } from '../progress.js';
import { openTargetsFromFlags } from './targets.js';

export interface RestoreFlags {
  config?: string;
  'no-expand-env': boolean;
  replica?: string;
  output?: string;
  generation?: string;
  index?: string;
  timestamp?: string;
  parallelism: number;
  integrity: string;
  'if-db-not-exists': boolean;
  'if-replica-exists': boolean;
}

export interface CommandOutput {
  /** A line on stdout. */
  log(line: string): void;
  /** A line on stderr. */
  logToStderr(line: string): void;
  /** --json: the caller prints the returned value; no progress bar, no result line. */
  json: boolean;
  verbose: boolean;
}

export async function runRestore(
  target: string,
  flags: RestoreFlags,
  out: CommandOutput,
): Promise<RestoreResult | { skipped: string }> {
  const fromUrl = isReplicaUrl(target);
  const output = flags.output ?? (fromUrl ? undefined : target);
  if (!output)
    throw new UserError('restoring from a replica URL needs an output path', { hint: 'Pass -o PATH.' });
  let index: number | undefined;
  if (flags.index !== undefined) {
    index = parseIndex(flags.index);
    if (index === undefined) {
      throw new UserError(`invalid -index "${flags.index}"`, {
        hint: 'The WAL index is hexadecimal, as `ls-mix wal` prints it (e.g. -index 0000001a or -index 1a).',
      });
    }
  }
  let timestamp: Date | undefined;
  if (flags.timestamp !== undefined) {
    timestamp = new Date(flags.timestamp);
    if (Number.isNaN(timestamp.getTime()) || !/^\d{4}-\d\d-\d\dT/.test(flags.timestamp)) {
      throw new UserError(`invalid -timestamp "${flags.timestamp}"`, {
        hint: 'Use RFC 3339, e.g. 2026-11-22T01:59:05Z.',
      });
    }
  }
  if (flags['if-db-not-exists'] && existsSync(output)) {
    out.logToStderr(`database already exists, skipping: ${output}`);
    return { skipped: 'database exists' };
  }

  const logger = lazyLogger({ level: out.verbose ? 'debug' : 'warn', stderr: true });
  const targets = await openTargetsFromFlags(target, flags, logger);
  const bar = byteProgress(process.stderr.isTTY === true && !out.json);
  // SIGINT/SIGTERM/SIGHUP: stop, remove the temp files, exit 128+n; a second signal exits now.
  const interrupt = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (received) process.exit(128 + (constants.signals[sig] ?? 0));
    received = sig;
    interrupt.abort(interruptedBy(sig));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, onSignal);
  try {
    const result = await restoreDatabase({
      signal: interrupt.signal,
      replicas: targets.replicas,
      outputPath: output,
      generation: flags.generation,
      index,
      timestamp,
      parallelism: flags.parallelism,
      integrity: flags.integrity as IntegrityLevel,
      logger,
      onProgress: (p) => bar.update('restore', p),
    });
    bar.stop();
    if (!out.json) {
      out.log(
        `restored ${result.path} from replica "${result.replica}", generation ${result.generation}, ` +
          `snapshot ${formatIndex(result.snapshotIndex)}, WAL index ${formatIndex(result.index)} (${result.segments} segments, ${result.bytes} bytes)`,
      );
    }
    return result;
  } catch (err) {
    bar.stop();
    if (received) throw interruptedBy(received);
    if (flags['if-replica-exists'] && err instanceof NoBackupError) {
      out.logToStderr(`no matching backups found, skipping: ${err.message}`);
      return { skipped: 'no backups' };
    }
    throw err;
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    await targets.close();
  }
}

function interruptedBy(sig: NodeJS.Signals): UserError {
  return new UserError(
    `restore interrupted by ${sig}: nothing was written to the target, temp files removed`,
    {
      exitCode: 128 + (constants.signals[sig] ?? 0),
    },
  );
}
