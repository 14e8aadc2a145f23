/**
 * Two .NET starters through the whole generated path, on SFTP storage (a private sshd):
 * `ls-mix new` -> build the app image (generated Dockerfile: SDK -> ASP.NET, images made from
 * this machine's dotnet by .ci/e2e/base-images.sh) and the sidecar image -> the release
 * workflow's deploy script -> sidecar healthy before the app starts -> rows written through the
 * app's HTTP API land in the db the sidecar replicates (the app gets its connection string from
 * compose; requests come from a container in the app's network namespace) -> the volume is
 * lost -> the next deploy restores before the app starts.
 *
 * `blazor-tailwind`'s csproj runs npm during `dotnet publish`: its SDK stage needs Node.
 * NuGet and npm inside `docker build` reach the same sources as the host (--network host; the
 * base images trust the host's CA bundle).
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type SshdServer, startSshd } from '../services/sshd.js';
import { type Deployment, deploy } from './deployment.js';
import { build, buildSidecar, docker, inspectContainer, LOCAL_NODE_BUILD_ARGS } from './docker.js';
import { ROOT } from './project.js';
import { timed, until } from './timing.js';

const APP_VERSION = 'fedcba9876543210fedcba9876543210fedcba98';

const CASES = [
  { template: 'web', name: 'Dotnet Notes', mix: 'litestream-sftp' },
  { template: 'blazor-tailwind', name: 'Tailwind Notes', mix: 'blazor-litestream-sftp' },
];

describe.each(CASES)('.NET starter $template: the generated deployment', ({ template, name, mix }) => {
  let sshd: SshdServer | undefined;
  let home = '';
  let work = '';
  let dir = '';
  let kebab = '';
  let dep: Deployment | undefined;
  let replicaPath = '';
  let dbInContainer = '';
  const imageRepo = `ghcr.io/e2e-owner/${template}`;
  const app = `${imageRepo}:${APP_VERSION}`;
  const sidecar = `${imageRepo}-litestream:${APP_VERSION}`;

  /**
   * HTTP to the app from a throwaway container in the app container's network namespace (the
   * app has no network of its own here): the sidecar image brings Node. POSTs each text to
   * /api/notes in order, then GETs the list; prints the statuses and the texts as JSON.
   */
  const CLIENT = `const texts = JSON.parse(process.argv[1]);
const base = 'http://127.0.0.1:8080';
const statuses = [];
for (const text of texts) {
  const r = await fetch(base + '/api/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
  statuses.push(r.status);
}
const health = await fetch(base + '/healthz').then((r) => r.status, () => 0);
const r = await fetch(base + '/api/notes?limit=500').catch(() => undefined);
console.log(JSON.stringify({ health, statuses, notes: r?.ok ? (await r.json()).map((n) => n.text).reverse() : null }));`;
  const api = async (texts: string[]) => {
    const id = (await (dep as Deployment).compose(['ps', '-q', 'app'])).trim();
    const out = await docker([
      'run',
      '--rm',
      '--network',
      `container:${id}`,
      '--entrypoint',
      'node',
      sidecar,
      '--input-type=module',
      '-e',
      CLIENT,
      JSON.stringify(texts),
    ]);
    return JSON.parse(out) as { health: number; statuses: number[]; notes: string[] | null };
  };
  const addNotes = async (texts: string[]) => {
    expect((await api(texts)).statuses).toEqual(texts.map(() => 201));
  };
  const notes = async () => (await api([])).notes;
  const appAnswers = () =>
    until('the app answers /healthz', 90_000, async () =>
      (await api([])).health === 200 ? true : undefined,
    );

  /** Restore with the sidecar image and the deployed .env into a scratch folder. */
  const restoreScratch = async (): Promise<string[]> => {
    const out = await mkdtemp(join(work, 'restore-'));
    await chmod(out, 0o777);
    const envArgs = Object.entries(await (dep as Deployment).dotenv()).flatMap(([k, v]) => [
      '-e',
      `${k}=${v}`,
    ]);
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
      '/out/app.db',
      dbInContainer,
    ]);
    const db = new Database(join(out, 'app.db'), { readonly: true });
    try {
      return (db.prepare('SELECT text FROM notes ORDER BY id').all() as { text: string }[]).map(
        (r) => r.text,
      );
    } finally {
      db.close();
      await rm(out, { recursive: true, force: true });
    }
  };

  const containers = async () => {
    const ids = (await (dep as Deployment).compose(['ps', '-q'])).split('\n').filter(Boolean);
    const states = await Promise.all(ids.map(inspectContainer));
    return {
      app: states.find((s) => s.name.includes('_app_')),
      sidecar: states.find((s) => s.name.includes('_litestream_')),
    };
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-dotnet-'));
    sshd = await startSshd();
    home = execFileSync('getent', ['passwd', sshd.user], { encoding: 'utf8' }).split(':')[5];
    await execa(
      'node',
      [join(ROOT, 'bin/run.js'), 'new', '--template', template, name, '--mix', mix, '--no-git'],
      {
        cwd: work,
        stdin: 'ignore',
        env: { CI: 'true' },
      },
    );
    dir = join(work, name.replace(/ /g, ''));
    // Without the proxy network: the app runs with no network here (proxy-host.test.ts has the proxy).
    await execa('node', [join(ROOT, 'bin/run.js'), 'add', mix, '--dir', dir, '--no-proxy', '--yes'], {
      stdin: 'ignore',
      env: { CI: 'true' },
    });
    const config = parse(await readFile(join(dir, 'litestream.yml'), 'utf8'));
    replicaPath = String(config.dbs[0].replicas[0].path);
    dbInContainer = String(config.dbs[0].path);
    kebab = replicaPath.split('/')[0];
    await rm(join(home, kebab), { recursive: true, force: true });
    await timed(`${template}: build the app image (generated Dockerfile)`, () =>
      build(dir, app, LOCAL_NODE_BUILD_ARGS),
    );
    // As generated: it installs the .deploy/ls-mix-<version>.tgz `new` vendored.
    const npm = await timed(`${template}: build the sidecar image`, () => buildSidecar(dir, sidecar));
    expect(npm.ownName, 'registry lookups of ls-mix').toEqual([]);
    dep = await deploy({
      projectDir: dir,
      workflowEnv: {
        IMAGE_REPO: imageRepo,
        APP_VERSION,
        HOST_DOMAIN: 'notes.e2e.test',
        LETSENCRYPT_EMAIL: 'ops@e2e.test',
        GHCR_USER: 'e2e-owner',
        GHCR_TOKEN: 'not-a-real-token',
        SFTP_HOST: '127.0.0.1',
        SFTP_PORT: String(sshd.port),
        SFTP_USERNAME: sshd.user,
        SFTP_PASSWORD: sshd.password,
        SFTP_HOST_KEY: sshd.hostKey,
      },
      override: {
        services: {
          // The engine has no bridge: no network for the app (HTTP goes through `api`), the
          // host's for the sidecar (the sshd on 127.0.0.1).
          app: { network_mode: 'none' },
          litestream: { network_mode: 'host' },
        },
      },
    });
  });

  afterAll(async () => {
    if (dep) {
      const logs = await dep.compose(['logs', '--no-color', '--tail', '40']).catch(() => '');
      if (logs) console.log(logs);
      await dep.compose(['down', '-v', '--remove-orphans']).catch(() => {});
      await rm(join(dep.dir, '..'), { recursive: true, force: true });
    }
    await sshd?.stop();
    if (home && kebab) await rm(join(home, kebab), { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the generated Dockerfile builds with .NET 10 images (and Node in the SDK stage when the csproj runs npm)', async () => {
    const dockerfile = await readFile(join(dir, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build');
    expect(dockerfile).toContain('FROM mcr.microsoft.com/dotnet/aspnet:10.0');
    if (template === 'blazor-tailwind') {
      expect(dockerfile).toMatch(/COPY --from=node \/usr\/local\/bin\/node/);
      // The publish ran `npm run ui:build`: the image serves the built Tailwind CSS.
      const css = await docker(['run', '--rm', '--entrypoint', 'cat', app, '/app/wwwroot/app.css']);
      expect(css.length).toBeGreaterThan(100);
    } else {
      expect(dockerfile).not.toContain('node');
    }
  });

  it('deploys: sidecar healthy before the app starts; the app writes the db the sidecar replicates', async () => {
    const d = dep as Deployment;
    await timed(`${template}: deploy script (write .env, compose pull, up -d)`, () => d.up());
    await appAnswers();
    const { app: a, sidecar: s } = await containers();
    expect(s?.health).toBe('healthy');
    expect(a?.startedAt).toBeGreaterThanOrEqual(Math.min(...(s?.healthyAt ?? [])));
    // The connection string comes from compose, pointing into the shared volume.
    const env = JSON.parse(await docker(['inspect', '-f', '{{json .Config.Env}}', a?.id ?? ''])) as string[];
    expect(env).toContain(`ConnectionStrings__DefaultConnection=Data Source=${dbInContainer};Cache=Shared`);
    expect(await notes()).toEqual([]);

    const first = Array.from({ length: 15 }, (_, i) => `${template} note ${i + 1}`);
    await addNotes(first);
    expect(await notes()).toEqual(first);
    // The sidecar sees the app's writes in its own mount of the volume, and ships them.
    await until('the replica holds the rows', 90_000, async () =>
      (await restoreScratch()).length === first.length ? true : undefined,
    );
    const objects = (await readdir(join(home, replicaPath), { recursive: true })).map(String);
    expect(objects.some((o) => o.endsWith('.snapshot.lz4'))).toBe(true);
    expect(objects.some((o) => o.endsWith('.wal.lz4'))).toBe(true);
  });

  it('stop ships the last writes; a lost volume is restored by the next deploy before the app starts', async () => {
    const d = dep as Deployment;
    const last = ['written just before stop 1', 'written just before stop 2'];
    await addNotes(last);
    const all = await notes();
    expect(all).toHaveLength(17);
    await timed(`${template}: compose stop litestream (final sync)`, () => d.compose(['stop', 'litestream']));
    expect(await d.compose(['logs', '--no-color', 'litestream'])).toContain('final sync done');
    expect(await restoreScratch()).toEqual(all);

    await timed(`${template}: compose down -v`, () => d.compose(['down', '-v']));
    expect(await docker(['volume', 'ls', '-q'])).not.toContain(`${kebab}-data`);
    await timed(`${template}: deploy again onto the empty host`, () => d.up());
    await appAnswers();
    const { app: a, sidecar: s } = await containers();
    expect(a?.startedAt).toBeGreaterThanOrEqual(Math.min(...(s?.healthyAt ?? [])));
    expect(await notes()).toEqual(all);
    expect(await d.compose(['logs', '--no-color', 'litestream'])).toMatch(/restor/i);
  });
});
