/**
 * The generated .dockerignore, read with Docker's own matching rules (@balena/dockerignore, a
 * port of Docker's implementation): what reaches the build context for a Node app and for a
 * .NET app. A bare pattern such as `*.db` only matches at the top of the context, so these are
 * checked on nested paths too.
 */
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { planMixes } from '../../src/generator/index.js';
import { cleanupTemps, copyFixture } from './helpers.js';

// CommonJS package with no ESM entry.
const require = createRequire(import.meta.url);
const dockerignore = require('@balena/dockerignore') as () => {
  add(patterns: string): { ignores(path: string): boolean };
};

afterAll(cleanupTemps);

async function rendered(fixture: string, mix: string): Promise<{ ignores(path: string): boolean }> {
  const plan = await planMixes({ dir: await copyFixture(fixture), mixes: [mix] });
  const file = plan.files.find((f) => f.path === '.dockerignore');
  if (!file) throw new Error(`${mix} on ${fixture} wrote no .dockerignore`);
  return dockerignore().add(file.content);
}

// Never in an image, whatever the stack: secrets, local state, local databases.
const ALWAYS_EXCLUDED = [
  '.env',
  'apps/api/.env',
  '.env.local',
  '.env.production.local',
  '.deploy/.env',
  'certs/server.pem',
  'server.key',
  'data/notes.db',
  'data/notes.db-wal',
  'App_Data/app.sqlite',
  'src/Api/App_Data/app.db-shm',
  '.git/config',
  'node_modules/left-pad/index.js',
  'packages/web/node_modules/x/index.js',
];
// Build inputs the image needs.
const ALWAYS_KEPT = [
  'package.json',
  '.env.production',
  '.env.example',
  'src/server.js',
  'prisma/schema.prisma',
];

describe('.dockerignore', () => {
  it('Node: keeps bin/ (bin/www is the entry point of express-generator apps) and build-time .env files', async () => {
    const ig = await rendered('express', 'litestream-aws');
    for (const p of ALWAYS_EXCLUDED) expect(ig.ignores(p), p).toBe(true);
    for (const p of [...ALWAYS_KEPT, 'bin/www', 'tools/bin/seed.js']) expect(ig.ignores(p), p).toBe(false);
  });

  it('Next.js: leaves out the local build output, keeps .env.production for `next build`', async () => {
    const ig = await rendered('nextjs', 'jamstack-litestream-aws');
    expect(ig.ignores('.next/cache/x')).toBe(true);
    expect(ig.ignores('.env.production')).toBe(false);
    expect(ig.ignores('bin/migrate.js')).toBe(false);
  });

  it('.NET: leaves out bin/ and obj/ build output at any depth', async () => {
    const ig = await rendered('dotnet-web', 'litestream-aws');
    for (const p of ALWAYS_EXCLUDED) expect(ig.ignores(p), p).toBe(true);
    for (const p of [
      'bin/Release/net10.0/MyApp.dll',
      'MyApp/obj/project.assets.json',
      'src/MyApp/bin/x.dll',
    ]) {
      expect(ig.ignores(p), p).toBe(true);
    }
    for (const p of ['MyApp.sln', 'MyApp/Program.cs', 'MyApp/appsettings.json'])
      expect(ig.ignores(p), p).toBe(false);
  });
});
