import { Flags } from '@oclif/core';
import { formatIndex, formatObjectTime, listSnapshots, type SnapshotRow } from '../../runtime/restore.js';
import { BaseCommand } from '../base-command.js';
import { listReplicaRows, replicaFlags, targetArg } from '../replica-flags.js';

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
    return listReplicaRows({
      target: args.target,
      flags,
      list: (replicas) => listSnapshots(replicas, flags.generation),
      headers: ['replica', 'generation', 'index', 'size', 'created'],
      toCells: (r) => [
        r.replica,
        r.generation,
        formatIndex(r.index),
        String(r.size),
        formatObjectTime(r.createdAt),
      ],
      print: this.jsonEnabled() ? undefined : (text) => this.log(text),
    });
  }
}
