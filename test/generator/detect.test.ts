import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectProject } from '../../src/generator/index.js';
import { cleanupTemps, copyFixture, FIXTURES_DIR, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const fact = (value: unknown, source: string, from?: string) =>
  from === undefined ? expect.objectContaining({ value, source }) : { value, source, from };

describe('detectProject on the fixture apps', () => {
  it('ServiceStack-style .NET web app', async () => {
    const f = await detectProject(path.join(FIXTURES_DIR, 'dotnet-web'));
    expect(f.runtime).toBe('dotnet');
    expect(f.name).toEqual(fact('Acme', 'detected', 'Acme/Acme.csproj'));
    expect(f.variant).toEqual(fact('web', 'detected', 'Acme/Acme.csproj'));
    expect(f.dbPath).toEqual(
      fact('App_Data/app.db', 'detected', 'Acme/appsettings.json ConnectionStrings:DefaultConnection'),
    );
    expect(f.port).toEqual(fact(8080, 'default'));
    expect(f.dotnetVersion).toEqual(fact('8.0', 'detected'));
    expect(f.csproj).toBe('Acme/Acme.csproj');
    expect(f.assemblyName).toBe('Acme');
  });

  it('Blazor server app', async () => {
    const f = await detectProject(path.join(FIXTURES_DIR, 'blazor-server'));
    expect(f.variant).toEqual(fact('blazor-server', 'detected', 'BlazorDiary/Components/App.razor'));
    expect(f.dbPath).toEqual(fact('Data/diary.sqlite', 'detected'));
  });

  it('Next.js app: `process.env.X || literal` in lib/db.ts, port from the Next.js default, .nvmrc', async () => {
    const f = await detectProject(path.join(FIXTURES_DIR, 'nextjs'));
    expect(f.variant).toEqual(fact('nextjs', 'detected'));
    expect(f.dbPath).toEqual(fact('data/guestbook.db', 'detected', 'lib/db.ts:4 (better-sqlite3)'));
    expect(f.dbEnvVar).toBe('DATABASE_PATH');
    expect(f.port).toEqual({ ...fact(3000, 'default', 'Next.js default'), envDefault: 'PORT' });
    expect(f.nodeVersion).toEqual(fact('20', 'detected', '.nvmrc'));
    expect(f.startCommand).toEqual(['node', 'node_modules/next/dist/bin/next', 'start']);
  });

  it('Vue + Vite app with an Express/sqlite3 server: literal path, listen(8080), pnpm', async () => {
    const f = await detectProject(path.join(FIXTURES_DIR, 'vue-vite'));
    expect(f.variant).toEqual(fact('vue-vite', 'detected'));
    expect(f.dbPath).toEqual(
      fact('db/todos.sqlite3', 'detected', expect.stringMatching(/^server\/index\.js:\d+ \(sqlite3\)$/)),
    );
    expect(f.dbEnvVar).toBeUndefined();
    expect(f.port).toEqual(fact(8080, 'detected', 'server/index.js'));
    expect(f.packageManager).toEqual(fact('pnpm', 'detected', 'pnpm-lock.yaml'));
    expect(f.startCommand).toEqual(['node', 'server/index.js']);
    expect(f.hasBuildScript).toBe(true);
  });

  it('Express + better-sqlite3: the ?? default of an env var assigned to a const', async () => {
    const f = await detectProject(path.join(FIXTURES_DIR, 'express'));
    expect(f.variant).toEqual(fact('node', 'detected'));
    expect(f.name).toEqual(fact('notes-api', 'detected', 'package.json'));
    expect(f.dbPath).toEqual(fact('data/notes.db', 'detected', 'src/db.js:5 (better-sqlite3)'));
    expect(f.dbEnvVar).toBe('DB_PATH');
    expect(f.port).toEqual({ ...fact(3000, 'detected', 'src/server.js'), envDefault: 'PORT' });
  });
});

describe('other sources and overrides', () => {
  it('every fact can be overridden by a flag', async () => {
    const f = await detectProject(path.join(FIXTURES_DIR, 'express'), {
      name: 'Shop',
      variant: 'nextjs',
      port: 4000,
      dbPath: './var/shop.db',
      packageManager: 'yarn',
      nodeVersion: '22',
    });
    expect(f.name).toEqual(fact('Shop', 'flag', '--name'));
    expect(f.variant).toEqual(fact('nextjs', 'flag', '--variant'));
    expect(f.port).toEqual(fact(4000, 'flag', '--port'));
    expect(f.dbPath).toEqual(fact('var/shop.db', 'flag', '--db-path'));
    expect(f.packageManager).toEqual(fact('yarn', 'flag', '--package-manager'));
    expect(f.nodeVersion).toEqual(fact('22', 'flag', '--node-version'));
  });

  it('.env DATABASE_URL file: path, relative to prisma/ as Prisma resolves it', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'package.json'), '{"name":"p","dependencies":{"@prisma/client":"6"}}');
    await mkdir(path.join(dir, 'prisma'));
    await writeFile(
      path.join(dir, 'prisma/schema.prisma'),
      'datasource db {\n  provider = "sqlite"\n  url = env("DATABASE_URL")\n}\n',
    );
    await writeFile(path.join(dir, '.env'), 'DATABASE_URL="file:./data/dev.db"\n');
    const f = await detectProject(dir);
    expect(f.dbPath).toEqual(
      fact(
        'prisma/data/dev.db',
        'detected',
        'prisma/schema.prisma:1 (Prisma datasource), DATABASE_URL in .env',
      ),
    );
    expect(f.dbEnvVar).toBe('DATABASE_URL');
  });

  it('Prisma datasource with a literal url; node:sqlite DatabaseSync; no SQLite at all is refused', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'package.json'), '{"name":"p"}');
    await mkdir(path.join(dir, 'prisma'));
    await writeFile(
      path.join(dir, 'prisma/schema.prisma'),
      'datasource db {\n  provider = "sqlite"\n  url = "file:../db/app.db"\n}\n',
    );
    expect((await detectProject(dir)).dbPath).toEqual(
      fact('db/app.db', 'detected', 'prisma/schema.prisma:1 (Prisma datasource)'),
    );

    const dir2 = await tempDir();
    await writeFile(path.join(dir2, 'package.json'), '{"name":"q","scripts":{"start":"node main.mjs"}}');
    await writeFile(
      path.join(dir2, 'main.mjs'),
      "import { DatabaseSync } from 'node:sqlite';\nconst db = new DatabaseSync(process.env['SQLITE_FILE'] ?? 'store/q.sqlite');\nserver.listen({ port: 5050 });\n",
    );
    const f2 = await detectProject(dir2);
    expect(f2.dbPath).toEqual(fact('store/q.sqlite', 'detected', 'main.mjs:2 (node:sqlite)'));
    expect(f2.dbEnvVar).toBe('SQLITE_FILE');
    expect(f2.port).toEqual(fact(5050, 'detected', 'main.mjs'));

    const dir3 = await tempDir('plain-app-');
    await writeFile(path.join(dir3, 'package.json'), '{}');
    // No SQLite at all: refused, naming the flag; with --db-path the defaults apply.
    await expect(detectProject(dir3)).rejects.toThrow(/No SQLite database found in .*plain-app-/);
    await expect(detectProject(dir3)).rejects.toMatchObject({ hint: expect.stringContaining('--db-path') });
    const f3 = await detectProject(dir3, { dbPath: 'data/app.db' });
    expect(f3.name.value).toMatch(/^plain-app-/);
    expect(f3.name.source).toBe('detected');
    expect(f3.dbPath).toEqual(fact('data/app.db', 'flag', '--db-path'));
    expect(f3.port).toEqual(fact(3000, 'default'));
    expect(f3.packageManager).toEqual(fact('npm', 'default'));
    expect(f3.nodeVersion).toEqual(fact('26', 'default', 'newest Node LTS line'));
  });

  it('a ServiceStack jamstack layout (.NET API + Vue UI folder) is a dotnet app with a UI build', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'api/Shop'), { recursive: true });
    await mkdir(path.join(dir, 'ui'));
    await writeFile(
      path.join(dir, 'api/Shop/Shop.csproj'),
      '<Project Sdk="Microsoft.NET.Sdk.Web"></Project>\n',
    );
    await writeFile(
      path.join(dir, 'ui/package.json'),
      '{"devDependencies":{"vite":"6","vite-ssg":"0.24","vue":"3"}}',
    );
    // The API reads a named connection string with no value in appsettings: compose sets it.
    await writeFile(
      path.join(dir, 'api/Shop/Program.cs'),
      'var cs = builder.Configuration.GetConnectionString("DefaultConnection");\nnew SqliteConnection(cs);\n',
    );
    const f = await detectProject(dir);
    expect(f.runtime).toBe('dotnet');
    expect(f.variant).toEqual(fact('vue-ssg', 'detected'));
    expect(f.uiDir).toBe('ui');
    expect(f.dbPath).toEqual(fact('App_Data/db.sqlite', 'default'));
    expect(f.dbConnection).toEqual({ name: 'DefaultConnection', options: [] });
  });
});

