import { readFileSync } from 'node:fs';
import { BaseCommand } from '../base-command.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export default class Version extends BaseCommand {
  static override description = 'Print the ls-mix version.';

  async run(): Promise<void> {
    await this.parse(Version);
    this.log(pkg.version);
  }
}
