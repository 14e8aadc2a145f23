import {
  formatLag,
  formatObjectTime,
  type GenerationRow,
  listGenerations,
  openReplicaTargets,
} from '../../runtime/restore.js';
import { BaseCommand } from '../base-command.js';
import { formatTable, replicaFlags, targetArg } from '../replica-flags.js';

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
    const targets = await openReplicaTargets({
      target: args.target,
      configPath: flags.config,
      replicaName: flags.replica,
      expandEnv: !flags['no-expand-env'],
    });
    try {
      const rows = await listGenerations(targets.replicas);
      if (!this.jsonEnabled()) {
        this.log(
          formatTable(
            ['replica', 'generation', 'lag', 'start', 'end'],
            rows.map((r) => [
              r.replica,
              r.generation,
              formatLag(r.lagMs),
              formatObjectTime(r.start),
              formatObjectTime(r.end),
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
