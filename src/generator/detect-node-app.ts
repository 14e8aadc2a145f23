/**
 * The Node side of detection for one repo: which package is the app (a workspace of a
 * monorepo, `--app`), the db it opens, its port and start command, and what the Dockerfile
 * needs to install it as the repo does (package manager files, workspaces, Prisma).
 */
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../../runtime/errors.js';
import { detected } from './detect-facts.js';
import {
  detectNodeDbPath,
  detectNodePort,
  detectNodeVariant,
  nodeStartCommand,
  type PackageJson,
  readNodeSources,
  readPackageJson,
  type Source,
} from './detect-node.js';
import { exists, listFiles, readIfExists } from './fs-util.js';
import { trackedFiles } from './git-repo.js';
import { splitWords } from './names.js';
import { findNodeDb, type NodeDb } from './node-db.js';
import { loopbackListen } from './node-listen.js';
import { findWorkspaces, type Workspace } from './node-workspace.js';
import type { NodeBuildFacts, Overrides, ProjectFacts } from './types.js';

/** How deep the app's sources are searched (src/lib/db/index.ts is 4 deep). */
const SOURCE_DEPTH = 6;
/** Native SQLite packages whose install script must run (pnpm 10+ blocks unapproved ones). */
const NATIVE_SQLITE = ['better-sqlite3', 'sqlite3', '@prisma/engines', 'prisma'];

