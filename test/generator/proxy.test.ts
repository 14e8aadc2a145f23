/**
 * ServiceStack's host conventions: the app joins nginx-proxy's external network and publishes no
 * host port; `--proxy-network`, `--no-proxy` and `--host-port` change that and are remembered.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose interpolation, not JS templates
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyPlan, planMixes } from '../../src/generator/index.js';
import type { Overrides } from '../../src/generator/types.js';
import { composeSchemaErrors, dockerComposeConfig } from '../validators/compose.js';
import { cleanupTemps, copyFixture, GOLDEN_DIR, REPO } from './helpers.js';

afterAll(cleanupTemps);

interface Compose {
  services: Record<string, { ports?: string[]; networks?: string[]; environment?: Record<string, string> }>;
  networks?: Record<string, { external?: boolean; name?: string }>;
}

const ENV = {
  IMAGE_REPO: 'ghcr.io/o/notes-api',
  HOST_DOMAIN: 'notes.example.org',
  LETSENCRYPT_EMAIL: 'ops@example.org',
};

async function generate(fixture: string, overrides: Overrides = {}, dir?: string) {
  const target = dir ?? (await copyFixture(fixture));
  const plan = await planMixes({ dir: target, mixes: ['litestream-sftp'], overrides });
  await applyPlan(plan, { yes: true });
  const text = await readFile(path.join(target, '.deploy/docker-compose.yml'), 'utf8');
  const envExample = await readFile(path.join(target, '.deploy/.env.example'), 'utf8');
  return { dir: target, plan, text, compose: parse(text) as Compose, envExample };
}

describe('the proxy network (nginx-proxy + acme-companion on one host)', { timeout: 120_000 }, () => {
  it('by default the app joins the external `nginx` network and publishes no host port; sidecar and migrate stay on the default network', async () => {
    const dir = await copyFixture('express');
    // A migrate script: the one-shot `migrate` service is there too.
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    pkg.scripts = { ...pkg.scripts, migrate: 'node src/migrate.js' };
    await writeFile(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    const { compose, text, envExample, plan } = await generate('express', {}, dir);
    expect(compose.services.app.ports).toBeUndefined();
    expect(compose.services.app.networks).toEqual(['default', 'proxy']);
    expect(compose.networks).toEqual({ proxy: { external: true, name: 'nginx' } });
    expect(compose.services.litestream.networks).toBeUndefined();
    expect(compose.services.migrate.networks).toBeUndefined();
    expect(compose.services.app.environment).toMatchObject({
      VIRTUAL_HOST: '${HOST_DOMAIN}',
      VIRTUAL_PORT: '3000',
      LETSENCRYPT_HOST: '${HOST_DOMAIN}',
    });
    expect(envExample).not.toContain('APP_PORT');
    expect(plan.proxy.network).toMatchObject({ value: 'nginx', source: 'default' });
    expect(await dockerComposeConfig(text, ENV)).toBe('');
  });

  it('--proxy-network and --host-port: that network, and the port published (APP_PORT overrides)', async () => {
    const { compose, text, envExample } = await generate('express', {
      proxyNetwork: 'web-proxy',
      hostPort: '127.0.0.1:8080',
    });
    expect(compose.networks).toEqual({ proxy: { external: true, name: 'web-proxy' } });
    expect(compose.services.app.ports).toEqual(['${APP_PORT:-127.0.0.1:8080}:3000']);
    expect(envExample).toContain('APP_PORT=127.0.0.1:8080');
    expect(await dockerComposeConfig(text, ENV)).toBe('');
  });

  it('no proxy (`none`): no network, host port 80 as before', async () => {
    const { compose, text, envExample } = await generate('dotnet-web', { proxyNetwork: 'none' });
    expect(compose.networks).toBeUndefined();
    expect(compose.services.app.networks).toBeUndefined();
    expect(compose.services.app.ports).toEqual(['${APP_PORT:-80}:8080']);
    expect(envExample).toContain('APP_PORT=80');
    expect(await dockerComposeConfig(text, ENV)).toBe('');
  });

  it('refuses a network name or host port docker would not take, naming the flag', async () => {
    const dir = await copyFixture('express');
    await expect(
      planMixes({ dir, mixes: ['litestream-aws'], overrides: { proxyNetwork: 'bad name;x' } }),
    ).rejects.toThrow(/--proxy-network 'bad name;x' is not a docker network name/);
    for (const hostPort of ['0', '70000', '8080:80', '300.1.1.1:80', 'x'])
      await expect(planMixes({ dir, mixes: ['litestream-aws'], overrides: { hostPort } })).rejects.toThrow(
        /--host-port .* is not a host port/,
      );
  });

  it('a compose file of yours without an app service: ours is added with the network, and compose accepts it', async () => {
    const dir = await copyFixture('express');
    await mkdir(path.join(dir, '.deploy'));
    const theirs = 'services:\n  cache:\n    image: redis:7\n';
    await writeFile(path.join(dir, '.deploy/docker-compose.yml'), theirs);
    const { text, compose } = await generate('express', {}, dir);
    expect(text.startsWith(theirs)).toBe(true);
    expect(compose.services.app.networks).toEqual(['default', 'proxy']);
    expect(compose.networks).toEqual({ proxy: { external: true, name: 'nginx' } });
    expect(await dockerComposeConfig(text, ENV)).toBe('');
  });

  it('your own app service: kept as is, with a note saying what joins it to the proxy (none once it is on it)', async () => {
    const dir = await copyFixture('express');
    await mkdir(path.join(dir, '.deploy'));
    const theirs = [
      'services:',
      '  app:',
      '    build: ..',
      '    ports: ["80:3000"]',
      '    environment:',
      '      DB_PATH: /data/notes.db',
      '    volumes:',
      '      - notes:/data',
      'volumes:',
      '  notes:',
      '',
    ].join('\n');
    await writeFile(path.join(dir, '.deploy/docker-compose.yml'), theirs);
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    const note = plan.notes.find((n) => n.includes("proxy's network"));
    expect(note).toContain("your 'app' service is not on the proxy's network 'nginx'");
    expect(note).toContain('networks: { proxy: { external: true, name: nginx } }');
    expect(note).toContain('drop its published ports');
    const merged = plan.files.find((f) => f.path === '.deploy/docker-compose.yml');
    expect(merged?.content).not.toContain('external: true');

    const onIt = theirs
      .replace('    ports: ["80:3000"]\n', '    networks: [default, web]\n')
      .concat('networks:\n  web:\n    external: true\n    name: nginx\n');
    await writeFile(path.join(dir, '.deploy/docker-compose.yml'), onIt);
    const again = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(again.notes.some((n) => n.includes("proxy's network"))).toBe(false);
    const none = await planMixes({ dir, mixes: ['litestream-aws'], overrides: { proxyNetwork: 'none' } });
    expect(none.notes.some((n) => n.includes("proxy's network"))).toBe(false);
  });

  it('the CLI: --no-proxy and --host-port are shown, remembered in .ls-mix.json, and a re-run keeps them', async () => {
    expect(existsSync(path.join(REPO, 'dist/src/commands/add.js')), 'run `npm run build` first').toBe(true);
    const dir = await copyFixture('express');
    const run = (args: string[]) =>
      execa('node', [path.join(REPO, 'bin/run.js'), 'add', 'litestream-aws', '--dir', dir, ...args], {
        stdin: 'ignore',
        env: { NO_COLOR: '1', CI: 'true' },
        reject: false,
      });
    const first = await run(['--no-proxy', '--host-port', '8080', '--yes']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/proxy network +none +\(from --proxy-network\)/);
    expect(first.stdout).toMatch(/host port +8080 /);
    const manifest = JSON.parse(await readFile(path.join(dir, '.ls-mix.json'), 'utf8'));
    expect(manifest.facts).toMatchObject({ proxyNetwork: 'none', hostPort: '8080' });
    const second = await run(['--yes']);
    expect(second.stdout).toContain('Everything is up to date');
    const compose = parse(await readFile(path.join(dir, '.deploy/docker-compose.yml'), 'utf8')) as Compose;
    expect(compose.services.app.ports).toEqual(['${APP_PORT:-8080}:3000']);
    const both = await run(['--no-proxy', '--proxy-network', 'nginx']);
    expect(both.exitCode).not.toBe(0);
    expect(both.stderr).toMatch(/cannot also be provided|--proxy-network/);
  });

  it('without a proxy no proxy files are written and the workflow neither copies nor runs them', async () => {
    const { dir } = await generate('express', { proxyNetwork: 'none' });
    const files = (await readdir(path.join(dir, '.deploy'))).sort();
    expect(files).not.toContain('nginx-proxy-compose.yml');
    expect(files).not.toContain('nginx-proxy-up.sh');
    const wf = parse(await readFile(path.join(dir, '.github/workflows/release.yml'), 'utf8'));
    const steps = wf.jobs.deploy.steps as Array<{ uses?: string; with?: Record<string, string> }>;
    expect(steps.find((s) => s.uses?.startsWith('appleboy/scp-action'))?.with?.source).toBe(
      '.deploy/docker-compose.yml',
    );
    expect(steps.find((s) => s.uses?.startsWith('appleboy/ssh-action'))?.with?.script).not.toContain(
      'nginx-proxy',
    );
  });
});

describe('the proxy files in every golden', { timeout: 300_000 }, async () => {
  const found = (await readdir(GOLDEN_DIR, { recursive: true }))
    .map(String)
    .filter((p) => p.endsWith('.deploy/nginx-proxy-compose.yml'))
    .sort();

  it('every golden with a proxy network has both files, and the workflow copies and runs them', async () => {
    expect(found.length).toBeGreaterThanOrEqual(15);
    for (const rel of found) {
      const deployDir = path.join(GOLDEN_DIR, path.dirname(rel));
      expect(existsSync(path.join(deployDir, 'nginx-proxy-up.sh')), rel).toBe(true);
    }
  });

  it.each(found)(
    '%s: compose-spec schema, `docker-compose config -q`, pinned images, read-only socket',
    async (rel) => {
      const text = await readFile(path.join(GOLDEN_DIR, rel), 'utf8');
      const doc = parse(text) as {
        services: Record<string, { image: string; volumes: string[]; ports?: string[] }>;
        networks: Record<string, unknown>;
      };
      expect(composeSchemaErrors(doc)).toEqual([]);
      expect(await dockerComposeConfig(text, { LETSENCRYPT_EMAIL: 'ops@example.org' })).toBe('');
      expect(doc.networks).toEqual({ default: { external: true, name: 'nginx' } });
      for (const svc of Object.values(doc.services)) {
        expect(svc.image).toMatch(/^nginxproxy\/(nginx-proxy|acme-companion):\d+\.\d+\.\d+$/);
        const socket = svc.volumes.find((v) => v.includes('docker.sock:'));
        expect(socket).toMatch(/:ro$/);
      }
      expect(doc.services['nginx-proxy'].ports).toEqual([
        '${PROXY_HTTP_PORT:-80}:80',
        '${PROXY_HTTPS_PORT:-443}:443',
      ]);
      const script = path.join(GOLDEN_DIR, path.dirname(rel), 'nginx-proxy-up.sh');
      const sh = await execa('sh', ['-n', script], { reject: false });
      expect(sh.exitCode, sh.stderr).toBe(0);
    },
  );
});

/**
 * The decisions of nginx-proxy-up.sh that the e2e host cannot show (it may not publish :80):
 * run against a `docker` on PATH that answers from a scripted host state and logs each call.
 * The real engine path (network created, proxy started, then left alone) is in
 * test/e2e/proxy-host.test.ts.
 */
