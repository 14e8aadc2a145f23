import { Args, Flags } from '@oclif/core';
import { UserError } from '../../runtime/errors.js';
import { BaseCommand } from '../base-command.js';
import { applyPlan, planMixes } from '../generator/index.js';
import { resolveConflictsInteractively } from '../generator/prompt.js';
import {
  fileDiff,
  formatFacts,
  formatFiles,
  formatSecrets,
  planJson,
  workflowWritten,
} from '../generator/report.js';
import { cleanText } from '../generator/text.js';

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
    branch: Flags.string({
      description: 'branch whose pushes run the release workflow (default: the git default branch)',
    }),
    'replica-path': Flags.string({
      description:
        "the replica's path in the storage (default: <app>/<db file>, or the one a ServiceStack mix's compose file uses)",
    }),
    sidecar: Flags.string({
      description:
        'replication sidecar: ls-mix (default; /healthz health) or litestream (the Go litestream/litestream:0.3.13 image)',
      options: ['ls-mix', 'litestream'],
    }),
    service: Flags.string({
      description:
        'the app service in a docker-compose.yml of yours (default: app, or the one service with build:)',
    }),
    'proxy-network': Flags.string({
      description:
        "the external docker network nginx-proxy routes on (default: nginx, as ServiceStack's hosts); none: no proxy",
      exclusive: ['no-proxy'],
    }),
    'no-proxy': Flags.boolean({
      description: 'no reverse proxy: the app publishes host port 80 itself (same as --proxy-network none)',
      exclusive: ['proxy-network'],
    }),
    'host-port': Flags.string({
      description:
        'publish the app on this host port, e.g. 8080 or 127.0.0.1:8080 (default: none behind the proxy, 80 without)',
    }),
    force: Flags.boolean({
      description:
        'replace your conflicting files and Dockerfile (a copy is kept under .ls-mix/backup/ and `remove` puts it back)',
      exclusive: ['skip'],
    }),
    skip: Flags.boolean({ description: 'keep your version of conflicting files', exclusive: ['force'] }),
    yes: Flags.boolean({
      description:
        'never prompt: write what is new or ours, keep every file of yours (only --force replaces)',
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
    const { argv, flags } = await this.parse(Add);
    const json = this.jsonEnabled();
    let plan = await planMixes({
      dir: flags.dir,
      mixes: argv as string[],
      force: flags.force,
      overrides: {
        name: flags.name,
        variant: flags.variant,
        port: flags.port,
        dbPath: flags['db-path'],
        packageManager: flags['package-manager'],
        nodeVersion: flags['node-version'],
        dotnetVersion: flags['dotnet-version'],
        branch: flags.branch,
        service: flags.service,
        app: flags.app,
        proxyNetwork: flags['no-proxy'] ? 'none' : flags['proxy-network'],
        hostPort: flags['host-port'],
        replicaPath: flags['replica-path'],
        sidecar: flags.sidecar,
      },
    });
    if (!json) {
      this.log(cleanText(`${plan.mixes.join(', ')} -> ${plan.dir}`));
      for (const line of formatFacts(plan)) this.log(line);
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
    const options = { force: flags.force, skip: flags.skip, yes: flags.yes, dryRun: flags['dry-run'] };
    let result: Awaited<ReturnType<typeof applyPlan>>;
    try {
      result = await applyPlan(plan, options);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      if (json) {
        // A JSON result on a conflict too: what each file would be, and what settles it.
        const failed = await applyPlan(plan, { ...options, dryRun: true });
        process.exitCode = err.exitCode;
        return planJson(
          plan,
          { ...failed, dryRun: Boolean(flags['dry-run']) },
          { message: err.message, hint: err.hint },
        );
      }
      // Show what the conflicts are before the error explains how to settle them.
      for (const line of formatFiles(plan.files)) this.log(line);
      throw err;
    }
    if (json) return planJson(plan, result);

    for (const line of formatFiles(result.files)) this.log(line);
    for (const p of result.deleted)
      this.log(`  ${(result.dryRun ? 'delete' : 'deleted').padEnd(10)} ${p}  (an older ls-mix's tarball)`);
    if (flags.diff) {
      for (const f of plan.files) if (f.content !== f.existing) this.log(`\n${fileDiff(f)}`);
    }
    for (const note of plan.notes) this.log(`\nNote: ${note}`);
    this.log('');
    const conflicts = result.files.filter((f) => f.status === 'conflict').length;
    if (result.dryRun) {
      this.log('Dry run: nothing was written.');
      if (conflicts)
        this.log(
          `${conflicts} file(s) conflict: a real run needs --force (replaces them, keeping a copy), --skip or a terminal to decide.`,
        );
    } else if (result.written.length === 0) this.log('Everything is up to date: nothing to write.');
    else {
      const files = result.written.filter((p) => p !== result.manifest).length;
      this.log(
        `Wrote ${files} file(s)${result.written.includes(result.manifest) ? ` and ${result.manifest}` : ''}.`,
      );
    }
    if (result.backups.length)
      this.log(
        `${result.dryRun ? 'Would keep' : 'Kept'} a copy of each file replaced: ${result.backups.join(', ')}.`,
      );
    this.log('');
    if (workflowWritten(result.files)) for (const line of formatSecrets(plan)) this.log(line);
    else this.log('The release workflow was not written (yours is kept): no GitHub secrets to set for it.');
    return planJson(plan, result);
  }
}
