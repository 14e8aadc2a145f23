/**
 * The SQLite path of a Node app, found only from calls that open SQLite, through the usual
 * indirections; and every case it cannot settle is an error naming the flag that does.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectProject, planMixes } from '../../src/generator/index.js';
import { cleanupTemps, projectWith } from './helpers.js';

afterAll(cleanupTemps);

/** A throwaway app: package.json (+ deps) and the given files. */
function app(files: Record<string, string>, pkg: Record<string, unknown> = {}): Promise<string> {
  return projectWith(
    {
      'package.json': JSON.stringify({ name: 'demo', scripts: { start: 'node index.js' }, ...pkg }),
      ...files,
    },
    'ls-mix-db-',
  );
}

/** A knexfile with a SQLite development entry and `production` as given, picked by NODE_ENV in src/db.js. */
function knexPerEnvApp(production: string): Promise<string> {
  return app({
    'knexfile.js': `module.exports = {\n  development: { client: 'sqlite3', connection: { filename: './db/dev.sqlite3' }, useNullAsDefault: true },\n  production: ${production},\n};\n`,
    'src/db.js': `const knex = require('knex');\nconst config = require('../knexfile')[process.env.NODE_ENV || 'development'];\nmodule.exports = knex(config);\n`,
  });
}

const db = async (files: Record<string, string>, pkg?: Record<string, unknown>) => {
  const f = await detectProject(await app(files, pkg));
  return {
    path: f.dbPath.value,
    from: f.dbPath.from,
    env: f.dbEnvVar,
    kind: f.dbEnvKind,
    scheme: f.dbUrlScheme,
  };
};

