import { Args, Flags } from '@oclif/core';
import { UserError } from '../../runtime/errors.js';
import { BaseCommand } from '../base-command.js';
import { applyPlan, planMixes } from '../generator/index.js';
import { resolveConflictsInteractively } from '../generator/prompt.js';
import { fileDiff, formatFacts, formatFiles, formatSecrets, planJson } from '../generator/report.js';

export default class Add extends BaseCommand {
  static override description =
    'Add a mix to the app in --dir: litestream.yml, Dockerfile, .deploy/ (compose + replication sidecar) and a GitHub release workflow.';

  static override examples = [
    '<%= config.bin %> add litestream-aws',
    '<%= config.bin %> add jamstack-litestream-azure --dry-run --diff',
    '<%= config.bin %> add litestream-sftp --dir ../my-app --db-path data/app.db --port 8080 --yes',
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    mix: Args.string({ description: 'mix name(s), see `ls-mix list`', required: true }),
  };

  static override flags = {
    dir: Flags.string({ description: 'project folder', default: '.' }),
    name: Flags.string({ description: 'project name (default: csproj / package.json / folder name)' }),
    variant: Flags.string({
      description:
        'app variant: web, node, blazor-server, blazor-wasm, blazor-tailwind, vue-ssg, vue-vite, nextjs',
    }),
    port: Flags.integer({ description: 'port the app listens on in its container' }),
    'db-path': Flags.string({
      description: 'SQLite db path, as the app opens it (relative to the app folder)',
    }),
    app: Flags.string({
      description: 'monorepo: the workspace package folder to deploy (default: the one that opens SQLite)',
    }),
    'package-manager': Flags.string({ description: 'npm, yarn or pnpm (default: from the lockfile)' }),
    'node-version': Flags.string({
      description:
        "Node major version for the Dockerfile, e.g. 24 (default: the project's, else the newest LTS line)",
    }),
    'dotnet-version': Flags.string({ description: '.NET version for the Dockerfile, e.g. 8.0' }),
    'dry-run': Flags.boolean({ description: 'show the plan, write nothing', default: false }),
    diff: Flags.boolean({ description: 'show unified diffs of the changes', default: false }),
    force: Flags.boolean({
      description: 'overwrite conflicting files (and an existing Dockerfile)',
      exclusive: ['skip'],
    }),
    skip: Flags.boolean({ description: 'keep your version of conflicting files', exclusive: ['force'] }),
    yes: Flags.boolean({
      description: 'answer yes to every overwrite question (never prompts)',
      default: false,
    }),
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Add);
    const json = this.jsonEnabled();
    if (flags.yes && flags.skip)
      throw new UserError('--yes and --skip contradict each other', { hint: 'Pass one of them.' });
    let plan = await planMixes({
      dir: flags.dir,
      mixes: argv as string[],
      overrides: {
        name: flags.name,
        variant: flags.variant,
        port: flags.port,
        dbPath: flags['db-path'],
        packageManager: flags['package-manager'],
        nodeVersion: flags['node-version'],
        dotnetVersion: flags['dotnet-version'],
        app: flags.app,
      },
    });
    if (!json) {
      this.log(`${plan.mixes.join(', ')} -> ${plan.dir}`);
      for (const line of formatFacts(plan.facts)) this.log(line);
      this.log('');
    }
    const interactive =
      !json &&
      !flags['dry-run'] &&
      !flags.force &&
      !flags.skip &&
      !flags.yes &&
      process.stdin.isTTY &&
      process.stdout.isTTY;
    if (interactive && plan.files.some((f) => f.status === 'conflict')) {
      plan = await resolveConflictsInteractively(plan, (s) => this.log(s));
    }
    const result = await applyPlan(plan, {
      force: flags.force || flags.yes,
      skip: flags.skip,
      dryRun: flags['dry-run'],
    }).catch((err) => {
      // Show what the conflicts are before the error explains how to settle them.
      if (!json) for (const line of formatFiles(plan.files)) this.log(line);
      throw err;
    });
    if (json) return planJson(plan, result);

    for (const line of formatFiles(result.files)) this.log(line);
    if (flags.diff) {
      for (const f of plan.files) if (f.content !== f.existing) this.log(`\n${fileDiff(f)}`);
    }
    for (const note of plan.notes) this.log(`\nNote: ${note}`);
    this.log('');
    if (result.dryRun) this.log('Dry run: nothing was written.');
    else if (result.written.length === 0) this.log('Everything is up to date: nothing to write.');
    else {
      const files = result.written.filter((p) => p !== result.manifest).length;
      this.log(
        `Wrote ${files} file(s)${result.written.includes(result.manifest) ? ` and ${result.manifest}` : ''}.`,
      );
    }
    this.log('');
    for (const line of formatSecrets(plan)) this.log(line);
    return planJson(plan, result);
  }
}
