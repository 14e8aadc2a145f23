import { loadConfig } from '../../runtime/config/index.js';
import { type DatabaseRow, listDatabases } from '../../runtime/restore.js';
import { BaseCommand } from '../base-command.js';
import { configFlags, formatTable } from '../replica-flags.js';

export default class Databases extends BaseCommand {
  static override description = 'List the databases in the config and their replicas.';
  static override examples = ['<%= config.bin %> databases -config /etc/litestream.yml'];
  static override enableJsonFlag = true;
  static override flags = configFlags;

  async run(): Promise<DatabaseRow[]> {
    const { flags } = await this.parse(Databases);
    const config = await loadConfig(flags.config, { expandEnv: !flags['no-expand-env'] });
    const rows = listDatabases(config);
    if (!this.jsonEnabled()) {
      this.log(
        formatTable(
          ['path', 'replicas'],
          rows.map((r) => [r.path, r.replicas.join(',')]),
        ),
      );
    }
    return rows;
  }
}
