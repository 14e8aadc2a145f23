/**
 * Migrating a ServiceStack-mix deployment: its backup, a replica written by the REAL Litestream
 * v0.3.13 (test/fixtures/litestream-v0.3.13/basic), sits in the bucket under the ServiceStack
 * replica path (NotesApi.sqlite). `ls-mix add litestream-aws` on a project with that mix's
 * compose template, then the generated release workflow's deploy: the new sidecar restores that
 * replica before the app starts, and the app's db holds every row Litestream itself restores
 * from it (expected/latest.db). Runs for ls-mix's sidecar, and for `--sidecar litestream` when
 * LS_MIX_E2E_LITESTREAM_BIN points at a litestream v0.3.13 binary (Docker Hub is not reachable
 * here: the binary is wrapped into a local `litestream/litestream:0.3.13` image); skipped
 * otherwise.
 */
import { execFile } from 'node:child_process';
import { copyFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type RgwServer, startRgw } from '../services/rgw.js';
import { type Deployment, deploy } from './deployment.js';
import { build, buildSidecar, docker, inspectContainer, LOCAL_NODE_BUILD_ARGS } from './docker.js';
import { ROOT } from './project.js';
import { timed, until } from './timing.js';

const FIXTURE = join(ROOT, 'test/fixtures/projects/servicestack-mix-node');
const REPLICA = join(ROOT, 'test/fixtures/litestream-v0.3.13/basic/replica');
const EXPECTED = join(ROOT, 'test/fixtures/litestream-v0.3.13/basic/expected/latest.db');
const REPLICA_PATH = 'NotesApi.sqlite';
const BUCKET = 'servicestack-backups';
const IMAGE_REPO = 'ghcr.io/e2e-owner/notes-api';
const APP_VERSION = 'fedcba9876543210fedcba9876543210fedcba98';
const LITESTREAM_BIN = process.env.LS_MIX_E2E_LITESTREAM_BIN;

type Row = { id: number; tx: number; v: string };

