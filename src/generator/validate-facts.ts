/**
 * One set of rules for every value that ends up in a generated file, whether it was detected
 * in the repo, remembered in .ls-mix.json or given as a flag: a value the rules refuse stops
 * the run with the flag that settles it, instead of landing in YAML, a Dockerfile or a shell
 * line of the container that holds the cloud keys.
 */
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { cleanText } from './text.js';
import type { Fact, ProjectFacts } from './types.js';

/**
 * Letters, digits, space and `_ . / @ + -`, starting with a letter, digit, `_`, `.` or `/`:
 * nothing a shell, compose's `$` interpolation, YAML or litestream.yml's `${VAR}` expansion
 * reads as syntax. Spaces are allowed (every generated use quotes the path or passes it as
 * one argument).
 */
const DB_PATH = /^[\w./][\w ./@+-]*$/;

/** Why `p` cannot be a db path, or undefined when it can. */
export function dbPathProblem(p: string): string | undefined {
  if (!DB_PATH.test(p)) return 'only letters, digits, spaces and / . _ - @ + are allowed';
  if (p.endsWith(' ') || p.split('/').some((part) => part !== part.trim()))
    return 'a folder or file name starts or ends with a space';
  if (p.split('/').includes('..')) return 'it goes up with ".."';
  if (p.endsWith('/')) return 'it names a folder, not a file';
  return undefined;
}

/**
 * Folders of the images (Debian-based node and aspnet) that a volume must never hide: the
 * system's own trees, and parents whose mount would hide one of them.
 */
const SYSTEM_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var/run',
];
const SYSTEM_FOLDERS = [
  '/',
  '/home',
  '/media',
  '/mnt',
  '/opt',
  '/root',
  '/srv',
  '/tmp',
  '/var',
  '/var/cache',
  '/var/lib',
  '/var/log',
  '/var/tmp',
];

/**
 * Folders inside a system tree that hold no system files: /usr/src is for source code (empty in
 * the node and aspnet images), and `WORKDIR /usr/src/app` is the layout of Node's own Docker
 * guide. A folder below one of them is the app's; the folder itself stays refused.
 */
const APP_TREES = ['/usr/src'];

/** Why a volume must not be mounted on `dir` (an absolute container path), or undefined. */
export function mountProblem(dir: string): string | undefined {
  const d = path.posix.normalize(dir);
  if (SYSTEM_FOLDERS.includes(d) || APP_TREES.includes(d)) return `${d} is a system folder of the image`;
  if (APP_TREES.some((t) => d.startsWith(`${t}/`))) return undefined;
  const tree = SYSTEM_TREES.find((t) => d === t || d.startsWith(`${t}/`));
  if (tree) return `${d} is inside the image's system folder ${tree}`;
  return undefined;
}

function refuse(what: string, f: Fact<unknown>, why: string, flag: string, example: string): never {
  const where =
    f.source === 'detected'
      ? ` (detected in ${cleanText(f.from)})`
      : f.source === 'flag'
        ? ` (${cleanText(f.from)})`
        : '';
  throw new UserError(`${what} '${cleanText(String(f.value))}'${where} cannot be used: ${why}`, {
    hint: `Pass ${flag} with a plain value, e.g. ${flag} ${example}.`,
  });
}

/** Checks every fact that goes into a generated file; throws the first problem found. */
export function validateFacts(facts: ProjectFacts): void {
  const db = dbPathProblem(facts.dbPath.value);
  if (db) refuse('The SQLite db path', facts.dbPath, db, '--db-path', 'data/app.db');
  const port = facts.port.value;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    refuse('The port', facts.port, 'not a TCP port (1-65535)', '--port', '8080');
  if (!/^\d+(\.\d+){0,2}$/.test(facts.nodeVersion.value))
    refuse('The Node version', facts.nodeVersion, 'not a version like 22', '--node-version', '22');
  if (!/^\d+\.\d+$/.test(facts.dotnetVersion.value))
    refuse('The .NET version', facts.dotnetVersion, 'not a version like 8.0', '--dotnet-version', '8.0');
  if (!['npm', 'yarn', 'pnpm'].includes(facts.packageManager.value))
    refuse('The package manager', facts.packageManager, 'not npm, yarn or pnpm', '--package-manager', 'npm');
  if (facts.dbEnvVar !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(facts.dbEnvVar)) {
    throw new UserError(
      `The db path's environment variable '${cleanText(facts.dbEnvVar)}' is not a plain variable name`,
      {
        hint: 'Pass --db-path with the path the app opens.',
      },
    );
  }
  // .NET paths go into Dockerfile RUN lines (the .NET partial): plain path characters only.
  for (const [what, value] of [
    ['web project', facts.csproj],
    ['UI folder', facts.uiDir],
    ['assembly name', facts.assemblyName],
  ] as const) {
    if (value !== undefined && !/^[\w.@+-][\w./@+-]*$/.test(value)) {
      throw new UserError(`The ${what} '${cleanText(value)}' has characters a Dockerfile line cannot hold`, {
        hint: 'Rename it to letters, digits and / . _ - only (no spaces, quotes or $), then run again.',
      });
    }
  }
  for (const word of facts.startCommand ?? []) {
    if (cleanText(word) !== word)
      throw new UserError('The start command in package.json holds control characters', {
        hint: 'Fix the "start" script in package.json.',
      });
  }
}
