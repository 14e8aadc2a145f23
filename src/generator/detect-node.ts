/**
 * Node detection: package.json, the jamstack flavour, lockfile, Node version, the port and the
 * SQLite path the app's own sources open (better-sqlite3 / sqlite3 / node:sqlite, Prisma, .env).
 */

import path from 'node:path';
import semver from 'semver';
import { UserError } from '../../runtime/errors.js';
import { RUNTIME_DEFAULTS } from './defaults.js';
import {
  checkVersion,
  DEFAULTS,
  dbPathOverride,
  defaulted,
  detected,
  flagged,
  portOverride,
} from './detect-facts.js';
import { exists, readIfExists } from './fs-util.js';
import { FlagCannotSettle, findNodeDb, type NodeDb } from './node-db.js';
import { listenPort } from './node-listen.js';
import { serverDatabases } from './server-databases.js';
import type { Fact, Overrides, PackageManager, Variant } from './types.js';

export interface PackageJson {
  name?: string;
  main?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  engines?: { node?: string };
  packageManager?: string;
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
  const spec = /^(npm|yarn|pnpm)@/.exec(String((await readPackageJson(root))?.packageManager ?? ''))?.[1];
  if (spec) return detected(spec as PackageManager, 'package.json packageManager');
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
    const text = ((await readIfExists(path.join(root, file))) ?? '').trim().toLowerCase();
    const major = /^v?(\d+)/.exec(text)?.[1] ?? LTS_CODENAMES[text.replace(/^lts\//, '')];
    if (major) return detected(major, file);
  }
  const major = engineMajor(pkg?.engines?.node ?? '');
  if (major) return detected(major, 'package.json engines.node');
  return defaulted(DEFAULTS.nodeVersion, RUNTIME_DEFAULTS.node.why);
}

/** nvm's LTS aliases (`lts/*` is the newest line). */
const LTS_CODENAMES: Record<string, string> = {
  '*': DEFAULTS.nodeVersion,
  hydrogen: '18',
  iron: '20',
  jod: '22',
  krypton: '24',
};

/**
 * The Node major an `engines.node` range asks for: the default LTS line when the range allows
 * it, else the allowed major nearest to it, the lower first (`>=20 <23` -> 22, `^22 || ^24` ->
 * 24, `<=20` -> 20). Read by npm's own semver: `>=18.0.0` is one bound, not 18 then 0.
 */
export function engineMajor(range: string): string | undefined {
  const valid = range.trim() === '' ? null : semver.validRange(range);
  if (valid === null) return undefined;
  const allows = (major: number) => major > 0 && semver.intersects(valid, `${major}.x`);
  const lts = Number(DEFAULTS.nodeVersion);
  for (let d = 0; d <= lts + 20; d++) {
    if (allows(lts - d)) return String(lts - d);
    if (allows(lts + d)) return String(lts + d);
  }
  return undefined;
}

export interface Source {
  file: string;
  text: string;
}

/** Build-tool configs: not the app's code (its own config module is). */
const TOOL_CONFIG =
  /(^|\/)(vite|vitest|next|nuxt|tailwind|postcss|eslint|jest|babel|webpack|rollup|svelte|astro|prettier|playwright|drizzle|tsup)\.config\./;

export const SOURCE_FILE = /\.(c|m)?(j|t)sx?$/;

/** The app's sources, entry first: the file `start`/`main` runs, then the rest (bounded). */
export async function readNodeSources(
  root: string,
  files: string[],
  pkg: PackageJson | undefined,
): Promise<Source[]> {
  const entry =
    /\bnode\s+(?:--\S+\s+)*([\w./-]+\.(?:c|m)?js)\b/.exec(pkg?.scripts?.start ?? '')?.[1] ?? pkg?.main;
  const ordered = files.filter((f) => SOURCE_FILE.test(f) && !f.endsWith('.d.ts') && !TOOL_CONFIG.test(f));
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
    /(?:process|Bun)\.env\.PORT\s*(?:\?\?|\|\|)\s*['"]?(\d{2,5})/,
    /\.listen\(\s*\{[^}]*\bport\s*:\s*(\d{2,5})/,
    /\.listen\(\s*(\d{2,5})\b/,
  ];
  for (const [i, re] of patterns.entries()) {
    for (const s of sources) {
      const m = re.exec(s.text);
      if (!m) continue;
      const fact = detected(Number(m[1]), s.file);
      return i === 0 ? { ...fact, envDefault: 'PORT' } : fact;
    }
  }
  // The listen() call's own argument, followed through constants and imports (`const port =
  // process.env.port || 8080` was missed by the patterns above: the app then listened on 8080
  // while the proxy was sent to 3000).
  const listen = listenPort(sources);
  if (listen) {
    const fact = detected(listen.port, listen.where);
    return listen.envVar ? { ...fact, envDefault: listen.envVar } : fact;
  }
  if (variant === 'nextjs') return { ...defaulted(3000, 'Next.js default'), envDefault: 'PORT' };
  return defaulted(DEFAULTS.nodePort, 'no PORT default or listen() call found');
}

/** The SQLite db the app opens (see node-db.ts), checked against what the volume would hide. */
export async function detectNodeDbPath(
  root: string,
  files: string[],
  o: Overrides,
  /** Where else to look when the app's own code opens no SQLite (a workspace library). */
  elsewhere?: () => Promise<NodeDb | undefined>,
): Promise<NodeDb> {
  const flag = dbPathOverride(o);
  let found: NodeDb | undefined;
  try {
    found = (await findNodeDb(root, files, flag?.value)) ?? (await elsewhere?.());
  } catch (err) {
    // An ambiguity the flag settles is no error when the flag is given.
    if (!flag || err instanceof FlagCannotSettle) throw err;
  }
  if (flag) {
    // A fixed path in the app's code cannot be redirected: the deployed app would keep writing
    // there and the sidecar would back up a file nobody writes.
    if (found && !found.envVar && found.fact.value !== flag.value) {
      throw new UserError(
        `--db-path ${flag.value} is not the db the app opens: ${found.fact.from} opens '${found.fact.value}' by a fixed path, so the deployed app would keep writing there and the backup would be of a file it never writes`,
        {
          hint: `Change the app to open ${flag.value}, or to read its path from an env var (e.g. process.env.DB_PATH ?? '${found.fact.value}'), then run again.`,
        },
      );
    }
    // --db-path wins; the env var the app reads (if any) is still set to it in the container.
    return {
      ...found,
      fact: flag,
      ...(found?.envKind === 'dir' ? { envVar: undefined, envKind: undefined } : {}),
    };
  }
  if (!found) {
    const servers = serverDatabases(await readPackageJson(root));
    const uses = servers.length > 0 ? `; its dependencies name ${servers.join(', ')}` : '';
    const otherwise = (one: string) =>
      `If the app opens ${one} in a way ls-mix cannot see, pass --db-path with the path the app opens (relative to the app folder), e.g. --db-path data/app.db.`;
    throw new UserError(
      `No SQLite database found in ${root}: no source file opens one (better-sqlite3, sqlite3, node:sqlite, libsql, Drizzle, Knex, Sequelize, TypeORM) and there is no Prisma sqlite datasource${uses}`,
      {
        hint:
          servers.length > 0
            ? `ls-mix backs up SQLite databases only, and this app keeps its data in ${[...new Set(servers.map((s) => s.replace(/ \(.*/, '')))].join(' and ')}: there is nothing here for it to replicate. ${otherwise('a SQLite file too')}`
            : `ls-mix backs up a SQLite database. ${otherwise('one')}`,
      },
    );
  }
  if (!found.envVar) checkVolumeHidesNothing(found.fact, files);
  return found;
}

/**
 * Without an env var the volume is mounted on the db's own folder: it must not hide files of
 * the repo there (code, migrations, a committed seed db the app copies).
 */
/**
 * Files of the repo in the folder of the db at `p` (relative to the app folder) that a volume
 * mounted there would hide: all but the db's own files and placeholders that keep the folder in git.
 */
export function filesHiddenByDbVolume(p: string, files: string[]): string[] {
  const dir = path.posix.dirname(p);
  const base = path.posix.basename(p);
  return files.filter(
    (f) =>
      f.startsWith(`${dir}/`) &&
      // Placeholders that keep an empty folder in git: nothing the app reads.
      !/(^|\/)\.(gitkeep|gitignore|keep|exist|empty|placeholder)$/.test(f) &&
      !(f === p || f.startsWith(`${p}-`) || path.posix.basename(f) === `${base}-journal`),
  );
}

function checkVolumeHidesNothing(fact: Fact<string>, files: string[]): void {
  const p = fact.value;
  if (p.startsWith('/')) return;
  const dir = path.posix.dirname(p);
  if (dir === '.' || dir.startsWith('..')) return; // the top folder and outside: render refuses those
  const hidden = filesHiddenByDbVolume(p, files);
  if (hidden.length === 0) return;
  const shown = hidden.slice(0, 3).join(', ') + (hidden.length > 3 ? `, ... (${hidden.length} files)` : '');
  throw new UserError(
    `The app opens its SQLite db at ${p} (${fact.from}), and the db volume mounted on ${dir}/ would hide files of the repo there: ${shown}`,
    {
      hint: `Let the app read the path from an env var (e.g. process.env.DB_PATH ?? '${p}'; Prisma: url = env("DATABASE_URL")) so the container can put the db on its own volume, or move the db into a folder of its own; then run again (or pass --db-path with the new path).`,
    },
  );
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
