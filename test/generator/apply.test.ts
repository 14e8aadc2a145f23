import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { applyPlan, MANIFEST_FILE, planMixes } from '../../src/generator/index.js';
import { cleanupTemps, copyFixture, inOrder, readTree, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const statuses = (files: { path: string; status: string }[]) =>
  Object.fromEntries(files.map((f) => [f.path, f.status]));

describe('plan and apply', () => {
  it('re-running on an unchanged repo is all identical, writes nothing, keeps the manifest byte-identical', async () => {
    const dir = await copyFixture('express');
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }));
    const manifest = await readFile(path.join(dir, MANIFEST_FILE), 'utf8');
    const mtime = (await stat(path.join(dir, 'litestream.yml'))).mtimeMs;
    const again = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(new Set(again.files.map((f) => f.status))).toEqual(new Set(['identical']));
    const result = await applyPlan(again);
    expect(result.written).toEqual([]);
    expect(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')).toBe(manifest);
    expect((await stat(path.join(dir, 'litestream.yml'))).mtimeMs).toBe(mtime);
  });

  it('--dry-run writes nothing, even with --force', async () => {
    const dir = await copyFixture('dotnet-web');
    await writeFile(path.join(dir, 'litestream.yml'), 'dbs: []\n');
    const before = await readTree(dir);
    const result = await applyPlan(await planMixes({ dir, mixes: ['litestream-azure'] }), {
      dryRun: true,
      force: true,
    });
    expect(result.dryRun).toBe(true);
    expect(statuses(result.files)['litestream.yml']).toBe('force');
    expect(result.written).toEqual([]);
    expect(await readTree(dir)).toEqual(before);
  });

  it('a conflict without --force/--skip fails, names the file and the flags, writes nothing', async () => {
    const dir = await copyFixture('nextjs');
    await writeFile(path.join(dir, 'litestream.yml'), 'dbs: [] # mine\n');
    const before = await readTree(dir);
    const plan = await planMixes({ dir, mixes: ['jamstack-litestream-sftp'] });
    expect(statuses(plan.files)['litestream.yml']).toBe('conflict');
    await expect(applyPlan(plan)).rejects.toThrow(/litestream\.yml/);
    await expect(applyPlan(plan)).rejects.toMatchObject({ hint: expect.stringMatching(/--force.*--skip/) });
    expect(await readTree(dir)).toEqual(before);

    const skipped = await applyPlan(plan, { skip: true });
    expect(statuses(skipped.files)['litestream.yml']).toBe('skip');
    expect(await readFile(path.join(dir, 'litestream.yml'), 'utf8')).toBe('dbs: [] # mine\n');
    expect(skipped.written).toContain('Dockerfile');

    const forced = await applyPlan(await planMixes({ dir, mixes: ['jamstack-litestream-sftp'] }), {
      force: true,
    });
    expect(statuses(forced.files)['litestream.yml']).toBe('force');
    expect(await readFile(path.join(dir, 'litestream.yml'), 'utf8')).toMatch(/type: sftp/);
    // The replaced file of the user's is kept, and the status line says where.
    expect(forced.backups).toEqual(['.ls-mix/backup/litestream.yml']);
    expect(forced.files.find((f) => f.path === 'litestream.yml')?.reason).toMatch(
      /replaced yours; a copy is kept in \.ls-mix\/backup\/litestream\.yml/,
    );
    expect(await readFile(path.join(dir, '.ls-mix/backup/litestream.yml'), 'utf8')).toBe('dbs: [] # mine\n');
    await expect(applyPlan(plan, { force: true, skip: true })).rejects.toThrow(/contradict/);
  });

  it('files ls-mix wrote and nobody changed are updated without asking (new port); changed ones conflict', async () => {
    const dir = await copyFixture('express');
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }));
    await writeFile(path.join(dir, '.deploy/.env.example'), 'MINE=1\n');
    const plan = await planMixes({ dir, mixes: ['litestream-aws'], overrides: { port: 4000 } });
    const s = statuses(plan.files);
    expect(s['.deploy/docker-compose.yml']).toBe('update');
    expect(s.Dockerfile).toBe('update');
    expect(s['litestream.yml']).toBe('identical');
    expect(s['.deploy/.env.example']).toBe('conflict');
  });

  it('an existing Dockerfile is left alone (skip) unless --force', async () => {
    const dir = await copyFixture('blazor-server');
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
    const plan = await planMixes({ dir, mixes: ['blazor-litestream-aws'] });
    expect(statuses(plan.files).Dockerfile).toBe('skip');
    await applyPlan(plan);
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toBe('FROM scratch\n');
    const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
    expect(manifest.files.Dockerfile).toBeUndefined();
    await applyPlan(await planMixes({ dir, mixes: ['blazor-litestream-aws'] }), { force: true });
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toMatch(/dotnet\/aspnet:8\.0/);
  });

  it("an app service in the user's compose file whose db folder is on no mount: stops, names it; --force adds the mount", async () => {
    const dir = await copyFixture('express');
    await mkdir(path.join(dir, '.deploy'));
    const mine = [
      '# my stack',
      'services:',
      '  app:',
      '    image: me/notes:1 # pinned',
      '    environment:',
      '      FOO: bar',
      '  redis:',
      '    image: redis:7',
      '',
    ].join('\n');
    await writeFile(path.join(dir, '.deploy/docker-compose.yml'), mine);
    const before = await readTree(dir);
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toMatchObject({
      message: expect.stringMatching(
        /docker-compose\.yml: the 'app' service keeps its SQLite db folder \/data on no volume or bind mount/,
      ),
      hint: expect.stringMatching(/--force/),
    });
    expect(await readTree(dir)).toEqual(before);

    const plan = await planMixes({ dir, mixes: ['litestream-aws'], force: true });
    const compose = plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!;
    expect(compose.status).toBe('update');
    expect(compose.merged).toBe(true);
    expect(compose.reason).toMatch(/services\.litestream, volumes\.notes-api-data, services\.app\.volumes/);
    await applyPlan(plan, { force: true });
    const text = await readFile(path.join(dir, '.deploy/docker-compose.yml'), 'utf8');
    // Every line of the user's is still there, unchanged, in order (ours are only inserted).
    expect(inOrder(mine.split('\n'), text.split('\n'))).toBe(true);
    const doc = parse(text);
    expect(Object.keys(doc.services)).toEqual(['app', 'redis', 'litestream']);
    expect(doc.services.app).toEqual({
      image: 'me/notes:1',
      environment: { FOO: 'bar' },
      volumes: ['notes-api-data:/data'],
    });
    expect(doc.services.litestream.volumes).toEqual(['notes-api-data:/data']);
    expect(doc.services.litestream.image).toBe('me/notes-litestream:1');
    expect(doc.services.litestream.healthcheck.test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(doc.services.litestream.healthcheck.test[3]).toContain("fetch('http://127.0.0.1:9465/healthz')");
    expect(Object.keys(doc.volumes)).toEqual(['notes-api-data']);
    expect(parseDocument(text).errors).toEqual([]);
    expect(plan.notes.join('\n')).toMatch(/give 'app' `depends_on: \{ litestream/);
    // Merging again changes nothing.
    const again = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(statuses(again.files)['.deploy/docker-compose.yml']).toBe('identical');
  });

  it('an invalid existing compose file is an error naming file and line, nothing written', async () => {
    const dir = await copyFixture('express');
    await mkdir(path.join(dir, '.deploy'));
    await writeFile(path.join(dir, '.deploy/docker-compose.yml'), 'services:\n  app:\n    image: [x\n');
    const before = await readTree(dir);
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toThrow(
      /docker-compose\.yml:\d+ is not valid YAML/,
    );
    expect(await readTree(dir)).toEqual(before);
  });

  it('switching storage replaces the old mix: files it wrote are updated, the manifest lists the new one', async () => {
    const dir = await copyFixture('vue-vite');
    await applyPlan(await planMixes({ dir, mixes: ['jamstack-litestream-aws'] }));
    const plan = await planMixes({ dir, mixes: ['jamstack-litestream-azure'] });
    expect(plan.replaces).toEqual(['jamstack-litestream-aws']);
    expect(statuses(plan.files)['litestream.yml']).toBe('update');
    await applyPlan(plan);
    const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
    expect(manifest.mixes).toEqual(['jamstack-litestream-azure']);
    expect(await readFile(path.join(dir, 'litestream.yml'), 'utf8')).toMatch(/type: abs/);
  });

  it('placeholders come from --name', async () => {
    const dir = await copyFixture('express');
    const plan = await planMixes({ dir, mixes: ['litestream-aws'], overrides: { name: 'Acme Notes' } });
    const env = plan.files.find((f) => f.path === '.deploy/.env.example')!.content;
    expect(env).toContain('IMAGE_REPO=ghcr.io/your-github-user/acme-notes');
    expect(env).toContain('AWS_S3_BUCKET=acme-notes-backups');
    expect(plan.files.find((f) => f.path === 'Dockerfile')!.content).toMatch(
      /^# Acme Notes: production image/,
    );
  });
});

describe('nothing is ever written outside the project', () => {
  it('a symlinked .deploy pointing out of the project is refused before anything is written', async () => {
    const dir = await copyFixture('express');
    const outside = await tempDir('ls-mix-outside-');
    await symlink(outside, path.join(dir, '.deploy'));
    const before = await readTree(dir);
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toThrow(
      /\.deploy is a symlink out of the project/,
    );
    expect(await readTree(outside)).toEqual(new Map());
    expect(await readTree(dir)).toEqual(before);
  });

  it('a symlinked target file pointing out is refused too', async () => {
    const dir = await copyFixture('express');
    const outside = await tempDir('ls-mix-outside-');
    await writeFile(path.join(outside, 'victim'), 'keep me\n');
    await symlink(path.join(outside, 'victim'), path.join(dir, 'litestream.yml'));
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toThrow(/symlink out of the project/);
    expect(await readFile(path.join(outside, 'victim'), 'utf8')).toBe('keep me\n');
  });

  it('a symlink that stays inside the project is fine', async () => {
    const dir = await copyFixture('express');
    await mkdir(path.join(dir, 'deploy-files'));
    await symlink(path.join(dir, 'deploy-files'), path.join(dir, '.deploy'));
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }));
    expect(await readFile(path.join(dir, 'deploy-files/docker-compose.yml'), 'utf8')).toMatch(/services:/);
  });
});