/** Fills the Node facts of `facts` (dir, variant, name already set from the repo root). */
export async function detectNodeApp(
  facts: ProjectFacts,
  pkg: PackageJson | undefined,
  o: Overrides,
): Promise<void> {
  const root = facts.dir;
  const workspaces = await findWorkspaces(root, pkg as { workspaces?: unknown });
  const appDir = await pickApp(root, workspaces, o);
  const appRoot = path.join(root, appDir);
  const appPkg = appDir ? await readPackageJson(appRoot) : pkg;
  if (appDir) {
    if (facts.variant.source !== 'flag' && appPkg) {
      const v = detectNodeVariant(appPkg);
      facts.variant = { ...v, from: v.from.replace(/^package\.json/, `${appDir}/package.json`) };
    }
    if (facts.name.source !== 'flag' && appPkg?.name && splitWords(appPkg.name).length > 0)
      // @notes/api -> notes-api: a workspace's own name alone is often just `api`.
      facts.name = detected(appPkg.name.replace(/^@([^/]+)\//, '$1-'), `${appDir}/package.json`);
  }
  const files = await listFiles(appRoot, SOURCE_DEPTH);
  const sources = await readNodeSources(appRoot, files, appPkg);
  facts.port = detectNodePort(appPkg, sources, facts.variant.value, o);
  const loopback = loopbackListen(sources);
  // A name compose can hold as a key as it is (a computed `process.env['x-y']` is left to the note).
  if (loopback?.envVar && /^[A-Za-z_][A-Za-z0-9_]*$/.test(loopback.envVar)) {
    // Its host is an env var with a loopback fallback: ls-mix's compose file sets it (plan.ts says so).
    facts.listenHostEnv = { name: loopback.envVar, from: loopback.reason };
  } else if (loopback)
    facts.detectNotes = [
      ...(facts.detectNotes ?? []),
      `The app may listen on the loopback interface only (${loopback.reason}): in the container nginx-proxy (or a published port) cannot reach it and every request fails. Listen on host '0.0.0.0', then run again.`,
    ];
  const db = await detectNodeDbPath(appRoot, files, o, () => libraryDb(root, appDir, appPkg, workspaces));
  // Sources are named from the repo root (a library workspace's already are).
  const fromLibrary = workspaces.some((w) => db.fact.from.startsWith(`${w.dir}/`));
  facts.dbPath =
    appDir && !fromLibrary ? { ...db.fact, from: prefixFrom(appDir, db.fact.from, db.fact.source) } : db.fact;
  facts.dbEnvVar = db.envVar;
  facts.dbEnvKind = db.envVar ? (db.envKind ?? 'file') : undefined;
  facts.dbUrlScheme = db.envVar ? db.urlScheme : undefined;
  facts.dbEnvFile = db.envVar && db.envKind === 'dir' ? db.envFile : undefined;
  const bun = await bunSignal([root, appRoot], appPkg ?? pkg, sources, db.fact.from);
  const adonis = (appPkg ?? pkg)?.dependencies?.['@adonisjs/core'] !== undefined;
  facts.ownDockerfile = bun
    ? { kind: 'Bun', why: bun }
    : adonis
      ? { kind: 'AdonisJS', why: 'package.json depends on @adonisjs/core' }
      : undefined;
  facts.startCommand = nodeStartCommand(appPkg, facts.variant.value);
  // Without a start script `npm start` runs `node server.js` (npm's default) or fails.
  if (
    facts.startCommand.join(' ') === 'npm start' &&
    !appPkg?.scripts?.start?.trim() &&
    !(await exists(path.join(appRoot, 'server.js')))
  )
    facts.noStartScript = Object.entries(appPkg?.scripts ?? {}).map(([name, cmd]) => `${name}: ${cmd}`);
  facts.hasBuildScript = Boolean(appPkg?.scripts?.build);
  facts.migrateScript = appPkg?.scripts?.migrate || undefined;
  facts.hasLockfile = facts.packageManager.source === 'detected';
  facts.nodeBuild = await nodeBuildFacts(root, pkg, appDir, appPkg, workspaces, facts, db.prismaSchema);
  facts.nodeBuild.seedDbFiles = await seedDbFiles(root, appDir, facts.dbPath.value);
}

/**
 * Why the app runs on Bun rather than Node, if it does: ls-mix's Dockerfile is a Node one, which
 * can neither build (`bun build`) nor run (`bun:sqlite`, `Bun.serve`) such an app.
 */
async function bunSignal(
  dirs: string[],
  pkg: PackageJson | undefined,
  sources: Source[],
  dbFrom: string,
): Promise<string | undefined> {
  for (const dir of new Set(dirs))
    for (const lock of ['bun.lockb', 'bun.lock']) if (await exists(path.join(dir, lock))) return lock;
  if (/^bun@/.test(String(pkg?.packageManager ?? ''))) return 'package.json packageManager';
  for (const script of ['start', 'build'])
    if (/(^|[\s;&|(])bunx?\s/.test(pkg?.scripts?.[script] ?? ''))
      return `package.json scripts.${script} runs bun`;
  if (dbFrom.includes('(bun:sqlite)')) return `${dbFrom.split(' ')[0]} opens the db with bun:sqlite`;
  const bunApi = sources.find((s) =>
    /\bfrom\s+['"]bun:|require\(\s*['"]bun:|\bBun\.(serve|env|file|write|spawn)\b/.test(s.text),
  );
  return bunApi ? `${bunApi.file} uses Bun's API` : undefined;
}

function prefixFrom(appDir: string, from: string, source: string): string {
  return source === 'detected' ? `${appDir}/${from}` : from;
}

/** The app's folder: `--app`, the one workspace that opens SQLite, or the repo itself. */
async function pickApp(root: string, workspaces: Workspace[], o: Overrides): Promise<string> {
  if (o.app !== undefined) {
    const rel = path.posix.normalize(o.app.replace(/\\/g, '/')).replace(/\/$/, '');
    if (rel.startsWith('..') || rel.startsWith('/')) {
      throw new UserError(`--app '${o.app}' is not a folder inside ${root}`, {
        hint: 'Pass the app package folder relative to --dir, e.g. --app apps/api.',
      });
    }
    if (rel === '.') return '';
    if (!(await exists(path.join(root, rel, 'package.json')))) {
      throw new UserError(`--app '${o.app}': ${path.join(root, rel, 'package.json')} does not exist`, {
        hint: `Pass a workspace package folder${workspaces.length ? ` (one of ${workspaces.map((w) => w.dir).join(', ')})` : ''}.`,
      });
    }
    if (!workspaces.some((w) => w.dir === rel)) {
      throw new UserError(`--app '${o.app}' is not a workspace of ${root}`, {
        hint: `A package that installs on its own is its own project: pass --dir ${path.join(root, rel)} instead.`,
      });
    }
    return rel;
  }
  if (workspaces.length === 0) return '';
  const openers: string[] = [];
  for (const w of workspaces) {
    const dir = path.join(root, w.dir);
    try {
      if (await findNodeDb(dir, await listFiles(dir, SOURCE_DEPTH))) openers.push(w.dir);
    } catch {
      // A workspace whose db cannot be worked out still opens one: it is a candidate.
      openers.push(w.dir);
    }
  }
  // A library workspace (no start script) that opens the db: the app is the one that uses it.
  const apps = new Set<string>();
  for (const dir of openers) {
    const w = await readPackageJson(path.join(root, dir));
    if (w?.scripts?.start) {
      apps.add(dir);
      continue;
    }
    const name = w?.name;
    const users: string[] = [];
    for (const other of workspaces) {
      const p = other.dir === dir || !name ? undefined : await readPackageJson(path.join(root, other.dir));
      if (
        p?.scripts?.start &&
        ({ ...p.dependencies, ...p.devDependencies } as Record<string, string>)[name as string]
      )
        users.push(other.dir);
    }
    apps.add(users.length === 1 ? users[0] : dir);
  }
  openers.splice(0, openers.length, ...apps);
  if (openers.length === 1) return openers[0];
  if (openers.length === 0) return ''; // the root itself (reports "no SQLite" if it has none)
  throw new UserError(`Several workspaces open a SQLite database: ${openers.join(', ')}`, {
    hint: `Pass --app with the one to deploy, e.g. --app ${openers[0]}.`,
  });
}

async function nodeBuildFacts(
  root: string,
  pkg: PackageJson | undefined,
  appDir: string,
  appPkg: PackageJson | undefined,
  workspaces: Workspace[],
  facts: ProjectFacts,
  prismaSchema: string | undefined,
): Promise<NodeBuildFacts> {
  const configFiles: string[] = [];
  for (const f of [
    '.npmrc',
    '.yarnrc',
    '.yarnrc.yml',
    'pnpm-workspace.yaml',
    '.pnpmfile.cjs',
    '.nvmrc',
    '.node-version',
  ]) {
    if (await exists(path.join(root, f))) configFiles.push(f);
  }
  const configDirs: string[] = [];
  for (const d of ['.yarn/releases', '.yarn/plugins', '.yarn/patches', 'patches']) {
    if (await exists(path.join(root, d))) configDirs.push(d);
  }
  // A `postinstall: prisma generate` needs the schema during the install.
  const schemaDir = prismaSchema
    ? path.posix.dirname(path.posix.join(appDir || '.', prismaSchema))
    : undefined;
  if (schemaDir && schemaDir !== '.') configDirs.push(schemaDir);
  const spec = (pkg as { packageManager?: unknown } | undefined)?.packageManager;
  const packageManagerSpec =
    typeof spec === 'string' && /^(npm|yarn|pnpm)@[\w.+-]+$/.test(spec) ? spec : undefined;
  const pm = facts.packageManager.value;
  const yarnrc = (await readIfExists(path.join(root, '.yarnrc.yml'))) ?? '';
  const lock = pm === 'yarn' ? ((await readIfExists(path.join(root, 'yarn.lock'))) ?? '') : '';
  const yarnBerry =
    pm === 'yarn' &&
    (configFiles.includes('.yarnrc.yml') ||
      /^__metadata:/m.test(lock) ||
      /^yarn@([2-9]|\d{2,})\./.test(packageManagerSpec ?? ''));
  const linker = /^\s*nodeLinker:\s*["']?([\w-]+)/m.exec(yarnrc)?.[1];
  const yarnPnp = yarnBerry && (linker === undefined || linker === 'pnp');
  const allDeps = { ...appPkg?.dependencies, ...appPkg?.devDependencies };
  const pnpmUnapprovedBuilds =
    pm === 'pnpm'
      ? await unapprovedBuilds(
          root,
          pkg,
          Object.keys(allDeps).filter((d) => NATIVE_SQLITE.includes(d)),
        )
      : [];
  if (yarnBerry)
    checkYarnBuilds(
      yarnrc,
      packageManagerSpec,
      pkg,
      appPkg,
      Object.keys(allDeps).filter((d) => NATIVE_SQLITE.includes(d)),
    );
  const schema = prismaSchema ? path.posix.join(appDir || '.', prismaSchema) : undefined;
  return {
    appDir: appDir || undefined,
    appPackage: appDir ? appPkg?.name : undefined,
    workspaceManifests: workspaces.map((w) => `${w.dir}/package.json`),
    configFiles,
    configDirs,
    packageManagerSpec,
    yarnBerry,
    yarnPnp,
    esm: (appPkg as { type?: string } | undefined)?.type === 'module',
    pnpmUnapprovedBuilds,
    prismaSchema: schema,
    prismaCliIsDev: schema ? !appPkg?.dependencies?.prisma : undefined,
  };
}

/** Native packages pnpm 10+ would not build: not in onlyBuiltDependencies (10.x) or allowBuilds (11+). */
async function unapprovedBuilds(
  root: string,
  pkg: PackageJson | undefined,
  natives: string[],
): Promise<string[]> {
  if (natives.length === 0) return [];
  const allowed = new Set<string>();
  const fromPkg = (pkg as { pnpm?: { onlyBuiltDependencies?: unknown } } | undefined)?.pnpm
    ?.onlyBuiltDependencies;
  if (Array.isArray(fromPkg)) for (const d of fromPkg) allowed.add(String(d));
  const text = await readIfExists(path.join(root, 'pnpm-workspace.yaml'));
  if (text) {
    const doc = (parseYaml(text) ?? {}) as { onlyBuiltDependencies?: unknown; allowBuilds?: unknown };
    if (Array.isArray(doc.onlyBuiltDependencies))
      for (const d of doc.onlyBuiltDependencies) allowed.add(String(d));
    if (doc.allowBuilds && typeof doc.allowBuilds === 'object') {
      for (const [k, v] of Object.entries(doc.allowBuilds)) if (v === true) allowed.add(k);
    }
    if ((doc as { dangerouslyAllowAllBuilds?: unknown }).dangerouslyAllowAllBuilds === true) return [];
    const missing = natives.filter((d) => !allowed.has(d) && d !== 'prisma');
    // The image adds the approval only where the file has none of its own (no YAML surgery).
    if (missing.length > 0 && (doc.onlyBuiltDependencies !== undefined || doc.allowBuilds !== undefined)) {
      throw new UserError(
        `pnpm-workspace.yaml approves dependency builds but not ${missing.join(', ')}: pnpm 10+ would install ${missing.length > 1 ? 'them' : 'it'} without the native binding`,
        {
          hint: `Add ${missing.join(', ')} to allowBuilds (pnpm 11, 10.26+) or onlyBuiltDependencies (pnpm 10) in pnpm-workspace.yaml, then run again.`,
        },
      );
    }
  }
  // The Prisma CLI's engines come with @prisma/engines; `prisma` itself only needs them.
  return natives.filter((d) => !allowed.has(d) && d !== 'prisma');
}

/** Folders (up to two deep) holding a package.json: where the app is when the root has none. */
export function subfolderApps(files: string[]): string[] {
  return files.filter((f) => /^[^/]+(\/[^/]+)?\/package\.json$/.test(f)).map((f) => path.posix.dirname(f));
}

const SQLITE_FILE = /\.(sqlite3?|db)$/i;

/**
 * SQLite files committed to git (outside the live db's place): a seed or template the app
 * copies. .dockerignore leaves db files out of the image; these are let back in.
 */
async function seedDbFiles(root: string, appDir: string, dbPath: string): Promise<string[]> {
  const tracked = await trackedFiles(root);
  if (!tracked) return []; // not a git repo: nothing is known to be committed
  const live = dbPath.startsWith('/') ? undefined : path.posix.join(appDir || '.', dbPath);
  return tracked
    .filter((f) => SQLITE_FILE.test(f) && f !== live && !/(^|\/)node_modules\//.test(f))
    .slice(0, 20);
}

/**
 * The db of a workspace library the app depends on (`packages/db` opening SQLite for
 * `apps/api`). Only through an env var: a path fixed in the library's code lands relative to
 * folders ls-mix cannot be sure of.
 */
async function libraryDb(
  root: string,
  appDir: string,
  appPkg: PackageJson | undefined,
  workspaces: Workspace[],
): Promise<NodeDb | undefined> {
  const deps = { ...appPkg?.dependencies, ...appPkg?.devDependencies } as Record<string, string>;
  const found: { dir: string; db: NodeDb }[] = [];
  for (const w of workspaces) {
    if (w.dir === appDir || !w.name || !deps[w.name]) continue;
    const dir = path.join(root, w.dir);
    const db = await findNodeDb(dir, await listFiles(dir, SOURCE_DEPTH)).catch(() => undefined);
    if (db) found.push({ dir: w.dir, db });
  }
  if (found.length !== 1) return undefined;
  const { dir, db } = found[0];
  if (!db.envVar) {
    throw new UserError(
      `The app uses ${dir}, which opens its SQLite db at a path fixed in its code (${db.fact.value}, ${dir}/${db.fact.from})`,
      {
        hint: `Let ${dir} read the path from an env var (e.g. process.env.DB_PATH ?? '...'), or pass --db-path with the path as the running app opens it.`,
      },
    );
  }
  return { ...db, fact: { ...db.fact, from: `${dir}/${db.fact.from}` } };
}

/**
 * Yarn 4.14+ runs dependency build scripts only when approved (`enableScripts` is false by
 * default): better-sqlite3 then installs without its native binding. Approving it is the
 * project's call (package.json and the lockfile record it), so it is asked for, not patched.
 */
function checkYarnBuilds(
  yarnrc: string,
  spec: string | undefined,
  pkg: PackageJson | undefined,
  appPkg: PackageJson | undefined,
  natives: string[],
): void {
  const natived = natives.filter((d) => d !== 'prisma');
  if (natived.length === 0) return;
  const setting = /^\s*enableScripts:\s*["']?(true|false)/m.exec(yarnrc)?.[1];
  if (setting === 'true') return;
  const version = /^yarn@(\d+)\.(\d+)/.exec(spec ?? '');
  const scriptsOffByDefault =
    !version || Number(version[1]) > 4 || (Number(version[1]) === 4 && Number(version[2]) >= 14);
  if (setting === undefined && !scriptsOffByDefault) return;
  type Meta = { dependenciesMeta?: Record<string, { built?: boolean }> };
  const built = (d: string) =>
    (pkg as Meta | undefined)?.dependenciesMeta?.[d]?.built === true ||
    (appPkg as Meta | undefined)?.dependenciesMeta?.[d]?.built === true;
  const missing = natived.filter((d) => !built(d));
  if (missing.length === 0) return;
  const meta = JSON.stringify(Object.fromEntries(missing.map((d) => [d, { built: true }])));
  throw new UserError(
    `Yarn runs dependency build scripts only when approved (enableScripts ${setting === 'false' ? 'is false in .yarnrc.yml' : 'is off by default since Yarn 4.14'}): ${missing.join(', ')} would install without ${missing.length > 1 ? 'their' : 'its'} native binding`,
    {
      hint: `Add "dependenciesMeta": ${meta} to package.json and run yarn install (the lockfile records it), then run again.`,
    },
  );
}
