import { formatLag, formatObjectTime, type GenerationRow, listGenerations } from '../../runtime/restore.js';
import { BaseCommand } from '../base-command.js';
import { listReplicaRows, replicaFlags, targetArg } from '../replica-flags.js';

export default class Generations extends BaseCommand {
  static override description =
    'List the generations of a database on its replicas, with their time span and lag.';
  static override examples = [
    '<%= config.bin %> generations -config /etc/litestream.yml /data/app.db',
    '<%= config.bin %> generations file:///backups/app --json',
  ];
  static override enableJsonFlag = true;
  static override args = targetArg;
  static override flags = replicaFlags;

  async run(): Promise<GenerationRow[]> {
    const { args, flags } = await this.parse(Generations);
    return listReplicaRows({
      target: args.target,
      flags,
      list: (replicas) => listGenerations(replicas),
      headers: ['replica', 'generation', 'lag', 'start', 'end'],
      toCells: (r) => [
        r.replica,
        r.generation,
        formatLag(r.lagMs),
        formatObjectTime(r.createdAt),
        formatObjectTime(r.updatedAt),
      ],
      print: this.jsonEnabled() ? undefined : (text) => this.log(text),
    });
  }
}