describe('what counts as opening SQLite', () => {
  it('only the call, never a string literal of a file that imports SQLite', async () => {
    const r = await db({
      'index.js': `const Database = require('better-sqlite3');
const hint = 'copy backup.db over it';
if (!process.env.X) console.warn(new Error('legacy.sqlite is not used any more'));
const db = new Database(process.env.SQLITE_PATH || 'var/live.db');
`,
    });
    expect(r).toEqual({
      path: 'var/live.db',
      from: 'index.js:4 (better-sqlite3)',
      env: 'SQLITE_PATH',
      kind: 'file',
      scheme: undefined,
    });
  });

  it('in-memory dbs and test files do not count', async () => {
    const dir = await app({
      'index.js': `import Database from 'better-sqlite3';\nconst cache = new Database(':memory:');\nconst scratch = new Database();\n`,
      'test/db.test.js': `import Database from 'better-sqlite3';\nnew Database('test.db');\n`,
      'src/db.spec.ts': `import Database from 'better-sqlite3';\nnew Database('spec.db');\n`,
    });
    await expect(detectProject(dir)).rejects.toThrow(/^No SQLite database found/);
  });

  it('an app of a database server is told so: nothing to replicate, rather than a bare "pass --db-path"', async () => {
    const mongo = await app(
      { 'index.js': `const mongoose = require('mongoose');\nmongoose.connect(process.env.MONGODB_URL);\n` },
      {
        dependencies: { express: '^4', mongoose: '^8', pg: '^8', postgres: '^3' },
        devDependencies: { mysql2: '^3' },
      },
    );
    const err = (await detectProject(mongo).catch((e) => e)) as Error & { hint?: string };
    expect(err.message).toMatch(
      /^No SQLite database found .*; its dependencies name MongoDB \(mongoose\), PostgreSQL \(pg\), PostgreSQL \(postgres\)$/,
    );
    expect(err.hint).toMatch(
      /^ls-mix backs up SQLite databases only, and this app keeps its data in MongoDB and PostgreSQL: there is nothing here for it to replicate\. If the app opens a SQLite file too in a way ls-mix cannot see, pass --db-path/,
    );
    // A dev dependency (a test tool's client) is not the app's database.
    const plain = await app({ 'index.js': 'console.log(1)\n' }, { devDependencies: { mysql2: '^3' } });
    const bare = (await detectProject(plain).catch((e) => e)) as Error & { hint?: string };
    expect(bare.message).toMatch(/no Prisma sqlite datasource$/);
    expect(bare.hint).toMatch(
      /^ls-mix backs up a SQLite database\. If the app opens one in a way ls-mix cannot see/,
    );
  });

  it("a db opened only in development is not the deployed app's: stops, or is passed over for the one production opens", async () => {
    // Nuxt: better-sqlite3 under process.dev, Cloudflare D1 in production (sprachy/sprachy), a migration script beside it.
    const nuxt = await app(
      {
        'db/index.ts': `import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { drizzle as drizzleD1 } from 'drizzle-orm/d1'
let db
export function getDatabase(event) {
  if (!db) {
    if (process.dev) {
      db = drizzle(new Database(process.env.DEV_DATABASE_URL!))
    } else {
      db = drizzleD1(event.context.cloudflare.env.D1)
    }
  }
  return db
}
`,
        'scripts/migrate.ts': `import Database from 'better-sqlite3'\nconst sqlite = new Database(process.env.DEV_DATABASE_URL!)\n`,
        '.env.example': 'DEV_DATABASE_URL="db/dev.db"\n',
      },
      { dependencies: { 'better-sqlite3': '^9' } },
    );
    const err = (await detectProject(nuxt).catch((e) => e)) as Error & { hint?: string };
    expect(err.message).toBe(
      'The app opens SQLite only in development: db/index.ts:8 (better-sqlite3: process.env.DEV_DATABASE_URL!, under `process.dev`) (besides scripts/migrate.ts:2, run by hand). Deployed, it opens something else: a backup of that file would be of a file the deployed app never writes',
    );
    expect(err.hint).toMatch(/pass --db-path/);
    // --db-path settles it.
    const flagged = await detectProject(nuxt, { dbPath: 'db/dev.db' });
    expect(flagged.dbPath.value).toBe('db/dev.db');

    // Each guard form, with the production branch opening the db to back up.
    const forms = [
      `const db = process.env.NODE_ENV !== 'production' ? new Database('dev.db') : new Database(process.env.DB_PATH ?? 'data/prod.db');`,
      `let db;\nif (process.env.NODE_ENV === 'production') db = new Database(process.env.DB_PATH ?? 'data/prod.db');\nelse db = new Database('dev.db');`,
      `const db = import.meta.env.DEV ? new Database('dev.db') : new Database(process.env.DB_PATH ?? 'data/prod.db');`,
      `const db = !import.meta.env.PROD ? new Database('dev.db') : new Database(process.env.DB_PATH ?? 'data/prod.db');`,
      `const dbg = process.env.NODE_ENV == 'development' && new Database('dev.db');\nconst db = new Database(process.env.DB_PATH ?? 'data/prod.db');`,
    ];
    for (const code of forms) {
      const r = await db({ 'index.js': `import Database from 'better-sqlite3';\n${code}\n` });
      expect(r, code).toMatchObject({ path: 'data/prod.db', env: 'DB_PATH' });
    }
    // SvelteKit's `dev` counts only when it is $app/environment's.
    const svelte = await db({
      'src/lib/db.js': `import Database from 'better-sqlite3';\nimport { dev } from '$app/environment';\nexport const db = dev ? new Database('dev.db') : new Database(process.env.DB_PATH ?? 'data/prod.db');\n`,
    });
    expect(svelte).toMatchObject({ path: 'data/prod.db' });
    const notDev = await app({
      'index.js': `import Database from 'better-sqlite3';\nconst dev = process.argv.includes('--x');\nexport const db = dev ? new Database('data/a.db') : new Database('data/b.db');\n`,
    });
    await expect(detectProject(notDev)).rejects.toThrow(/^The app opens 2 different SQLite databases/);
  });

  it('a path chosen by NODE_ENV takes its production side; an in-memory default is no default', async () => {
    expect(
      await db({
        'src/db.ts': `import { DatabaseSync } from 'node:sqlite';
import path from 'path';
export const database = new DatabaseSync(
  path.resolve(import.meta.dirname, '..', 'database',
    process.env.NODE_ENV!.trim() === 'production' ? 'database.db' : 'database_test.db'));
`,
      }),
    ).toMatchObject({ path: 'database/database.db', env: undefined });
    expect(
      await db({
        'db.js': `import Database from 'better-sqlite3';\nexport const db = new Database(process.env.NODE_ENV !== 'production' ? 'dev.db' : 'data/live.db');\n`,
      }),
    ).toMatchObject({ path: 'data/live.db' });
    // process.env.SQLITE_FILE ?? ':memory:' (spaceteams/mira): a file only when the var is set, so compose sets it.
    const mem = await detectProject(
      await app({
        'db.js': `import Database from 'better-sqlite3'\nexport const db = new Database(process.env.SQLITE_FILE ?? ':memory:', {})\n`,
      }),
    );
    expect(mem.dbPath.value).toBe('data/app.db');
    expect(mem.dbPath.from).toBe(
      'db.js:2 (better-sqlite3) (SQLITE_FILE defaults to an in-memory db: compose sets it)',
    );
    expect(mem.dbEnvVar).toBe('SQLITE_FILE');
    // Any other condition is not guessed, and the message shows the argument on one line.
    const other = await app({
      'db.js': `import Database from 'better-sqlite3';\nexport const db = new Database(\n  process.argv[2] === 'x'\n    ? 'a.db'\n    : 'b.db');\n`,
    });
    await expect(detectProject(other)).rejects.toThrow(
      "Cannot tell which SQLite file the app opens: db.js:2 (better-sqlite3: process.argv[2] === 'x' ? 'a.db' : 'b.db')",
    );
  });

  it('sqlite3 (verbose), node:sqlite, the sqlite wrapper, Sequelize, TypeORM, @libsql/client', async () => {
    expect(
      await db({
        'index.js': `const sqlite3 = require('sqlite3').verbose();\nconst db = new sqlite3.Database(require('path').join(__dirname, 'data', 'a.db'));\n`,
      }),
    ).toMatchObject({ path: 'data/a.db', env: undefined });
    // ESM: the module imported, verbose() taken later (Maxim12313/type-challenger-backend).
    expect(
      await db({
        'lib/words.js': `import sql3 from 'sqlite3';\nexport function open() {\n  const sqlite3 = sql3.verbose();\n  return new sqlite3.Database('./store/words.db');\n}\n`,
      }),
    ).toMatchObject({ path: 'store/words.db', from: 'lib/words.js:4 (sqlite3)' });
    expect(
      await db({
        'index.mjs': `import { DatabaseSync } from 'node:sqlite';\nimport { fileURLToPath } from 'node:url';\nconst db = new DatabaseSync(fileURLToPath(new URL('./store/b.db', import.meta.url)));\n`,
      }),
    ).toMatchObject({ path: 'store/b.db' });
    expect(
      await db({
        'src/db.js': `import { open } from 'sqlite';\nimport sqlite3 from 'sqlite3';\nimport path from 'node:path';\nexport const db = await open({ filename: path.join(import.meta.dirname, '..', 'data', 'c.db'), driver: sqlite3.Database });\n`,
      }),
    ).toMatchObject({ path: 'data/c.db' });
    expect(
      await db({
        'models/index.js': `const { Sequelize } = require('sequelize');\nmodule.exports = new Sequelize({ dialect: 'sqlite', storage: process.env.SQLITE_STORAGE || 'db/app.sqlite', logging: false });\n`,
      }),
    ).toMatchObject({ path: 'db/app.sqlite', env: 'SQLITE_STORAGE' });
    // ESM importing CommonJS, a URL from an env var whose default reads another one
    // (lovasoa/sanipasse): SQLite by its default, the outer variable is the one to set.
    expect(
      await db({
        'src/lib/config.ts': `export const DATA_DIR = process.env['DATA_DIR'] || '.';\nexport const DB_URL = process.env['DB_URL'] || \`sqlite:\${DATA_DIR}/passes.db\`;\n`,
        'src/lib/db.ts': `import SequelizePkg from 'sequelize';\nconst { Sequelize } = SequelizePkg;\nimport { DB_URL } from './config';\nexport const sequelize = new Sequelize(DB_URL);\n`,
      }),
    ).toMatchObject({
      path: 'passes.db',
      env: 'DB_URL',
      scheme: 'sqlite:',
      from: 'src/lib/db.ts:4 (Sequelize)',
    });
    // The same with a Postgres default is not SQLite.
    await expect(
      db({
        'db.js': `const { Sequelize } = require('sequelize');\nmodule.exports = new Sequelize(process.env.DB_URL || 'postgres://localhost/app');\n`,
      }),
    ).rejects.toThrow(/^No SQLite database found/);
    expect(
      await db({
        'src/app.module.ts': `import { Module } from '@nestjs/common';\nimport { TypeOrmModule } from '@nestjs/typeorm';\n@Module({ imports: [TypeOrmModule.forRoot({ type: 'better-sqlite3', database: 'data/nest.sqlite', autoLoadEntities: true })] })\nexport class AppModule {}\n`,
      }),
    ).toMatchObject({ path: 'data/nest.sqlite', from: 'src/app.module.ts:3 (TypeORM)' });
  });

  it("NestJS: TypeOrmModule.forRootAsync's useFactory, a type per environment, ConfigService.get of an env var", async () => {
    // Shaped like sjdonado/htmx-users-crud-bun-vs-node (nest-swc-handlebars): the db path only
    // in .env(.example), read through @nestjs/config.
    const nest = (body: string, env = 'DATABASE_PATH=./db/users.sqlite\n') =>
      db({
        'src/app.module.ts': `import { Module } from '@nestjs/common';\nimport { ConfigModule, ConfigService } from '@nestjs/config';\nimport { TypeOrmModule, TypeOrmModuleOptions } from '@nestjs/typeorm';\n@Module({\n  imports: [\n    ConfigModule.forRoot(),\n    TypeOrmModule.forRootAsync({\n      imports: [ConfigModule],\n      inject: [ConfigService],\n${body}\n    }),\n  ],\n})\nexport class AppModule {}\n`,
        '.env.example': env,
      });
    expect(
      await nest(
        `      useFactory: (config: ConfigService) => ({ type: config.get('NODE_ENV') === 'production' ? 'better-sqlite3' : 'sqlite', database: config.get('DATABASE_PATH'), synchronize: true }) as TypeOrmModuleOptions,`,
      ),
    ).toMatchObject({
      path: 'db/users.sqlite',
      env: 'DATABASE_PATH',
      from: 'src/app.module.ts:7 (TypeORM), DATABASE_PATH in .env.example',
    });
    // A method with a block body, getOrThrow, a default in the call.
    expect(
      await nest(
        `      useFactory(config: ConfigService) {\n        const unused = 1;\n        return { type: 'better-sqlite3', database: config.get<string>('SQLITE_FILE', 'var/app.db') };\n      },`,
        '',
      ),
    ).toMatchObject({ path: 'var/app.db', env: 'SQLITE_FILE' });
    // A namespaced key is the app's own config, not an env var: not guessed.
    await expect(
      nest(
        `      useFactory: (config: ConfigService) => ({ type: 'sqlite', database: config.get('database.path') }),`,
      ),
    ).rejects.toThrow(
      /Cannot tell which SQLite file the app opens: src\/app\.module\.ts:7 \(TypeORM: config\.get\('database\.path'\)\)/,
    );
    // Another database on one branch: not SQLite for sure, so not ours to back up.
    await expect(
      nest(
        `      useFactory: () => ({ type: process.env.CI ? 'sqlite' : 'postgres', database: 'db/x.sqlite' }),`,
      ),
    ).rejects.toThrow(/^No SQLite database found/);
    expect(
      await db({
        'src/db.ts': `import { createClient } from '@libsql/client';\nexport const client = createClient({ url: process.env.LIBSQL_URL ?? 'file:local/app.db' });\n`,
      }),
    ).toMatchObject({ path: 'local/app.db', env: 'LIBSQL_URL', scheme: 'file:' });
  });

  it('a config module (ESM named export, TS path alias), `const { env } = process`, a zod-parsed env with .env.example', async () => {
    expect(
      await db({
        'src/config.ts': `export const settings = { storage: { sqlite: process.env.APP_DB ?? 'data/cfg.db' } } as const;\n`,
        'src/db.ts': `import Database from 'better-sqlite3';\nimport { settings } from '@/config';\nexport const db = new Database(settings.storage.sqlite);\n`,
      }),
    ).toMatchObject({ path: 'data/cfg.db', env: 'APP_DB', from: 'src/db.ts:3 (better-sqlite3)' });
    expect(
      await db({
        'index.js': `const { env } = process;\nconst Database = require('better-sqlite3');\nconst db = new Database(env.SQLITE_FILE ?? 'x/y.db');\n`,
      }),
    ).toMatchObject({ path: 'x/y.db', env: 'SQLITE_FILE' });
    expect(
      await db({
        '.env.example': 'DATABASE_PATH=./sqlite/app.db\nSECRET=do-not-print\n',
        'src/env.ts': `import { z } from 'zod';\nexport const env = z.object({ DATABASE_PATH: z.string() }).parse(process.env);\n`,
        'src/db.ts': `import Database from 'better-sqlite3';\nimport { env } from './env';\nexport const db = new Database(env.DATABASE_PATH);\n`,
      }),
    ).toMatchObject({
      path: 'sqlite/app.db',
      env: 'DATABASE_PATH',
      from: 'src/db.ts:3 (better-sqlite3), DATABASE_PATH in .env.example',
    });
  });

  it('an env var with no default anywhere: compose sets it (the file name is ours)', async () => {
    const r = await db({
      'index.js': `import Database from 'better-sqlite3';\nnew Database(process.env.DB_FILE);\n`,
    });
    expect(r).toMatchObject({ path: 'data/app.db', env: 'DB_FILE', kind: 'file' });
    expect(r.from).toBe('index.js:2 (better-sqlite3) (DB_FILE has no default: compose sets it)');
  });
});

