import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { configFlags } from '../replica-flags.js';
import { replicateCommand } from '../run/replicate.js';

export default class Replicate extends BaseCommand {
  static override description =
    'Continuously replicate SQLite databases to their replicas (Litestream v0.3.13 compatible).';
  static override examples = [
    '<%= config.bin %> replicate -config /etc/litestream.yml',
    '<%= config.bin %> replicate -exec "node server.js"',
    '<%= config.bin %> replicate /data/app.db s3://my-bucket/app file:///backups/app',
  ];
  static override strict = false;
  static override args = {
    db: Args.string({ description: 'database path (then one or more replica URLs)', required: false }),
  };
  static override flags = {
    ...configFlags,
    exec: Flags.string({
      description: 'run this command as a child process; replicate until it exits, then exit with its code',
      helpValue: 'CMD',
    }),
    'shutdown-sync-timeout': Flags.string({
      description:
        'how long the final sync on SIGTERM/SIGINT may take before exiting non-zero (Go duration; default 30s)',
      helpValue: 'DURATION',
    }),
    resync: Flags.boolean({
      description:
        'live replicas (dbs with upstream): if the local copy was changed, discard it and copy the primary again',
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Replicate);
    await replicateCommand(argv as string[], flags, this.verbose);
  }
}
