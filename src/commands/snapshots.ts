import { Flags } from '@oclif/core';
import {
  formatObjectTime,
  listSnapshots,
  openReplicaTargets,
  type SnapshotRow,
} from '../../runtime/restore.js';
import { BaseCommand } from '../base-command.js';
import { formatTable, replicaFlags, targetArg } from '../replica-flags.js';

export default class Snapshots extends BaseCommand {
  static override description = 'List the snapshots of a database on its replicas.';
  static override examples = ['<%= config.bin %> snapshots -config /etc/litestream.yml /data/app.db'];
  static override enableJsonFlag = true;
  static override args = targetArg;
  static override flags = {
    ...replicaFlags,
    generation: Flags.string({ description: 'only this generation', helpValue: 'GEN' }),
  };

  async run(): Promise<SnapshotRow[]> {
    const { args, flags } = await this.parse(Snapshots);
    const targets = await openReplicaTargets({
      target: args.target,
      configPath: flags.config,
      replicaName: flags.replica,
      expandEnv: !flags['no-expand-env'],
    });
    try {
      const rows = await listSnapshots(targets.replicas, flags.generation);
      if (!this.jsonEnabled()) {
        this.log(
          formatTable(
            ['replica', 'generation', 'index', 'size', 'created'],
            rows.map((r) => [
              r.replica,
              r.generation,
              String(r.index),
              String(r.size),
              formatObjectTime(r.created),
            ]),
          ),
        );
      }
      return rows;
    } finally {
      await targets.close();
    }
  }
}