describe('what it cannot settle is an error naming the flag', () => {
  it('a path it cannot work out', async () => {
    const dir = await app({
      'lib/open.js': `const Database = require('better-sqlite3');\nmodule.exports = (file) => new Database(file);\n`,
    });
    const err = await detectProject(dir).catch((e) => e);
    expect(err.message).toBe(
      'Cannot tell which SQLite file the app opens: lib/open.js:2 (better-sqlite3: file)',
    );
    expect(err.hint).toMatch(/--db-path/);
    // The flag settles it.
    expect((await detectProject(dir, { dbPath: 'data/x.db' })).dbPath.value).toBe('data/x.db');
  });

  it("SvelteKit's $env/dynamic/private is the runtime env; $env/static/private is inlined at build time", async () => {
    expect(
      await db({
        'src/lib/server/db.ts': `import Database from 'better-sqlite3';\nimport { env } from '$env/dynamic/private';\nexport const db = new Database(env.DATABASE_PATH ?? 'data/books.db');\n`,
      }),
    ).toMatchObject({ path: 'data/books.db', env: 'DATABASE_PATH' });
    // A build-time constant cannot be pointed elsewhere by compose: not taken for a variable.
    await expect(
      db({
        'src/lib/server/db.ts': `import Database from 'better-sqlite3';\nimport { DATABASE_PATH } from '$env/static/private';\nexport const db = new Database(DATABASE_PATH);\n`,
      }),
    ).rejects.toThrow(
      /^Cannot tell which SQLite file the app opens: src\/lib\/server\/db\.ts:3 \(better-sqlite3: DATABASE_PATH\)/,
    );
  });

  it("Knex's knexfile with a config per environment, picked by NODE_ENV", async () => {
    // The same file in every environment: that file.
    const same = await detectProject(
      await knexPerEnvApp(
        `{ client: 'sqlite3', connection: { filename: './db/dev.sqlite3' }, useNullAsDefault: true }`,
      ),
    );
    expect([same.dbPath.value, same.dbPath.from]).toEqual(['db/dev.sqlite3', 'src/db.js:3 (Knex)']);
    // Another file (or another database) in production: which one runs is for --db-path.
    const err = await detectProject(
      await knexPerEnvApp(
        `{ client: 'better-sqlite3', connection: { filename: process.env.DB_FILE || './var/prod.sqlite3' } }`,
      ),
    ).catch((e) => e);
    expect(err.message).toBe(
      'Cannot tell which SQLite file the app opens: src/db.js:3 (Knex: a config per environment (development: ./db/dev.sqlite3, production: DB_FILE or ./var/prod.sqlite3))',
    );
    const pg = await detectProject(
      await knexPerEnvApp(`{ client: 'pg', connection: process.env.DATABASE_URL }`),
    ).catch((e) => e);
    expect(pg.message).toMatch(
      /\(Knex: a config per environment \(development: \.\/db\/dev\.sqlite3, production: not SQLite\)\)$/,
    );
  });

  it('--db-path settles a config per environment only as what production opens', async () => {
    // Without the flag, the hint says what production opens.
    const asked = await detectProject(
      await knexPerEnvApp(
        `{ client: 'better-sqlite3', connection: { filename: process.env.DB_FILE || './var/prod.sqlite3' } }`,
      ),
    ).catch((e) => e);
    expect(asked.hint).toBe(
      'Pass --db-path with the path the deployed app should open: production reads it from DB_FILE, which the compose file then sets to it (e.g. --db-path var/prod.sqlite3).',
    );
    // Production reads an env var: --db-path is where compose points it.
    const byEnv = await detectProject(
      await knexPerEnvApp(
        `{ client: 'better-sqlite3', connection: { filename: process.env.DB_FILE || './var/prod.sqlite3' } }`,
      ),
      { dbPath: 'data/app.db' },
    );
    expect([byEnv.dbPath.value, byEnv.dbEnvVar]).toEqual(['data/app.db', 'DB_FILE']);
    // A fixed production path: another --db-path would back up a file the deployed app never writes.
    const fixed = await knexPerEnvApp(
      `{ client: 'sqlite3', connection: { filename: './var/prod.sqlite3' } }`,
    );
    const err = await detectProject(fixed, { dbPath: 'data/app.db' }).catch((e) => e);
    expect(err.message).toBe(
      "--db-path data/app.db is not the db the app opens: src/db.js:3 (Knex, production) opens 'var/prod.sqlite3' by a fixed path, so the deployed app would keep writing there and the backup would be of a file it never writes",
    );
    expect((await detectProject(fixed, { dbPath: 'var/prod.sqlite3' })).dbPath.value).toBe(
      'var/prod.sqlite3',
    );
    expect((await detectProject(fixed).catch((e) => e)).hint).toBe(
      'Pass --db-path var/prod.sqlite3 if the deployed app (NODE_ENV=production) is the one to back up: production opens that fixed path.',
    );
    // Production on PostgreSQL: no --db-path makes a SQLite backup of it.
    const pg = await detectProject(
      await knexPerEnvApp(`{ client: 'pg', connection: process.env.DATABASE_URL }`),
      {
        dbPath: 'db/dev.sqlite3',
      },
    ).catch((e) => e);
    expect(pg.message).toBe(
      "--db-path db/dev.sqlite3 is not a db the deployed app opens: src/db.js:3 (Knex: a config per environment (development: ./db/dev.sqlite3, production: not SQLite)); with NODE_ENV=production, which ls-mix's Dockerfile sets, it opens no SQLite db",
    );
  });

  it('Knex configs built from a shared part: spreads and Object.assign, the last one set winning', async () => {
    const knexfile = (envs: string) =>
      app({
        'knexfile.js': `const common = { client: 'better-sqlite3', useNullAsDefault: true };\nconst pg = { client: 'pg' };\nmodule.exports = {\n${envs}\n};\n`,
        'src/db.js': `const knex = require('knex');\nconst config = require('../knexfile')[process.env.NODE_ENV || 'development'];\nmodule.exports = knex(config);\n`,
      });
    const spread = await detectProject(
      await knexfile(
        `  development: { ...common, connection: { filename: './data/app.db' } },\n  production: { ...common, connection: { filename: './data/app.db' } },`,
      ),
    );
    expect([spread.dbPath.value, spread.dbPath.from]).toEqual(['data/app.db', 'src/db.js:3 (Knex)']);
    const assign = await detectProject(
      await knexfile(
        `  development: { ...common, connection: { filename: './data/app.db' } },\n  production: Object.assign({}, common, { connection: { filename: process.env.DB_FILE || './var/prod.db' } }),`,
      ),
    ).catch((e) => e);
    expect(assign.message).toBe(
      'Cannot tell which SQLite file the app opens: src/db.js:3 (Knex: a config per environment (development: ./data/app.db, production: DB_FILE or ./var/prod.db))',
    );
    // Set after the spread, `client` wins; spread after it, the spread's does.
    const overridden = await detectProject(
      await knexfile(
        `  development: { ...common, connection: { filename: './data/app.db' } },\n  production: { ...common, client: 'pg', connection: process.env.DATABASE_URL },`,
      ),
    ).catch((e) => e);
    expect(overridden.message).toMatch(/production: not SQLite\)\)$/);
    const later = await detectProject(
      await knexfile(
        `  development: { ...pg, ...common, connection: { filename: './data/app.db' } },\n  production: { client: 'pg', ...common, connection: { filename: './data/app.db' } },`,
      ),
    );
    expect(later.dbPath.value).toBe('data/app.db');
    // A helper merging each environment into the defaults, the config picked in the knex call
    // itself (shaped like freshsqueezed/node-typescript-express-sqlite-auth, TypeScript).
    const helper = await detectProject(
      await app({
        'knexfile.ts': `import { Knex } from 'knex';\nconst defaults: Knex.Config = { client: 'sqlite3', useNullAsDefault: true };\nconst connection: Record<string, Knex.Config> = {\n  development: config({ connection: { filename: './auth.db' } }),\n  test: config({ connection: { filename: ':memory:' } }),\n};\nexport default connection;\nfunction config(overrides: Knex.Config) {\n  return Object.assign({}, defaults, overrides);\n}\n`,
        'src/database/db.ts': `import knex from 'knex';\nimport connection from '../../knexfile';\nimport { NODE_ENV } from '../config';\nexport default knex(connection[NODE_ENV]);\n`,
        'src/config.ts': `export const { NODE_ENV = 'development' } = process.env;\n`,
      }),
    ).catch((e) => e);
    expect(helper.message).toBe(
      'Cannot tell which SQLite file the app opens: src/database/db.ts:4 (Knex: a config per environment (development: ./auth.db, test: :memory:, none for production))',
    );
    // Inline, without a knexfile.
    const inline = await detectProject(
      await app({
        'src/db.js': `const knex = require('knex');\nconst base = { client: 'sqlite3', useNullAsDefault: true };\nmodule.exports = knex(Object.assign({}, base, { connection: { filename: process.env.DB_PATH ?? 'data/inline.db' } }));\n`,
      }),
    );
    expect([inline.dbPath.value, inline.dbEnvVar]).toEqual(['data/inline.db', 'DB_PATH']);
  });

  it('a knexfile at the root when no call to knex() is in sight (the config handed to a plugin)', async () => {
    // Shaped like EvgeniyKoch/backend-project-lvl4 (Hexlet's fastify-nodejs-application): ESM named
    // exports per environment, the one for NODE_ENV handed to fastify-objectionjs, not to knex().
    const plugin = `import fastifyObjectionjs from 'fastify-objectionjs';\nimport * as knexConfig from '../knexfile.js';\nconst mode = process.env.NODE_ENV || 'development';\nexport default async (app) => {\n  await app.register(fastifyObjectionjs, { knexConfig: knexConfig[mode] });\n};\n`;
    const esm = (
      production: string,
      development = `{ client: 'sqlite3', connection: { filename: path.resolve(__dirname, 'data', 'app.sqlite') }, migrations }`,
    ) =>
      app(
        {
          'knexfile.js': `import path from 'path';\nimport { fileURLToPath } from 'url';\nconst __dirname = path.dirname(fileURLToPath(import.meta.url));\nconst migrations = { directory: path.join(__dirname, 'server', 'migrations') };\nexport const development = ${development};\nexport const test = { client: 'sqlite3', connection: ':memory:', migrations };\n${production ? `export const production = ${production};\n` : ''}`,
          'server/plugin.js': plugin,
        },
        {
          type: 'module',
          dependencies: { fastify: '^4', 'fastify-objectionjs': '^2', knex: '^2', sqlite3: '^5' },
        },
      );
    const same = `{ client: 'sqlite3', connection: { filename: path.resolve(__dirname, 'data', 'app.sqlite') }, useNullAsDefault: true }`;
    const found = await detectProject(await esm(same));
    // The test environment's :memory: beside a production file does not count.
    expect([found.dbPath.value, found.dbPath.from]).toEqual(['data/app.sqlite', 'knexfile.js:7 (knexfile)']);
    // Production in the app's own folder: said, not backed up from a folder a volume would hide.
    const inTop = `{ client: 'sqlite3', connection: { filename: path.resolve(__dirname, 'database.sqlite') } }`;
    const top = await planMixes({ dir: await esm(inTop, inTop), mixes: ['litestream-aws'] }).catch((e) => e);
    expect(top.message).toMatch(/^The app opens its SQLite db 'database\.sqlite' in its own top folder/);
    // ...and --db-path cannot point the backup at a file the app never writes.
    const elsewhere = await detectProject(await esm(inTop, inTop), { dbPath: 'data/app.db' }).catch((e) => e);
    expect(elsewhere.message).toMatch(
      /^--db-path data\/app\.db is not the db the app opens: knexfile\.js:7 \(knexfile\) opens 'database\.sqlite'/,
    );
    // No production entry: knex would get no config when deployed.
    const none = await detectProject(await esm('')).catch((e) => e);
    expect(none.message).toBe(
      'Cannot tell which SQLite file the app opens: knexfile.js:5 (knexfile: a config per environment (development: data/app.sqlite, test: :memory:, none for production))',
    );
    // Production in memory: nothing on disk is the deployed app's, whatever development opens.
    const memory = await detectProject(await esm(`{ client: 'sqlite3', connection: ':memory:' }`)).catch(
      (e) => e,
    );
    expect(memory.message).toMatch(
      /^Cannot tell which SQLite file the app opens: knexfile\.js:7 \(knexfile: .*production: :memory:\)\)$/,
    );
    // Production on PostgreSQL: the deployed app keeps no SQLite db.
    const pg = await detectProject(await esm(`{ client: 'pg', connection: process.env.DATABASE_URL }`)).catch(
      (e) => e,
    );
    expect(pg.message).toMatch(/^No SQLite database found/);
  });

  it('a knexfile of one config, and a knexfile beside the app’s own open call (the call wins)', async () => {
    expect(
      await db({
        'knexfile.js': `module.exports = {\n  client: 'better-sqlite3',\n  connection: { filename: process.env.DB_FILE || './data/one.db' },\n};\n`,
      }),
    ).toMatchObject({ path: 'data/one.db', from: 'knexfile.js:1 (knexfile)', env: 'DB_FILE' });
    expect(
      await db({
        'knexfile.js': `module.exports = { production: { client: 'sqlite3', connection: { filename: './data/migrate-only.db' } } };\n`,
        'src/db.js': `const Database = require('better-sqlite3');\nmodule.exports = new Database(process.env.DB || 'data/app.db');\n`,
      }),
    ).toMatchObject({ path: 'data/app.db', from: 'src/db.js:2 (better-sqlite3)' });
  });

  it('a path it cannot work out beside one it can: stops, as the resolved one may be a script’s', async () => {
    // Shaped like yuvalstyr/my-audio-books: the app's connection takes its path from a function,
    // a seed script reads DATABASE_PATH || 'dev.db'.
    const dir = await app({
      'src/lib/server/db/path.ts': `export function dbPath(): string {\n  if (process.env.DATA_ROOT) return process.env.DATA_ROOT + '/books.db';\n  return './dev.db';\n}\n`,
      'src/lib/server/db/connection.ts': `import Database from 'better-sqlite3';\nimport { dbPath } from './path';\nexport const sqlite = new Database(dbPath());\n`,
      'scripts/seed.ts': `import Database from 'better-sqlite3';\nconst sqlite = new Database(process.env.DATABASE_PATH || 'dev.db');\n`,
    });
    const err = await detectProject(dir).catch((e) => e);
    expect(err.message).toBe(
      'Cannot tell which SQLite file the app opens: src/lib/server/db/connection.ts:3 (better-sqlite3: dbPath()) opens a path ls-mix cannot work out, which may not be dev.db (scripts/seed.ts:2 (better-sqlite3))',
    );
    expect(err.hint).toBe(
      'Pass --db-path with the path the app opens (relative to the app folder), e.g. --db-path dev.db if it is that one.',
    );
    // The flag settles it, keeping the env var the named one is read from.
    const f = await detectProject(dir, { dbPath: 'dev.db' });
    expect([f.dbPath.value, f.dbEnvVar]).toEqual(['dev.db', 'DATABASE_PATH']);
    expect((await detectProject(dir, { dbPath: 'var/books.db' })).dbPath.value).toBe('var/books.db');
  });

  it('two different databases', async () => {
    const dir = await app({
      'a.js': `import Database from 'better-sqlite3';\nexport const users = new Database('data/users.db');\n`,
      'b.js': `import Database from 'better-sqlite3';\nexport const jobs = new Database(process.env.JOBS_DB ?? 'data/jobs.db');\n`,
    });
    const err = await detectProject(dir).catch((e) => e);
    expect(err.message).toBe(
      'The app opens 2 different SQLite databases: data/users.db (a.js:2 (better-sqlite3)); data/jobs.db (b.js:2 (better-sqlite3), env JOBS_DB)',
    );
    expect(err.hint).toMatch(/--db-path/);
    // --db-path naming one keeps the env var it is read from (epic-stack: DATABASE_URL beside a
    // cache db), so the container still gets it; the fixed-path one stays as it was.
    const jobs = await detectProject(dir, { dbPath: 'data/jobs.db' });
    expect([jobs.dbPath.value, jobs.dbPath.source, jobs.dbEnvVar]).toEqual([
      'data/jobs.db',
      'flag',
      'JOBS_DB',
    ]);
    const users = await detectProject(dir, { dbPath: 'data/users.db' });
    expect([users.dbPath.value, users.dbEnvVar]).toEqual(['data/users.db', undefined]);
  });

  it('a remote libsql database', async () => {
    const dir = await app({
      'db.js': `import { createClient } from '@libsql/client';\nexport const c = createClient({ url: 'libsql://shop.turso.io', authToken: process.env.T });\n`,
    });
    await expect(detectProject(dir)).rejects.toThrow(
      /database is remote .*libsql:\/\/shop\.turso\.io.*no local SQLite file/,
    );
  });

  it('a literal path whose folder holds repo files the volume would hide (code, migrations, a seed db)', async () => {
    const dir = await app({
      'index.js': `import Database from 'better-sqlite3';\nnew Database('db/app.db');\n`,
      'db/migrations/001.sql': 'CREATE TABLE t (x);\n',
      'db/seed.db': 'SQLite format 3',
    });
    const err = await detectProject(dir).catch((e) => e);
    expect(err.message).toMatch(
      /volume mounted on db\/ would hide files of the repo there: db\/migrations\/001\.sql, db\/seed\.db/,
    );
    expect(err.hint).toMatch(/env var/);
    // Its own files there (the db, its WAL) hide nothing.
    const ok = await app({
      'index.js': `import Database from 'better-sqlite3';\nnew Database('db/app.db');\n`,
      'db/app.db': '',
      'db/app.db-wal': '',
      'db/.gitkeep': '',
      'db/.exist': 'ok\n', // Rayjay-8/shotboard keeps its db folder so
    });
    expect((await detectProject(ok)).dbPath.value).toBe('db/app.db');
  });

  it('Prisma with a literal url inside prisma/: the volume would hide the migrations', async () => {
    const dir = await app({
      'prisma/schema.prisma': 'datasource db {\n  provider = "sqlite"\n  url = "file:./dev.db"\n}\n',
      'prisma/migrations/1_init/migration.sql': 'CREATE TABLE t (x);\n',
    });
    await expect(detectProject(dir)).rejects.toThrow(
      /volume mounted on prisma\/ would hide files of the repo there: prisma\/migrations/,
    );
  });
});

