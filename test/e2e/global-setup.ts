/**
 * Once per e2e run: install Docker if missing, start the private engine, build (or reuse) the
 * local base images; stop the engine at the end. Each step's time is printed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { TestProject } from 'vitest/node';
import { docker } from './docker.js';
import { packCheckout } from './project.js';
import { timed } from './timing.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `npm pack` of this checkout, made once so every sidecar build gets the same bytes. */
    lsMixTarball: string;
  }
}

const CI = '.ci/e2e';

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const packDir = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-pack-'));
  project.provide('lsMixTarball', await timed('npm pack of this checkout', () => packCheckout(packDir)));
  await timed('install docker.io, docker-compose, debootstrap (if missing)', () =>
    execa('bash', [`${CI}/install.sh`], { stdio: 'inherit' }),
  );
  await timed('start the private dockerd', () =>
    execa('bash', [`${CI}/dockerd-start.sh`], { stdio: 'inherit' }),
  );
  await timed('base images debian:bookworm-slim, node:20-slim, dotnet sdk + aspnet', () =>
    execa('bash', [`${CI}/base-images.sh`], { stdio: 'inherit' }),
  );
  return async () => {
    await rm(packDir, { recursive: true, force: true });
    // Sidecar images of earlier checkouts lose their tag at each rebuild: keep the cache
    // bounded. Untagged also means the build stages' cache, so only what is a week old goes.
    await timed('prune untagged images older than a week', () =>
      docker(['image', 'prune', '-f', '--filter', 'until=168h']),
    ).catch(() => {});
    await timed('stop the private dockerd', () =>
      execa('bash', [`${CI}/dockerd-stop.sh`], { stdio: 'inherit' }),
    );
  };
}
