/**
 * The real built binary (`node bin/run.js`, after `tsc -p tsconfig.build.json`) as a
 * subprocess with no TTY, as CI runs it. Kept few: each process costs about half a second.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionlintErrors, actionValidatorErrors } from '../validators/workflow.js';
import { cleanupTemps, copyFixture, REPO, readTree } from './helpers.js';

const run = (args: string[]) =>
  execa('node', [path.join(REPO, 'bin/run.js'), ...args], {
    reject: false,
    stdin: 'ignore',
    env: { NO_COLOR: '1' },
  });

beforeAll(() => {
  // dist/ comes from `npm run build` (README, .ci/run). Never rebuilt from here: tsc rewrites
  // files in place while other test files run the CLI (a half-written module fails to import).
  expect(existsSync(path.join(REPO, 'dist/src/commands/add.js')), 'run `npm run build` first').toBe(true);
});
afterAll(cleanupTemps);

// Generous: on a loaded 2-core machine one process can take several seconds.
describe('ls-mix CLI', { timeout: 180_000 }, () => {
  it('list --json gives the catalog; --tag filters', async () => {
    const all = await run(['list', '--json']);
    expect(all.exitCode).toBe(0);
    const mixes = JSON.parse(all.stdout);
    expect(mixes).toHaveLength(9);
    expect(mixes[0]).toEqual(expect.objectContaining({ name: 'blazor-litestream-aws', storage: 'aws' }));
    const azure = await run(['list', '--tag', 'azure']);
    expect(azure.stdout.match(/^\S*litestream-azure /gm)).toHaveLength(3);
  });

  it('add --json: detected vs defaulted facts, then an idempotent re-run', async () => {
    const dir = await copyFixture('nextjs');
    const first = await run(['add', 'jamstack-litestream-aws', '--dir', dir, '--json']);
    expect(first.exitCode).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out.detected).toEqual(
      expect.arrayContaining(['name', 'variant', 'dbPath', 'packageManager', 'nodeVersion']),
    );
    expect(out.defaulted).toEqual(['port']);
    expect(out.facts.dbPath).toEqual({
      value: 'data/guestbook.db',
      source: 'detected',
      from: 'lib/db.ts:4 (better-sqlite3)',
    });
    expect(out.files.every((f: { status: string }) => f.status === 'create')).toBe(true);
    expect(out.ghSecretSet).toContain('gh secret set AWS_SECRET_ACCESS_KEY');

    const again = await run(['add', 'jamstack-litestream-aws', '--dir', dir]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).not.toMatch(/^\s+(create|update|conflict)\s/m);
    expect(again.stdout).toContain('Everything is up to date');
    expect(again.stdout).toContain('gh secret set DEPLOY_KEY < ~/.ssh/id_ed25519');
  });

  it('without a TTY a conflict fails with the file and the flags that settle it; --dry-run --diff writes nothing', async () => {
    const dir = await copyFixture('express');
    await writeFile(path.join(dir, 'litestream.yml'), 'dbs: []\n');
    const before = await readTree(dir);
    const r = await run(['add', 'litestream-sftp', '--dir', dir]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(
      /Error: This file exists and differs from what litestream-sftp writes: litestream\.yml/,
    );
    expect(r.stderr).toMatch(/Hint: Nothing was written\. Add --force .* --skip/);
    expect(await readTree(dir)).toEqual(before);

    const dry = await run(['add', 'litestream-sftp', '--dir', dir, '--dry-run', '--diff', '--force']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/^\s+force\s+litestream\.yml/m);
    expect(dry.stdout).toContain('+++ b/litestream.yml');
    expect(dry.stdout).toContain('-dbs: []');
    expect(dry.stdout).toContain('Dry run: nothing was written.');
    expect(await readTree(dir)).toEqual(before);
  });

  it('bad input: unknown mix, clashing flags', async () => {
    const dir = await copyFixture('express');
    const typo = await run(['add', 'litestrem-aws', '--dir', dir]);
    expect(typo.exitCode).toBe(1);
    expect(typo.stderr).toContain("Error: Unknown mix 'litestrem-aws'");
    expect(typo.stderr).toContain('Did you mean litestream-aws?');
    const clash = await run(['add', 'litestream-aws', '--dir', dir, '--force', '--skip']);
    expect(clash.exitCode).not.toBe(0);
    expect(clash.stderr).toMatch(/--force=true cannot also be provided when using --skip/);
  });

  it('in a terminal, a conflict is asked about: d shows the diff, then y overwrites', async () => {
    const dir = await copyFixture('express');
    await writeFile(path.join(dir, 'litestream.yml'), 'dbs: []\n');
    // `script` gives the command a pseudo-terminal; answers are typed when the prompt shows.
    const child = execa(
      'script',
      ['-qec', `node ${path.join(REPO, 'bin/run.js')} add litestream-aws --dir ${dir}`, '/dev/null'],
      {
        reject: false,
        env: { NO_COLOR: '1' },
        timeout: 150_000,
      },
    );
    let out = '';
    let answered = 0;
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (answered === 0 && out.includes('Overwrite litestream.yml?')) {
        answered = 1;
        child.stdin?.write('d\r');
      } else if (
        answered === 1 &&
        out.includes('+++ b/litestream.yml') &&
        /Overwrite litestream\.yml\?[\s\S]*Overwrite litestream\.yml\?/.test(out)
      ) {
        answered = 2;
        child.stdin?.write('y\r');
      }
    });
    const r = await child;
    expect(answered).toBe(2);
    expect(r.exitCode).toBe(0);
    expect(out).toContain('-dbs: []');
    expect(out).toMatch(/force\s+litestream\.yml/);
    expect((await readTree(dir)).get('litestream.yml')).toMatch(/type: s3/);
  });

  it('remove deletes what add wrote and reports what it kept', async () => {
    const dir = await copyFixture('dotnet-web');
    expect((await run(['add', 'litestream-azure', '--dir', dir, '--yes'])).exitCode).toBe(0);
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
    const r = await run(['remove', 'litestream-azure', '--dir', dir]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/kept\s+Dockerfile\s+\(changed since it was written/);
    expect(r.stdout).toMatch(/delete\s+litestream\.yml/);
    expect(r.stdout).toContain('Removed litestream-azure: deleted 9 file(s), kept 1.');
  });

  it('a conflict with --json still prints a JSON result (ok: false, every status) and exits 1; --dry-run --diff shows the diff without --force', async () => {
    const dir = await copyFixture('express');
    await writeFile(path.join(dir, 'litestream.yml'), 'dbs: [] # mine\n');
    const before = await readTree(dir);
    const r = await run(['add', 'litestream-aws', '--dir', dir, '--json']);
    expect(r.exitCode).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      ok: false,
      dryRun: false,
      written: [],
      error: 'This file exists and differs from what litestream-aws writes: litestream.yml',
    });
    expect(out.hint).toMatch(/--force .* --skip/);
    expect(out.files).toContainEqual({
      path: 'litestream.yml',
      status: 'conflict',
      reason: 'exists and differs: not written by ls-mix',
    });
    expect(await readTree(dir)).toEqual(before);

    const dry = await run(['add', 'litestream-aws', '--dir', dir, '--dry-run', '--diff']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/^\s+conflict\s+litestream\.yml/m);
    expect(dry.stdout).toContain('-dbs: [] # mine');
    expect(dry.stdout).toContain('1 file(s) conflict: a real run needs --force');
    expect(await readTree(dir)).toEqual(before);
  });

  it("--yes keeps the user's Dockerfile and says so; --force replaces it and says where the copy is; remove puts it back", async () => {
    const dir = await copyFixture('express');
    const mine = 'FROM node:22-slim\nWORKDIR /app\nCOPY . .\nUSER node\nCMD ["node", "src/server.js"]\n';
    await writeFile(path.join(dir, 'Dockerfile'), mine);
    const yes = await run(['add', 'litestream-aws', '--dir', dir, '--yes']);
    expect(yes.exitCode).toBe(0);
    expect(yes.stdout).toMatch(
      /^\s+skip\s+Dockerfile\s+\(yours: kept as is \(--force replaces it, keeping a copy\)\)$/m,
    );
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toBe(mine);

    // A dry run says what a real one would do, and does none of it.
    const dry = await run(['add', 'litestream-aws', '--dir', dir, '--force', '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('Would keep a copy of each file replaced: .ls-mix/backup/Dockerfile.');
    expect(dry.stdout).not.toContain('Kept a copy');
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toBe(mine);

    const force = await run(['add', 'litestream-aws', '--dir', dir, '--force']);
    expect(force.exitCode).toBe(0);
    expect(force.stdout).toMatch(
      /^\s+force\s+Dockerfile\s+\(replaced yours; a copy is kept in \.ls-mix\/backup\/Dockerfile \(`ls-mix remove` puts it back\)\)$/m,
    );
    expect(force.stdout).not.toContain('kept as is');
    expect(force.stdout).toContain('Kept a copy of each file replaced: .ls-mix/backup/Dockerfile.');
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).not.toBe(mine);

    const removed = await run(['remove', 'litestream-aws', '--dir', dir]);
    expect(removed.exitCode).toBe(0);
    expect(removed.stdout).toMatch(
      /^\s+restore\s+Dockerfile\s+\(was yours: put back from \.ls-mix\/backup\/Dockerfile\)$/m,
    );
    expect(removed.stdout).toContain('Removed litestream-aws: deleted 9 file(s), restored 1 of yours.');
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toBe(mine);
  });

  it("a lone lowercase dockerfile is the user's Dockerfile: kept and fitted to, built by name, never shadowed by a new Dockerfile", async () => {
    const dir = await copyFixture('own-dockerfile');
    const mine = await readFile(path.join(dir, 'Dockerfile'), 'utf8');
    await rm(path.join(dir, 'Dockerfile'));
    await writeFile(path.join(dir, 'dockerfile'), mine);
    const yes = await run(['add', 'litestream-aws', '--dir', dir, '--yes']);
    expect(yes.exitCode).toBe(0);
    expect(yes.stdout).toMatch(/^\s+skip\s+dockerfile\s+\(yours: kept as is/m);
    expect(yes.stdout).toContain('WORKDIR /srv/app, USER 10001 (uid 10001), port 8081');
    expect((await readdir(dir)).filter((f) => f.toLowerCase() === 'dockerfile')).toEqual(['dockerfile']);
    expect(await readFile(path.join(dir, 'dockerfile'), 'utf8')).toBe(mine);
    const releaseText = await readFile(path.join(dir, '.github/workflows/release.yml'), 'utf8');
    expect(actionValidatorErrors(releaseText)).toEqual([]);
    expect(await actionlintErrors(releaseText)).toEqual([]);
    const release = parse(releaseText);
    const app = release.jobs.build.steps.find(
      (s: { name?: string }) => s.name === 'Build and push the app image',
    );
    expect(app.with.file).toBe('dockerfile');
    const compose = parse(await readFile(path.join(dir, '.deploy/docker-compose.yml'), 'utf8'));
    expect(compose.services.app.volumes).toEqual(['corner-shop-data:/srv/app/storage']);

    // --force replaces it under its own name (a copy kept), still one file the build takes.
    const force = await run(['add', 'litestream-aws', '--dir', dir, '--force']);
    expect(force.exitCode).toBe(0);
    expect(force.stdout).toContain('Kept a copy of each file replaced: .ls-mix/backup/dockerfile.');
    expect((await readdir(dir)).filter((f) => f.toLowerCase() === 'dockerfile')).toEqual(['dockerfile']);
    expect(await readFile(path.join(dir, 'dockerfile'), 'utf8')).not.toBe(mine);
    const removed = await run(['remove', 'litestream-aws', '--dir', dir]);
    expect(removed.exitCode).toBe(0);
    expect(await readFile(path.join(dir, 'dockerfile'), 'utf8')).toBe(mine);
  });

  it('no secrets list for a workflow that was kept; terminal control characters from the project are not printed', async () => {
    const dir = await copyFixture('express');
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    pkg.name = 'notes\u001b]0;owned\u0007-api\u001b[2J';
    await writeFile(path.join(dir, 'package.json'), JSON.stringify(pkg));
    expect((await run(['add', 'litestream-aws', '--dir', dir])).exitCode).toBe(0);
    await mkdir(path.join(dir, '.github/workflows'), { recursive: true });
    await writeFile(path.join(dir, '.github/workflows/release.yml'), 'name: changed by me\non: push\n');
    const r = await run(['add', 'litestream-aws', '--dir', dir, '--skip']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\s+skip\s+\.github\/workflows\/release\.yml\s+\(kept yours \(--skip\)\)$/m);
    expect(r.stdout).toContain(
      'The release workflow was not written (yours is kept): no GitHub secrets to set for it.',
    );
    expect(r.stdout).not.toContain('gh secret set');
    expect(r.stdout).toMatch(/^ {2}name {13}notes-api {14}\(detected in package\.json\)$/m);
    expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    // Errors quoting project text too.
    const odd = path.join(dir, 'x\u001b[31mred');
    await mkdir(odd);
    const e = await run(['add', 'litestream-aws', '--dir', odd]);
    expect(e.exitCode).toBe(1);
    expect(e.stderr).toContain('xred: cannot tell what kind of app this is');
    expect(e.stderr).not.toMatch(/\u001b/);
  });
});