describe('Prisma 7: a url-less datasource, the db opened through a driver adapter', () => {
  const schema =
    'generator client {\n  provider = "prisma-client-js"\n}\n\ndatasource db {\n  provider = "sqlite"\n}\n';
  const config = `import 'dotenv/config';\nimport { defineConfig, env } from 'prisma/config';\nexport default defineConfig({\n  schema: 'prisma/schema.prisma',\n  datasource: { url: env('DATABASE_URL') },\n});\n`;

  it('the adapter call gives the db; the schema its migrations', async () => {
    // Shaped like park8312/startup-site (Next.js, Prisma 7.3).
    const dir = await app(
      {
        'prisma/schema.prisma': schema,
        'prisma.config.ts': config,
        'src/lib/prisma.ts': `import { PrismaClient } from '@prisma/client';\nimport { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';\nconst url = process.env.DATABASE_URL || 'file:./prisma/dev.db';\nconst adapter = new PrismaBetterSqlite3({ url });\nexport const prisma = new PrismaClient({ adapter });\n`,
      },
      {
        dependencies: { '@prisma/client': '^7.3.0', '@prisma/adapter-better-sqlite3': '^7.3.0' },
        devDependencies: { prisma: '^7.3.0' },
      },
    );
    const f = await detectProject(dir);
    expect([f.dbPath.value, f.dbPath.from, f.dbEnvVar, f.dbUrlScheme]).toEqual([
      'prisma/dev.db',
      'src/lib/prisma.ts:4 (Prisma better-sqlite3 adapter)',
      'DATABASE_URL',
      'file:',
    ]);
    expect(f.nodeBuild?.prismaSchema).toBe('prisma/schema.prisma');
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    const compose = plan.files.find((x) => x.path === '.deploy/docker-compose.yml')!.content;
    expect(compose).toContain(
      'command: ["npx", "--no-install", "prisma", "migrate", "deploy", "--schema", "prisma/schema.prisma"]',
    );
    expect(compose).toContain('DATABASE_URL: file:/data/dev.db');
  });

  it("only prisma.config.ts names it (the code's adapter call out of sight): its env var, valued from .env", async () => {
    const dir = await app({
      'prisma/schema.prisma': schema,
      'prisma.config.ts': config,
      '.env.example': 'DATABASE_URL="file:./var/app.db"\n',
    });
    const f = await detectProject(dir);
    expect([f.dbPath.value, f.dbEnvVar, f.nodeBuild?.prismaSchema]).toEqual([
      'var/app.db',
      'DATABASE_URL',
      'prisma/schema.prisma',
    ]);
    expect(f.dbPath.from).toBe('prisma.config.ts:5 (Prisma config), DATABASE_URL in .env.example');
  });
});

