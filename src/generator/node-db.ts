/**
 * Which SQLite file a Node app really opens, and through which env var it can be moved onto
 * the volume: from the calls that open SQLite (node-db-calls), Prisma's datasource, and the
 * `.env` files that give an env var its value. Several different databases, a call whose path
 * cannot be worked out, or no SQLite at all are errors that name the flag that settles them.
 */
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { detected } from './detect-facts.js';
import { readIfExists } from './fs-util.js';
import { CWD, Evaluator, type PathValue, sourceLoader } from './js-eval.js';
import {
  isInMemory,
  KNEXFILE,
  knexfileCall,
  type OpenCall,
  openCallsIn,
  SQLITE_MODULES,
} from './node-db-calls.js';
import { readEnvFiles } from './node-env.js';
import type { Fact } from './types.js';

/** An error --db-path does not settle: raised even when the flag is given (detect-node.ts). */
export class FlagCannotSettle extends UserError {}

export interface NodeDb {
  /** The path the app opens when its env var is not set (relative to the app folder, or absolute). */
  fact: Fact<string>;
  /** The env var the app reads the path (or its folder, or a URL) from. */
  envVar?: string;
  /** `file`: the var holds the db file; `dir`: the folder the db file is in. */
  envKind?: 'file' | 'dir';
  /** `dir` kind: the db file inside the folder. */
  envFile?: string;
  /** The var holds a URL with this scheme (`file:` for Prisma / libsql). */
  urlScheme?: string;
  /** Prisma's schema, relative to the app folder (migrations are deployed from it). */
  prismaSchema?: string;
}

const SOURCE = /\.(c|m)?(j|t)sx?$/;
const TEST =
  /(^|\/)(test|tests|__tests__|__mocks__|e2e|cypress|playwright|spec|fixtures?)\/|\.(test|spec|stories)\.[cm]?[jt]sx?$/;
const MAX_SOURCES = 600;

interface Candidate {
  value: PathValue;
  url: boolean;
  where: string;
  via: string;
  prismaSchema?: string;
  toolConfig?: boolean;
  /** Relative paths in the value are relative to this folder (Prisma: the schema's). */
  base: string;
}

/** Finds the db; `undefined` when the app shows no sign of SQLite at all. */
/** `pick`: the db --db-path names, which settles a choice between several the app opens. */
/** A script run by hand (scripts/, tools/, bin/, a seed or migration file), not the running app. */
const SCRIPT = /(^|\/)(scripts?|tools?|bin)\/|(^|\/)[^/]*(seed|migrat)[^/]*$/i;

