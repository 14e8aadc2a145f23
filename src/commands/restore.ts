import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { Flags } from '@oclif/core';
import { UserError } from '../../runtime/errors.js';
import { createLogger } from '../../runtime/log.js';
import { isReplicaUrl } from '../../runtime/replica/url.js';
import {
  formatIndex,
  type IntegrityLevel,
  NoBackupError,
  openReplicaTargets,
  parseIndex,
  type RestoreResult,
  restoreDatabase,
} from '../../runtime/restore.js';
import { BaseCommand } from '../base-command.js';
import { byteProgress } from '../progress.js';
import { parallelismFlag, replicaFlags, targetArg } from '../replica-flags.js';

export default class Restore extends BaseCommand {
  static override description =
    'Restore a database from its replicas (the newest data across them), or from one replica URL.';
  static override examples = [
    '<%= config.bin %> restore -config /etc/litestream.yml /data/app.db',
    '<%= config.bin %> restore -o /tmp/app.db -timestamp 2026-11-22T01:59:05Z /data/app.db',
    '<%= config.bin %> restore -o /tmp/app.db s3://my-bucket/app',
    '<%= config.bin %> restore -if-db-not-exists -if-replica-exists /data/app.db',
  ];
  static override enableJsonFlag = true;
  static override args = targetArg;
  static override flags = {
    ...replicaFlags,
    output: Flags.string({
      char: 'o',
      description: 'output path (default: the database path)',
      helpValue: 'PATH',
    }),
    generation: Flags.string({ description: 'restore from this generation', helpValue: 'GEN' }),
    index: Flags.string({
      description:
        'restore up to and including this WAL index, in hexadecimal as Litestream reads it (a = 10, 10 = 16)',
      helpValue: 'HEX',
    }),
    timestamp: Flags.string({
      description: 'restore to the state at this time (RFC 3339, object times)',
      helpValue: 'TIME',
    }),
    parallelism: parallelismFlag,
    integrity: Flags.string({
      description:
        'check of the restored database before it is placed: quick (PRAGMA quick_check), full (integrity_check: also every index entry against its row; slower), none (as Litestream)',
      options: ['quick', 'full', 'none'],
      default: 'quick',
      helpValue: 'LEVEL',
    }),
    'if-db-not-exists': Flags.boolean({ description: 'exit 0 without restoring when the database exists' }),
    'if-replica-exists': Flags.boolean({
      description: 'exit 0 without restoring when no replica has a backup',
    }),
  };

  async run(): Promise<RestoreResult | { skipped: string }> {
    const { args, flags } = await this.parse(Restore);
    const fromUrl = isReplicaUrl(args.target);
    const output = flags.output ?? (fromUrl ? undefined : args.target);
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
      this.logToStderr(`database already exists, skipping: ${output}`);
      return { skipped: 'database exists' };
    }

    const logger = createLogger({ level: this.verbose ? 'debug' : 'warn', stderr: true });
    const targets = await openReplicaTargets({
      target: args.target,
      configPath: flags.config,
      replicaName: flags.replica,
      expandEnv: !flags['no-expand-env'],
      logger,
    });
    const bar = byteProgress(process.stderr.isTTY === true && !this.jsonEnabled());
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
      if (!this.jsonEnabled()) {
        this.log(
          `restored ${result.path} from replica "${result.replica}", generation ${result.generation}, ` +
            `snapshot ${formatIndex(result.snapshotIndex)}, WAL index ${formatIndex(result.index)} (${result.segments} segments, ${result.bytes} bytes)`,
        );
      }
      return result;
    } catch (err) {
      bar.stop();
      if (received) throw interruptedBy(received);
      if (flags['if-replica-exists'] && err instanceof NoBackupError) {
        this.logToStderr(`no matching backups found, skipping: ${err.message}`);
        return { skipped: 'no backups' };
      }
      throw err;
    } finally {
      for (const sig of signals) process.off(sig, onSignal);
      await targets.close();
    }
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
