/**
 * Once per e2e run: install Docker if missing, start the private engine, build (or reuse) the
 * local base images; stop the engine at the end. Each step's time is printed.
 */
import { execa } from 'execa';
import { timed } from './timing.js';

const CI = '.ci/e2e';

export async function setup(): Promise<() => Promise<void>> {
  await timed('install docker.io, docker-compose, debootstrap (if missing)', () =>
    execa('bash', [`${CI}/install.sh`], { stdio: 'inherit' }),
  );
  await timed('start the private dockerd', () =>
    execa('bash', [`${CI}/dockerd-start.sh`], { stdio: 'inherit' }),
  );
  await timed('base images debian:bookworm-slim, node:20-slim', () =>
    execa('bash', [`${CI}/base-images.sh`], { stdio: 'inherit' }),
  );
  return async () => {
    await timed('stop the private dockerd', () =>
      execa('bash', [`${CI}/dockerd-stop.sh`], { stdio: 'inherit' }),
    );
  };
}
