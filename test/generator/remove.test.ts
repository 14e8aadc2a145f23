import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyPlan,
  GENERATOR_VERSION,
  MANIFEST_FILE,
  planMixes,
  removeMix,
} from '../../src/generator/index.js';
import { cleanupTemps, copyFixture, readTree, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const gone = (p: string) =>
  access(p).then(
    () => false,
    () => true,
  );

describe('remove', () => {
  it('deletes unchanged files, keeps the ones the user changed, updates the manifest', async () => {
    const dir = await copyFixture('express');
    const fixture = await readTree(dir);
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }));
    await writeFile(path.join(dir, 'litestream.yml'), '# mine now\n');

    const dry = await removeMix(dir, 'litestream-aws', { dryRun: true });
    expect(dry.deleted).toEqual([]);
    expect(await gone(path.join(dir, 'Dockerfile'))).toBe(false);

    const r = await removeMix(dir, 'litestream-aws');
    expect(r.files.find((f) => f.path === 'litestream.yml')).toMatchObject({ status: 'kept' });
    expect(r.deleted.sort()).toEqual(
      [
        '.deploy/.env.example',
        '.deploy/docker-compose.yml',
        '.deploy/litestream.Dockerfile',
        `.deploy/ls-mix-${GENERATOR_VERSION}.tgz`,
        '.deploy/nginx-proxy-compose.yml',
        '.deploy/nginx-proxy-up.sh',
        '.dockerignore',
        '.github/workflows/release.yml',
        'Dockerfile',
      ].sort(),
    );
    // Emptied folders go; the user's changed file and the original app stay.
    expect(await gone(path.join(dir, '.deploy'))).toBe(true);
    expect(await gone(path.join(dir, '.github'))).toBe(true);
    const after = await readTree(dir);
    for (const [p, text] of fixture) expect(after.get(p)).toBe(text);
    expect(after.get('litestream.yml')).toBe('# mine now\n');
    const manifest = JSON.parse(after.get(MANIFEST_FILE)!);
    expect(manifest.mixes).toEqual(['litestream-aws']);
    expect(Object.keys(manifest.files)).toEqual(['litestream.yml']);

    // --force deletes the changed one too, and then the manifest goes.
    const forced = await removeMix(dir, 'litestream-aws', { force: true });
    expect(forced.deleted).toEqual(['litestream.yml']);
    expect(await gone(path.join(dir, MANIFEST_FILE))).toBe(true);
  });

  it('never deletes a compose file the mix was merged into: it takes out only what it added', async () => {
    const dir = await copyFixture('compose-volume');
    const mine = await readFile(path.join(dir, '.deploy/docker-compose.yml'), 'utf8');
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }));
    const merged = await readFile(path.join(dir, '.deploy/docker-compose.yml'), 'utf8');
    // The user edits their file after the merge: remove cannot restore the copy, it unmerges.
    await writeFile(
      path.join(dir, '.deploy/docker-compose.yml'),
      merged.replace('restart: always', 'restart: on-failure'),
    );
    const r = await removeMix(dir, 'litestream-aws');
    expect(r.files.find((f) => f.path === '.deploy/docker-compose.yml')).toMatchObject({
      status: 'unmerge',
      reason: 'yours: took out services.litestream',
    });
    expect(await readFile(path.join(dir, '.deploy/docker-compose.yml'), 'utf8')).toBe(
      mine.replace('restart: always', 'restart: on-failure'),
    );
  });

  it('refuses a manifest entry that points outside the project (nothing deleted)', async () => {
    const dir = await copyFixture('express');
    const outside = await tempDir('ls-mix-outside-');
    await writeFile(path.join(outside, 'victim.txt'), 'keep\n');
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }));
    const manifestPath = path.join(dir, MANIFEST_FILE);
    const m = JSON.parse(await readFile(manifestPath, 'utf8'));
    const rel = path.relative(dir, path.join(outside, 'victim.txt'));
    m.files[rel] = { sha256: m.files['litestream.yml'].sha256, mix: 'litestream-aws' };
    await writeFile(manifestPath, JSON.stringify(m));
    const before = await readTree(dir);
    await expect(removeMix(dir, 'litestream-aws')).rejects.toThrow(
      /Refusing to touch '\.\.\/.*not in a git repository/,
    );
    m.files = { [path.join(outside, 'victim.txt')]: m.files[rel] };
    await writeFile(manifestPath, JSON.stringify(m));
    await expect(removeMix(dir, 'litestream-aws')).rejects.toThrow(/not a relative path/);
    expect(await readFile(path.join(outside, 'victim.txt'), 'utf8')).toBe('keep\n');
    expect((await readTree(dir)).get('Dockerfile')).toBe(before.get('Dockerfile'));
  });

  it('clear errors: no manifest, mix not added, broken manifest', async () => {
    const dir = await copyFixture('express');
    await expect(removeMix(dir, 'litestream-aws')).rejects.toThrow(/No \.ls-mix\.json/);
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }));
    await expect(removeMix(dir, 'litestream-azure')).rejects.toMatchObject({
      message: expect.stringMatching(/litestream-azure is not added/),
      hint: 'Added here: litestream-aws.',
    });
    await writeFile(path.join(dir, MANIFEST_FILE), '{"version": 1,');
    await expect(removeMix(dir, 'litestream-aws')).rejects.toThrow(/\.ls-mix\.json is not valid JSON/);
  });
});
