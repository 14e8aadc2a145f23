/**
 * The Node corpus: fixture apps modelled on the layouts of real public projects (Express /
 * Fastify with env-var db paths, Prisma with and without .env, Drizzle, Knex with .npmrc, a
 * pnpm workspace, a Yarn 4 app, an app in a subfolder, an app with no SQLite). For each: the
 * facts detection must find, and golden output of `add` (test/golden/corpus/<fixture>/;
 * `npm run test:update` regenerates it).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPlan, detectProject, planMixes } from '../../src/generator/index.js';
import type { ProjectFacts } from '../../src/generator/types.js';
import { cleanupTemps, copyFixture, FIXTURES_DIR, GOLDEN_DIR, GOLDEN_TARBALL, readTree } from './helpers.js';

afterAll(cleanupTemps);

const UPDATE = process.env.UPDATE_GOLDEN === '1';

interface Case {
  fixture: string;
  /** The app's folder inside the fixture (`add --dir <fixture>/<sub>`). */
  sub?: string;
  mix: string;
  facts: (f: ProjectFacts) => void;
}

const CASES: Case[] = [
  {
    fixture: 'express',
    mix: 'litestream-aws',
    facts: (f) => {
      expect(f.dbPath).toEqual({
        value: 'data/notes.db',
        source: 'detected',
        from: 'src/db.js:5 (better-sqlite3)',
      });
      expect(f.dbEnvVar).toBe('DB_PATH');
      expect(f.dbEnvKind).toBe('file');
      // engines ">=20": an open range gets the newest LTS line.
      expect(f.nodeVersion).toEqual({ value: '26', source: 'detected', from: 'package.json engines.node' });
    },
  },
  {
    fixture: 'fastify-config',
    mix: 'litestream-aws',
    facts: (f) => {
      // CommonJS config module: process.env.X ?? path.join(process.cwd(), ...); the Error text and
      // the test file's own db are not the app's db.
      expect(f.dbPath).toEqual({
        value: 'storage/bookmarks.sqlite',
        source: 'detected',
        from: 'src/plugins/db.js:8 (better-sqlite3)',
      });
      expect(f.dbEnvVar).toBe('BOOKMARKS_DB');
      expect(f.port).toEqual({ value: 8081, source: 'detected', from: 'src/config.js', envDefault: 'PORT' });
      expect(f.nodeVersion.value).toBe('24'); // "^22 || ^24": the highest line it names
      expect(f.packageManager).toEqual({ value: 'npm', source: 'default', from: 'no lockfile found' });
    },
  },
  {
    fixture: 'express-seed',
    mix: 'litestream-aws',
    facts: (f) => {
      // DATA_DIR is a folder: compose sets the folder; the committed seed db is not the live db.
      expect(f.dbPath.value).toBe('data/recipes.db');
      expect(f.dbPath.from).toBe('lib/store.js:13 (sqlite3)');
      expect(f.dbEnvVar).toBe('DATA_DIR');
      expect(f.dbEnvKind).toBe('dir');
      expect(f.dbEnvFile).toBe('recipes.db');
      // Committed (this repo tracks the fixture): let back into the image by .dockerignore.
      expect(f.nodeBuild?.seedDbFiles).toEqual(['seed/template.db']);
    },
  },
  {
    fixture: 'yarn4-notes',
    mix: 'litestream-aws',
    facts: (f) => {
      // ESM config module with import.meta.dirname, DATA_DIR-style folder, Yarn 4 (node-modules linker).
      expect(f.dbPath).toEqual({
        value: 'data/notes.db',
        source: 'detected',
        from: 'src/db.js:10 (better-sqlite3)',
      });
      expect(f.dbEnvVar).toBe('DATA_DIR');
      expect(f.dbEnvKind).toBe('dir');
      expect(f.port).toEqual({ value: 3000, source: 'detected', from: 'src/config.js', envDefault: 'PORT' });
      expect(f.packageManager).toEqual({ value: 'yarn', source: 'detected', from: 'yarn.lock' });
      expect(f.nodeBuild).toMatchObject({
        yarnBerry: true,
        yarnPnp: false,
        packageManagerSpec: 'yarn@4.18.1',
        configFiles: ['.yarnrc.yml'],
      });
    },
  },
  {
    fixture: 'pnpm-monorepo',
    mix: 'litestream-aws',
    facts: (f) => {
      // The workspace that opens SQLite is the app; the UI and the library are not.
      expect(f.name).toEqual({ value: 'notes-api', source: 'detected', from: 'apps/api/package.json' });
      expect(f.dbPath).toEqual({
        value: 'var/notes.sqlite',
        source: 'detected',
        from: 'apps/api/src/db.js:4 (better-sqlite3)',
      });
      expect(f.dbEnvVar).toBe('NOTES_DB');
      expect(f.port.value).toBe(4000);
      expect(f.nodeBuild).toMatchObject({
        appDir: 'apps/api',
        appPackage: '@notes/api',
        workspaceManifests: [
          'apps/api/package.json',
          'apps/web/package.json',
          'packages/shared/package.json',
        ],
        configFiles: ['.npmrc', 'pnpm-workspace.yaml'],
        pnpmUnapprovedBuilds: ['better-sqlite3'],
        packageManagerSpec: 'pnpm@10.34.8',
      });
    },
  },
  {
    fixture: 'prisma-next',
    mix: 'jamstack-litestream-aws',
    facts: (f) => {
      // env("DATABASE_URL") from .env, relative to prisma/ as Prisma resolves it.
      expect(f.variant.value).toBe('nextjs');
      expect(f.dbPath).toEqual({
        value: 'prisma/dev.db',
        source: 'detected',
        from: 'prisma/schema.prisma:5 (Prisma datasource), DATABASE_URL in .env',
      });
      expect(f.dbEnvVar).toBe('DATABASE_URL');
      expect(f.dbUrlScheme).toBe('file:');
      expect(f.nodeBuild).toMatchObject({ prismaSchema: 'prisma/schema.prisma', prismaCliIsDev: true });
    },
  },
  {
    fixture: 'prisma-api',
    mix: 'litestream-aws',
    facts: (f) => {
      // env("DATABASE_URL") and no .env at all: compose sets it; the file name is ours.
      expect(f.dbEnvVar).toBe('DATABASE_URL');
      expect(f.dbUrlScheme).toBe('file:');
      expect(f.dbPath.from).toMatch(/DATABASE_URL has no default: compose sets it/);
      expect(f.nodeBuild).toMatchObject({ prismaSchema: 'prisma/schema.prisma', prismaCliIsDev: false });
      expect(f.hasBuildScript).toBe(true);
    },
  },
  {
    fixture: 'drizzle-hono',
    mix: 'litestream-aws',
    facts: (f) => {
      // drizzle(process.env.DB_FILE_NAME!) with its value in .env.example; drizzle.config.ts agrees.
      expect(f.dbPath).toEqual({
        value: 'local/links.sqlite',
        source: 'detected',
        from: 'src/db/index.ts:4 (Drizzle), DB_FILE_NAME in .env.example',
      });
      expect(f.dbEnvVar).toBe('DB_FILE_NAME');
      expect(f.port.value).toBe(8787);
    },
  },
  {
    fixture: 'knex-npmrc',
    mix: 'litestream-aws',
    facts: (f) => {
      // knex({ client, connection: { filename } }) in the app, not knexfile's development db.
      expect(f.dbPath).toEqual({
        value: 'db/orders.sqlite3',
        source: 'detected',
        from: 'src/db.js:3 (Knex)',
      });
      expect(f.dbEnvVar).toBe('ORDERS_DB_FILE');
      expect(f.nodeVersion).toEqual({ value: '22', source: 'detected', from: '.nvmrc' });
      expect(f.nodeBuild?.configFiles).toEqual(['.npmrc', '.nvmrc']);
    },
  },
  {
    fixture: 'subfolder-app',
    sub: 'server',
    mix: 'litestream-aws',
    facts: (f) => {
      expect(f.dbPath).toEqual({
        value: 'data/habits.sqlite',
        source: 'detected',
        from: 'src/data-source.ts:5 (TypeORM)',
      });
      expect(f.dbEnvVar).toBe('HABITS_DB');
      expect(f.port.value).toBe(7070);
    },
  },
  {
    fixture: 'vue-vite',
    mix: 'jamstack-litestream-aws',
    facts: (f) => {
      expect(f.dbPath.value).toBe('db/todos.sqlite3');
      expect(f.dbEnvVar).toBeUndefined();
    },
  },
];

