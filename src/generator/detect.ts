/**
 * Facts about the target repo: project name, variant, port, SQLite db path, package manager,
 * Node/.NET version. Every fact records where it came from (file, flag, or a documented
 * default) so `--dry-run` and `--json` can show it; every fact can be overridden.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { exists, listFiles, readIfExists } from './fs-util.js';
import { splitWords } from './names.js';
import {
  type Fact,
  type Overrides,
  type PackageManager,
  type ProjectFacts,
  type Runtime,
  VARIANTS,
  type Variant,
} from './types.js';

/** The documented defaults used when a fact cannot be found. */
export const DEFAULTS = {
  nodePort: 3000,
  dotnetPort: 8080,
  nodeDbPath: 'data/app.db',
  dotnetDbPath: 'App_Data/db.sqlite',
  nodeVersion: '20',
  dotnetVersion: '8.0',
  packageManager: 'npm' as PackageManager,
};

interface PackageJson {
  name?: string;
  main?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  engines?: { node?: string };
}

interface Csproj {
  file: string;
  name: string;
  sdk: string;
  targetFramework?: string;
  assemblyName?: string;
  packages: string[];
}

const detected = <T>(value: T, from: string): Fact<T> => ({ value, source: 'detected', from });
const defaulted = <T>(value: T, from: string): Fact<T> => ({ value, source: 'default', from });
const flagged = <T>(value: T, flag: string): Fact<T> => ({ value, source: 'flag', from: flag });

export async function detectProject(dir: string, overrides: Overrides = {}): Promise<ProjectFacts> {
  const root = path.resolve(dir);
  const st = await stat(root).catch(() => undefined);
  if (!st) throw new UserError(`${root} does not exist`, { hint: 'Pass --dir with the project folder.' });
  if (!st.isDirectory())
    throw new UserError(`${root} is not a directory`, { hint: 'Pass --dir with the project folder.' });

  const files = await listFiles(root, 3);
  const pkg = await readPackageJson(root);
  const csprojs = await readCsprojs(root, files);
  const web = pickWebProject(csprojs);

  const variantOverride = parseVariant(overrides.variant);
  let variant: Fact<Variant>;
  let uiDir: string | undefined;
  if (variantOverride) variant = flagged(variantOverride, '--variant');
  else if (web) ({ variant, uiDir } = await detectDotnetVariant(root, web, csprojs, files));
  else if (pkg) variant = detectNodeVariant(pkg);
  else {
    throw new UserError(
      `No package.json or *.csproj found in ${root}: cannot tell what kind of app this is`,
      {
        hint: `Run it in your app's folder (or pass --dir), or pass --variant (one of ${VARIANTS.join(', ')}).`,
      },
    );
  }
  const runtime: Runtime = isDotnetVariant(variant.value, web) ? 'dotnet' : 'node';

  const facts: ProjectFacts = {
    dir: root,
    runtime,
    variant,
    name: detectName(root, overrides, web, pkg),
    port: defaulted(0, ''),
    dbPath: defaulted('', ''),
    // A jamstack UI beside a .NET API has its lockfile in the UI folder.
    packageManager: await detectPackageManager(uiDir ? path.join(root, uiDir) : root, overrides),
    nodeVersion: await detectNodeVersion(root, pkg, overrides),
    dotnetVersion: detectDotnetVersion(web, overrides),
  };

  if (runtime === 'dotnet') {
    facts.uiDir = uiDir;
    if (uiDir) facts.hasLockfile = facts.packageManager.source === 'detected';
    if (web) {
      facts.csproj = web.file;
      facts.assemblyName = web.assemblyName ?? web.name;
    } else {
      facts.csproj = `${facts.name.value}/${facts.name.value}.csproj`;
      facts.assemblyName = facts.name.value;
    }
    const projectDir = path.posix.dirname(facts.csproj);
    facts.port = await detectDotnetPort(root, projectDir, overrides);
    facts.dbPath = await detectDotnetDbPath(root, projectDir, files, overrides);
  } else {
    const sources = await readNodeSources(root, files, pkg);
    facts.port = detectNodePort(pkg, sources, variant.value, overrides);
    const db = await detectNodeDbPath(root, files, sources, overrides);
    facts.dbPath = db.fact;
    facts.dbEnvVar = db.envVar;
    facts.startCommand = nodeStartCommand(pkg, variant.value);
    facts.hasBuildScript = Boolean(pkg?.scripts?.build);
    facts.hasLockfile = facts.packageManager.source === 'detected';
  }
  return facts;
}

