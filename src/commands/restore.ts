import { Flags } from '@oclif/core';
import type { RestoreResult } from '../../runtime/restore.js';
import { BaseCommand } from '../base-command.js';
import { parallelismFlag, replicaFlags, targetArg } from '../replica-flags.js';
import { runRestore } from '../run/restore.js';

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
    return runRestore(args.target, flags, {
      log: (line) => this.log(line),
      logToStderr: (line) => this.logToStderr(line),
      json: this.jsonEnabled(),
      verbose: this.verbose,
    });
  }
}
