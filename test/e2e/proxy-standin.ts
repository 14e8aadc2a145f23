/**
 * Local stand-ins for the two images of the generated .deploy/nginx-proxy-compose.yml, tagged
 * with the same name:tag (no registry is reachable here, so nginxproxy/* cannot be pulled).
 *
 * - nginx-proxy: Debian's nginx, plus a small script of ours standing in for nginx-proxy's
 *   docker-gen: every second it reads the Docker API on the mounted socket (/tmp/docker.sock,
 *   as the real image does), writes one nginx server block per running container that has
 *   VIRTUAL_HOST and shares a network with the proxy (upstream: that container's address on
 *   it, port VIRTUAL_PORT, default 80), and reloads nginx when the config changed.
 * - acme-companion: a no-op that just keeps running (TLS issuance needs the internet).
 *
 * What is real: the network, the published port, the Host-header routing by nginx, and which
 * containers are reachable on the shared network. What is not: nginx-proxy's own templates.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROXY_IMAGES } from '../../src/generator/defaults.js';
import { build } from './docker.js';

const DOCKER_GEN_STANDIN = `// Stand-in for nginx-proxy's docker-gen (ls-mix e2e): Docker API -> nginx server blocks.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { hostname } from 'node:os';

const CONF = '/etc/nginx/conf.d/default.conf';
const api = (path) =>
  new Promise((resolve, reject) => {
    http
      .get({ socketPath: '/tmp/docker.sock', path }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(path + ': ' + res.statusCode))));
      })
      .on('error', reject);
  });

async function render() {
  const me = await api('/containers/' + hostname() + '/json');
  const mine = new Set(Object.keys(me.NetworkSettings.Networks));
  const blocks = ['server {\\n  listen 80 default_server;\\n  return 503;\\n}'];
  for (const c of await api('/containers/json')) {
    const info = await api('/containers/' + c.Id + '/json');
    const env = Object.fromEntries((info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    if (!env.VIRTUAL_HOST) continue;
    const net = Object.entries(info.NetworkSettings.Networks).find(([name, n]) => mine.has(name) && n.IPAddress);
    if (!net) continue;
    for (const host of env.VIRTUAL_HOST.split(',').map((h) => h.trim()).filter(Boolean)) {
      blocks.push(
        'server {\\n  listen 80;\\n  server_name ' + host + ';\\n  location / {\\n    proxy_pass http://' +
          net[1].IPAddress + ':' + (env.VIRTUAL_PORT || '80') + ';\\n    proxy_set_header Host $host;\\n  }\\n}',
      );
    }
  }
  const text = blocks.join('\\n') + '\\n';
  let old = '';
  try { old = readFileSync(CONF, 'utf8'); } catch {}
  if (text !== old) {
    writeFileSync(CONF, text);
    execFileSync('nginx', ['-s', 'reload']);
    console.log('docker-gen stand-in: ' + (blocks.length - 1) + ' server block(s), nginx reloaded');
  }
}

process.on('SIGTERM', () => process.exit(0));
for (;;) {
  await render().catch((err) => console.error('docker-gen stand-in: ' + err.message));
  await new Promise((r) => setTimeout(r, 1000));
}
`;

const NGINX_PROXY_DOCKERFILE = `FROM node:${process.versions.node.split('.')[0]}-slim
RUN apt-get update && apt-get install -y --no-install-recommends nginx && rm -rf /var/lib/apt/lists/* \\
 && rm -f /etc/nginx/sites-enabled/default && echo 'server { listen 80 default_server; return 503; }' > /etc/nginx/conf.d/default.conf
COPY docker-gen-standin.mjs /app/docker-gen-standin.mjs
LABEL ls-mix.e2e.standin=nginx-proxy
CMD ["sh", "-c", "nginx && exec node /app/docker-gen-standin.mjs"]
`;

const ACME_COMPANION_DOCKERFILE = `FROM debian:bookworm-slim
LABEL ls-mix.e2e.standin=acme-companion
CMD ["sh", "-c", "echo 'acme-companion stand-in: no certificates here (no internet)'; trap 'exit 0' TERM; while :; do sleep 1; done"]
`;

/** Builds both stand-ins under the generated file's image names. */
export async function buildProxyStandins(): Promise<void> {
  const ctx = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-proxy-'));
  try {
    await writeFile(join(ctx, 'docker-gen-standin.mjs'), DOCKER_GEN_STANDIN);
    await writeFile(join(ctx, 'Dockerfile'), NGINX_PROXY_DOCKERFILE);
    await writeFile(join(ctx, 'acme.Dockerfile'), ACME_COMPANION_DOCKERFILE);
    await build(ctx, PROXY_IMAGES.nginxProxy);
    await build(ctx, PROXY_IMAGES.acmeCompanion, ['-f', join(ctx, 'acme.Dockerfile')]);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}