describe('Blazor flavours', () => {
  it('a WebAssembly client project -> blazor-wasm; razor + tailwind.config -> blazor-tailwind', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'Shop/Components'), { recursive: true });
    await mkdir(path.join(dir, 'Shop.Client'));
    await writeFile(path.join(dir, 'Shop/Shop.csproj'), '<Project Sdk="Microsoft.NET.Sdk.Web"></Project>\n');
    await writeFile(path.join(dir, 'Shop/Components/App.razor'), '<Routes />\n');
    await writeFile(path.join(dir, 'Shop/Db.cs'), 'new SqliteConnection("Data Source=App_Data/shop.db");\n');
    await writeFile(
      path.join(dir, 'Shop.Client/Shop.Client.csproj'),
      '<Project Sdk="Microsoft.NET.Sdk.BlazorWebAssembly"></Project>\n',
    );
    const wasm = await detectProject(dir);
    expect(wasm.variant).toEqual(fact('blazor-wasm', 'detected', 'Shop.Client/Shop.Client.csproj'));
    expect(wasm.csproj).toBe('Shop/Shop.csproj');

    const dir2 = await tempDir();
    await mkdir(path.join(dir2, 'Diary/Components'), { recursive: true });
    await writeFile(
      path.join(dir2, 'Diary/Diary.csproj'),
      '<Project Sdk="Microsoft.NET.Sdk.Web"><PropertyGroup><TargetFramework>net9.0</TargetFramework><AssemblyName>DiaryApp</AssemblyName></PropertyGroup></Project>\n',
    );
    await writeFile(path.join(dir2, 'Diary/Components/App.razor'), '<Routes />\n');
    await writeFile(path.join(dir2, 'Diary/tailwind.config.js'), 'export default {};\n');
    await writeFile(path.join(dir2, 'Diary/Db.cs'), 'o.UseSqlite("Data Source=App_Data/diary.db");\n');
    const tw = await detectProject(dir2);
    expect(tw.variant.value).toBe('blazor-tailwind');
    expect(tw.dotnetVersion).toEqual(fact('9.0', 'detected', 'Diary/Diary.csproj TargetFramework'));
    expect(tw.assemblyName).toBe('DiaryApp');
  });
});

