/**
 * The private engine started by .ci/e2e/dockerd-start.sh, and thin wrappers around its client
 * and docker-compose. Every container, volume and image the tests create goes through here.
 */
import { existsSync } from 'node:fs';
import { execa, type Options } from 'execa';

const EXEC_ROOT = process.env.LS_MIX_E2E_EXEC_ROOT ?? '/run/ls-mix-e2e';
/** The Debian client matches the Debian 20.10 engine; a newer client alone needs the API pinned. */
const DEBIAN_CLIENT = '/usr/bin/docker';
export const DOCKER_BIN = existsSync(DEBIAN_CLIENT) ? DEBIAN_CLIENT : 'docker';

export const dockerEnv: Record<string, string> = {
  DOCKER_HOST: `unix://${EXEC_ROOT}/docker.sock`,
  ...(DOCKER_BIN === 'docker' ? { DOCKER_API_VERSION: '1.41' } : {}),
};

export async function docker(args: string[], opts: Options = {}): Promise<string> {
  const r = await execa(DOCKER_BIN, args, { ...opts, env: { ...dockerEnv, ...opts.env } });
  return String(r.stdout ?? '');
}

export async function compose(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const r = await execa('docker-compose', args, { cwd, env: { ...dockerEnv, ...env }, all: true });
  return String(r.all ?? '');
}

/**
 * The only Node image here is the local one made from this machine's node (.ci/e2e/base-images.sh):
 * generated Dockerfiles take their Node line as `ARG NODE_VERSION`, and the e2e builds pass it.
 */
export const LOCAL_NODE_BUILD_ARGS = ['--build-arg', `NODE_VERSION=${process.versions.node.split('.')[0]}`];

/** `docker build --network host` (RUN steps reach the npm registry and Debian mirror). */
export async function build(contextDir: string, tag: string, extra: string[] = []): Promise<void> {
  try {
    await execa(DOCKER_BIN, ['build', '--network', 'host', '-t', tag, ...extra, contextDir], {
      env: dockerEnv,
      all: true,
    });
  } catch (err) {
    const all = String((err as { all?: string }).all ?? '');
    throw new Error(`docker build of ${tag} failed:\n${all.split('\n').slice(-40).join('\n')}`);
  }
}

/**
 * The generated sidecar Dockerfile, built as generated (no build-arg but the local Node line).
 * Then its `build` stage (from the layer cache) is run to read npm's debug logs of the
 * `npm install -g`: the URLs it fetched from the registry. No fetch of our own name may be
 * among them (the Dockerfile installs the vendored tarball); the fetches of its dependencies
 * are returned too, so a log that records no fetches at all cannot pass for a clean one.
 */
export async function buildSidecar(
  contextDir: string,
  tag: string,
): Promise<{ fetched: string[]; ownName: string[] }> {
  const dockerfile = ['-f', `${contextDir}/.deploy/litestream.Dockerfile`, ...LOCAL_NODE_BUILD_ARGS];
  await build(contextDir, tag, dockerfile);
  const stage = `${tag}-npm-build-stage`;
  await build(contextDir, stage, [...dockerfile, '--target', 'build']);
  try {
    const logs = await docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      'sh',
      stage,
      '-c',
      'cat /root/.npm/_logs/*-debug-0.log',
    ]);
    const fetched = [...logs.matchAll(/\bhttp fetch GET \d+ (\S+)/g)].map((m) => m[1]);
    return { fetched, ownName: fetched.filter((u) => /\/ls-mix(?:[/?#]|$)/.test(decodeURIComponent(u))) };
  } finally {
    await docker(['rmi', stage]).catch(() => undefined);
  }
}

export interface ContainerState {
  id: string;
  name: string;
  exitCode: number;
  startedAt: number;
  running: boolean;
  health?: string;
  /** End times of the healthcheck runs that passed. */
  healthyAt: number[];
}

export async function inspectContainer(id: string): Promise<ContainerState> {
  const [info] = JSON.parse(await docker(['inspect', id])) as Array<{
    Id: string;
    Name: string;
    State: {
      ExitCode: number;
      StartedAt: string;
      Running: boolean;
      Health?: { Status: string; Log: Array<{ End: string; ExitCode: number }> };
    };
  }>;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    exitCode: info.State.ExitCode,
    startedAt: Date.parse(info.State.StartedAt),
    running: info.State.Running,
    health: info.State.Health?.Status,
    healthyAt: (info.State.Health?.Log ?? []).filter((l) => l.ExitCode === 0).map((l) => Date.parse(l.End)),
  };
}
