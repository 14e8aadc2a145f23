import { Flags } from '@oclif/core';
import { formatObjectTime, listWalSegments, openReplicaTargets, type WalRow } from '../../runtime/restore.js';
import { BaseCommand } from '../base-command.js';
import { formatTable, replicaFlags, targetArg } from '../replica-flags.js';

export default class Wal extends BaseCommand {
  static override description = 'List the WAL segments of a database on its replicas.';
  static override examples = [
    '<%= config.bin %> wal -config /etc/litestream.yml /data/app.db',
    '<%= config.bin %> wal -generation 63117748c68cfd7a file:///backups/app',
  ];
  static override enableJsonFlag = true;
  static override args = targetArg;
  static override flags = {
    ...replicaFlags,
    generation: Flags.string({ description: 'only this generation', helpValue: 'GEN' }),
  };

  async run(): Promise<WalRow[]> {
    const { args, flags } = await this.parse(Wal);
    const targets = await openReplicaTargets({
      target: args.target,
      configPath: flags.config,
      replicaName: flags.replica,
      expandEnv: !flags['no-expand-env'],
    });
    try {
      const rows = await listWalSegments(targets.replicas, flags.generation);
      if (!this.jsonEnabled()) {
        this.log(
          formatTable(
            ['replica', 'generation', 'index', 'offset', 'size', 'created'],
            rows.map((r) => [
              r.replica,
              r.generation,
              String(r.index),
              String(r.offset),
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
