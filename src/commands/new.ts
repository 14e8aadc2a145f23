import { Args, Flags } from '@oclif/core';
import { UserError } from '../../runtime/errors.js';
import { BaseCommand } from '../base-command.js';
import {
  DEFAULT_NEW_MIX,
  listBuiltinTemplates,
  mixPromptChoices,
  type ScaffoldResult,
  scaffoldProject,
  storageOfMix,
  TEMPLATE_ALIASES,
} from '../scaffold/index.js';

export default class New extends BaseCommand {
  static override summary = 'Create a new project from a starter template, with a Litestream mix applied.';

  static override description =
    `Copies a small starter project into a new folder, renames it (MyApp, my-app, myapp, my_app and My App become your name), applies the storage mix made for its kind of app (the same plan/apply as \`ls-mix add\`) and makes a first git commit.

Built-in templates: ${listBuiltinTemplates()
      .map((t) => t.name)
      .join(', ')} (aliases: ${Object.entries(TEMPLATE_ALIASES)
      .map(([a, t]) => `${a} -> ${t}`)
      .join(', ')}). --template also takes a git URL (URL#branch picks a branch or tag) or a local folder.`;

  static override examples = [
    '<%= config.bin %> new --template blazor MyApp',
    '<%= config.bin %> new --template node --mix litestream-sftp my-api',
    '<%= config.bin %> new --template https://github.com/acme/templates.git#main Shop --yes',
    '<%= config.bin %> new --template ../our-template Billing --no-git',
  ];

  static override enableJsonFlag = true;

  static override args = {
    name: Args.string({ description: 'Project name (letters, digits, spaces, - _ .).', required: true }),
  };

  static override flags = {
    template: Flags.string({
      char: 't',
      description: 'Built-in template or alias, git URL, or local folder.',
      required: true,
    }),
    mix: Flags.string({
      char: 'm',
      description: `Backup storage mix: litestream-aws, litestream-azure or litestream-sftp (asked on a terminal; ${DEFAULT_NEW_MIX} otherwise).`,
    }),
    yes: Flags.boolean({
      char: 'y',
      description: `Accept every default without asking (mix: ${DEFAULT_NEW_MIX}).`,
    }),
    output: Flags.string({ char: 'o', description: 'Folder to create (default: ./<name>).' }),
    force: Flags.boolean({ description: 'Write into a folder that is not empty.' }),
    git: Flags.boolean({ description: 'git init and make a first commit.', default: true, allowNo: true }),
  };

  async run(): Promise<ScaffoldResult> {
    const { args, flags } = await this.parse(New);
    const mix = flags.mix ?? (await this.askMix(flags.yes || this.jsonEnabled()));
    const result = await scaffoldProject({
      template: flags.template,
      name: args.name,
      storage: storageOfMix(mix),
      output: flags.output,
      force: flags.force,
      git: flags.git,
    });
    if (!this.jsonEnabled()) this.report(result);
    return result;
  }

  /** The prompt only appears on an interactive terminal; CI and --yes get the default. */
  private async askMix(acceptDefaults: boolean): Promise<string> {
    if (acceptDefaults || !process.stdin.isTTY || !process.stdout.isTTY) return DEFAULT_NEW_MIX;
    const { select } = await import('@inquirer/prompts');
    try {
      return await select({
        message: 'Where should the SQLite backups go?',
        choices: mixPromptChoices(),
        default: DEFAULT_NEW_MIX,
      });
    } catch (err) {
      // Ctrl+C at the prompt: nothing has been written yet.
      if ((err as Error).name === 'ExitPromptError') {
        throw new UserError('Cancelled: nothing was created.', { exitCode: 130 });
      }
      throw err;
    }
  }

  private report(r: ScaffoldResult): void {
    const written = r.mixFiles
      .filter((f) => f.status !== 'skip' && f.status !== 'identical')
      .map((f) => f.path);
    const kept = r.mixFiles.filter((f) => f.status === 'skip').map((f) => f.path);
    this.log(`Created ${r.names.title} in ${r.dir}`);
    const kind = r.template.source === r.variant ? '' : ` (${r.variant})`;
    this.log(`  template  ${r.template.source}${kind}: ${r.templateFiles.length} files`);
    this.log(`  mix       ${r.mix}: ${written.join(', ')}`);
    if (kept.length > 0) this.log(`            kept the template's own ${kept.join(', ')}`);
    this.log(`  app       port ${r.port}, SQLite db ${r.dbPath}`);
    if (r.git) {
      const who = r.git.usedFallbackIdentity
        ? ' (no git identity configured: set a local one for this repo)'
        : '';
      this.log(`  git       first commit ${r.git.commit} on main${who}`);
    }
    for (const n of r.notes) this.log(`  note      ${n}`);
    for (const w of r.warnings) this.warn(w);
    this.log('\nNext steps:');
    for (const line of r.nextSteps) this.log(`  ${line}`);
    this.log('\nSecrets the release workflow needs (GitHub: Settings > Secrets and variables > Actions):');
    const width = Math.max(...r.secrets.map((s) => s.name.length));
    for (const s of r.secrets)
      this.log(`  ${s.name.padEnd(width)}  ${s.description}${s.optional ? ' (optional)' : ''}`);
    this.log('\nor with the GitHub CLI, from the project folder:');
    for (const line of r.secretCommands) this.log(`  ${line}`);
    this.log(
      '\nThen push to GitHub: the release workflow builds the image and deploys it with a Litestream sidecar.',
    );
  }
}