describe('AdonisJS (Lucid)', () => {
  const pkg = {
    dependencies: { '@adonisjs/core': '^6.18.0', '@adonisjs/lucid': '^21.6.1', 'better-sqlite3': '^11.10.0' },
  };
  const lucid = (filename: string) =>
    `import app from '@adonisjs/core/services/app'\nimport env from '#start/env'\nimport { defineConfig } from '@adonisjs/lucid'\n\nconst dbConfig = defineConfig({\n  connection: env.get('DB_CONNECTION', 'sqlite'),\n  connections: {\n    sqlite: {\n      client: 'better-sqlite3',\n      connection: { filename: ${filename} },\n      useNullAsDefault: true,\n    },\n    pg: { client: 'pg', connection: { host: env.get('PG_HOST') } },\n  },\n})\n\nexport default dbConfig\n`;

  it('the chosen connection of config/database.ts, app.tmpPath and env.get with a default', async () => {
    // Shaped like the AdonisJS 6 starter kits (Guizzs26/todo-api-adonisjs6): SQLite in tmp/.
    expect(await db({ 'config/database.ts': lucid("app.tmpPath('db.sqlite3')") }, pkg)).toMatchObject({
      path: 'tmp/db.sqlite3',
      env: undefined,
      from: 'config/database.ts:5 (Lucid)',
    });
    expect(
      await db({ 'config/database.ts': lucid("env.get('DB_DATABASE', app.tmpPath('db.sqlite3'))") }, pkg),
    ).toMatchObject({ path: 'tmp/db.sqlite3', env: 'DB_DATABASE' });
  });

  it('is never given the Node Dockerfile ls-mix writes (it runs from build/); with one of its own, a note on its env', async () => {
    const dir = await app(
      { 'config/database.ts': lucid("env.get('DB_DATABASE', app.tmpPath('db.sqlite3'))") },
      pkg,
    );
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toMatchObject({
      message: expect.stringMatching(
        /^This is an AdonisJS app \(package\.json depends on @adonisjs\/core\): it runs from the build\/ folder/,
      ),
    });
    await writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM node:22-slim AS build\nWORKDIR /src\nCOPY . .\nRUN npm ci && node ace build\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /src/build /app\nRUN npm ci --omit=dev\nENV PORT=3333 HOST=0.0.0.0\nCMD ["node", "bin/server.js"]\n',
    );
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect([plan.facts.port.value, plan.containerDb.path]).toEqual([3333, '/data/db.sqlite3']);
    expect(plan.notes.join('\n')).toMatch(/AdonisJS checks its env at start \(start\/env\.ts: APP_KEY/);
  });
});

