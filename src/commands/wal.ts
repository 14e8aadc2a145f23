import { Flags } from '@oclif/core';
import { formatIndex, formatObjectTime, listWalSegments, type WalRow } from '../../runtime/restore.js';
import { BaseCommand } from '../base-command.js';
import { listReplicaRows, replicaFlags, targetArg } from '../replica-flags.js';

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
    return listReplicaRows({
      target: args.target,
      flags,
      list: (replicas) => listWalSegments(replicas, flags.generation),
      headers: ['replica', 'generation', 'index', 'offset', 'size', 'created'],
      toCells: (r) => [
        r.replica,
        r.generation,
        formatIndex(r.index),
        formatIndex(r.offset),
        String(r.size),
        formatObjectTime(r.createdAt),
      ],
      print: this.jsonEnabled() ? undefined : (text) => this.log(text),
    });
  }
}