export async function findNodeDb(root: string, files: string[], pick?: string): Promise<NodeDb | undefined> {
  const texts = new Map<string, string>();
  const sourceFiles = files
    .filter((f) => SOURCE.test(f) && !f.endsWith('.d.ts') && !TEST.test(f))
    .slice(0, MAX_SOURCES);
  for (const f of sourceFiles) {
    const text = await readIfExists(path.join(root, f));
    if (text !== undefined && text.length < 500_000) texts.set(f, text);
  }
  const load = sourceLoader(texts);
  const ev = new Evaluator(load);
  const calls: OpenCall[] = [];
  for (const [file, text] of texts) {
    if (!SQLITE_MODULES.test(text)) continue;
    const src = load(file);
    if (src) calls.push(...openCallsIn(src, ev));
  }
  // The knex CLI's knexfile (a tool config): read only when the app's own code opens nothing in
  // sight — a knex() call that reads the knexfile already says what it holds. See knexfileCall.
  const knexfile = calls.some((c) => !c.toolConfig)
    ? undefined
    : [...texts.keys()].find((f) => KNEXFILE.test(f));
  const knexSrc = knexfile === undefined ? undefined : load(knexfile);
  const fromKnexfile = knexSrc && knexfileCall(knexSrc, ev);
  if (fromKnexfile) calls.push(fromKnexfile);

  // A db opened only in development is not the deployed app's: left out when the app opens
  // another, and the reason to stop when it opens none other (scripts run by hand aside).
  const devOnly = calls.filter((c) => c.devOnly && !c.memory && !c.toolConfig);
  const others = calls.filter((c) => !c.devOnly && !c.memory && !c.toolConfig);
  if (devOnly.length > 0 && others.every((c) => SCRIPT.test(c.file))) {
    const list = devOnly
      .map((c) => `${c.file}:${c.line} (${c.via}: ${c.expr}, under \`${c.devOnly}\`)`)
      .join(', ');
    const also =
      others.length > 0
        ? ` (besides ${others.map((c) => `${c.file}:${c.line}`).join(', ')}, run by hand)`
        : '';
    throw new UserError(
      `The app opens SQLite only in development: ${list}${also}. Deployed, it opens something else: a backup of that file would be of a file the deployed app never writes`,
      {
        hint: 'ls-mix backs up the database the deployed app writes. If production opens a SQLite file too, pass --db-path with its path (relative to the app folder).',
      },
    );
  }

  const prisma = await prismaSqlite(root, files);
  const candidates: Candidate[] = [];
  const unresolved: OpenCall[] = [];
  const remote: string[] = [];
  for (const c of calls) {
    if (c.memory || c.devOnly) continue;
    if (!c.value) {
      unresolved.push(c);
      continue;
    }
    const where = `${c.file}:${c.line}`;
    if (c.url && c.value.kind === 'str' && isRemoteUrl(c.value.value)) {
      remote.push(`${where} (${c.via} ${c.value.value.split('?')[0]})`);
      continue;
    }
    candidates.push({
      value: c.value,
      url: Boolean(c.url),
      where,
      via: c.via,
      toolConfig: c.toolConfig,
      // A Prisma driver adapter opens the db of the app's Prisma schema (its migrations).
      prismaSchema: c.prisma ? prisma?.schemaFile : undefined,
      base: '.',
    });
  }
  if (prisma?.candidate) candidates.push(prisma.candidate);

  const env = await readEnvFiles(root);
  const resolved = candidates.map((c) => resolveCandidate(c, env));
  // Tool configs (drizzle-kit) only count when the app's own code says nothing.
  const app = resolved.filter((r) => !r.toolConfig);
  const chosen = dedupe(app.length > 0 ? app : resolved).filter((r) => !r.remote);
  if (chosen.length === 0) {
    // --db-path settles a config per environment only as the one production opens.
    const perEnv = unresolved.length === 1 ? unresolved[0] : undefined;
    if (pick !== undefined && perEnv?.production) {
      const where = `${perEnv.file}:${perEnv.line}`;
      const { value, notSqlite } = perEnv.production;
      if (notSqlite || !value) {
        throw new FlagCannotSettle(
          `--db-path ${pick} is not a db the deployed app opens: ${where} (${perEnv.via}: ${perEnv.expr}); with NODE_ENV=production, which ls-mix's Dockerfile sets, it opens no SQLite db`,
          {
            hint: 'The deployed app keeps its data elsewhere: there is nothing here for ls-mix to replicate. If it should run on SQLite, give the production entry a SQLite config, then run again.',
          },
        );
      }
      const r = resolveCandidate(
        { value, url: false, where, via: `${perEnv.via}, production`, base: '.' },
        env,
      );
      return {
        fact: r.fact,
        envVar: r.envVar,
        envKind: r.envKind,
        envFile: r.envFile,
        urlScheme: r.urlScheme,
      };
    }
    if (unresolved.length > 0) {
      const list = unresolved.map((u) => `${u.file}:${u.line} (${u.via}: ${u.expr})`).join(', ');
      // A config per environment: --db-path stands for production's (see above), so say what that is.
      const prod = perEnv?.production?.value;
      const r = prod && resolveCandidate({ value: prod, url: false, where: '', via: '', base: '.' }, env);
      const hint = !r
        ? 'Pass --db-path with the path the app opens (relative to the app folder), e.g. --db-path data/app.db.'
        : r.envVar
          ? `Pass --db-path with the path the deployed app should open: production reads it from ${r.envVar}, which the compose file then sets to it (e.g. --db-path ${r.fact.value}).`
          : `Pass --db-path ${r.fact.value} if the deployed app (NODE_ENV=production) is the one to back up: production opens that fixed path.`;
      throw new UserError(`Cannot tell which SQLite file the app opens: ${list}`, { hint });
    }
    const remoteAll = [...remote, ...resolved.filter((r) => r.remote).map((r) => r.fact.from)];
    if (remoteAll.length > 0) {
      throw new UserError(
        `The app's database is remote (${remoteAll.join(', ')}): there is no local SQLite file to replicate`,
        {
          hint: 'Point the app at a local file (e.g. file:data/app.db), or pass --db-path if it also opens a local SQLite file.',
        },
      );
    }
    return undefined;
  }
  // A call whose path cannot be worked out may be the app's own (a helper taking the path, a
  // function choosing it): taking the one that can (a seed script's) would back up the wrong file.
  const unknown = unresolved.filter((u) => !u.toolConfig);
  if (unknown.length > 0 && !chosen.some((r) => r.fact.value === pick)) {
    const list = unknown.map((u) => `${u.file}:${u.line} (${u.via}: ${u.expr})`).join(', ');
    const found = chosen.map((r) => `${r.fact.value} (${r.fact.from})`).join('; ');
    throw new UserError(
      `Cannot tell which SQLite file the app opens: ${list} ${unknown.length > 1 ? 'open paths' : 'opens a path'} ls-mix cannot work out, which may not be ${found}`,
      {
        hint: `Pass --db-path with the path the app opens (relative to the app folder)${chosen.length === 1 ? `, e.g. --db-path ${chosen[0].fact.value} if it is that one` : ''}.`,
      },
    );
  }
  // The one --db-path names keeps what was found with it (the env var the app reads it from).
  const picked = chosen.length > 1 ? chosen.find((r) => r.fact.value === pick) : chosen[0];
  if (!picked) {
    const list = chosen
      .map((r) => `${r.fact.value} (${r.fact.from}${r.envVar ? `, env ${r.envVar}` : ''})`)
      .join('; ');
    throw new UserError(`The app opens ${chosen.length} different SQLite databases: ${list}`, {
      hint: 'ls-mix replicates one: pass --db-path with the one to back up.',
    });
  }
  const { fact, envVar, envKind, envFile, urlScheme, prismaSchema } = picked;
  return { fact, envVar, envKind, envFile, urlScheme, prismaSchema };
}

