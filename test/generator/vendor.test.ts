/**
 * The vendored sidecar package: `add` writes the exact `npm pack` tarball of the running
 * ls-mix into .deploy/, the sidecar Dockerfile pins its sha512 and checks it in the build, and
 * the tarball is a generated file like the others (manifest, --dry-run, re-run, remove).
 * The CLI cases run the built binary (`npm run build` first) with a cache folder of their own.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyPlan,
  GENERATOR_VERSION,
  MANIFEST_FILE,
  planMixes,
  removeMix,
} from '../../src/generator/index.js';
import { checkBuilt } from '../../src/generator/vendor.js';
import { cleanupTemps, copyFixture, GOLDEN_TARBALL, REPO, tempDir } from './helpers.js';

const TGZ = `.deploy/ls-mix-${GENERATOR_VERSION}.tgz`;
let cache: string;
const run = (args: string[]) =>
  execa('node', [path.join(REPO, 'bin/run.js'), ...args], {
    reject: false,
    stdin: 'ignore',
    env: { NO_COLOR: '1', LS_MIX_CACHE_DIR: cache },
  });
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');

beforeAll(async () => {
  expect(existsSync(path.join(REPO, 'dist/src/commands/add.js')), 'run `npm run build` first').toBe(true);
  cache = await tempDir('ls-mix-cache-');
});
afterAll(cleanupTemps);

describe('vendored ls-mix tarball', { timeout: 180_000 }, () => {
  it('add writes the npm pack of this ls-mix, pinned by sha512 in the sidecar Dockerfile; cached; remove deletes it', async () => {
    const dir = await copyFixture('express');
    const dry = await run(['add', 'litestream-aws', '--dir', dir, '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^\\s+create\\s+${TGZ.replace(/\./g, '\\.')}$`, 'm'));
    expect(existsSync(path.join(dir, TGZ))).toBe(false);

    const first = await run(['add', 'litestream-aws', '--dir', dir]);
    expect(first.exitCode, first.stderr).toBe(0);
    const bytes = await readFile(path.join(dir, TGZ));
    // It is this package: `tar` lists the files npm pack takes, with this version's package.json.
    const list = await execa('tar', ['-tzf', path.join(dir, TGZ)]);
    expect(list.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/bin/run.js',
        'package/dist/src/commands/add.js',
      ]),
    );
    const pkg = JSON.parse(
      (await execa('tar', ['-xzOf', path.join(dir, TGZ), 'package/package.json'])).stdout,
    );
    expect(pkg).toMatchObject({ name: 'ls-mix', version: GENERATOR_VERSION });

    // The Dockerfile copies that one file, checks its sha512, installs it: no registry name.
    const dockerfile = await readFile(path.join(dir, '.deploy/litestream.Dockerfile'), 'utf8');
    const check = dockerfile.match(/^RUN (echo "([0-9a-f]{128}) {2}(\S+)" \| sha512sum -c --strict -)/m);
    expect(check?.[2]).toBe(sha512(bytes));
    expect(check?.[3]).toBe(path.basename(TGZ));
    expect(dockerfile).toContain(`COPY ${TGZ} ./\n`);
    expect(dockerfile).toContain(`RUN npm install -g --omit=dev ./${path.basename(TGZ)}\n`);
    expect(dockerfile).not.toMatch(/ls-mix@|LS_MIX_PACKAGE|COPY \.deploy\/litestream\.Dockerfile/);
    // The build's check, run as the build runs it: passes on the file, fails on a changed one.
    const deploy = path.join(dir, '.deploy');
    expect((await execa('sh', ['-c', check![1]], { cwd: deploy, reject: false })).exitCode).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
    expect(manifest.files[TGZ].sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

    // Packed once into the cache; a re-run takes it from there and changes nothing.
    const packs = await readdir(path.join(cache, 'packs'));
    expect(packs).toHaveLength(1);
    const cached = path.join(cache, 'packs', packs[0], path.basename(TGZ));
    const packedAt = (await stat(cached)).mtimeMs;
    const again = await run(['add', 'litestream-aws', '--dir', dir]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^\\s+identical\\s+${TGZ.replace(/\./g, '\\.')}$`, 'm'));
    expect(again.stdout).toContain('Everything is up to date');
    expect((await stat(cached)).mtimeMs).toBe(packedAt);

    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 1] ^= 1;
    await writeFile(path.join(dir, TGZ), tampered);
    expect((await execa('sh', ['-c', check![1]], { cwd: deploy, reject: false })).exitCode).not.toBe(0);
    await writeFile(path.join(dir, TGZ), bytes);

    const removed = await run(['remove', 'litestream-aws', '--dir', dir]);
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(new RegExp(`^\\s+delete\\s+${TGZ.replace(/\./g, '\\.')}$`, 'm'));
    expect(existsSync(path.join(dir, TGZ))).toBe(false);
  });

  it('a tarball of another ls-mix version is replaced (deleted, and the run says so); a changed one is kept', async () => {
    const dir = await copyFixture('express');
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'], sidecarTarball: GOLDEN_TARBALL }));
    // As an older ls-mix would have left it: its own tarball, recorded in the manifest.
    const old = '.deploy/ls-mix-0.0.1.tgz';
    const oldBytes = Buffer.from('an older ls-mix tarball');
    await writeFile(path.join(dir, old), oldBytes);
    const mf = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
    mf.files[old] = { sha256: createHash('sha256').update(oldBytes).digest('hex'), mix: 'litestream-aws' };
    await writeFile(path.join(dir, MANIFEST_FILE), JSON.stringify(mf));

    const plan = await planMixes({ dir, mixes: ['litestream-aws'], sidecarTarball: GOLDEN_TARBALL });
    expect(plan.obsolete.map((o) => o.path)).toEqual([old]);
    expect(plan.notes.join('\n')).toContain(`${old} is replaced by ${TGZ}`);
    const dry = await applyPlan(plan, { dryRun: true });
    expect(dry.deleted).toEqual([old]);
    expect(existsSync(path.join(dir, old))).toBe(true);
    const done = await applyPlan(plan);
    expect(done.deleted).toEqual([old]);
    expect(existsSync(path.join(dir, old))).toBe(false);
    const after = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
    expect(Object.keys(after.files)).not.toContain(old);

    // One the user changed since is not deleted (and stays recorded, for `remove --force`).
    await writeFile(path.join(dir, old), 'changed by hand');
    after.files[old] = { sha256: createHash('sha256').update(oldBytes).digest('hex'), mix: 'litestream-aws' };
    await writeFile(path.join(dir, MANIFEST_FILE), JSON.stringify(after));
    const kept = await applyPlan(
      await planMixes({ dir, mixes: ['litestream-aws'], sidecarTarball: GOLDEN_TARBALL }),
    );
    expect(kept.deleted).toEqual([]);
    expect(await readFile(path.join(dir, old), 'utf8')).toBe('changed by hand');
    const r = await removeMix(dir, 'litestream-aws');
    expect(r.files.find((f) => f.path === old)).toMatchObject({ status: 'kept' });
    expect(r.deleted).toContain(TGZ);
  });

  it("a tarball of the user's at that path is theirs: a conflict, and --force keeps a copy", async () => {
    const dir = await copyFixture('express');
    await mkdir(path.join(dir, '.deploy'), { recursive: true });
    await writeFile(path.join(dir, TGZ), 'mine');
    const plan = await planMixes({ dir, mixes: ['litestream-aws'], sidecarTarball: GOLDEN_TARBALL });
    expect(plan.files.find((f) => f.path === TGZ)).toMatchObject({ status: 'conflict' });
    const res = await applyPlan(plan, { force: true });
    expect(res.backups).toContain(`.ls-mix/backup/${TGZ}`);
    expect(await readFile(path.join(dir, '.ls-mix/backup', TGZ), 'utf8')).toBe('mine');
    expect((await readFile(path.join(dir, TGZ))).equals(await readFile(GOLDEN_TARBALL))).toBe(true);
  });

  it('from a source checkout, a missing or stale dist/ stops with "npm run build"', async () => {
    const root = await tempDir('ls-mix-checkout-');
    await mkdir(path.join(root, 'src'), { recursive: true });
    await writeFile(path.join(root, 'tsconfig.json'), '{}');
    await writeFile(path.join(root, 'src/a.ts'), 'export {};');
    await expect(checkBuilt(root)).rejects.toThrow(/dist\/ is missing/);
    await mkdir(path.join(root, 'dist/src'), { recursive: true });
    await writeFile(path.join(root, 'dist/src/a.js'), 'export {};');
    const past = new Date(Date.now() - 60_000);
    await utimes(path.join(root, 'dist/src/a.js'), past, past);
    await expect(checkBuilt(root)).rejects.toThrow(/older than its sources \(src\/a\.ts/);
    await expect(checkBuilt(root)).rejects.toMatchObject({ hint: expect.stringContaining('npm run build') });
    await utimes(
      path.join(root, 'src/a.ts'),
      new Date(past.getTime() - 60_000),
      new Date(past.getTime() - 60_000),
    );
    await expect(checkBuilt(root)).resolves.toBeUndefined();
  });
});
