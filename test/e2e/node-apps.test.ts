/**
 * The generated Node Dockerfile builds for npm, Yarn 4 and pnpm (a workspace), and the app in
 * it opens its db where the sidecar replicates: the generated compose file (with the env var
 * wiring it sets on the app) runs both; a row written through the app is found in a restore
 * of the replica.
 *
 * Test-only parts: NODE_VERSION is the local base image's major (the images here are made
 * from this machine's node); COREPACK_NPM_REGISTRY points corepack at the npm registry (Yarn
 * and pnpm can only come from there here); the sidecar replicates to a file replica in a host
 * folder instead of cloud storage (its command is overridden; its image, volume and db path
 * are the generated ones).
 */
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { build, buildSidecar, compose, docker } from './docker.js';
import { ROOT } from './project.js';
import { timed, until } from './timing.js';

const NODE_MAJOR = process.versions.node.split('.')[0];
const CASES = [
  { pm: 'npm', fixture: 'express', app: 'notes-api', expectEnv: 'DB_PATH' },
  { pm: 'yarn', fixture: 'yarn4-notes', app: 'yarn-notes', expectEnv: 'DATA_DIR' },
  { pm: 'pnpm', fixture: 'pnpm-monorepo', app: 'notes-api', expectEnv: 'NOTES_DB' },
] as const;

const CLIENT = `const [port, body] = [process.env.PORT, process.argv[1]];
const post = await fetch('http://127.0.0.1:' + port + '/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ body }) });
const list = await fetch('http://127.0.0.1:' + port + '/notes');
console.log(JSON.stringify({ status: post.status, notes: (await list.json()).map((n) => n.body) }));`;

const registry = (await execa('npm', ['config', 'get', 'registry'])).stdout.trim();
const SIDECAR = 'e2e-gen-detect/sidecar:latest';
let sidecarBuilt: Promise<void> | undefined;

/** A copy of the fixture with `ls-mix add litestream-aws` run on it (which vendors ls-mix into .deploy/). */
async function addMix(fixture: string, dir: string): Promise<void> {
  await cp(join(ROOT, 'test/fixtures/projects', fixture), dir, { recursive: true });
  // --no-proxy: the app runs without a network here (proxy-host.test.ts has the proxy).
  await execa('node', [join(ROOT, 'bin/run.js'), 'add', 'litestream-aws', '--dir', dir, '--no-proxy'], {
    stdin: 'ignore',
    env: { CI: 'true' },
  });
}

/**
 * One sidecar image for the three apps, built from the express fixture's generated
 * .deploy/litestream.Dockerfile as generated (the same file and tarball each time, so the
 * build cache holds): all three keep their db in /data, and the test gives the sidecar its
 * db path in a config of its own. better-sqlite3 compiles once, not three times.
 */
async function buildSharedSidecar(): Promise<void> {
  const dir = join(await mkdtemp(join(tmpdir(), 'ls-mix-e2e-sidecar-')), 'notes-api');
  await addMix('express', dir);
  const npm = await timed('docker build of the sidecar', () => buildSidecar(dir, SIDECAR));
  expect(npm.ownName, 'registry lookups of ls-mix').toEqual([]);
  await rm(dirname(dir), { recursive: true, force: true });
}

/**
 * NODE_VERSION for the build: the local base image of this machine's node. The npm registry
 * reachable here serves no npm signatures, which corepack checks for pnpm: the pnpm build
 * starts from a test-only child of that image with COREPACK_INTEGRITY_KEYS=0 (users' corepack
 * keeps checking them).
 */
async function nodeBase(pm: string): Promise<string> {
  if (pm !== 'pnpm') return NODE_MAJOR;
  const ctx = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-base-'));
  await writeFile(join(ctx, 'Dockerfile'), `FROM node:${NODE_MAJOR}-slim\nENV COREPACK_INTEGRITY_KEYS=0\n`);
  await build(ctx, `node:${NODE_MAJOR}-nosig-slim`);
  await rm(ctx, { recursive: true, force: true });
  return `${NODE_MAJOR}-nosig`;
}