interface Resolved extends NodeDb {
  toolConfig?: boolean;
  remote?: boolean;
}

function resolveCandidate(c: Candidate, env: Map<string, { value: string; file: string }>): Resolved {
  const v = c.value;
  const from = `${c.where} (${c.via})`;
  if (v.kind === 'str') {
    const { file, scheme, remote } = fromUrl(v.value, c.url);
    return {
      fact: detected(toAppPath(file, c.base), from),
      urlScheme: scheme,
      toolConfig: c.toolConfig,
      prismaSchema: c.prismaSchema,
      remote,
    };
  }
  // An env var: its default in the code, else its value in .env / .env.example.
  // A default that keeps the db in memory (`process.env.DB ?? ':memory:'`) is no file: as if none.
  const memoryDefault = v.fallback !== undefined && isInMemory(v.fallback);
  let fallback = memoryDefault ? undefined : v.fallback;
  let fallbackFrom = fallback !== undefined ? from : undefined;
  const envEntry = env.get(v.name);
  if (fallback === undefined && envEntry) {
    fallback = envEntry.value;
    fallbackFrom = `${from}, ${v.name} in ${envEntry.file}`;
  }
  const kind: 'file' | 'dir' = v.suffix === '' ? 'file' : 'dir';
  if (kind === 'dir' && !v.suffix.startsWith('/')) {
    // `${DIR}app.db`: the var is a bare prefix; only its default is a path the container can use.
    return {
      fact: detected(toAppPath(`${fallback ?? 'data/'}${v.suffix}`, c.base), from),
      toolConfig: c.toolConfig,
    };
  }
  let fileValue: string;
  let scheme: string | undefined;
  let remote = false;
  if (fallback !== undefined) {
    const u = fromUrl(fallback, c.url);
    fileValue = kind === 'dir' ? path.posix.join(u.file, v.suffix) : u.file;
    scheme = u.scheme;
    remote = u.remote;
  } else {
    // No default anywhere: the container sets it, the file name is ours.
    fileValue = kind === 'dir' ? path.posix.join('data', v.suffix) : 'data/app.db';
    scheme = c.url ? 'file:' : undefined;
    fallbackFrom = `${from} (${v.name} ${memoryDefault ? 'defaults to an in-memory db' : 'has no default'}: compose sets it)`;
  }
  return {
    fact: detected(toAppPath(fileValue, c.base), fallbackFrom ?? from),
    envVar: v.name,
    envKind: kind,
    envFile: kind === 'dir' ? v.suffix.replace(/^\/+/, '') : undefined,
    urlScheme: kind === 'file' ? scheme : undefined,
    toolConfig: c.toolConfig,
    prismaSchema: c.prismaSchema,
    remote,
  };
}

function isRemoteUrl(u: string): boolean {
  return /^(libsql|wss?|https?|turso):/i.test(u);
}