describe('bad input: one clear error', () => {
  it('not a directory, missing, or no app at all', async () => {
    await expect(detectProject(path.join(FIXTURES_DIR, 'express/package.json'))).rejects.toThrow(
      /is not a directory/,
    );
    await expect(detectProject('/nonexistent/ls-mix')).rejects.toThrow(/does not exist/);
    await expect(detectProject(await tempDir())).rejects.toThrow(/No package.json or \*\.csproj/);
  });

  it('invalid package.json and csproj name the file and the reason', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'package.json'), '{ "name": "x", }');
    await expect(detectProject(dir)).rejects.toThrow(/package\.json is not valid JSON: .*/);
    const dir2 = await tempDir();
    await writeFile(
      path.join(dir2, 'App.csproj'),
      '<Project Sdk="Microsoft.NET.Sdk.Web">\n  <PropertyGroup>\n',
    );
    await expect(detectProject(dir2)).rejects.toThrow(/App\.csproj is not a valid project file/);
  });

  it('bad flag values', async () => {
    const dir = path.join(FIXTURES_DIR, 'express');
    await expect(detectProject(dir, { variant: 'rails' })).rejects.toThrow(/Unknown variant 'rails'/);
    await expect(detectProject(dir, { port: 70000 })).rejects.toThrow(/not a TCP port/);
    await expect(detectProject(dir, { dbPath: '../../etc/x.db' })).rejects.toThrow(/not a plain file path/);
    await expect(detectProject(dir, { dbPath: 'a.db\nevil: 1' })).rejects.toThrow(/not a plain file path/);
    await expect(detectProject(dir, { name: '---' })).rejects.toThrow(/no letters or digits/);
  });

  it('a symlinked folder inside the app is not followed out of it by detection', async () => {
    const dir = await copyFixture('express');
    await symlink('/usr', path.join(dir, 'usr-link'));
    const f = await detectProject(dir);
    expect(f.dbPath.from).toBe('src/db.js:5 (better-sqlite3)');
  });
});
