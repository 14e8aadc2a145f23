import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { loadCatalog } from '../generator/index.js';

export default class List extends BaseCommand {
  static override description = 'List the mixes `ls-mix add` can apply.';
  static override examples = ['<%= config.bin %> list', '<%= config.bin %> list --tag azure --json'];
  static override enableJsonFlag = true;

  static override flags = {
    tag: Flags.string({ description: 'only mixes with this tag (or storage / variant)' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(List);
    const tag = flags.tag?.toLowerCase();
    const mixes = (await loadCatalog())
      .filter(
        (m) => !tag || m.tags.includes(tag) || m.storage === tag || (m.variants as string[]).includes(tag),
      )
      .map(({ name, summary, storage, variants, tags }) => ({ name, summary, storage, variants, tags }));
    if (this.jsonEnabled()) return mixes;
    if (mixes.length === 0) {
      this.log(`No mix has the tag '${flags.tag}'.`);
      return mixes;
    }
    const width = Math.max(...mixes.map((m) => m.name.length));
    for (const m of mixes) {
      this.log(`${m.name.padEnd(width)}  ${m.summary}`);
      this.log(
        `${''.padEnd(width)}  storage: ${m.storage}; variants: ${m.variants.join(', ')}; tags: ${m.tags.join(', ')}`,
      );
    }
    return mixes;
  }
}
