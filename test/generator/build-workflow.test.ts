/** Which workflow of the repo the release waits for (`workflow_run`), from its triggers and name. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findBuildWorkflow } from '../../src/generator/build-workflow.js';
import { cleanupTemps, tempDir } from './helpers.js';

afterAll(cleanupTemps);

async function repoWith(files: Record<string, string>): Promise<string> {
  const root = await tempDir('ls-mix-wf-');
  await mkdir(path.join(root, '.github/workflows'), { recursive: true });
  for (const [name, text] of Object.entries(files))
    await writeFile(path.join(root, '.github/workflows', name), text);
  return root;
}

const job = 'jobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: true\n';

describe('findBuildWorkflow', () => {
  it('no workflows folder, or none that runs on push to the branch: none', async () => {
    expect((await findBuildWorkflow(await tempDir(), 'main')).found).toBeUndefined();
    const root = await repoWith({
      'pr.yml': `name: PR checks\non: pull_request\n${job}`,
      'tags.yml': `name: Build tags\non:\n  push:\n    tags: ['v*']\n${job}`,
      'other.yml': `name: Build dev\non:\n  push:\n    branches: [dev]\n${job}`,
      'ignored.yml': `name: Test\non:\n  push:\n    branches-ignore: [main]\n${job}`,
      'broken.yml': 'name: [unclosed\n',
    });
    expect((await findBuildWorkflow(root, 'main')).found).toBeUndefined();
  });

  it('a push workflow for the branch counts (name, else its path); release/deploy/publish and ls-mix ones do not', async () => {
    const root = await repoWith({
      'deploy.yml': `name: Deploy\non: push\n${job}`,
      'release.yml': `# Release App (written by ls-mix 0.1.0): ...\nname: Release\non:\n  push:\n    branches: [main]\n${job}`,
      'build.yaml': `on: [push, pull_request]\n${job}`,
    });
    expect((await findBuildWorkflow(root, 'main')).found).toEqual({
      name: '.github/workflows/build.yaml',
      file: '.github/workflows/build.yaml',
    });
  });

  it('globs in branch filters; with several, a build/test-looking one is chosen and the others listed', async () => {
    const root = await repoWith({
      'a-lint.yml': `name: Lint\non:\n  push:\n    branches: ['**']\n${job}`,
      'z-build.yml': `name: Build\non:\n  push:\n    branches: ['ma*']\n${job}`,
    });
    const r = await findBuildWorkflow(root, 'main');
    expect(r.found?.name).toBe('Build');
    expect(r.others.map((w) => w.name)).toEqual(['Lint']);
  });
});