function isDotnetVariant(v: Variant, web: Csproj | undefined): boolean {
  if (v === 'web' || v.startsWith('blazor')) return true;
  // A jamstack UI in front of a .NET API (the ServiceStack jamstack layout).
  return (v === 'vue-ssg' || v === 'vue-vite' || v === 'nextjs') && web !== undefined;
}

function parseVariant(v: string | undefined): Variant | undefined {
  if (v === undefined) return undefined;
  if (!(VARIANTS as readonly string[]).includes(v)) {
    throw new UserError(`Unknown variant '${v}'`, { hint: `Use one of: ${VARIANTS.join(', ')}.` });
  }
  return v as Variant;
}

async function readPackageJson(root: string): Promise<PackageJson | undefined> {
  const file = path.join(root, 'package.json');
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('expected a JSON object');
    }
    return parsed as PackageJson;
  } catch (err) {
    throw new UserError(`${file} is not valid JSON: ${(err as Error).message}`, {
      hint: 'Fix package.json (npm needs it too), then run again.',
    });
  }
}

async function readCsprojs(root: string, files: string[]): Promise<Csproj[]> {
  const out: Csproj[] = [];
  for (const file of files.filter((f) => f.endsWith('.csproj'))) {
    const full = path.join(root, file);
    const text = (await readIfExists(full)) ?? '';
    const sdk = /<Project\b[^>]*\bSdk\s*=\s*"([^"]+)"/.exec(text)?.[1];
    if (!/<Project\b[\s\S]*<\/Project>/.test(text)) {
      throw new UserError(`${full} is not a valid project file: no <Project> ... </Project> element`, {
        hint: 'Fix the .csproj (dotnet build needs it too), then run again.',
      });
    }
    out.push({
      file,
      name: path.posix.basename(file, '.csproj'),
      sdk: sdk ?? '',
      targetFramework: /<TargetFrameworks?>\s*([^<;\s]+)/.exec(text)?.[1],
      assemblyName: /<AssemblyName>\s*([^<\s]+)\s*<\/AssemblyName>/.exec(text)?.[1],
      packages: [...text.matchAll(/<PackageReference\s+Include\s*=\s*"([^"]+)"/g)].map((m) => m[1]),
    });
  }
  return out;
}

/** The ASP.NET project to publish: Sdk.Web, not a test or client project; the shallowest wins. */
function pickWebProject(csprojs: Csproj[]): Csproj | undefined {
  const web = csprojs.filter((p) => p.sdk === 'Microsoft.NET.Sdk.Web' && !/\.(Tests?|Client)$/.test(p.name));
  web.sort((a, b) => a.file.split('/').length - b.file.split('/').length || a.file.localeCompare(b.file));
  return web[0];
}

async function detectDotnetVariant(
  root: string,
  web: Csproj,
  csprojs: Csproj[],
  files: string[],
): Promise<{ variant: Fact<Variant>; uiDir?: string }> {
  const wasm = csprojs.find(
    (p) =>
      p.sdk === 'Microsoft.NET.Sdk.BlazorWebAssembly' ||
      p.packages.includes('Microsoft.AspNetCore.Components.WebAssembly'),
  );
  if (wasm) return { variant: detected('blazor-wasm', wasm.file) };
  const projectDir = path.posix.dirname(web.file);
  const inProject = (f: string) => projectDir === '.' || f.startsWith(`${projectDir}/`);
  const razor = files.find((f) => f.endsWith('.razor') && inProject(f));
  if (razor) {
    const tw = files.find((f) => /(^|\/)tailwind\.config\.(js|cjs|mjs|ts)$/.test(f));
    if (tw) return { variant: detected('blazor-tailwind', `${razor} + ${tw}`) };
    return { variant: detected('blazor-server', razor) };
  }
  // ServiceStack jamstack layout: a .NET API plus a JS UI in its own folder.
  for (const ui of files.filter((f) => /(^|\/)package\.json$/.test(f) && !inProject(f))) {
    const text = (await readIfExists(path.join(root, ui))) ?? '{}';
    let pkg: PackageJson;
    try {
      pkg = JSON.parse(text) as PackageJson;
    } catch (err) {
      throw new UserError(`${path.join(root, ui)} is not valid JSON: ${(err as Error).message}`);
    }
    const v = detectNodeVariant(pkg).value;
    if (v !== 'node') return { variant: detected(v, `${web.file} + ${ui}`), uiDir: path.posix.dirname(ui) };
  }
  return { variant: detected('web', web.file) };
}

function detectNodeVariant(pkg: PackageJson): Fact<Variant> {
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  if (deps.next) return detected('nextjs', 'package.json (next)');
  if (deps['vite-ssg']) return detected('vue-ssg', 'package.json (vite-ssg)');
  if (deps.vue && deps.vite) return detected('vue-vite', 'package.json (vue + vite)');
  return detected('node', 'package.json');
}

