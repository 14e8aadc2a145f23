/**
 * Where a .NET app opens its SQLite db, found only from what opens it: the connection string
 * names its code reads (`GetConnectionString("X")`, `Configuration["ConnectionStrings:X"]`)
 * with their values in appsettings (Production first) or the literal fallback beside them
 * (`?? "DataSource=..."`), and the literal given to an opener (`UseSqlite("...")`,
 * `new SqliteConnection("...")`, `new OrmLiteConnectionFactory("...", SqliteDialect.Provider)`).
 * Other string literals are never taken. Compose then sets `ConnectionStrings__<Name>` so the
 * app opens the replicated path whatever appsettings says.
 */
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { DEFAULTS, dbPathOverride, defaulted, detected, normalizeDbPath } from './detect-facts.js';
import { type Csproj, projectClosure, projectSources, SQLITE_OPENER, usesSqlite } from './dotnet-projects.js';
import { readIfExists } from './fs-util.js';
import type { Fact, Overrides } from './types.js';

export interface DotnetDb {
  fact: Fact<string>;
  /** The connection string the app reads (compose sets ConnectionStrings__<name>). */
  connection?: { name: string; options: string[] };
}

interface SqliteConn {
  dataSource: string;
  /** The other keywords, kept as written (`Cache=Shared`, `Foreign Keys=True`). */
  options: string[];
}