/** The rows Litestream restores from the replica (read from a copy: opening it leaves -shm/-wal files). */
async function expectedRows(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-expected-'));
  await copyFile(EXPECTED, join(dir, 'latest.db'));
  const db = new Database(join(dir, 'latest.db'), { readonly: true });
  try {
    return db.prepare('SELECT id, tx, v FROM t ORDER BY id').all() as Row[];
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** `litestream/litestream:0.3.13` made here from the given binary (and the libsqlite3 it links). */
async function wrapLitestream(bin: string): Promise<void> {
  const ctx = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-litestream-'));
  try {
    await copyFile(bin, join(ctx, 'litestream'));
    const { stdout } = await promisify(execFile)('ldd', [bin]);
    const libs = [...stdout.matchAll(/=> (\/\S+libsqlite3\S*)/g)].map((m) => m[1]);
    for (const l of libs) await copyFile(l, join(ctx, l.split('/').pop() ?? 'lib'));
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        'FROM debian:bookworm-slim',
        ...libs.map((l) => `COPY ${l.split('/').pop()} /usr/lib/x86_64-linux-gnu/`),
        'COPY litestream /usr/local/bin/litestream',
        'ENTRYPOINT ["/usr/local/bin/litestream"]',
        '',
      ].join('\n'),
    );
    await build(ctx, 'litestream/litestream:0.3.13');
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

function migration(sidecar: 'ls-mix' | 'litestream') {
  describe(`a ServiceStack-mix deployment moved to ls-mix (--sidecar ${sidecar})`, () => {
    let rgw: RgwServer | undefined;
    let projectDir: string;
    let dep: Deployment;
    let addOutput = '';
    const app = `${IMAGE_REPO}:${APP_VERSION}`;

    const appDbRows = async (): Promise<{ rows: Row[]; integrity: string }> => {
      const id = (await dep.compose(['ps', '-q', 'app'])).trim();
      const script = `const D = require('better-sqlite3'); const db = new D(process.env.DB_PATH, { readonly: true });
console.log(JSON.stringify({ rows: db.prepare('SELECT id, tx, v FROM t ORDER BY id').all(), integrity: db.pragma('integrity_check', { simple: true }) }));`;
      return JSON.parse(await docker(['exec', '-w', '/app', id, 'node', '-e', script]));
    };

    beforeAll(async () => {
      rgw = await timed('start Ceph RGW', () => startRgw());
      await rgw.createBucket(BUCKET);
      // The ServiceStack sidecar's backup: Litestream v0.3.13's own objects, under its replica path.
      const s3 = new S3Client({
        endpoint: rgw.endpoint,
        region: rgw.region,
        forcePathStyle: true,
        credentials: rgw.credentials,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      });
      for (const f of await files(REPLICA)) {
        await s3.send(
          new PutObjectCommand({
            Bucket: BUCKET,
            Key: `${REPLICA_PATH}/${f.split('\\').join('/')}`,
            Body: await readFile(join(REPLICA, f)),
          }),
        );
      }
      s3.destroy();

      projectDir = join(await mkdtemp(join(tmpdir(), 'ls-mix-e2e-ss-')), 'notes-api');
      await cp(FIXTURE, projectDir, { recursive: true });
      const r = await execa(
        'node',
        [
          join(ROOT, 'bin/run.js'),
          'add',
          'litestream-aws',
          '--dir',
          projectDir,
          '--sidecar',
          sidecar,
          '--no-proxy',
        ],
        { stdin: 'ignore', env: { CI: 'true' } },
      );
      addOutput = r.stdout;
      await timed('build the app image', () => build(projectDir, app, LOCAL_NODE_BUILD_ARGS));
      if (sidecar === 'ls-mix') {
        // As generated: the sidecar installs the .deploy/ls-mix-<version>.tgz that `add` vendored.
        await timed('build the sidecar image', () =>
          buildSidecar(projectDir, `${IMAGE_REPO}-litestream:${APP_VERSION}`),
        );
      } else {
        await timed('wrap the litestream binary as litestream/litestream:0.3.13', () =>
          wrapLitestream(LITESTREAM_BIN ?? ''),
        );
        // The release workflow's step before the scp: litestream.yml goes beside the compose file.
        await copyFile(join(projectDir, 'litestream.yml'), join(projectDir, '.deploy/litestream.yml'));
      }
      dep = await deploy({
        projectDir,
        workflowEnv: {
          IMAGE_REPO,
          APP_VERSION,
          HOST_DOMAIN: 'notes.e2e.test',
          LETSENCRYPT_EMAIL: 'ops@e2e.test',
          GHCR_USER: 'e2e-owner',
          GHCR_TOKEN: 'not-a-real-token',
          AWS_S3_BUCKET: BUCKET,
          AWS_ACCESS_KEY_ID: rgw.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: rgw.credentials.secretAccessKey,
          AWS_ENDPOINT_URL_S3: rgw.endpoint,
          AWS_REGION: rgw.region,
        },
        override: {
          services: { app: { network_mode: 'none' }, litestream: { network_mode: 'host' } },
        },
      });
      // The release workflow's scp step puts litestream.yml beside the compose file (Go sidecar).
      if (sidecar === 'litestream')
        await copyFile(join(projectDir, 'litestream.yml'), join(dep.dir, 'litestream.yml'));
    });

    afterAll(async () => {
      if (dep) {
        const logs = await dep.compose(['logs', '--no-color', '--tail', '40']).catch(() => '');
        if (logs) console.log(logs);
        await dep.compose(['down', '-v', '--remove-orphans']).catch(() => {});
        await rm(join(dep.dir, '..'), { recursive: true, force: true });
      }
      await rgw?.stop();
      if (projectDir) await rm(join(projectDir, '..'), { recursive: true, force: true });
    });

    it('add keeps the ServiceStack replica path and says so', async () => {
      expect(addOutput).toContain(`replica path ${REPLICA_PATH} (from .deploy/docker-compose-template.yml`);
      const cfg = parse(await readFile(join(projectDir, 'litestream.yml'), 'utf8'));
      expect(cfg.dbs[0].replicas[0].path).toBe(REPLICA_PATH);
    });

    it('the first deploy restores the existing backup before the app starts: no row lost', async () => {
      await timed('release.yml deploy script', () => dep.up());
      const rows = await until('the app runs on the restored db', 120_000, async () => {
        const r = await appDbRows().catch(() => undefined);
        return r && r.rows.length > 0 ? r : undefined;
      });
      expect(rows.integrity).toBe('ok');
      const want = await expectedRows();
      expect(want.length).toBeGreaterThan(0);
      expect(rows.rows).toEqual(want);
      // The app started only after the sidecar's healthcheck passed (the restore was done).
      const ids = (await dep.compose(['ps', '-q'])).split('\n').filter(Boolean);
      const states = await Promise.all(ids.map(inspectContainer));
      const sc = states.find((s) => s.name.includes('_litestream_'));
      const a = states.find((s) => s.name.includes('_app_'));
      expect(sc?.health).toBe('healthy');
      expect(a?.startedAt).toBeGreaterThanOrEqual(Math.min(...(sc?.healthyAt ?? [])));
      expect(await dep.compose(['logs', '--no-color', 'litestream'])).toMatch(/restor/i);
    });
  });
}

migration('ls-mix');
if (LITESTREAM_BIN) migration('litestream');
else
  describe.skip('--sidecar litestream (set LS_MIX_E2E_LITESTREAM_BIN to a litestream v0.3.13 binary to run it)', () => {
    it('restores the ServiceStack backup with the Go Litestream image', () => {});
  });
