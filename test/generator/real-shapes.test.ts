/**
 * Projects shaped like real ones that already have some of what `add` writes: a compose file
 * with its own volume and comments, a Dockerfile of their own, a release.yml of their own, and
 * an app in a subfolder of a git repo whose default branch is not main. Each gets golden
 * output (test/golden/real-shapes/<fixture>/: every file added or changed, paths from the copy's
 * root) that passes the real validators, and an assertion of the fact it is here for.
 * Regenerate with `UPDATE_GOLDEN=1 npx vitest run test/generator/real-shapes.test.ts`.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyPlan, planMixes, removeMix } from '../../src/generator/index.js';
import { formatFacts } from '../../src/generator/report.js';
import { composeSchemaErrors, dockerComposeConfig } from '../validators/compose.js';
import { dockerfileProblems } from '../validators/dockerfile.js';
import { loadWithRuntime } from '../validators/litestream-config.js';
import { actionlintErrors, actionValidatorErrors } from '../validators/workflow.js';
import {
  cleanupTemps,
  copyFixture,
  FIXTURES_DIR,
  GOLDEN_DIR,
  GOLDEN_TARBALL,
  inOrder,
  readTree,
} from './helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const git = (cwd: string, args: string[]) => promisify(execFile)('git', args, { cwd });

afterAll(cleanupTemps);

interface Case {
  fixture: string;
  /** The app folder inside the fixture. */
  app: string;
  mix: string;
  /** Makes the copy a git repository first. */
  gitBranch?: string;
}
const CASES: Case[] = [
  { fixture: 'compose-volume', app: '.', mix: 'litestream-aws' },
  { fixture: 'own-dockerfile', app: '.', mix: 'litestream-sftp' },
  { fixture: 'user-release-yml', app: '.', mix: 'litestream-azure' },
  { fixture: 'monorepo-sub', app: 'services/api', mix: 'litestream-aws', gitBranch: 'trunk' },
  { fixture: 'usr-src-workdir', app: '.', mix: 'litestream-aws' },
  { fixture: 'prisma-dockerfile-env', app: '.', mix: 'litestream-aws' },
];

/** Applies the mix to a fresh copy; returns the copy, the files added or changed, and the plan. */
async function run(c: Case) {
  const root = await copyFixture(c.fixture);
  if (c.gitBranch) {
    await git(root, ['init', '--quiet', `--initial-branch=${c.gitBranch}`]);
  }
  const before = await readTree(root);
  const plan = await planMixes({
    dir: path.join(root, c.app),
    mixes: [c.mix],
    sidecarTarball: GOLDEN_TARBALL,
  });
  const result = await applyPlan(plan);
  const after = await readTree(root);
  const changed = new Map([...after].filter(([p, text]) => !p.startsWith('.git/') && before.get(p) !== text));
  return { root, before, after, changed, plan, result };
}

const ENV = {
  IMAGE_REPO: 'ghcr.io/acme/app',
  APP_VERSION: 'abc123',
  HOST_DOMAIN: 'app.example.com',
  LETSENCRYPT_EMAIL: 'ops@example.com',
  AWS_S3_BUCKET: 'b',
  AWS_ACCESS_KEY_ID: 'k',
  AWS_SECRET_ACCESS_KEY: 's',
  AZURE_STORAGEACCOUNT: 'a',
  AZURE_CONTAINER: 'c',
  AZURE_ACCOUNT_KEY: 'k',
  SFTP_HOST: 'h',
  SFTP_PORT: '22',
  SFTP_USERNAME: 'u',
  SFTP_PASSWORD: 'p',
};