/** `file:./x.db` -> `./x.db` (scheme `file:`); a plain path stays as it is. */
function fromUrl(value: string, isUrl: boolean): { file: string; scheme?: string; remote: boolean } {
  if (isRemoteUrl(value)) return { file: value, remote: true };
  const m = /^(file|sqlite):(?:\/\/(?=\/))?([^?#]*)/.exec(value);
  if (m) return { file: m[2], scheme: `${m[1]}:`, remote: false };
  return { file: value, scheme: isUrl ? undefined : undefined, remote: false };
}

/** A path as the app sees it: relative to its folder (CWD marker removed) or absolute. */
function toAppPath(p: string, base: string): string {
  let out = p;
  if (out.startsWith(CWD)) out = path.posix.relative(CWD, out) || '.';
  else if (!out.startsWith('/')) out = path.posix.join(base, out);
  out = path.posix.normalize(out);
  return out.startsWith('/') ? out : out.replace(/^\.\//, '');
}

function dedupe(list: Resolved[]): Resolved[] {
  const seen = new Map<string, Resolved>();
  for (const r of list) {
    const key = `${r.fact.value}\u0000${r.envVar ?? ''}`;
    if (!seen.has(key)) seen.set(key, r);
  }
  // The same file reached with and without the env var (a seed script using the literal): one db.
  const byPath = new Map<string, Resolved>();
  for (const r of seen.values()) {
    const prev = byPath.get(r.fact.value);
    if (!prev || (!prev.envVar && r.envVar)) byPath.set(r.fact.value, r);
  }
  return [...byPath.values()];
}

/** Prisma's `datasource` with provider "sqlite": a literal `file:` url or `env("X")`. */
/**
 * The app's Prisma schema when its datasource is SQLite, and the db it names: the schema's `url`
 * (a literal or env("X"), relative to the schema's folder as Prisma resolves it), or, with Prisma 7's
 * url-less datasource, prisma.config.ts's `datasource.url` (only when the app's code, which then
 * opens the db through a driver adapter, says nothing).
 */
async function prismaSqlite(
  root: string,
  files: string[],
): Promise<{ schemaFile: string; candidate?: Candidate } | undefined> {
  const schemaFile =
    files.find((f) => f === 'prisma/schema.prisma') ??
    files.find((f) => /(^|\/)schema\.prisma$/.test(f)) ??
    files.find((f) => /^prisma\/schema\/[^/]+\.prisma$/.test(f));
  if (!schemaFile) return undefined;
  const schema = (await readIfExists(path.join(root, schemaFile))) ?? '';
  const ds = /datasource\s+\w+\s*\{([^}]*)\}/.exec(schema.replace(/\/\/[^\n]*/g, ''))?.[1];
  if (!ds || !/provider\s*=\s*"sqlite"/.test(ds)) return undefined;
  const base = path.posix.dirname(schemaFile);
  const line = schema.slice(0, schema.search(/datasource\s/)).split('\n').length;
  const where = `${schemaFile}:${line}`;
  const at = { url: true, via: 'Prisma datasource', prismaSchema: schemaFile };
  const literal = /\burl\s*=\s*"([^"]+)"/.exec(ds)?.[1];
  if (literal)
    return { schemaFile, candidate: { ...at, value: { kind: 'str', value: literal }, where, base } };
  const envName = /\burl\s*=\s*env\(\s*"(\w+)"\s*\)/.exec(ds)?.[1];
  if (envName)
    return {
      schemaFile,
      candidate: { ...at, value: { kind: 'env', name: envName, suffix: '' }, where, base },
    };
  return { schemaFile, candidate: await prismaConfigCandidate(root, files, schemaFile) };
}

/** prisma.config.ts's `datasource: { url: env('X') | process.env.X }` (Prisma 7). */
async function prismaConfigCandidate(
  root: string,
  files: string[],
  schemaFile: string,
): Promise<Candidate | undefined> {
  const file = files.find((f) => /^prisma\.config\.(c|m)?(t|j)s$/.test(f));
  if (!file) return undefined;
  const text = (await readIfExists(path.join(root, file))) ?? '';
  const m = /\burl\s*:\s*(?:env\(\s*['"](\w+)['"]\s*\)|process\.env(?:\.(\w+)|\[\s*['"](\w+)['"]\s*\]))/.exec(
    text,
  );
  const name = m?.[1] ?? m?.[2] ?? m?.[3];
  if (!m || !name) return undefined;
  return {
    value: { kind: 'env', name, suffix: '' },
    url: true,
    where: `${file}:${text.slice(0, m.index).split('\n').length}`,
    via: 'Prisma config',
    prismaSchema: schemaFile,
    toolConfig: true,
    base: '.',
  };
}
