/**
 * The body of `ls-mix replicate`, shared by the oclif command and the direct entry (direct.ts).
 * Exits the process with the code of the run (or of the -exec child).
 */
import { parseDuration } from '../../runtime/config/duration.js';
import { type Config, configFromArgs, loadConfig } from '../../runtime/config/index.js';
import { UserError } from '../../runtime/errors.js';
import { runReplicate } from '../../runtime/exec.js';
import { createLogger } from '../../runtime/log.js';

export interface ReplicateFlags {
  config?: string;
  'no-expand-env': boolean;
  exec?: string;
  'shutdown-sync-timeout'?: string;
  resync?: boolean;
}

/** `words`: DB_PATH REPLICA_URL... (or none, with -config). */
export async function replicateCommand(
  words: string[],
  flags: ReplicateFlags,
  verbose: boolean,
): Promise<never> {
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
  const logger = createLogger(verbose ? { ...config.logging, level: 'debug' } : config.logging);
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
