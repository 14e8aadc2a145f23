import { Args, Flags } from '@oclif/core';
import { parseDuration } from '../../runtime/config/duration.js';
import { type Config, configFromArgs, loadConfig } from '../../runtime/config/index.js';
import { UserError } from '../../runtime/errors.js';
import { runReplicate } from '../../runtime/exec.js';
import { createLogger } from '../../runtime/log.js';
import { BaseCommand } from '../base-command.js';
import { configFlags } from '../replica-flags.js';

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
    const words = argv as string[];
    let config: Config;
    if (words.length > 0) {
      if (flags.config) throw new UserError('pass either -config or DB_PATH REPLICA_URL..., not both');
      const [db, ...urls] = words;
      if (urls.length === 0) {
        throw new UserError(`no replica URL given for ${db}`, {
          hint: 'Usage: ls-mix replicate DB_PATH REPLICA_URL... (e.g. s3://bucket/path, file:///backups/db)',
        });
      }
      config = configFromArgs(db, urls);
    } else {
      config = await loadConfig(flags.config, {
        expandEnv: !flags['no-expand-env'],
        warn: () => undefined, // logged below, through the configured logger
      });
    }
    const logger = createLogger(this.verbose ? { ...config.logging, level: 'debug' } : config.logging);
    let shutdownSyncTimeout: number | undefined;
    if (flags['shutdown-sync-timeout'] !== undefined) {
      shutdownSyncTimeout = parseDuration(flags['shutdown-sync-timeout']);
      if (shutdownSyncTimeout === undefined) {
        throw new UserError(`invalid -shutdown-sync-timeout "${flags['shutdown-sync-timeout']}"`, {
          hint: 'Use a Go duration such as 30s or 1m.',
        });
      }
    }
    for (const w of config.warnings ?? []) logger.warn(w);
    const code = await runReplicate({
      config,
      exec: flags.exec ?? config.exec,
      logger,
      resync: flags.resync,
      shutdownSyncTimeout,
    });
    process.exit(code);
  }
}
