import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BARE_GIT_ENV, git, runCli, TEAM_TEMPLATE, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());
beforeAll(() => assertBuilt());

const read = (...p: string[]) => readFileSync(join(...p), 'utf8');
const gitOut = async (cwd: string, ...args: string[]) => (await execa('git', args, { cwd })).stdout.trim();

describe('ls-mix new (built binary)', () => {
  it('creates a renamed, committed project with the default mix and prints the next steps', async () => {
    const cwd = dirs.make();
    const r = await runCli(['new', '--template', 'node', 'MyShop'], { cwd });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const app = join(cwd, 'MyShop');
    expect(r.stdout).toContain(`Created My Shop in ${app}`);
    expect(r.stdout).toContain('mix       litestream-aws: ');
    expect(r.stdout).toMatch(/Next steps:\n {2}cd MyShop\n {2}npm install\n {2}npm start\n {2}npm test\n/);
    expect(r.stdout).toContain('AWS_SECRET_ACCESS_KEY');
    expect(r.stdout).toContain('gh secret set DEPLOY_KEY < ~/.ssh/id_ed25519');

    expect(JSON.parse(read(app, 'package.json')).name).toBe('my-shop');
    expect(existsSync(join(app, '.gitignore'))).toBe(true);
    expect(existsSync(join(app, '_gitignore'))).toBe(false);
    expect(existsSync(join(app, 'ls-mix-template.yml'))).toBe(false);
    expect(JSON.parse(read(app, '.ls-mix.json')).mixes).toEqual(['litestream-aws']);
    expect(read(app, 'litestream.yml')).toContain('path: /data/app.db');

    // One commit holding everything, the mix's files included.
    expect(await gitOut(app, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(await gitOut(app, 'status', '--porcelain')).toBe('');
    expect(await gitOut(app, 'branch', '--show-current')).toBe('main');
    const tracked = (await gitOut(app, 'ls-files')).split('\n');
    expect(tracked).toEqual(
      expect.arrayContaining(['litestream.yml', 'Dockerfile', '.github/workflows/release.yml']),
    );
    expect(await gitOut(app, 'log', '-1', '--format=%s')).toBe(
      'New project from the node template, with the litestream-aws mix (ls-mix new)',
    );
  });

  it('takes an alias, --mix and --no-git; a name with spaces gets a PascalCase folder', async () => {
    const cwd = dirs.make();
    const r = await runCli(['new', '-t', 'blazor', 'Acme Shop', '--mix', 'litestream-sftp', '--no-git'], {
      cwd,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const app = join(cwd, 'AcmeShop');
    expect(existsSync(join(app, '.git'))).toBe(false);
    expect(existsSync(join(app, 'AcmeShop.csproj'))).toBe(true);
    expect(JSON.parse(read(app, '.ls-mix.json')).mixes).toEqual(['blazor-litestream-sftp']);
    expect(read(app, 'Dockerfile')).toContain('ENTRYPOINT ["dotnet", "AcmeShop.dll"]');
    expect(r.stdout).toContain('SFTP_PASSWORD');
    expect(r.stdout).not.toContain('AWS_S3_BUCKET');
  });

  it('--output chooses the folder; --json prints the result', async () => {
    const cwd = dirs.make();
    const r = await runCli(['new', '-t', 'vue', 'shop', '-o', 'apps/web', '--yes', '--json'], { cwd });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      dir: join(cwd, 'apps/web'),
      variant: 'vue-vite',
      mix: 'jamstack-litestream-aws',
      port: 3000,
      dbPath: 'data/app.db',
      template: { kind: 'builtin', source: 'vue-vite' },
    });
    expect(result.git.commit).toMatch(/^[0-9a-f]{7,}$/);
    expect(result.nextSteps[0]).toBe('cd apps/web');
  });

  it('commits with a local fallback identity when git has none configured (fresh CI machine)', async () => {
    const cwd = dirs.make();
    const home = dirs.make('ls-mix-home-');
    const r = await runCli(['new', '-t', 'node', 'ci-app', '--yes'], {
      cwd,
      env: { ...BARE_GIT_ENV, HOME: home },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('no git identity configured');
    const app = join(cwd, 'ci-app');
    expect(await gitOut(app, 'log', '-1', '--format=%an <%ae>')).toBe(
      'ls-mix <ls-mix@users.noreply.localhost>',
    );
    expect(await gitOut(app, 'config', '--local', 'user.name')).toBe('ls-mix');
  });

  it('refuses a non-empty target folder and leaves it as it was; --force writes into it', async () => {
    const cwd = dirs.make();
    mkdirSync(join(cwd, 'MyApp'));
    writeFileSync(join(cwd, 'MyApp/keep.txt'), 'mine');
    const r = await runCli(['new', '-t', 'node', 'MyApp'], { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Error: Target folder ${join(cwd, 'MyApp')} is not empty (keep.txt)`);
    expect(r.stderr).toContain('--force');
    expect(readdirSync(join(cwd, 'MyApp'))).toEqual(['keep.txt']);

    const forced = await runCli(['new', '-t', 'node', 'MyApp', '--force', '--no-git'], { cwd });
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(read(cwd, 'MyApp/keep.txt')).toBe('mine');
    expect(existsSync(join(cwd, 'MyApp/server/index.js'))).toBe(true);
  });

  it('does not commit into a folder that already is a git repository (--force)', async () => {
    const cwd = dirs.make();
    const app = join(cwd, 'Existing');
    mkdirSync(app);
    await git(app, 'init', '-q');
    writeFileSync(join(app, 'notes.txt'), 'mine');
    const r = await runCli(['new', '-t', 'node', 'Existing', '--force'], { cwd });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('is already a git repository: nothing was committed');
    expect((await execa('git', ['rev-parse', 'HEAD'], { cwd: app, reject: false })).exitCode).not.toBe(0);
    expect(await gitOut(app, 'status', '--porcelain')).toContain('?? server/');
  });

  it('without git on PATH: one clear error, and the new folder is removed again', async () => {
    const cwd = dirs.make();
    const bin = dirs.make('ls-mix-bin-');
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = await runCli(['new', '-t', 'node', 'NoGit'], { cwd, env: { PATH: bin } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      'Error: git is not installed (or not on PATH)\nHint: Install git, or run again with --no-git.',
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('rejects a bad name with the rule it broke, creating nothing', async () => {
    const cwd = dirs.make();
    // Every rule is covered in names.test.ts; here, that the CLI reports them as one clear line.
    const cases: [string, RegExp][] = [
      ['   ', /is empty/],
      ['apps/shop', /path separator/],
      ['express', /template's own dependencies/],
    ];
    for (const [name, rule] of cases) {
      const r = await runCli(['new', '-t', 'node', name], { cwd });
      expect(r.exitCode, name).toBe(1);
      expect(r.stderr, name).toMatch(
        new RegExp(`^Error: Invalid project name "${name.replace(/[/]/g, '\\/')}": `),
      );
      expect(r.stderr, name).toMatch(rule);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('names the closest template or mix for a typo', async () => {
    const cwd = dirs.make();
    const t = await runCli(['new', '-t', 'blazr', 'App'], { cwd });
    expect(t.exitCode).toBe(1);
    expect(t.stderr).toContain('Error: Unknown template "blazr". Did you mean "blazor"?');
    expect(t.stderr).toContain(
      'Hint: Built-in templates: blazor-server, blazor-tailwind, blazor-wasm, nextjs, node',
    );
    const m = await runCli(['new', '-t', 'node', 'App', '--mix', 'litestream-gcs'], { cwd });
    expect(m.exitCode).toBe(1);
    expect(m.stderr).toContain('Unknown mix "litestream-gcs"');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('uses a local template folder: renames it, detects its facts, keeps its own Dockerfile', async () => {
    const cwd = dirs.make();
    const template = join(dirs.make(), 'team');
    cpSync(TEAM_TEMPLATE, template, { recursive: true });
    mkdirSync(join(template, 'node_modules/left-over'), { recursive: true });
    writeFileSync(join(template, 'node_modules/left-over/index.js'), '');
    const r = await runCli(['new', '-t', template, 'Acme Shop', '--mix', 'litestream-azure'], { cwd });
    expect(r.exitCode, r.stderr).toBe(0);
    const app = join(cwd, 'AcmeShop');
    expect(r.stdout).toContain("kept the template's own Dockerfile");
    expect(r.stdout).toContain('port 4000, SQLite db var/acme_shop.db');
    expect(read(app, 'Dockerfile')).toBe(read(TEAM_TEMPLATE, 'Dockerfile').replace('MyApp', 'AcmeShop'));
    expect(read(app, 'litestream.yml')).toContain('path: /data/acme_shop.db');
    expect(existsSync(join(app, 'src/AcmeShop/greeting.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules'))).toBe(false);
  });

  it('clones a git template (file:// bare repo, #branch) and renames it', async () => {
    const work = dirs.make('ls-mix-tplrepo-');
    const src = join(work, 'src');
    cpSync(TEAM_TEMPLATE, src, { recursive: true });
    await git(src, 'init', '-q', '--initial-branch=main');
    await git(src, 'add', '-A');
    await git(src, 'commit', '-qm', 'template v1');
    await git(src, 'checkout', '-qb', 'v2');
    writeFileSync(join(src, 'CHANGES.md'), 'v2 of My App\n');
    await git(src, 'add', '-A');
    await git(src, 'commit', '-qm', 'template v2');
    await git(work, 'init', '-q', '--bare', '--initial-branch=main', 'template.git');
    await git(src, 'push', '-q', join(work, 'template.git'), 'main', 'v2');
    const url = `file://${join(work, 'template.git')}`;

    const cwd = dirs.make();
    const main = await runCli(['new', '-t', url, 'Shop', '--yes'], { cwd });
    expect(main.exitCode, main.stderr).toBe(0);
    expect(main.stdout).toContain(`template  ${url} (node)`);
    expect(read(cwd, 'Shop/package.json')).toContain('"name": "shop"');
    expect(existsSync(join(cwd, 'Shop/CHANGES.md'))).toBe(false);
    // The template's history is not carried over: one fresh commit.
    expect(await gitOut(join(cwd, 'Shop'), 'rev-list', '--count', 'HEAD')).toBe('1');

    const branch = await runCli(['new', '-t', `${url}#v2`, 'Shop2', '--yes', '--no-git'], { cwd });
    expect(branch.exitCode, branch.stderr).toBe(0);
    expect(read(cwd, 'Shop2/CHANGES.md')).toBe('v2 of Shop2\n');
  });

  it('refuses an empty template (a repo whose default branch is missing)', async () => {
    const work = dirs.make('ls-mix-tplrepo-');
    await git(work, 'init', '-q', '--bare', '--initial-branch=trunk', 'empty.git');
    const cwd = dirs.make();
    const r = await runCli(['new', '-t', `file://${join(work, 'empty.git')}`, 'Shop'], { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^Error: Template file:\/\/.*empty\.git has no files/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('reports a git URL that cannot be cloned, leaving nothing behind', async () => {
    const cwd = dirs.make();
    const r = await runCli(['new', '-t', `file://${join(cwd, 'missing.git')}`, 'Shop'], { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^Error: Could not clone template file:\/\/.*missing\.git: /);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('removes the half-made folder when the mix cannot be applied', async () => {
    const cwd = dirs.make();
    const template = dirs.make('ls-mix-notanapp-');
    writeFileSync(join(template, 'README.md'), '# MyApp\n');
    const r = await runCli(['new', '-t', template, 'Shop'], { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('No package.json or *.csproj found');
    expect(readdirSync(cwd)).toEqual([]);
  });
});