describe('--db-path with an env var, and the compose wiring', () => {
  it('--db-path wins and still sets the env var the app reads', async () => {
    const dir = await app({
      'index.js': `import Database from 'better-sqlite3';\nnew Database(process.env.DB_PATH ?? 'data/a.db');\n`,
    });
    const plan = await planMixes({ dir, mixes: ['litestream-aws'], overrides: { dbPath: 'data/custom.db' } });
    expect(plan.facts.dbEnvVar).toBe('DB_PATH');
    const compose = plan.files.find((f) => f.path === '.deploy/docker-compose.yml')?.content ?? '';
    expect(compose).toContain('      DB_PATH: /data/custom.db\n');
    expect(plan.files.find((f) => f.path === 'litestream.yml')?.content).toContain('- path: /data/custom.db');
  });
});

describe('--db-path against a fixed path in the code', () => {
  it('is refused when it names another file: the app would keep writing its own, unbacked', async () => {
    const dir = await app({
      'server.js': `import Database from 'better-sqlite3';\nconst db = new Database('var/shop.db');\n`,
    });
    const err = await detectProject(dir, { dbPath: 'data/app.db' }).catch((e) => e);
    expect(err.message).toBe(
      "--db-path data/app.db is not the db the app opens: server.js:2 (better-sqlite3) opens 'var/shop.db' by a fixed path, so the deployed app would keep writing there and the backup would be of a file it never writes",
    );
    expect(err.hint).toMatch(/process\.env\.DB_PATH \?\? 'var\/shop\.db'/);
    // The same path, spelled with ./, is the app's own db.
    expect((await detectProject(dir, { dbPath: './var/shop.db' })).dbPath.value).toBe('var/shop.db');
  });
});

