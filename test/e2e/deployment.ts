/**
 * One deployment as the generated release workflow makes it, on the private engine: the
 * compose file copied into ~/<app>/, .env written by the workflow's own deploy script, then
 * `docker compose pull && docker compose up -d` — through a `docker` shim that maps
 * `docker compose` to docker-compose 1.29, `login`/`logout` to no-ops, and `pull` to a check
 * that the images .env names exist locally (there is no registry here).
 *
 * A test-only override (COMPOSE_FILE) puts both services on the host network (the engine runs
 * without a bridge) and gives the sidecar the storage server's address; the generated compose
 * file itself is used as users get it.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { compose, DOCKER_BIN, dockerEnv } from './docker.js';

export interface Deployment {
  /** ~/<app> on the "server": docker-compose.yml, .env, the override. */
  dir: string;
  env: Record<string, string>;
  up(): Promise<string>;
  compose(args: string[]): Promise<string>;
  /** The .env the workflow wrote, parsed. */
  dotenv(): Promise<Record<string, string>>;
}

/** The `script:` of the deploy job's ssh step in the generated release.yml. */
export async function deployScript(
  projectDir: string,
): Promise<{ script: string; envNames: string[]; target: string; sources: string[]; strip: number }> {
  const wf = parse(await readFile(join(projectDir, '.github/workflows/release.yml'), 'utf8'));
  const steps = wf.jobs.deploy.steps as Array<{
    uses?: string;
    with?: Record<string, string>;
    env?: Record<string, string>;
  }>;
  const ssh = steps.find((s) => s.uses?.startsWith('appleboy/ssh-action'));
  const scp = steps.find((s) => s.uses?.startsWith('appleboy/scp-action'));
  if (!ssh?.with?.script || !scp?.with?.target) throw new Error('release.yml: no scp/ssh deploy steps found');
  return {
    script: ssh.with.script,
    envNames: String(ssh.with.envs).split(','),
    target: scp.with.target,
    sources: String(scp.with.source).split(','),
    strip: Number(scp.with.strip_components ?? 0),
  };
}

const SHIM = `#!/bin/sh
# e2e stand-in for the server's docker CLI (see deployment.ts).
set -eu
case "$1" in
  login) cat >/dev/null; echo "e2e: docker login skipped (no registry)";;
  logout) echo "e2e: docker logout skipped";;
  compose)
    shift
    if [ "$1" = pull ] && [ "${'$'}{E2E_CONFIG_ONLY:-}" != 1 ]; then
      docker-compose config | sed -n 's/^ *image: *//p' | while read -r image; do
        "${'$'}E2E_DOCKER" image inspect "$image" >/dev/null
        echo "e2e: $image is present locally"
      done
      exit 0
    fi
    if [ "${'$'}{E2E_CONFIG_ONLY:-}" = 1 ]; then
      # Images that cannot be built here (.NET): validate the interpolated file only.
      docker-compose config -q
      echo "e2e: docker compose $* -> config -q ok"
      exit 0
    fi
    exec docker-compose "$@";;
  *) exec "${'$'}E2E_DOCKER" "$@";;
esac
`;

export async function deploy(opts: {
  projectDir: string;
  /** Values of the workflow's env (IMAGE_REPO, APP_VERSION, secrets...). */
  workflowEnv: Record<string, string>;
  /** Test-only compose override (COMPOSE_FILE); none: the generated file alone. */
  override?: Record<string, unknown>;
  /** Run the deploy script with `docker compose` doing `config -q` only (no images). */
  configOnly?: boolean;
  /** More environment for the server's shell (test-only settings such as PROXY_HTTP_PORT). */
  serverEnv?: Record<string, string>;
}): Promise<Deployment> {
  const home = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-home-'));
  const { script, envNames, target, sources, strip } = await deployScript(opts.projectDir);
  for (const name of envNames) {
    if (opts.workflowEnv[name] === undefined)
      throw new Error(`release.yml passes ${name}: the test gives no value`);
  }
  // appleboy/scp-action: each source, its first strip_components folders cut, -> ~/<target>/
  const dir = join(home, target);
  await mkdir(dir, { recursive: true });
  for (const src of sources)
    await copyFile(join(opts.projectDir, src), join(dir, src.split('/').slice(strip).join('/')));
  if (opts.override) await writeFile(join(dir, 'e2e.override.yml'), stringify(opts.override));
  const bin = join(home, '.e2e-bin');
  await mkdir(bin);
  await writeFile(join(bin, 'docker'), SHIM);
  await chmod(join(bin, 'docker'), 0o755);
  const env = {
    ...dockerEnv,
    HOME: home,
    COMPOSE_FILE: opts.override
      ? `docker-compose.yml:${join(dir, 'e2e.override.yml')}`
      : 'docker-compose.yml',
    COMPOSE_PROJECT_NAME: target,
  };
  const up = async () => {
    const r = await execa('bash', ['-c', script], {
      cwd: home,
      env: {
        ...env,
        ...Object.fromEntries(envNames.map((n) => [n, opts.workflowEnv[n]])),
        ...opts.serverEnv,
        E2E_DOCKER: DOCKER_BIN,
        E2E_CONFIG_ONLY: opts.configOnly ? '1' : '',
        PATH: `${bin}:${process.env.PATH}`,
      },
      extendEnv: false,
      all: true,
      reject: false,
    });
    if (r.exitCode !== 0) throw new Error(`release.yml deploy script failed (${r.exitCode}):\n${r.all}`);
    return String(r.all);
  };
  return {
    dir,
    env,
    up,
    compose: (args) => compose(dir, args, env),
    dotenv: async () =>
      Object.fromEntries(
        (await readFile(join(dir, '.env'), 'utf8'))
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), unquote(l.slice(l.indexOf('=') + 1))]),
      ),
  };
}

/** `'value'` -> `value` (the workflow single-quotes every value). */
function unquote(v: string): string {
  return v.length >= 2 && v.startsWith("'") && v.endsWith("'") ? v.slice(1, -1) : v;
}
