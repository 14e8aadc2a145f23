import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { removeMix } from '../generator/index.js';
import { formatRemove } from '../generator/report.js';
import { cleanText } from '../generator/text.js';

export default class Remove extends BaseCommand {
  static override description =
    'Remove a mix: delete the files it created that are unchanged since, put back files of yours it replaced or merged into, keep (and list) the ones you changed.';
  static override examples = ['<%= config.bin %> remove litestream-aws --dry-run'];
  static override enableJsonFlag = true;

  static override args = {
    mix: Args.string({ description: 'the mix to remove', required: true }),
  };

  static override flags = {
    dir: Flags.string({ description: 'project folder', default: '.' }),
    'dry-run': Flags.boolean({ description: 'show what would be deleted, delete nothing', default: false }),
    force: Flags.boolean({
      description:
        'remove files even if you changed them since (files that were yours are still never deleted)',
      default: false,
    }),
  };

  /** Errors quote project text (paths, names): never let its control characters reach the terminal. */
  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    err.message = cleanText(err.message);
    return super.catch(err);
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Remove);
    const result = await removeMix(flags.dir, args.mix, { dryRun: flags['dry-run'], force: flags.force });
    if (this.jsonEnabled()) return result;
    for (const line of formatRemove(result)) this.log(line);
    const kept = result.files.filter((f) => f.status === 'kept').length;
    this.log('');
    this.log(
      result.dryRun
        ? 'Dry run: nothing was deleted.'
        : `Removed ${args.mix}: deleted ${result.deleted.length} file(s)${result.restored.length ? `, restored ${result.restored.length} of yours` : ''}${kept ? `, kept ${kept}` : ''}.`,
    );
    return result;
  }
}
