/**
 * .NET projects shaped like real ones (fixtures written by us after public layouts): which
 * project is published, where its db is (only from what opens SQLite), which images, and how
 * the connection string reaches the app. Each fixture's Dockerfile, compose file and
 * litestream.yml are golden files under test/golden/dotnet/<fixture>/
 * (UPDATE_GOLDEN=1 regenerates them; review the diff).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { detectProject } from '../../src/generator/detect.js';
import {
  dotnetSupportNote,
  frameworkVersion,
  targetFrameworkIn,
} from '../../src/generator/dotnet-version.js';
import { applyPlan, planMixes } from '../../src/generator/index.js';
import { dockerfileProblems } from '../validators/dockerfile.js';
import { loadWithRuntime } from '../validators/litestream-config.js';
import {
  cleanupTemps,
  copyFixture,
  FIXTURES_DIR,
  GOLDEN_DIR,
  GOLDEN_TARBALL,
  readTree,
  tempDir,
} from './helpers.js';

afterAll(cleanupTemps);

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const GOLDEN_FILES = ['Dockerfile', '.deploy/docker-compose.yml', 'litestream.yml'];

async function generate(fixture: string, overrides = {}) {
  const dir = await copyFixture(fixture);
  const plan = await planMixes({ dir, mixes: ['litestream-aws'], overrides, sidecarTarball: GOLDEN_TARBALL });
  await applyPlan(plan);
  const tree = await readTree(dir);
  const files = Object.fromEntries(GOLDEN_FILES.map((f) => [f, tree.get(f) ?? '']));
  const goldenDir = path.join(GOLDEN_DIR, 'dotnet', fixture);
  if (UPDATE) {
    await rm(goldenDir, { recursive: true, force: true });
    for (const [p, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(goldenDir, p)), { recursive: true });
      await writeFile(path.join(goldenDir, p), text);
    }
  }
  const golden = await readTree(goldenDir);
  for (const [p, text] of Object.entries(files)) expect(text, `golden ${fixture}/${p}`).toBe(golden.get(p));
  expect(dockerfileProblems(files.Dockerfile)).toEqual([]);
  const compose = parse(files['.deploy/docker-compose.yml']);
  const config = loadWithRuntime(files['litestream.yml']);
  return { plan, files, compose, config, dbPath: config.dbs[0].path };
}

describe('.NET fixtures: detection, images, connection string (golden files)', () => {
  it('a solution whose Directory.Build.props sets net8.0 (via a property): 8.0 images and an out-of-support note; EF Core in a referenced project', async () => {
    const f = await detectProject(path.join(FIXTURES_DIR, 'dotnet-props-solution'));
    expect(f.csproj).toBe('src/Ledger.Web/Ledger.Web.csproj');
    expect(f.dotnetVersion).toMatchObject({ value: '8.0', from: 'Directory.Build.props TargetFramework' });
    // From the name the data project reads, with its value in the web project's appsettings
    // (comments and all); never the `error` string literal beside it.
    expect(f.dbPath).toEqual({
      value: 'data/ledger.db',
      source: 'detected',
      from: 'src/Ledger.Web/appsettings.json ConnectionStrings:Ledger',
    });
    expect(f.dbConnection).toEqual({ name: 'Ledger', options: ['Foreign Keys=True'] });

    const { plan, files, compose, dbPath } = await generate('dotnet-props-solution');
    expect(files.Dockerfile).toContain('FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build');
    expect(files.Dockerfile).toContain('FROM mcr.microsoft.com/dotnet/aspnet:8.0');
    expect(files.Dockerfile).toContain('ENV ASPNETCORE_HTTP_PORTS=8080');
    expect(plan.notes.join('\n')).toMatch(/\.NET 8\.0 is out of support since 2026-11-10/);
    expect(dbPath).toBe('/app/data/ledger.db');
    expect(compose.services.app.environment.ConnectionStrings__Ledger).toBe(
      'Data Source=/app/data/ledger.db;Foreign Keys=True',
    );
    expect(compose.services.app.volumes).toEqual(['ledger-web-data:/app/data']);
  });

  it('a ServiceStack-style Vue template whose publish runs npm: Node in the SDK stage, OrmLite SqliteDialect fallback', async () => {
    const f = await detectProject(path.join(FIXTURES_DIR, 'servicestack-vue'));
    expect(f.csproj).toBe('MyStore/MyStore.csproj');
    expect(f.variant.value).toBe('vue-vite');
    expect(f.uiDir).toBe('MyStore.Client');
    expect(f.dotnetBuildRunsNode).toBe('MyStore/MyStore.csproj');
    // The `?? "DataSource=..."` fallback beside GetConnectionString("DefaultConnection").
    expect(f.dbPath).toMatchObject({ value: 'App_Data/store.db', from: 'MyStore/Configure.Db.cs' });
    expect(f.dotnetVersion).toMatchObject({ value: '10.0', source: 'detected' });

    const { plan, files, compose } = await generate('servicestack-vue');
    // The csproj builds the UI itself: no separate UI stage; the SDK stage gets Node.
    expect(files.Dockerfile).not.toContain(' AS ui');
    expect(files.Dockerfile).toMatch(
      /FROM mcr\.microsoft\.com\/dotnet\/sdk:10\.0 AS build\n[\s\S]*COPY --from=node \/usr\/local\/bin\/node[\s\S]*RUN dotnet publish MyStore\/MyStore\.csproj/,
    );
    expect(plan.notes.join('\n')).not.toMatch(/out of support/);
    expect(compose.services.app.environment.ConnectionStrings__DefaultConnection).toBe(
      'Data Source=/app/App_Data/store.db;Cache=Shared',
    );
  });

  it('a .NET 6 app with its db in the top folder: 6.0 images, ASPNETCORE_URLS, the db moves to App_Data through the connection string', async () => {
    const f = await detectProject(path.join(FIXTURES_DIR, 'dotnet6-app'));
    expect(f.dotnetVersion).toMatchObject({ value: '6.0', from: 'TodoApi.csproj TargetFramework' });
    expect(f.dbPath.value).toBe('todos.db');
    const { plan, files, compose, dbPath } = await generate('dotnet6-app');
    expect(files.Dockerfile).toContain('FROM mcr.microsoft.com/dotnet/aspnet:6.0');
    expect(files.Dockerfile).toContain('ENV ASPNETCORE_URLS=http://+:8080');
    expect(files.Dockerfile).not.toMatch(/ENV ASPNETCORE_HTTP_PORTS/);
    expect(plan.notes.join('\n')).toMatch(/\.NET 6\.0 is out of support since 2024-11-12/);
    expect(dbPath).toBe('/app/App_Data/todos.db');
    expect(compose.services.app.environment.ConnectionStrings__Default).toBe(
      'Data Source=/app/App_Data/todos.db',
    );
    expect(compose.services.app.volumes).toEqual(['todo-api-data:/app/App_Data']);
  });

  it('a clean-architecture solution: the web project that (through Infrastructure) opens SQLite, global.json, --app', async () => {
    const dir = path.join(FIXTURES_DIR, 'clean-architecture');
    const f = await detectProject(dir);
    // Two web projects; only src/Web references the project that calls UseSqlite.
    expect(f.csproj).toBe('src/Web/Web.csproj');
    expect(f.assemblyName).toBe('CleanShop.Web');
    expect(f.dbPath).toMatchObject({
      value: 'CleanShop.db',
      from: 'src/Web/appsettings.json ConnectionStrings:CleanShopDb',
    });
    expect(f.dbConnection).toEqual({ name: 'CleanShopDb', options: ['Cache=Shared'] });
    expect(f.dotnetVersion).toMatchObject({ value: '9.0', from: 'src/Web/Web.csproj TargetFramework' });
    const { files, compose } = await generate('clean-architecture');
    expect(files.Dockerfile).toContain('ENTRYPOINT ["dotnet", "CleanShop.Web.dll"]');
    expect(compose.services.app.environment.ConnectionStrings__CleanShopDb).toBe(
      'Data Source=/app/App_Data/CleanShop.db;Cache=Shared',
    );

    // --app picks a project; one that opens no SQLite is refused unless --db-path names the db.
    await expect(detectProject(dir, { app: 'src/AdminApi' })).rejects.toThrow(
      /No SQLite found in src\/AdminApi/,
    );
    await expect(detectProject(dir, { app: 'src/Nope' })).rejects.toThrow(/--app src\/Nope: no \.csproj/);
    const admin = await detectProject(dir, { app: 'src/AdminApi/', dbPath: 'App_Data/admin.db' });
    expect(admin.csproj).toBe('src/AdminApi/AdminApi.csproj');
    expect(admin.dbPath).toMatchObject({ value: 'App_Data/admin.db', source: 'flag' });
  });
});

describe('.NET detection edge cases', () => {
  it('global.json pins the SDK when no TargetFramework is declared; nothing declared -> 10.0', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'Api'));
    await writeFile(
      path.join(dir, 'Api/Api.csproj'),
      '<Project Sdk="Microsoft.NET.Sdk.Web"><ItemGroup><PackageReference Include="Microsoft.Data.Sqlite" Version="8.0.0" /></ItemGroup></Project>\n',
    );
    await writeFile(
      path.join(dir, 'Api/appsettings.json'),
      '{"ConnectionStrings":{"Db":"Data Source=App_Data/api.db"}}',
    );
    expect((await detectProject(dir)).dotnetVersion).toMatchObject({ value: '10.0', source: 'default' });
    await writeFile(path.join(dir, 'global.json'), '{ "sdk": { "version": "8.0.404" } }');
    expect((await detectProject(dir)).dotnetVersion).toEqual({
      value: '8.0',
      source: 'detected',
      from: 'global.json sdk.version',
    });
  });

  it('several web projects that open SQLite: an error naming them and --app', async () => {
    const dir = await tempDir();
    for (const name of ['Shop', 'Blog']) {
      await mkdir(path.join(dir, name));
      await writeFile(
        path.join(dir, name, `${name}.csproj`),
        '<Project Sdk="Microsoft.NET.Sdk.Web"></Project>\n',
      );
      await writeFile(
        path.join(dir, name, 'Db.cs'),
        `new SqliteConnection("Data Source=App_Data/${name}.db");\n`,
      );
    }
    await expect(detectProject(dir)).rejects.toThrow(
      /Several web projects open SQLite: Blog\/Blog\.csproj, Shop\/Shop\.csproj/,
    );
    const shop = await detectProject(dir, { app: 'Shop' });
    expect(shop.dbPath).toMatchObject({ value: 'App_Data/Shop.db', from: 'Shop/Db.cs' });
    expect(shop.dbConnection).toBeUndefined();
  });

  it('SQL Server connection strings and unrelated literals are never the db; two SQLite dbs ask for --db-path', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'App.csproj'), '<Project Sdk="Microsoft.NET.Sdk.Web"></Project>\n');
    await writeFile(
      path.join(dir, 'Program.cs'),
      [
        'var msg = "Data Source=not/a/db.db is just a message";',
        'var sql = builder.Configuration.GetConnectionString("Reports");',
        'var cs = builder.Configuration.GetConnectionString("Main");',
        'services.AddDbContext<Db>(o => o.UseSqlite(cs));',
      ].join('\n'),
    );
    await writeFile(
      path.join(dir, 'appsettings.json'),
      '{"ConnectionStrings":{"Reports":"Server=sql;Initial Catalog=r;User ID=x","Main":"Data Source=App_Data/main.db"}}',
    );
    const f = await detectProject(dir);
    expect(f.dbPath.value).toBe('App_Data/main.db');
    expect(f.dbConnection?.name).toBe('Main');

    await writeFile(
      path.join(dir, 'appsettings.json'),
      '{"ConnectionStrings":{"Reports":"Data Source=App_Data/reports.db","Main":"Data Source=App_Data/main.db"}}',
    );
    await expect(detectProject(dir)).rejects.toThrow(
      /several SQLite dbs: App_Data\/reports\.db .*App_Data\/main\.db/,
    );
    const chosen = await detectProject(dir, { dbPath: 'App_Data/main.db' });
    expect(chosen.dbConnection?.name).toBe('Main');
  });

  it('a UI whose install script runs dotnet is built on the SDK image with Node added', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'api/Shop'), { recursive: true });
    await mkdir(path.join(dir, 'ui'));
    await writeFile(
      path.join(dir, 'api/Shop/Shop.csproj'),
      '<Project Sdk="Microsoft.NET.Sdk.Web"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>\n',
    );
    await writeFile(path.join(dir, 'api/Shop/Db.cs'), 'o.UseSqlite("Data Source=App_Data/shop.db");\n');
    await writeFile(
      path.join(dir, 'ui/package.json'),
      '{"scripts":{"postinstall":"dotnet tool restore && dotnet x mjs","build":"vite build"},"devDependencies":{"vite":"6","vue":"3"}}',
    );
    const plan = await planMixes({ dir, mixes: ['jamstack-litestream-aws'] });
    expect(plan.facts.uiRunsDotnet).toBe('ui/package.json (postinstall)');
    const dockerfile = plan.files.find((f) => f.path === 'Dockerfile')?.content ?? '';
    expect(dockerfile).toMatch(
      /FROM mcr\.microsoft\.com\/dotnet\/sdk:10\.0 AS ui\n[\s\S]*COPY --from=node \/usr\/local\/bin\/node[\s\S]*RUN cd ui && npm install && npm run build[\s\S]*FROM mcr\.microsoft\.com\/dotnet\/sdk:10\.0 AS build\nWORKDIR/,
    );
    expect(dockerfileProblems(dockerfile)).toEqual([]);
  });

  it('TargetFramework forms and support notes', () => {
    expect(frameworkVersion('net10.0')).toBe('10.0');
    expect(frameworkVersion('net8.0-windows')).toBe('8.0');
    expect(frameworkVersion('netstandard2.0')).toBeUndefined();
    expect(targetFrameworkIn('<TargetFrameworks>net8.0;net10.0</TargetFrameworks>')).toBe('net10.0');
    expect(targetFrameworkIn('<TargetFramework>$(Tfm)</TargetFramework>', { Tfm: 'net9.0' })).toBe('net9.0');
    expect(dotnetSupportNote('10.0', new Date('2026-12-03'))).toBeUndefined();
    expect(dotnetSupportNote('8.0', new Date('2026-11-01'))).toBeUndefined();
    expect(dotnetSupportNote('8.0', new Date('2026-12-03'))).toMatch(/out of support since 2026-11-10/);
  });
});
