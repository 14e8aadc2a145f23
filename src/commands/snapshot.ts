import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { loadConfig, parseDuration } from '../../runtime/config/index.js';
import { UserError } from '../../runtime/errors.js';
import { createLogger } from '../../runtime/log.js';
import { delegateSnapshot } from '../../runtime/replicate/delegate-snapshot.js';
import { defaultMetaPath, LocalState } from '../../runtime/replicate/local-state.js';
import { isReplicateProcess } from '../../runtime/replicate/lock-holder.js';
import { takeSnapshot } from '../../runtime/replicate/snapshot.js';
import { BaseCommand } from '../base-command.js';
import { byteProgress } from '../progress.js';
import { configFlags } from '../replica-flags.js';

export default class Snapshot extends BaseCommand {
  static override description =
    'Take a snapshot of a database now, on every replica in the config (through the running replicate process, if there is one).';
  static override examples = ['<%= config.bin %> snapshot -config /etc/litestream.yml /data/app.db'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ description: 'database path as listed in the config', required: true }),
  };
  static override flags = {
    ...configFlags,
    timeout: Flags.string({
      description: 'with a running replicate process: how long to wait for its snapshot (Go duration)',
      default: '60s',
      helpValue: 'DURATION',
    }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Snapshot);
    const timeoutMs = parseDuration(flags.timeout);
    if (timeoutMs === undefined || timeoutMs <= 0)
      throw new UserError(`invalid -timeout "${flags.timeout}"`, {
        hint: 'Use a Go duration such as 30s or 2m.',
      });
    const config = await loadConfig(flags.config, { expandEnv: !flags['no-expand-env'] });
    const path = resolve(args.db);
    const db = config.dbs.find((d) => d.path === path);
    if (!db) {
      throw new UserError(`database not found in config: ${path}`, {
        hint: `Configured: ${config.dbs.map((d) => d.path).join(', ') || 'none'}.`,
      });
    }
    if (db.replicas.length === 0) throw new UserError(`${path} has no replicas in the config`);
    const logger = createLogger({ ...config.logging, level: this.verbose ? 'debug' : 'warn', stderr: true });
    // A running `replicate` owns the shadow WAL: ask it to snapshot instead of competing. Its
    // lock is verified (PID + start time) first: a stale lock's recycled PID is never signalled.
    const holder = await new LocalState(db.metaPath ?? defaultMetaPath(db.path)).lockHolder();
    const delegated = holder !== undefined && holder.pid !== process.pid;
    if (delegated && !isReplicateProcess(holder.pid)) {
      throw new UserError(
        `${path} is locked by process ${holder.pid}, which is not an ls-mix replicate process`,
        {
          hint: 'It may be an app replicating through the library, or another ls-mix snapshot: wait for it, or take the snapshot from that process.',
        },
      );
    }
    if (delegated && !this.jsonEnabled())
      this.logToStderr(`asking the running replicate process (pid ${holder.pid}) to take a snapshot`);
    // A bar with MB, rate and ETA on a terminal when this process reads the db itself (a
    // delegated snapshot is taken, and logged, by the replicate process).
    const bar = byteProgress(process.stderr.isTTY === true && !this.jsonEnabled() && !delegated);
    let snapshots: Awaited<ReturnType<typeof takeSnapshot>>;
    try {
      snapshots = delegated
        ? await delegateSnapshot(db, holder, { timeoutMs, logger })
        : await takeSnapshot(db, {
            logger,
            onProgress: (replica, bytesDone, bytesTotal) =>
              bar.update(`snapshot ${replica}`, { phase: 'upload', bytesDone, bytesTotal }),
          });
    } finally {
      bar.stop();
    }
    for (const s of snapshots) {
      this.log(
        `snapshot written: replica=${s.replica} generation=${s.generation} index=${s.index.toString(16).padStart(8, '0')} size=${s.size}`,
      );
    }
    return delegated ? { delegatedTo: holder.pid, snapshots } : { snapshots };
  }
}