describe('the Node corpus: detected facts and golden output', () => {
  it('has the fixtures the issue lists', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(10);
  });

  it.each(CASES)('$fixture', async ({ fixture, sub, mix, facts }) => {
    facts(await detectProject(path.join(FIXTURES_DIR, fixture, sub ?? '')));

    const dir = await copyFixture(fixture);
    const before = await readTree(dir);
    await applyPlan(
      await planMixes({ dir: path.join(dir, sub ?? ''), mixes: [mix], sidecarTarball: GOLDEN_TARBALL }),
    );
    const after = await readTree(dir);
    const generated = new Map([...after].filter(([p, text]) => before.get(p) !== text));
    for (const [p, text] of before) expect(after.get(p)).toBe(text);
    const goldenDir = path.join(GOLDEN_DIR, 'corpus', fixture);
    if (UPDATE) {
      await rm(goldenDir, { recursive: true, force: true });
      for (const [p, text] of generated) {
        await mkdir(path.dirname(path.join(goldenDir, p)), { recursive: true });
        await writeFile(path.join(goldenDir, p), text);
      }
    }
    const golden = await readTree(goldenDir).catch(() => new Map<string, string>());
    expect([...generated.keys()].sort()).toEqual([...golden.keys()].sort());
    for (const [p, text] of generated) expect(text, `${fixture}/${p}`).toBe(golden.get(p));
  });
});

describe('the corpus fixtures that must be refused', () => {
  it('an app with no SQLite at all: refused, naming --db-path (a .db string in it changes nothing)', async () => {
    const err = await detectProject(path.join(FIXTURES_DIR, 'no-sqlite')).catch((e) => e);
    expect(err.message).toMatch(/^No SQLite database found in .*no-sqlite: no source file opens one/);
    expect(err.hint).toMatch(/--db-path/);
    const f = await detectProject(path.join(FIXTURES_DIR, 'no-sqlite'), { dbPath: 'data/tasks.db' });
    expect(f.dbPath).toEqual({ value: 'data/tasks.db', source: 'flag', from: '--db-path' });
  });

  it('a repo whose app is in a subfolder: the error names the --dir that works', async () => {
    const err = await detectProject(path.join(FIXTURES_DIR, 'subfolder-app')).catch((e) => e);
    expect(err.message).toMatch(/No package.json or \*\.csproj found/);
    expect(err.hint).toBe(
      `The app may be in a subfolder: pass --dir ${path.join(FIXTURES_DIR, 'subfolder-app', 'server')}.`,
    );
  });
});