describe('workspaces and --app', () => {
  const workspace = (extra: Record<string, string> = {}) =>
    app(
      {
        'apps/api/package.json': JSON.stringify({ name: 'api', scripts: { start: 'node server.js' } }),
        'apps/api/server.js': `import Database from 'better-sqlite3';\nnew Database(process.env.API_DB ?? 'data/api.db');\n`,
        'apps/worker/package.json': JSON.stringify({ name: 'worker', scripts: { start: 'node run.js' } }),
        'apps/worker/run.js': `console.log('no db here');\n`,
        ...extra,
      },
      { name: 'root', private: true, workspaces: ['apps/*'] },
    );

  it('the one workspace that opens SQLite is the app', async () => {
    const f = await detectProject(await workspace());
    expect(f.nodeBuild?.appDir).toBe('apps/api');
    expect(f.dbPath.from).toBe('apps/api/server.js:2 (better-sqlite3)');
  });

  it('two that do: an error naming --app; --app picks one; --app must be a workspace', async () => {
    const dir = await workspace({
      'apps/worker/run.js': `import Database from 'better-sqlite3';\nnew Database('jobs/worker.db');\n`,
    });
    const err = await detectProject(dir).catch((e) => e);
    expect(err.message).toBe('Several workspaces open a SQLite database: apps/api, apps/worker');
    expect(err.hint).toBe('Pass --app with the one to deploy, e.g. --app apps/api.');
    const f = await detectProject(dir, { app: 'apps/worker' });
    expect(f.dbPath.value).toBe('jobs/worker.db');
    expect(f.nodeBuild?.workspaceManifests).toEqual(['apps/api/package.json', 'apps/worker/package.json']);
    await expect(detectProject(dir, { app: 'apps/nope' })).rejects.toThrow(
      /--app 'apps\/nope': .*does not exist/,
    );
    await expect(detectProject(dir, { app: '../x' })).rejects.toThrow(/is not a folder inside/);
  });

  it('a library workspace opens the db: the app is the workspace that uses it (env var only)', async () => {
    const files = (db: string) => ({
      'packages/db/package.json': JSON.stringify({ name: '@x/db', main: 'index.js' }),
      'packages/db/index.js': `import Database from 'better-sqlite3';\nexport const db = new Database(${db});\n`,
      'apps/api/package.json': JSON.stringify({
        name: '@x/api',
        scripts: { start: 'node main.js' },
        dependencies: { '@x/db': 'workspace:*' },
      }),
      'apps/api/main.js': `import { db } from '@x/db';\nconsole.log(db);\n`,
    });
    const root = { name: 'root', private: true, workspaces: ['apps/*', 'packages/*'] };
    const f = await detectProject(await app(files("process.env.SHOP_DB ?? 'data/shop.db'"), root));
    expect(f.nodeBuild?.appDir).toBe('apps/api');
    expect(f.dbEnvVar).toBe('SHOP_DB');
    expect(f.dbPath.from).toBe('packages/db/index.js:2 (better-sqlite3)');
    expect(f.startCommand).toEqual(['node', 'main.js']);
    const err = await detectProject(await app(files("'data/shop.db'"), root)).catch((e) => e);
    expect(err.message).toMatch(
      /The app uses packages\/db, which opens its SQLite db at a path fixed in its code/,
    );
    expect(err.hint).toMatch(/--db-path/);
  });

  it('pnpm: a pnpm-workspace.yaml that approves builds but not better-sqlite3 is an error', async () => {
    const dir = await app(
      {
        'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
        'pnpm-workspace.yaml': 'onlyBuiltDependencies:\n  - esbuild\n',
        'index.js': `import Database from 'better-sqlite3';\nnew Database(process.env.DB ?? 'data/p.db');\n`,
      },
      { dependencies: { 'better-sqlite3': '^12.4.1' } },
    );
    await expect(detectProject(dir)).rejects.toThrow(/approves dependency builds but not better-sqlite3/);
  });
});