describe.each(CASES)('$fixture ($mix)', { timeout: 120_000 }, (c) => {
  it('writes exactly the golden files, and they pass the validators', async () => {
    const { changed } = await run(c);
    const goldenDir = path.join(GOLDEN_DIR, 'real-shapes', c.fixture);
    if (UPDATE) {
      await rm(goldenDir, { recursive: true, force: true });
      for (const [p, text] of changed) {
        await mkdir(path.dirname(path.join(goldenDir, p)), { recursive: true });
        await writeFile(path.join(goldenDir, p), text);
      }
    }
    const golden = await readTree(goldenDir).catch(() => new Map<string, string>());
    expect([...changed.keys()].sort(), `UPDATE_GOLDEN=1 regenerates ${goldenDir}`).toEqual(
      [...golden.keys()].sort(),
    );
    for (const [p, text] of changed) expect(text, `${c.fixture}/${p}`).toBe(golden.get(p));

    for (const [p, text] of changed) {
      if (p.endsWith('docker-compose.yml')) {
        expect(composeSchemaErrors(parse(text)), p).toEqual([]);
        expect(await dockerComposeConfig(text, ENV), p).toBe('');
      } else if (/\.github\/workflows\/.*\.yml$/.test(p)) {
        expect(actionValidatorErrors(text), p).toEqual([]);
        expect(await actionlintErrors(text), p).toEqual([]);
      } else if (p.endsWith('Dockerfile')) {
        expect(dockerfileProblems(text), p).toEqual([]);
      } else if (p.endsWith('litestream.yml')) {
        expect(loadWithRuntime(text).dbs).toHaveLength(1);
      }
    }
  });
});

