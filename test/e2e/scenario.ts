/**
 * The whole life of a generated deployment, for one backup storage:
 *   build both images from the generated files -> deploy as release.yml does -> sidecar healthy
 *   before the app starts -> rows written through the app reach the storage in Litestream's
 *   layout -> `docker stop` ends with a final sync -> the server is lost (containers and
 *   volume) -> a new deploy restores before the app starts and serves every row ->
 *   point-in-time restore into a scratch container.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Deployment, deploy } from './deployment.js';
import { build, buildSidecar, docker, inspectContainer, LOCAL_NODE_BUILD_ARGS } from './docker.js';
import { projectWithMix } from './project.js';
import { timed, until } from './timing.js';

export interface Backend {
  mix: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** GitHub secrets of this storage, as the release workflow passes them. */
  secrets(): Record<string, string>;
  /** Test-only sidecar environment: where the storage server is (override file). */
  sidecarEnv(): Record<string, string>;
  /** More test-only keys for the sidecar service (extra_hosts, volumes). */
  sidecarOverride?(): Record<string, unknown>;
  /** Object names below the replica path (`generations/...`). */
  listReplica(replicaPath: string): Promise<string[]>;
  /** Takes the storage server down and brings it back (same address and keys): the outage case. */
  outage?: { down(): Promise<void>; up(): Promise<void> };
}

const LAYOUT =
  /^generations\/[0-9a-f]{16}\/(snapshots\/[0-9a-f]{8}\.snapshot\.lz4|wal\/[0-9a-f]{8}_[0-9a-f]{8}\.wal\.lz4)$/;
const IMAGE_REPO = 'ghcr.io/e2e-owner/notes-api';
const APP_VERSION = '0123456789abcdef0123456789abcdef01234567';