describe('nginx-proxy-up.sh decides from the host state', { timeout: 60_000 }, () => {
  const FAKE_DOCKER = `#!/bin/sh
echo "docker $*" >> "$LOG"
case "$1 $2" in
  "network inspect") [ -n "$HAS_NETWORK" ] ;;
  "network create") exit 0 ;;
  "ps -q") printf '%s' "$ON_NETWORK" ;;
  "port "*) [ "$2" = "$PUBLISHER" ] && printf '80/tcp -> 0.0.0.0:80\\n443/tcp -> [::]:443\\n' || printf '3000/tcp -> 127.0.0.1:3000\\n' ;;
  "inspect -f") echo "/$4" ;;
  "ps --format") printf '%s' "$IMAGES" ;;
  "compose -p") echo "DOCKER_SOCK=$DOCKER_SOCK" >> "$LOG" ;;
esac
`;

  async function runScript(state: Record<string, string>) {
    const dir = await copyFixture('express');
    await generate('express', {}, dir);
    const bin = path.join(dir, 'fake-bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'docker'), FAKE_DOCKER, { mode: 0o755 });
    const log = path.join(dir, 'docker.log');
    const r = await execa('sh', [path.join(dir, '.deploy/nginx-proxy-up.sh')], {
      env: { PATH: `${bin}:${process.env.PATH}`, LOG: log, ...state },
      extendEnv: false,
      reject: false,
    });
    return { ...r, calls: existsSync(log) ? (await readFile(log, 'utf8')).trim().split('\n') : [] };
  }

  it('a fresh host: creates the network, then starts the stack (with the socket DOCKER_HOST names)', async () => {
    const r = await runScript({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.calls).toContain('docker network create nginx');
    expect(
      r.calls.some((c) => /^docker compose -p nginx-proxy -f \S+\/nginx-proxy-compose.yml up -d$/.test(c)),
    ).toBe(true);
    expect(r.calls).toContain('DOCKER_SOCK=/run/user/1000/docker.sock');
  });

  it('a container on the network publishing :80/:443 is a proxy: left alone, nothing started', async () => {
    const r = await runScript({ HAS_NETWORK: '1', ON_NETWORK: 'app1\ntraefik1\n', PUBLISHER: 'traefik1' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('A proxy already runs on the nginx network (/traefik1): left as it is.');
    expect(r.calls).not.toContain('docker network create nginx');
    expect(r.calls.some((c) => c.startsWith('docker compose'))).toBe(false);
  });

  it('a running nginx-proxy image (also the old jwilder one) is left alone; other images are not proxies', async () => {
    const jwilder = await runScript({
      HAS_NETWORK: '1',
      IMAGES: 'postgres:16\njwilder/nginx-proxy:latest\n',
    });
    expect(jwilder.stdout).toContain('nginx-proxy already runs on this host: left as it is.');
    expect(jwilder.calls.some((c) => c.startsWith('docker compose'))).toBe(false);
    const other = await runScript({
      HAS_NETWORK: '1',
      ON_NETWORK: 'app1\n',
      IMAGES: 'nginx:1.27\nmy/nginx-proxy-ui:1\n',
    });
    expect(other.calls.some((c) => c.startsWith('docker compose -p nginx-proxy'))).toBe(true);
    expect(other.calls).toContain('DOCKER_SOCK=/var/run/docker.sock');
  });
});