describe.each(CASES)(
  'the generated Node Dockerfile with $pm ($fixture)',
  ({ pm, fixture, app, expectEnv }) => {
    let work: string;
    let dir: string;
    let replicaDir: string;
    let composeEnv: Record<string, string> | undefined;
    const tag = `e2e-gen-detect/${fixture}`;
    const run = (args: string[]) => compose(join(dir, '.deploy'), args, composeEnv);

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), `ls-mix-e2e-${pm}-`));
      dir = join(work, app);
      await addMix(fixture, dir);
      const base = await nodeBase(pm);
      await timed(`${pm}: docker build of the generated Dockerfile`, () =>
        build(dir, `${tag}:app`, [
          '--build-arg',
          `NODE_VERSION=${base}`,
          '--build-arg',
          `COREPACK_NPM_REGISTRY=${registry.replace(/\/$/, '')}`,
        ]),
      );
      sidecarBuilt ??= buildSharedSidecar();
      await sidecarBuilt;
      replicaDir = join(work, 'replica');
      await mkdir(replicaDir);
      await chmod(replicaDir, 0o777); // the sidecar runs as uid 1000
    }, 2_400_000);

    afterAll(async () => {
      if (composeEnv) await run(['down', '-v']).catch(() => {});
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('the app opens the db at the path the sidecar replicates: a row written through it is in the restored replica', async () => {
      const compose = parse(await readFile(join(dir, '.deploy/docker-compose.yml'), 'utf8'));
      const litestream = parse(await readFile(join(dir, 'litestream.yml'), 'utf8'));
      const dbPath: string = litestream.dbs[0].path;
      expect(dbPath.startsWith('/data/')).toBe(true); // the shared sidecar image prepares /data
      // The compose file wires the env var the app reads its db location from.
      expect(Object.keys(compose.services.app.environment)).toContain(expectEnv);
      const override = {
        services: {
          app: { image: `${tag}:app`, network_mode: 'none' },
          litestream: {
            image: SIDECAR,
            network_mode: 'none',
            volumes: [`${replicaDir}:/replica`],
            // A config of its own (the replica is a local folder) that keeps the generated
            // `addr`, so the generated healthcheck (/healthz) is what gates the app.
            command: [
              'sh',
              '-c',
              `printf '%s\\n' 'addr: 127.0.0.1:9465' dbs: '  - path: ${dbPath}' '    replicas:' '      - url: file:///replica' > /tmp/e2e-litestream.yml && exec ls-mix replicate -config /tmp/e2e-litestream.yml`,
            ],
          },
        },
      };
      await writeFile(join(dir, '.deploy/e2e.override.yml'), stringify(override));
      composeEnv = {
        COMPOSE_FILE: 'docker-compose.yml:e2e.override.yml',
        COMPOSE_PROJECT_NAME: `gendetect${pm}`,
        IMAGE_REPO: 'unused',
        HOST_DOMAIN: 'app.example.test',
        LETSENCRYPT_EMAIL: 'ops@example.test',
        AWS_S3_BUCKET: 'unused',
        AWS_ACCESS_KEY_ID: 'unused',
        AWS_SECRET_ACCESS_KEY: 'unused',
      };
      await timed(`${pm}: compose up`, () => run(['up', '-d']));
      const appId = (await run(['ps', '-q', 'app'])).trim().split('\n').pop() ?? '';
      const body = `written through the ${pm} app`;
      const reply = await until('the app answers', 120_000, async () => {
        const out = await docker(['exec', appId, 'node', '--input-type=module', '-e', CLIENT, body]);
        return JSON.parse(out.trim().split('\n').pop() ?? '') as { status: number; notes: string[] };
      });
      expect(reply.status).toBe(201);
      expect(reply.notes).toContain(body);
      // The app's own file is the one on the shared volume, at the path litestream.yml names.
      const sidecarId = (await run(['ps', '-q', 'litestream'])).trim();
      await docker(['exec', sidecarId, 'test', '-f', dbPath]);
      await timed(`${pm}: compose stop (final sync)`, () => run(['stop']));

      const out = join(work, 'restored.db');
      await timed(`${pm}: restore from the replica`, () =>
        execa('node', [join(ROOT, 'bin/run.js'), 'restore', '-o', out, `file://${replicaDir}`]),
      );
      const db = new Database(out, { readonly: true });
      try {
        const rows = db.prepare('SELECT body FROM notes').all() as { body: string }[];
        expect(rows.map((r) => r.body)).toContain(body);
      } finally {
        db.close();
      }
    });
  },
);
