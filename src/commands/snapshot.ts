import { resolve } from 'node:path';
import { Args } from '@oclif/core';
import { loadConfig } from '../../runtime/config/index.js';
import { UserError } from '../../runtime/errors.js';
import { createLogger } from '../../runtime/log.js';
import { defaultMetaPath, LocalState } from '../../runtime/replicate/local-state.js';
import { takeSnapshot } from '../../runtime/replicate/snapshot.js';
import { BaseCommand } from '../base-command.js';
import { configFlags } from '../replica-flags.js';

export default class Snapshot extends BaseCommand {
  static override description = 'Take a snapshot of a database now, on every replica in the config.';
  static override examples = ['<%= config.bin %> snapshot -config /etc/litestream.yml /data/app.db'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ description: 'database path as listed in the config', required: true }),
  };
  static override flags = { ...configFlags };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Snapshot);
    const config = await loadConfig(flags.config, { expandEnv: !flags['no-expand-env'] });
    const path = resolve(args.db);
    const db = config.dbs.find((d) => d.path === path);
    if (!db) {
      throw new UserError(`database not found in config: ${path}`, {
        hint: `Configured: ${config.dbs.map((d) => d.path).join(', ') || 'none'}.`,
      });
    }
    if (db.replicas.length === 0) throw new UserError(`${path} has no replicas in the config`);
    // A running `replicate` owns the shadow WAL: ask it to snapshot instead of competing.
    const holder = await new LocalState(db.metaPath ?? defaultMetaPath(db.path)).lockHolder();
    if (holder !== undefined && holder !== process.pid) {
      process.kill(holder, 'SIGUSR1');
      this.log(`asked the running replicate process (pid ${holder}) to take a snapshot now`);
      return { delegatedTo: holder };
    }
    const logger = createLogger({ ...config.logging, level: this.verbose ? 'debug' : 'warn', stderr: true });
    const snapshots = await takeSnapshot(db, { logger });
    for (const s of snapshots) {
      this.log(
        `snapshot written: replica=${s.replica} generation=${s.generation} index=${s.index} size=${s.size}`,
      );
    }
    return { snapshots };
  }
}