function detectName(root: string, o: Overrides, web: Csproj | undefined, pkg: PackageJson | undefined) {
  if (o.name !== undefined) {
    if (splitWords(o.name).length === 0) {
      throw new UserError(`--name '${o.name}' has no letters or digits`, { hint: 'Pass a name like MyApp.' });
    }
    return flagged(o.name, '--name');
  }
  if (web) return detected(web.name, web.file);
  if (pkg?.name && splitWords(pkg.name).length > 0)
    return detected(pkg.name.replace(/^@[^/]+\//, ''), 'package.json');
  const folder = path.basename(root);
  return splitWords(folder).length > 0
    ? detected(folder, 'folder name')
    : defaulted('MyApp', 'no name found');
}

async function detectPackageManager(root: string, o: Overrides): Promise<Fact<PackageManager>> {
  if (o.packageManager !== undefined) {
    if (!['npm', 'yarn', 'pnpm'].includes(o.packageManager)) {
      throw new UserError(`Unknown package manager '${o.packageManager}'`, {
        hint: 'Use npm, yarn or pnpm.',
      });
    }
    return flagged(o.packageManager as PackageManager, '--package-manager');
  }
  const locks: [string, PackageManager][] = [
    ['package-lock.json', 'npm'],
    ['npm-shrinkwrap.json', 'npm'],
    ['pnpm-lock.yaml', 'pnpm'],
    ['yarn.lock', 'yarn'],
  ];
  for (const [file, pm] of locks) if (await exists(path.join(root, file))) return detected(pm, file);
  return defaulted(DEFAULTS.packageManager, 'no lockfile found');
}

async function detectNodeVersion(
  root: string,
  pkg: PackageJson | undefined,
  o: Overrides,
): Promise<Fact<string>> {
  if (o.nodeVersion !== undefined)
    return flagged(checkVersion(o.nodeVersion, '--node-version', /^\d+$/), '--node-version');
  for (const file of ['.nvmrc', '.node-version']) {
    const major = /(\d+)/.exec((await readIfExists(path.join(root, file))) ?? '')?.[1];
    if (major) return detected(major, file);
  }
  const major = /(\d+)/.exec(pkg?.engines?.node ?? '')?.[1];
  if (major) return detected(major, 'package.json engines.node');
  return defaulted(DEFAULTS.nodeVersion, 'current LTS used by the Dockerfiles');
}

function detectDotnetVersion(web: Csproj | undefined, o: Overrides): Fact<string> {
  if (o.dotnetVersion !== undefined) {
    return flagged(checkVersion(o.dotnetVersion, '--dotnet-version', /^\d+\.\d+$/), '--dotnet-version');
  }
  const v = /^net(\d+\.\d+)$/.exec(web?.targetFramework ?? '')?.[1];
  if (v && web) return detected(v, `${web.file} TargetFramework`);
  return defaulted(DEFAULTS.dotnetVersion, 'current LTS');
}

function checkVersion(v: string, flag: string, re: RegExp): string {
  if (!re.test(v))
    throw new UserError(`${flag} '${v}' is not a version like ${flag === '--node-version' ? '20' : '8.0'}`);
  return v;
}

function portOverride(o: Overrides): Fact<number> | undefined {
  if (o.port === undefined) return undefined;
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) {
    throw new UserError(`--port ${o.port} is not a TCP port (1-65535)`);
  }
  return flagged(o.port, '--port');
}

/** Accepts what goes into YAML and shell lines unquoted: letters, digits and `/._-@+`. */
function dbPathOverride(o: Overrides): Fact<string> | undefined {
  if (o.dbPath === undefined) return undefined;
  if (!/^[\w./@+-]+$/.test(o.dbPath) || o.dbPath.split('/').includes('..')) {
    throw new UserError(`--db-path '${o.dbPath}' is not a plain file path`, {
      hint: 'Use letters, digits and / . _ - only, no "..", e.g. App_Data/db.sqlite or /data/app.db.',
    });
  }
  return flagged(normalizeDbPath(o.dbPath), '--db-path');
}

function normalizeDbPath(p: string): string {
  return p.startsWith('/') ? path.posix.normalize(p) : path.posix.normalize(p).replace(/^\.\//, '');
}

async function detectDotnetPort(root: string, projectDir: string, o: Overrides): Promise<Fact<number>> {
  const flag = portOverride(o);
  if (flag) return flag;
  for (const name of ['appsettings.Production.json', 'appsettings.json']) {
    const file = path.posix.join(projectDir, name);
    const text = (await readIfExists(path.join(root, file))) ?? '';
    const m = /"(?:Urls|Url)"\s*:\s*"https?:\/\/[^":]+:(\d+)/.exec(text);
    if (m) return detected(Number(m[1]), file);
  }
  return defaulted(DEFAULTS.dotnetPort, 'ASP.NET container default (ASPNETCORE_HTTP_PORTS)');
}

const SQLITE_FILE = /\.(sqlite3?|db)$/i;

async function detectDotnetDbPath(
  root: string,
  projectDir: string,
  files: string[],
  o: Overrides,
): Promise<Fact<string>> {
  const flag = dbPathOverride(o);
  if (flag) return flag;
  const inProject = (f: string) => projectDir === '.' || f.startsWith(`${projectDir}/`);
  const rel = (f: string) => (projectDir === '.' ? f : f.slice(projectDir.length + 1));
  const fromConnectionString = (text: string) =>
    /(?:Data Source|DataSource|Filename)\s*=\s*([^;"]+\.(?:sqlite3?|db))\b/i.exec(text)?.[1]?.trim();
  for (const name of ['appsettings.Production.json', 'appsettings.json']) {
    const file = path.posix.join(projectDir, name);
    const found = fromConnectionString((await readIfExists(path.join(root, file))) ?? '');
    if (found) return detected(normalizeDbPath(found), `${file} ConnectionStrings`);
  }
  // ServiceStack's Configure.Db.cs: GetConnectionString("DefaultConnection") ?? "DataSource=App_Data/app.db;..."
  for (const file of files.filter((f) => f.endsWith('.cs') && inProject(f))) {
    const found = fromConnectionString((await readIfExists(path.join(root, file))) ?? '');
    if (found) return detected(normalizeDbPath(found), file);
  }
  const common = files.find((f) => inProject(f) && /(^|\/)App_Data\/[^/]+$/.test(f) && SQLITE_FILE.test(f));
  if (common) return detected(rel(common), 'existing file');
  return defaulted(DEFAULTS.dotnetDbPath, 'no connection string or App_Data/*.sqlite found');
}

interface Source {
  file: string;
  text: string;
}

const SOURCE_FILE = /\.(c|m)?(j|t)sx?$/;

/** The app's sources, entry first: the file `start`/`main` runs, then the rest (bounded). */
async function readNodeSources(
  root: string,
  files: string[],
  pkg: PackageJson | undefined,
): Promise<Source[]> {
  const entry =
    /\bnode\s+(?:--\S+\s+)*([\w./-]+\.(?:c|m)?js)\b/.exec(pkg?.scripts?.start ?? '')?.[1] ?? pkg?.main;
  const ordered = files.filter((f) => SOURCE_FILE.test(f) && !f.endsWith('.d.ts') && !/config\./.test(f));
  const entryRel = entry ? path.posix.normalize(entry) : undefined;
  if (entryRel && ordered.includes(entryRel)) {
    ordered.splice(ordered.indexOf(entryRel), 1);
    ordered.unshift(entryRel);
  }
  const out: Source[] = [];
  for (const file of ordered.slice(0, 200)) {
    const text = (await readIfExists(path.join(root, file))) ?? '';
    if (text.length < 500_000) out.push({ file, text });
  }
  return out;
}

function detectNodePort(
  pkg: PackageJson | undefined,
  sources: Source[],
  variant: Variant,
  o: Overrides,
): Fact<number> {
  const flag = portOverride(o);
  if (flag) return flag;
  const start = pkg?.scripts?.start ?? '';
  const cli = /(?:-p|--port)[\s=](\d{2,5})\b/.exec(start)?.[1];
  if (cli) return detected(Number(cli), 'package.json scripts.start');
  const patterns = [
    /process\.env\.PORT\s*(?:\?\?|\|\|)\s*['"]?(\d{2,5})/,
    /\.listen\(\s*\{[^}]*\bport\s*:\s*(\d{2,5})/,
    /\.listen\(\s*(\d{2,5})\b/,
  ];
  for (const re of patterns) {
    for (const s of sources) {
      const m = re.exec(s.text);
      if (m) return detected(Number(m[1]), s.file);
    }
  }
  if (variant === 'nextjs') return defaulted(3000, 'Next.js default');
  return defaulted(DEFAULTS.nodePort, 'no PORT default or listen() call found');
}

const SQLITE_MODULE =
  /(?:require\(\s*|from\s+|import\(\s*)['"](?:better-sqlite3|sqlite3|node:sqlite|sqlite)['"]/;
const STRING = String.raw`(?<q>['"\x60])(?<lit>[^'"\x60\n]+)\k<q>`;
const ENV_DEFAULT = String.raw`process\.env(?:\.(?<v1>\w+)|\[['"](?<v2>\w+)['"]\])\s*(?:\?\?|\|\|)\s*`;

/** A path expression: 'lit' or process.env.X ?? 'lit'. */
function parsePathExpr(expr: string): { path: string; envVar?: string } | undefined {
  const withEnv = new RegExp(`^\\s*\\(?\\s*${ENV_DEFAULT}${STRING}`).exec(expr);
  if (withEnv?.groups) return { envVar: withEnv.groups.v1 ?? withEnv.groups.v2, path: withEnv.groups.lit };
  const lit = new RegExp(`^\\s*${STRING}`).exec(expr);
  if (lit?.groups) return { path: lit.groups.lit };
  return undefined;
}

async function detectNodeDbPath(
  root: string,
  files: string[],
  sources: Source[],
  o: Overrides,
): Promise<{ fact: Fact<string>; envVar?: string }> {
  const flag = dbPathOverride(o);
  if (flag) return { fact: flag };

  // 1. The path given to a better-sqlite3 / sqlite3 / node:sqlite constructor.
  for (const s of sources.filter((x) => SQLITE_MODULE.test(x.text))) {
    for (const m of s.text.matchAll(/new\s+(?:[\w$]+\.)?[\w$]+\(\s*([^)\n]*)/g)) {
      let found = parsePathExpr(m[1]);
      const ident = /^([A-Za-z_$][\w$]*)\s*(?:[,)]|$)/.exec(m[1])?.[1];
      if (!found && ident) {
        const decl = new RegExp(
          `(?:const|let|var)\\s+${ident.replace(/\$/g, '\\$')}\\s*=\\s*([^;\\n]+)`,
        ).exec(s.text);
        if (decl) found = parsePathExpr(decl[1]);
      }
      if (found && found.path !== ':memory:' && found.path.trim() !== '') {
        return { fact: detected(normalizeDbPath(found.path), s.file), envVar: found.envVar };
      }
    }
  }
  // 2. DATABASE_URL="file:..." in .env (Prisma resolves it relative to prisma/).
  const prismaSchema = files.find((f) => /(^|\/)schema\.prisma$/.test(f));
  const prismaDir = prismaSchema ? path.posix.dirname(prismaSchema) : '.';
  const env = (await readIfExists(path.join(root, '.env'))) ?? '';
  const envUrl = /^\s*DATABASE_URL\s*=\s*["']?file:([^"'\s?]+)/m.exec(env)?.[1];
  if (envUrl) {
    const p = envUrl.startsWith('/') ? envUrl : path.posix.join(prismaSchema ? prismaDir : '.', envUrl);
    return { fact: detected(normalizeDbPath(p), '.env DATABASE_URL'), envVar: 'DATABASE_URL' };
  }
  // 3. Prisma datasource with a literal url.
  if (prismaSchema) {
    const schema = (await readIfExists(path.join(root, prismaSchema))) ?? '';
    const ds = /datasource\s+\w+\s*\{([^}]*)\}/.exec(schema)?.[1] ?? '';
    const url = /url\s*=\s*"file:([^"?]+)"/.exec(ds)?.[1];
    if (/provider\s*=\s*"sqlite"/.test(ds) && url) {
      return {
        fact: detected(normalizeDbPath(path.posix.join(prismaDir, url)), `${prismaSchema} datasource`),
      };
    }
  }
  // 4. A SQLite file already in a usual place.
  const common = files.find(
    (f) => /^(data|db|App_Data|prisma)\/[^/]+$|^[^/]+$/.test(f) && SQLITE_FILE.test(f),
  );
  if (common) return { fact: detected(common, 'existing file') };
  return { fact: defaulted(DEFAULTS.nodeDbPath, 'no SQLite path found in the sources, .env or prisma') };
}

function nodeStartCommand(pkg: PackageJson | undefined, variant: Variant): string[] {
  const start = pkg?.scripts?.start?.trim() ?? '';
  const node = /^node\s+([^&|;]+)$/.exec(start);
  if (node) return ['node', ...node[1].trim().split(/\s+/)];
  const next = /^next\s+start\b(.*)$/.exec(start);
  if (next || (variant === 'nextjs' && !start)) {
    return ['node_modules/.bin/next', 'start', ...(next?.[1].trim().split(/\s+/).filter(Boolean) ?? [])];
  }
  if (!start && pkg?.main) return ['node', pkg.main];
  return ['npm', 'start'];
}