describe('Node version', () => {
  it('.nvmrc with an nvm LTS alias; engines ranges', async () => {
    const f = await detectProject(
      await app({
        '.nvmrc': 'lts/jod\n',
        'index.js': `import Database from 'better-sqlite3';\nnew Database('data/a.db');\n`,
      }),
    );
    expect(f.nodeVersion).toEqual({ value: '22', source: 'detected', from: '.nvmrc' });
    const g = await detectProject(
      await app(
        { 'index.js': `import Database from 'better-sqlite3';\nnew Database('data/a.db');\n` },
        { engines: { node: '>=18 <23' } },
      ),
    );
    expect(g.nodeVersion).toEqual({ value: '22', source: 'detected', from: 'package.json engines.node' });
    const { engineMajor } = await import('../../src/generator/detect-node.js');
    expect(
      ['>=20', '^22 || ^24', '20.x', '>=18 <23', '~20.11', '>=27', '<=20', 'lts'].map(engineMajor),
    ).toEqual(['26', '24', '20', '22', '20', '27', '20', undefined]);
    // Full versions are one bound each (remix-run/indie-stack: `>=18.0.0` once gave Node "0",
    // and a Dockerfile FROM node:0-slim).
    expect(
      ['>=18.0.0', '>=14.17.0 <19.0.0', '18 - 20', '^18.0.0 || >=20.0.0', '>= 16', 'v20', '*'].map(
        engineMajor,
      ),
    ).toEqual(['26', '18', '20', '26', '26', '20', '26']);
  });
});

describe("Yarn Plug'n'Play", () => {
  it('the start command loads Yarn\'s resolver (and its ESM loader for "type": "module")', async () => {
    const dir = await app(
      {
        'yarn.lock': '__metadata:\n  version: 8\n',
        '.yarnrc.yml': 'enableTelemetry: false\n',
        'index.js': `import Database from 'better-sqlite3';\nnew Database(process.env.DB ?? 'data/a.db');\n`,
      },
      { type: 'module', packageManager: 'yarn@4.5.3' },
    );
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    const dockerfile = plan.files.find((f) => f.path === 'Dockerfile')?.content ?? '';
    expect(plan.facts.nodeBuild).toMatchObject({ yarnBerry: true, yarnPnp: true, esm: true });
    expect(dockerfile).toContain('RUN yarn install --immutable\n');
    expect(dockerfile).toContain('RUN yarn workspaces focus --production\n');
    expect(dockerfile).toContain(
      'CMD ["node", "--require", "/app/.pnp.cjs", "--loader", "/app/.pnp.loader.mjs", "index.js"]',
    );
  });
});