export function deploymentScenario(backend: Backend): void {
  describe(`${backend.mix}: the generated deployment`, () => {
    let work: string;
    let projectDir: string;
    let dep: Deployment;
    let replicaPath: string;
    const app = `${IMAGE_REPO}:${APP_VERSION}`;
    const sidecar = `${IMAGE_REPO}-litestream:${APP_VERSION}`;

    /**
     * HTTP requests to the app from inside its container (it has no network of its own in the
     * test: nothing is published on the host). Each body is POSTed to /notes in order, then
     * GET /notes; prints the statuses and the notes as JSON.
     */
    const CLIENT = `const [port, bodies] = [process.env.PORT || 3000, JSON.parse(process.argv[1])];
const statuses = [];
for (const body of bodies) {
  const r = await fetch('http://127.0.0.1:' + port + '/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ body }) });
  statuses.push(r.status);
}
const r = await fetch('http://127.0.0.1:' + port + '/notes');
console.log(JSON.stringify({ statuses, notes: r.ok ? (await r.json()).map((n) => n.body) : null }));`;
    const api = async (bodies: string[]) => {
      const id = (await dep.compose(['ps', '-q', 'app'])).trim();
      const out = await docker([
        'exec',
        id,
        'node',
        '--input-type=module',
        '-e',
        CLIENT,
        JSON.stringify(bodies),
      ]);
      return JSON.parse(out) as { statuses: number[]; notes: string[] | null };
    };
    const addNotes = async (bodies: string[]) => {
      expect((await api(bodies)).statuses).toEqual(bodies.map(() => 201));
    };
    const notes = async () => (await api([])).notes;
    const appAnswers = () =>
      until('the app answers', 60_000, async () => ((await api([])).notes ? true : undefined));

    /** Restore with the sidecar image and the deployed .env into a scratch container. */
    const restoreScratch = async (extra: string[] = []): Promise<string[]> => {
      const out = await mkdtemp(join(work, 'restore-'));
      await chmod(out, 0o777); // the sidecar runs as the app's uid
      // `docker run --env-file` would keep the quotes .env has: pass the values themselves.
      const envArgs = Object.entries({ ...(await dep.dotenv()), ...backend.sidecarEnv() }).flatMap(
        ([k, v]) => ['-e', `${k}=${v}`],
      );
      const more = backend.sidecarOverride?.() as { extra_hosts?: string[]; volumes?: string[] } | undefined;
      for (const h of more?.extra_hosts ?? []) envArgs.push('--add-host', h);
      for (const v of more?.volumes ?? []) envArgs.push('-v', v);
      await docker([
        'run',
        '--rm',
        '--network',
        'host',
        ...envArgs,
        '-v',
        `${out}:/out`,
        sidecar,
        'ls-mix',
        'restore',
        '-config',
        '/etc/litestream.yml',
        '-o',
        '/out/notes.db',
        ...extra,
        '/data/notes.db',
      ]);
      const db = new Database(join(out, 'notes.db'), { readonly: true });
      try {
        return (db.prepare('SELECT body FROM notes ORDER BY id').all() as Array<{ body: string }>).map(
          (r) => r.body,
        );
      } finally {
        db.close();
        await rm(out, { recursive: true, force: true });
      }
    };

    const containers = async () => {
      const ids = (await dep.compose(['ps', '-q'])).split('\n').filter(Boolean);
      const states = await Promise.all(ids.map(inspectContainer));
      const find = (svc: string) => states.find((s) => s.name.includes(`_${svc}_`));
      return { app: find('app'), sidecar: find('litestream') };
    };

    /** The app must start only after the sidecar passed its healthcheck (restore done). */
    const expectStartOrder = async () => {
      const { app: a, sidecar: s } = await containers();
      expect(s?.health).toBe('healthy');
      expect(a?.running).toBe(true);
      expect(s?.healthyAt.length).toBeGreaterThan(0);
      expect(a?.startedAt).toBeGreaterThanOrEqual(Math.min(...(s?.healthyAt ?? [])));
    };

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-work-'));
      await timed(`${backend.mix}: start the storage server`, () => backend.start());
      projectDir = (await timed(`ls-mix add ${backend.mix}`, () => projectWithMix(backend.mix))).dir;
      const config = parse(await readFile(join(projectDir, 'litestream.yml'), 'utf8'));
      replicaPath = String(config.dbs[0].replicas[0].path);
      // The generated Dockerfile's base is node:${NODE_VERSION}-slim: here the local image of this node.
      await timed('build the app image (Dockerfile)', () => build(projectDir, app, LOCAL_NODE_BUILD_ARGS));
      // As generated: it installs the vendored .deploy/ls-mix-<version>.tgz, never `ls-mix` from the registry.
      const npm = await timed('build the sidecar image (.deploy/litestream.Dockerfile)', () =>
        buildSidecar(projectDir, sidecar),
      );
      expect(npm.fetched.length, 'npm logged its registry fetches').toBeGreaterThan(0);
      expect(npm.ownName, 'registry lookups of ls-mix').toEqual([]);
      dep = await deploy({
        projectDir,
        workflowEnv: {
          IMAGE_REPO,
          APP_VERSION,
          HOST_DOMAIN: 'notes.e2e.test',
          LETSENCRYPT_EMAIL: 'ops@e2e.test',
          GHCR_USER: 'e2e-owner',
          GHCR_TOKEN: 'not-a-real-token',
          ...backend.secrets(),
        },
        override: {
          services: {
            // The engine has no bridge: no network for the app (its published port is ignored).
            app: { network_mode: 'none' },
            litestream: {
              network_mode: 'host',
              environment: backend.sidecarEnv(),
              ...backend.sidecarOverride?.(),
            },
          },
        },
      });
    });

    afterAll(async () => {
      if (dep) {
        const logs = await dep.compose(['logs', '--no-color', '--tail', '40']).catch(() => '');
        if (logs) console.log(logs);
        await timed('compose down -v', () => dep.compose(['down', '-v', '--remove-orphans'])).catch(() => {});
      }
      await backend.stop();
      if (work) await rm(work, { recursive: true, force: true });
      if (projectDir) await rm(join(projectDir, '..'), { recursive: true, force: true });
      if (dep) await rm(join(dep.dir, '..'), { recursive: true, force: true });
    });

    it('deploys with the release workflow script: .env from the secrets (mode 600), sidecar healthy before the app starts', async () => {
      const out = await timed('release.yml deploy script (write .env, compose pull, up -d)', () => dep.up());
      expect(out).toContain(`e2e: ${app} is present locally`);
      const dotenv = await dep.dotenv();
      for (const [k, v] of Object.entries(backend.secrets())) expect(dotenv[k]).toBe(v);
      expect(dotenv.IMAGE_REPO).toBe(IMAGE_REPO);
      expect(dotenv.APP_VERSION).toBe(APP_VERSION);
      const { stat } = await import('node:fs/promises');
      expect((await stat(join(dep.dir, '.env'))).mode & 0o777).toBe(0o600);
      await appAnswers();
      await expectStartOrder();
      expect(await notes()).toEqual([]);
    });

    const first = Array.from({ length: 20 }, (_, i) => `first batch note ${i + 1}`);
    let pointInTime = '';

    it('replicates rows written through the app, in the Litestream layout', async () => {
      await addNotes(first);
      await timed('rows replicated (restore polls)', () =>
        until('the replica holds the 20 rows', 90_000, async () =>
          (await restoreScratch()).length === first.length ? true : undefined,
        ),
      );
      const names = await backend.listReplica(replicaPath);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect(n).toMatch(LAYOUT);
      expect(names.some((n) => n.endsWith('.snapshot.lz4'))).toBe(true);
      expect(names.some((n) => n.endsWith('.wal.lz4'))).toBe(true);
      // Object times have one-second resolution: keep the next batch clearly later.
      await new Promise((r) => setTimeout(r, 1500));
      pointInTime = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 1500));
    });

    const during = backend.outage
      ? Array.from({ length: 3 }, (_, i) => `written while the storage was down ${i + 1}`)
      : [];
    const sidecarHealth = async () => (await containers()).sidecar?.health;

    it.runIf(backend.outage)(
      'storage down: the sidecar turns unhealthy (the app keeps serving); back up: healthy again, and the rows written meanwhile reach the replica',
      async () => {
        const outage = backend.outage!;
        expect(await sidecarHealth()).toBe('healthy');
        await timed('storage server down', () => outage.down());
        try {
          await addNotes(during);
          // /healthz fails once no sync succeeded for max(3 x sync-interval, 10 s), then compose
          // needs `retries` failed checks `interval` apart.
          await timed('sidecar unhealthy', () =>
            until('the sidecar turns unhealthy', 90_000, async () =>
              (await sidecarHealth()) === 'unhealthy' ? true : undefined,
            ),
          );
          expect(await notes()).toEqual([...first, ...during]);
        } finally {
          await timed('storage server up', () => outage.up());
        }
        await timed('sidecar healthy again', () =>
          until('the sidecar is healthy again', 90_000, async () =>
            (await sidecarHealth()) === 'healthy' ? true : undefined,
          ),
        );
        const restored = await until(
          'the replica holds the rows written during the outage',
          60_000,
          async () => {
            const rows = await restoreScratch();
            return rows.length === first.length + during.length ? rows : undefined;
          },
        );
        expect(restored).toEqual([...first, ...during]);
      },
    );

    const second = Array.from({ length: 5 }, (_, i) => `written just before docker stop ${i + 1}`);

    it('docker stop: the sidecar ships the last writes and exits 0 within the stop timeout; the app stops on SIGTERM', async () => {
      const before = await containers();
      await addNotes(second);
      // The sidecar first (the app keeps running): what it had not shipped yet goes in its final sync.
      await timed('compose stop litestream (final sync)', () => dep.compose(['stop', 'litestream']));
      const sidecarState = await inspectContainer(before.sidecar?.id ?? '');
      expect(sidecarState.exitCode).toBe(0); // 137 would be SIGKILL after the 10 s stop timeout
      expect(await dep.compose(['logs', '--no-color', 'litestream'])).toContain('final sync done');
      expect(await restoreScratch()).toEqual([...first, ...during, ...second]);
      await timed('compose stop app', () => dep.compose(['stop', 'app']));
      expect((await inspectContainer(before.app?.id ?? '')).exitCode).not.toBe(137);
    });

    it('a lost server (containers and volume gone): the new deploy restores before the app starts', async () => {
      await timed('compose down -v', () => dep.compose(['down', '-v']));
      expect(await docker(['volume', 'ls', '-q'])).not.toMatch(/notes-api/);
      await timed('deploy again onto the empty host', () => dep.up());
      await appAnswers();
      await expectStartOrder();
      expect(await notes()).toEqual([...first, ...during, ...second]);
      const logs = await dep.compose(['logs', '--no-color', 'litestream']);
      expect(logs).toMatch(/restor/i);
    });

    it('point-in-time restore (-timestamp) into a scratch container', async () => {
      expect(await restoreScratch(['-timestamp', pointInTime])).toEqual(first);
    });
  });
}