describe('the fact each real shape is here for', { timeout: 120_000 }, () => {
  it("compose-volume: the sidecar mounts the app's own volume, named like the app's image; the user's text stays byte for byte", async () => {
    const { before, after, plan } = await run(CASES[0]);
    const mine = before.get('.deploy/docker-compose.yml')!;
    const merged = after.get('.deploy/docker-compose.yml')!;
    expect(inOrder(mine.split('\n'), merged.split('\n'))).toBe(true);
    // One block of whole lines was inserted: cutting it out gives the user's bytes back.
    const from = merged.indexOf('  litestream:\n');
    const to = merged.indexOf('\nvolumes:\n') + 1;
    expect(from).toBeGreaterThan(0);
    expect(merged.slice(0, from) + merged.slice(to)).toBe(mine);
    const doc = parse(merged);
    expect(Object.keys(doc.services)).toEqual(['app', 'cache', 'litestream']);
    expect(Object.keys(doc.volumes)).toEqual(['todo-db']); // no new, empty volume
    expect(doc.services.litestream.volumes).toEqual(['todo-db:/app/data']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
    expect(doc.services.litestream.image).toBe('ghcr.io/acme/todo-board-litestream:${TAG:-latest}');
    expect(doc.services.litestream.build).toEqual({
      context: '..',
      dockerfile: '.deploy/litestream.Dockerfile',
    });
    expect(doc.services.litestream.command.at(-1)).toBe('/app/data/todos.db');
    expect(loadWithRuntime(after.get('litestream.yml')!).dbs[0].path).toBe('/app/data/todos.db');
    expect(plan.files.find((f) => f.path === '.deploy/docker-compose.yml')?.reason).toBe(
      'adds services.litestream; keeps yours',
    );
  });

  it('own-dockerfile: the kept Dockerfile sets the db path (WORKDIR), the sidecar uid (USER) and the port (EXPOSE)', async () => {
    const { before, after, plan } = await run(CASES[1]);
    expect(after.get('Dockerfile')).toBe(before.get('Dockerfile'));
    expect(plan.files.find((f) => f.path === 'Dockerfile')).toMatchObject({ status: 'skip' });
    expect(loadWithRuntime(after.get('litestream.yml')!).dbs[0].path).toBe('/srv/app/storage/shop.sqlite');
    const compose = parse(after.get('.deploy/docker-compose.yml')!);
    expect(compose.services.app.volumes).toEqual(['corner-shop-data:/srv/app/storage']);
    expect(compose.services.litestream.volumes).toEqual(['corner-shop-data:/srv/app/storage']);
    // Behind nginx-proxy: no host port, the proxy goes to the EXPOSEd port.
    expect(compose.services.app.environment.VIRTUAL_PORT).toBe('8081');
    expect(compose.services.app.ports).toBeUndefined();
    const sidecar = after.get('.deploy/litestream.Dockerfile')!;
    expect(sidecar).toContain('chown 10001:10001 /srv/app/storage');
    expect(sidecar).toContain('USER 10001');
    expect(plan.notes.join('\n')).toContain(
      'Dockerfile is yours and stays as is: the compose file is fitted to it (WORKDIR /srv/app, USER 10001 (uid 10001), port 8081).',
    );
    // It declares no Node version and has no lockfile, but its image is its own Dockerfile's:
    // what ls-mix's Dockerfile would have used is neither reported nor asked for.
    expect(formatFacts(plan).join('\n')).not.toMatch(/node version|package manager/);
    expect(plan.notes.join('\n')).not.toMatch(/not found: using/);
  });

  it("usr-src-workdir: Node's Docker-guide layout (WORKDIR /usr/src/app) gets its volume on the app's db folder", async () => {
    const { before, after, plan } = await run(CASES[4]);
    expect(after.get('Dockerfile')).toBe(before.get('Dockerfile'));
    expect(loadWithRuntime(after.get('litestream.yml')!).dbs[0].path).toBe(
      '/usr/src/app/db/data/reading-list.db',
    );
    const compose = parse(after.get('.deploy/docker-compose.yml')!);
    expect(compose.services.app.volumes).toEqual(['reading-list-data:/usr/src/app/db/data']);
    expect(compose.services.litestream.volumes).toEqual(['reading-list-data:/usr/src/app/db/data']);
    expect(plan.containerDb.path).toBe('/usr/src/app/db/data/reading-list.db');
  });

  it('prisma-dockerfile-env: the kept Dockerfile sets the db (ENV DATABASE_URL), the port (ENV PORT) and, through its base stage, WORKDIR and USER', async () => {
    // Shaped like remix-run/indie-stack: the final stage is built FROM a stage of the same file,
    // the image's ENV puts the db on /data, and the app's PORT fallback (3000) never applies.
    const { before, after, plan } = await run(CASES[5]);
    expect(after.get('Dockerfile')).toBe(before.get('Dockerfile'));
    expect(plan.facts.port).toMatchObject({ value: 8080, from: 'Dockerfile ENV PORT' });
    expect(plan.containerDb.path).toBe('/data/trail-log.db');
    expect(loadWithRuntime(after.get('litestream.yml')!).dbs[0].path).toBe('/data/trail-log.db');
    const compose = parse(after.get('.deploy/docker-compose.yml')!);
    // Their value, URL options included, for the app and the migration alike.
    for (const s of ['app', 'migrate'])
      expect(compose.services[s].environment.DATABASE_URL).toBe('file:/data/trail-log.db?connection_limit=1');
    expect(compose.services.app.environment.VIRTUAL_PORT).toBe('8080');
    expect(compose.services.litestream.volumes).toEqual(['trail-log-data:/data']);
    // USER node comes from the base stage: the sidecar hands the db to uid 1000, not root's.
    expect(after.get('.deploy/litestream.Dockerfile')).toMatch(
      /^RUN mkdir -p \/data && chown 1000:1000 \/data$/m,
    );
    expect(plan.notes.join('\n')).toContain(
      'Dockerfile is yours and stays as is: the compose file is fitted to it (WORKDIR /srv/trail-log, USER node (uid 1000), ENV DATABASE_URL, port 8080).',
    );
  });

  it("user-release-yml: the user's release.yml is kept; ours gets another name, and says so", async () => {
    const { before, after, plan, result } = await run(CASES[2]);
    expect(after.get('.github/workflows/release.yml')).toBe(before.get('.github/workflows/release.yml'));
    const ours = after.get('.github/workflows/ls-mix-release.yml')!;
    expect(ours).toMatch(/^name: Release with Litestream$/m);
    expect(ours).toMatch(/^ {2}group: ls-mix-release$/m);
    // Its only other workflow is a (tag) release: nothing to wait for, so on push as before.
    expect(parse(ours).on.push.branches).toBeDefined();
    expect(parse(ours).on.workflow_run).toBeUndefined();
    expect(result.files.map((f) => f.path)).toContain('.github/workflows/ls-mix-release.yml');
    expect(plan.notes.join('\n')).toContain(
      '.github/workflows/release.yml is a workflow of yours: kept, and ls-mix\'s release workflow is .github/workflows/ls-mix-release.yml ("Release with Litestream").',
    );
    // Re-running keeps the name and changes nothing; remove takes only ours.
    const again = await planMixes({
      dir: plan.dir,
      mixes: ['litestream-azure'],
      sidecarTarball: GOLDEN_TARBALL,
    });
    expect(again.files.every((f) => f.status === 'identical')).toBe(true);
    await removeMix(plan.dir, 'litestream-azure');
    expect(await readTree(plan.dir)).toEqual(before);
  });

  it("monorepo-sub: the workflow goes to the git root, builds in the app's folder, triggers on the repo's branch", async () => {
    const { root, after, plan } = await run(CASES[3]);
    expect(plan.branch).toEqual({
      value: 'trunk',
      source: 'detected',
      from: 'git HEAD (the branch checked out)',
    });
    expect(plan.files.map((f) => f.path)).toContain('../../.github/workflows/release.yml');
    expect(after.has('services/api/.github/workflows/release.yml')).toBe(false);
    const wf = parse(after.get('.github/workflows/release.yml')!);
    // The repo's CI runs on push to trunk: the release waits for it to pass, on that commit.
    expect(wf.on.push).toBeUndefined();
    expect(wf.on.workflow_run).toEqual({ workflows: ['CI'], types: ['completed'], branches: ['trunk'] });
    expect(wf.on.workflow_dispatch.inputs.version).toBeDefined();
    expect(wf.jobs.build.if).toContain("github.event.workflow_run.conclusion == 'success'");
    expect(wf.jobs.build.if).toContain("github.event_name == 'workflow_dispatch' && inputs.version == ''");
    expect(wf.jobs.deploy.if).toContain(
      "needs.build.result == 'skipped' && github.event_name == 'workflow_dispatch'",
    );
    for (const j of ['build', 'deploy']) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JS template
      expect(wf.jobs[j].steps[0].with.ref).toBe('${{ github.event.workflow_run.head_sha || github.sha }}');
    }
    expect(plan.notes.join('\n')).toContain(
      'The release runs after your workflow "CI" (.github/workflows/ci.yml) passes on trunk',
    );
    expect(wf.jobs.build.defaults.run['working-directory']).toBe('services/api');
    const builds = wf.jobs.build.steps.filter((s: { uses?: string }) =>
      s.uses?.startsWith('docker/build-push-action@'),
    );
    expect(
      builds.map((s: { with: { context: string; file?: string } }) => [s.with.context, s.with.file]),
    ).toEqual([
      ['services/api', undefined],
      ['services/api', 'services/api/.deploy/litestream.Dockerfile'],
    ]);
    expect(builds.map((s: { with: { 'cache-from': string } }) => s.with['cache-from'])).toEqual([
      'type=gha,scope=field-notes-api-app',
      'type=gha,scope=field-notes-api-litestream',
    ]);
    const scp = wf.jobs.deploy.steps.find((s: { uses?: string }) =>
      s.uses?.startsWith('appleboy/scp-action'),
    );
    expect(scp.with).toMatchObject({
      source:
        'services/api/.deploy/docker-compose.yml,services/api/.deploy/nginx-proxy-compose.yml,services/api/.deploy/nginx-proxy-up.sh',
      strip_components: 3,
    });
    // The remote's HEAD wins over the branch checked out.
    await git(root, ['remote', 'add', 'origin', 'https://example.invalid/field-notes.git']);
    await git(root, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/develop']);
    const again = await planMixes({
      dir: plan.dir,
      mixes: ['litestream-aws'],
      sidecarTarball: GOLDEN_TARBALL,
    });
    expect(again.branch).toEqual({ value: 'develop', source: 'detected', from: 'git origin/HEAD' });
    expect(again.files.find((f) => f.path.endsWith('release.yml'))).toMatchObject({ status: 'update' });
    // remove takes the workflow out of the git root too, and the folders it emptied.
    const removed = await removeMix(plan.dir, 'litestream-aws');
    expect(removed.deleted).toContain('../../.github/workflows/release.yml');
    const left = await readTree(root);
    expect([...left.keys()].filter((p) => !p.startsWith('.git/')).sort()).toEqual(
      [...(await readTree(path.join(FIXTURES_DIR, 'monorepo-sub'))).keys()].sort(),
    );
  });
});
