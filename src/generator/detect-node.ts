/**
 * Node detection: package.json, the jamstack flavour, lockfile, Node version, the port and the
 * SQLite path the app's own sources open (better-sqlite3 / sqlite3 / node:sqlite, Prisma, .env).
 */
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import {
  checkVersion,
  DEFAULTS,
  dbPathOverride,
  defaulted,
  detected,
  flagged,
  normalizeDbPath,
  portOverride,
  SQLITE_FILE,
} from './detect-facts.js';
import { exists, readIfExists } from './fs-util.js';
import type { Fact, Overrides, PackageManager, Variant } from './types.js';

export interface PackageJson {
  name?: string;
  main?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  engines?: { node?: string };
}

export async function readPackageJson(root: string): Promise<PackageJson | undefined> {
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

export function detectNodeVariant(pkg: PackageJson): Fact<Variant> {
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  if (deps.next) return detected('nextjs', 'package.json (next)');
  if (deps['vite-ssg']) return detected('vue-ssg', 'package.json (vite-ssg)');
  if (deps.vue && deps.vite) return detected('vue-vite', 'package.json (vue + vite)');
  return detected('node', 'package.json');
}

export async function detectPackageManager(root: string, o: Overrides): Promise<Fact<PackageManager>> {
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

export async function detectNodeVersion(
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

export interface Source {
  file: string;
  text: string;
}

export const SOURCE_FILE = /\.(c|m)?(j|t)sx?$/;

/** The app's sources, entry first: the file `start`/`main` runs, then the rest (bounded). */
export async function readNodeSources(
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

export function detectNodePort(
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

export const SQLITE_MODULE =
  /(?:require\(\s*|from\s+|import\(\s*)['"](?:better-sqlite3|sqlite3|node:sqlite|sqlite)['"]/;
const STRING = String.raw`(?<q>['"\x60])(?<lit>[^'"\x60\n]+)\k<q>`;
const ENV_DEFAULT = String.raw`process\.env(?:\.(?<v1>\w+)|\[['"](?<v2>\w+)['"]\])\s*(?:\?\?|\|\|)\s*`;

/** A path expression: 'lit' or process.env.X ?? 'lit'. */
export function parsePathExpr(expr: string): { path: string; envVar?: string } | undefined {
  const withEnv = new RegExp(`^\\s*\\(?\\s*${ENV_DEFAULT}${STRING}`).exec(expr);
  if (withEnv?.groups) return { envVar: withEnv.groups.v1 ?? withEnv.groups.v2, path: withEnv.groups.lit };
  const lit = new RegExp(`^\\s*${STRING}`).exec(expr);
  if (lit?.groups) return { path: lit.groups.lit };
  return undefined;
}

export async function detectNodeDbPath(
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

export function nodeStartCommand(pkg: PackageJson | undefined, variant: Variant): string[] {
  const start = pkg?.scripts?.start?.trim() ?? '';
  const node = /^node\s+([^&|;]+)$/.exec(start);
  if (node) return ['node', ...node[1].trim().split(/\s+/)];
  const next = /^next\s+start\b(.*)$/.exec(start);
  if (next || (variant === 'nextjs' && !start)) {
    return [
      'node',
      'node_modules/next/dist/bin/next',
      'start',
      ...(next?.[1].trim().split(/\s+/).filter(Boolean) ?? []),
    ];
  }
  if (!start && pkg?.main) return ['node', pkg.main];
  return ['npm', 'start'];
}