/** Parses a SQLite connection string; undefined for anything else (SQL Server, Postgres...). */
export function parseSqliteConnection(value: string): SqliteConn | undefined {
  const parts = value
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean);
  let dataSource: string | undefined;
  const options: string[] = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const key = part.slice(0, eq).trim().toLowerCase().replace(/\s+/g, ' ');
    if (['data source', 'datasource', 'filename'].includes(key)) dataSource = part.slice(eq + 1).trim();
    else if (['server', 'host', 'initial catalog', 'database', 'user id', 'uid', 'port'].includes(key))
      return undefined;
    else options.push(part);
  }
  if (!dataSource || dataSource === ':memory:' || /^file::memory:/i.test(dataSource)) return undefined;
  dataSource = dataSource.replace(/^["']|["']$/g, '').replace(/\\/g, '/');
  return { dataSource, options };
}

/** `"ConnectionStrings": { "Name": "value" }` of an appsettings file (comments allowed). */
function appsettingsConnections(text: string): Record<string, string> {
  const block = /"ConnectionStrings"\s*:\s*\{([^}]*)\}/.exec(text)?.[1] ?? '';
  const out: Record<string, string> = {};
  for (const m of block.matchAll(/"([^"\\]+)"\s*:\s*"((?:[^"\\]|\\.)*)"/g)) {
    out[m[1]] = m[2].replace(/\\(.)/g, '$1');
  }
  return out;
}

interface CodeFacts {
  /** Connection string names the code reads, in the order found. */
  names: { name: string; file: string; fallback?: string }[];
  /** Connection string literals handed straight to an opener. */
  literals: { value: string; file: string }[];
}

const NAME_READ =
  /GetConnectionString\(\s*"([^"]+)"\s*\)(?:\s*\?\?\s*"((?:[^"\\]|\\.)*)")?|\[\s*"ConnectionStrings:([^"]+)"\s*\](?:\s*\?\?\s*"((?:[^"\\]|\\.)*)")?/g;
const OPENER_LITERAL =
  /(?:\bUseSqlite|\bAddSqlite\s*<[^>]*>|\bnew\s+SqliteConnection|\bnew\s+SQLiteConnection|\bnew\s+OrmLiteConnectionFactory)\s*\(\s*@?"((?:[^"\\]|\\.)*)"/g;

async function readCode(root: string, projects: Csproj[]): Promise<CodeFacts> {
  const out: CodeFacts = { names: [], literals: [] };
  for (const p of projects) {
    for (const file of await projectSources(root, p)) {
      const text = (await readIfExists(path.join(root, file))) ?? '';
      for (const m of text.matchAll(NAME_READ)) {
        out.names.push({ name: m[1] ?? m[3], file, fallback: m[2] ?? m[4] });
      }
      for (const m of text.matchAll(OPENER_LITERAL)) {
        // OrmLite's factory opens SQLite only with the SQLite dialect.
        if (m[0].includes('OrmLiteConnectionFactory') && !SQLITE_OPENER.test(text)) continue;
        out.literals.push({ value: m[1], file });
      }
    }
  }
  return out;
}

export async function detectDotnetDb(
  root: string,
  web: Csproj | undefined,
  csprojs: Csproj[],
  o: Overrides,
): Promise<DotnetDb> {
  const flag = dbPathOverride(o);
  const projectDir = web ? path.posix.dirname(web.file) : '.';
  const settings: { file: string; conns: Record<string, string> }[] = [];
  for (const name of ['appsettings.Production.json', 'appsettings.json']) {
    const file = path.posix.join(projectDir, name);
    const text = await readIfExists(path.join(root, file));
    if (text !== undefined) settings.push({ file, conns: appsettingsConnections(text) });
  }
  const code = web ? await readCode(root, projectClosure(web, csprojs)) : { names: [], literals: [] };
  const configured = (name: string) => {
    for (const s of settings) {
      const value = s.conns[name];
      if (value !== undefined) return { file: s.file, conn: parseSqliteConnection(value) };
    }
    return undefined;
  };

  // Names the code reads that hold a SQLite connection string (appsettings or the fallback).
  const found: { name?: string; conn: SqliteConn; from: string }[] = [];
  for (const n of code.names) {
    if (found.some((f) => f.name === n.name)) continue;
    const c = configured(n.name);
    if (c?.conn) found.push({ name: n.name, conn: c.conn, from: `${c.file} ConnectionStrings:${n.name}` });
    else if (!c && n.fallback && parseSqliteConnection(n.fallback)) {
      found.push({ name: n.name, conn: parseSqliteConnection(n.fallback) as SqliteConn, from: n.file });
    }
  }
  if (found.length === 0) {
    for (const l of code.literals) {
      const conn = parseSqliteConnection(l.value);
      if (conn) found.push({ conn, from: l.file });
    }
  }
  if (found.length === 0 && code.names.length === 0) {
    // No name read in code we can see (e.g. a config object bound elsewhere): a single SQLite
    // connection string in appsettings is the app's.
    const all = settings.flatMap((s) =>
      Object.entries(s.conns).map(([name, v]) => ({ name, conn: parseSqliteConnection(v), from: s.file })),
    );
    const sqlite = all.filter((c) => c.conn);
    const names = new Set(sqlite.map((c) => c.name));
    if (names.size === 1) {
      const c = sqlite[0];
      found.push({ name: c.name, conn: c.conn as SqliteConn, from: `${c.from} ConnectionStrings:${c.name}` });
    }
  }
  const distinct = [...new Map(found.map((f) => [normalizeDbPath(f.conn.dataSource), f])).values()];

  const connection = (f: (typeof found)[number] | undefined) =>
    f?.name ? { name: f.name, options: f.conn.options } : undefined;
  if (flag) {
    // The flag's path; the connection string the app reads still gets it (the one that
    // matches, or the only one).
    const match =
      found.find((f) => normalizeDbPath(f.conn.dataSource) === flag.value) ??
      (found.length === 1 ? found[0] : undefined);
    const onlyName =
      !match && code.names.length === 1 ? { name: code.names[0].name, options: [] } : undefined;
    return { fact: flag, connection: connection(match) ?? onlyName };
  }
  if (distinct.length > 1) {
    throw new UserError(
      `The app opens several SQLite dbs: ${distinct.map((f) => `${f.conn.dataSource} (${f.from})`).join(', ')}; ls-mix replicates one`,
      { hint: 'Pass --db-path with the one to replicate.' },
    );
  }
  if (distinct.length === 1) {
    const f = distinct[0];
    return { fact: detected(normalizeDbPath(f.conn.dataSource), f.from), connection: connection(f) };
  }
  const sqlite = web ? await usesSqlite(root, web, csprojs) : undefined;
  if (sqlite && code.names.length > 0) {
    // The app reads a named connection string we found no value for: compose sets it, so the
    // default path is where the app will open its db.
    const n = code.names[0];
    return {
      fact: defaulted(
        DEFAULTS.dotnetDbPath,
        `no value for ConnectionStrings:${n.name} (${n.file}); compose sets it`,
      ),
      connection: { name: n.name, options: [] },
    };
  }
  if (sqlite) {
    throw new UserError(
      `${sqlite} uses SQLite, but no connection string the app opens it with was found (appsettings ConnectionStrings, GetConnectionString, UseSqlite(...))`,
      { hint: 'Pass --db-path with the db file the app writes, e.g. --db-path App_Data/app.db.' },
    );
  }
  throw new UserError(
    `No SQLite found in ${web?.file ?? 'this .NET project'} or the projects it references (no SQLite package, UseSqlite, SqliteConnection or SqliteDialect)`,
    {
      hint: 'ls-mix replicates a SQLite db: if the app opens one, pass --db-path with its file (e.g. --db-path App_Data/app.db).',
    },
  );
}
