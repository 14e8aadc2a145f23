/**
 * The calls that open a SQLite database in a Node app, found in its parsed sources by what
 * they are bound to (an import or require of the driver / ORM), never by the look of a string:
 * better-sqlite3, sqlite3, node:sqlite, bun:sqlite, libsql / @libsql/client, the `sqlite`
 * wrapper, Drizzle, Knex, Sequelize, TypeORM (and NestJS's TypeOrmModule), drizzle-kit config.
 */
import path from 'node:path';
import type { Node } from '@babel/types';
import { devOnlyGuard, devOnlySpans } from './dev-only.js';
import { importsOf, lineOf, type ParsedSource, requiredModule, walk } from './js-ast.js';
import { CWD, type Evaluator, objectProperty, type PathValue, unwrap } from './js-eval.js';

/** Module names whose presence in a file makes it worth parsing. */
export const SQLITE_MODULES =
  /['"](?:better-sqlite3|sqlite3|node:sqlite|bun:sqlite|sqlite|libsql|@libsql\/client[\w/-]*|drizzle-orm\/[\w-]+|drizzle-kit|knex|sequelize|@sequelize\/core|typeorm|@nestjs\/typeorm|@prisma\/adapter-(?:better-sqlite3|libsql)|@adonisjs\/lucid)['"]/;

export interface OpenCall {
  file: string;
  line: number;
  /** The driver or ORM, for messages (`better-sqlite3`, `Knex`, ...). */
  via: string;
  /** The path (or URL) argument's value; undefined when it cannot be worked out statically. */
  value?: PathValue;
  /** The argument as written, for messages. */
  expr: string;
  /** The value is a URL (`file:x.db`, `sqlite:x.db`); holds the scheme to keep. */
  url?: boolean;
  /** From a tool's config (drizzle-kit), not the app's own code: used only when nothing else is found. */
  toolConfig?: boolean;
  /** Opens an in-memory db (not something to back up). */
  memory?: boolean;
  /** Through a Prisma driver adapter. */
  prisma?: boolean;
  /** Runs only in development, under this guard as written (`process.dev`): see dev-only.ts. */
  devOnly?: string;
  /**
   * A config per environment that could not be settled: what its production entry opens (the
   * environment ls-mix's Dockerfile runs in), or that it is not SQLite. --db-path is checked
   * against it (detect-node.ts).
   */
  production?: { value?: PathValue; notSqlite?: boolean };
}

interface Callee {
  module: string;
  name: string;
}

const SQLITE_CLIENTS = new Set(['sqlite3', 'better-sqlite3', 'sqlite', 'libsql']);
const TYPEORM_TYPES = new Set(['sqlite', 'better-sqlite3', 'libsql']);

/** `:memory:`, `file::memory:?cache=shared`, '' (a temp db): nothing on disk to back up. */
export function isInMemory(p: string): boolean {
  return /(^|:)(:memory:|)$|mode=memory/.test(p);
}

export function openCallsIn(src: ParsedSource, ev: Evaluator): OpenCall[] {
  if (!src.program || !SQLITE_MODULES.test(src.text)) return [];
  const imports = importsOf(src.program);
  const devSpans = devOnlySpans(src.program, src.text, imports);
  const out: OpenCall[] = [];
  for (const node of walk(src.program)) {
    if (node.type !== 'NewExpression' && node.type !== 'CallExpression') continue;
    const callee = resolveCallee(node.callee as Node, imports);
    if (!callee) continue;
    const args = node.arguments as Node[];
    const found = match(callee, args, node.type === 'NewExpression', src, ev);
    if (found) out.push({ ...openCall(found, src, lineOf(node), ev), devOnly: devOnlyGuard(node, devSpans) });
  }
  return out;
}

/** An OpenCall for what `match` found at `line` of `src`. */
function openCall(found: Match, src: ParsedSource, line: number, ev: Evaluator): OpenCall {
  const arg = found.arg;
  const argSrc = found.argSrc ?? src;
  const value = arg ? ev.value(argSrc, arg) : undefined;
  const text =
    found.describe ??
    (arg?.start != null && arg.end != null ? argSrc.text.slice(arg.start, arg.end) : '(none)');
  const memory = value?.kind === 'str' && isInMemory(value.value);
  // As written, on one line (an argument spread over lines would break the message).
  const oneLine = text.replace(/\s+/g, ' ');
  return {
    file: src.file,
    line,
    via: found.via,
    value: memory ? undefined : value,
    expr: oneLine.length > 80 && !found.describe ? `${oneLine.slice(0, 77)}...` : oneLine,
    url: found.url,
    toolConfig: found.toolConfig,
    prisma: found.prisma,
    memory: memory || (arg === undefined && found.noArgIsMemory),
    production: found.production,
  };
}

/** The knex CLI's config file at the app's root (its default name: knexfile.js, .cjs, .mjs, .ts). */
export const KNEXFILE = /^knexfile\.[cm]?[jt]s$/;

/**
 * The db a knexfile gives the deployed app (NODE_ENV=production), as a tool config: it counts
 * only when the app's code opens no SQLite ls-mix can see — as when the config is handed to a
 * plugin (`app.register(fastifyObjectionjs, { knexConfig: knexConfig[mode] })`) instead of to
 * `knex()`. A production entry that is not SQLite means the deployed app does not use SQLite.
 */
export function knexfileCall(src: ParsedSource, ev: Evaluator): OpenCall | undefined {
  if (!src.program) return undefined;
  const { whole, entries } = ev.exportedObjects(src);
  // One config for every environment (`module.exports = { client, connection }`).
  const single = whole && ev.property(whole, 'client') ? knexConfig(whole, ev) : undefined;
  const production = entries.find((e) => e.key === 'production');
  if (!single && production && !knexConfig(production.value, ev)) return undefined;
  const found = single ?? perEnvironment(entries, src, ev);
  if (!found) return undefined;
  const at = single ? whole?.node : (production ?? entries[0])?.value.node;
  return { ...openCall({ ...found, via: 'knexfile' }, src, at ? lineOf(at) : 1, ev), toolConfig: true };
}

/** What a callee is bound to: `Database` from 'better-sqlite3', `sqlite3.Database`, `require('knex')`. */
function resolveCallee(
  callee: Node,
  imports: ReadonlyMap<string, { module: string; imported: string }>,
): Callee | undefined {
  if (callee.type === 'Identifier') {
    const b = imports.get(callee.name);
    return b ? { module: b.module, name: b.imported } : undefined;
  }
  const direct = requiredModule(callee);
  if (direct && callee.type === 'CallExpression' && callee.callee.type === 'Identifier')
    return { module: direct, name: '*' };
  if (
    (callee.type === 'MemberExpression' || callee.type === 'OptionalMemberExpression') &&
    callee.property.type === 'Identifier'
  ) {
    const prop = callee.property.name;
    let obj = callee.object;
    // sqlite3.verbose().Database / require('sqlite3').Database
    if (obj.type === 'CallExpression' && obj.callee.type === 'MemberExpression') obj = obj.callee.object;
    if (obj.type === 'Identifier') {
      const b = imports.get(obj.name);
      if (b)
        return {
          module: b.module,
          name: b.imported === '*' || b.imported === 'default' ? prop : `${b.imported}.${prop}`,
        };
    }
    const m = requiredModule(obj);
    if (m) return { module: m, name: prop };
  }
  return undefined;
}

interface Match {
  via: string;
  arg?: Node;
  /** The file `arg` is in, when not the call's (an object from a config module). */
  argSrc?: ParsedSource;
  url?: boolean;
  toolConfig?: boolean;
  noArgIsMemory?: boolean;
  /** What to show for the argument when it cannot be worked out, instead of its text. */
  describe?: string;
  /** A Prisma driver adapter: the app's Prisma schema is its (migrations, client generation). */
  prisma?: boolean;
  /** See OpenCall.production. */
  production?: OpenCall['production'];
}

function match(c: Callee, args: Node[], isNew: boolean, src: ParsedSource, ev: Evaluator): Match | undefined {
  const whole = c.name === 'default' || c.name === '*';
  const m = c.module;
  if (m === 'better-sqlite3' || m === 'libsql') {
    // new Database(path) / Database(path); no argument = an in-memory db
    if (whole || c.name === 'Database') return { via: m, arg: args[0], noArgIsMemory: true };
    return undefined;
  }
  if (m === 'sqlite3') return c.name === 'Database' && isNew ? { via: 'sqlite3', arg: args[0] } : undefined;
  if (m === 'node:sqlite')
    return c.name === 'DatabaseSync' ? { via: 'node:sqlite', arg: args[0], noArgIsMemory: true } : undefined;
  if (m === 'bun:sqlite')
    return c.name === 'Database' ? { via: 'bun:sqlite', arg: args[0], noArgIsMemory: true } : undefined;
  if (m === 'sqlite' && c.name === 'open') {
    return { via: 'sqlite', ...prop(src, ev, args[0], 'filename') };
  }
  // Prisma 7 (and 6 with driverAdapters): new PrismaBetterSqlite3({ url }) handed to PrismaClient
  // is what opens the db; the schema's datasource has no url any more.
  if (m === '@prisma/adapter-better-sqlite3' && /^PrismaBetterSqlite3$/i.test(c.name) && isNew)
    return {
      via: 'Prisma better-sqlite3 adapter',
      ...prop(src, ev, args[0], 'url'),
      url: true,
      prisma: true,
    };
  if (m === '@prisma/adapter-libsql' && /^PrismaLibSql$/i.test(c.name) && isNew)
    return { via: 'Prisma libSQL adapter', ...prop(src, ev, args[0], 'url'), url: true, prisma: true };
  if (m.startsWith('@libsql/client') && c.name === 'createClient')
    return { via: '@libsql/client', ...prop(src, ev, args[0], 'url'), url: true };
  if (m.startsWith('drizzle-orm/') && c.name === 'drizzle' && /sqlite|libsql/.test(m))
    return drizzleArg(m, args[0], src, ev);
  if (m === 'drizzle-kit' && c.name === 'defineConfig') {
    const cfg = ev.object(src, args[0]);
    const dialect = ev.value(src, objectProperty(cfg?.node, 'dialect'));
    if (!cfg || dialect?.kind !== 'str' || !['sqlite', 'turso'].includes(dialect.value)) return undefined;
    const creds = ev.object(cfg.src, objectProperty(cfg.node, 'dbCredentials'));
    return {
      via: 'drizzle-kit config',
      arg: objectProperty(creds?.node, 'url'),
      argSrc: creds?.src,
      url: true,
      toolConfig: true,
    };
  }
  // AdonisJS's Lucid: defineConfig({ connection: 'sqlite', connections: { sqlite: <a Knex config> } }).
  if (m === '@adonisjs/lucid' && c.name === 'defineConfig') {
    const cfg = ev.object(src, args[0]);
    const conns = cfg && ev.object(cfg.src, objectProperty(cfg.node, 'connections'));
    if (!cfg || !conns) return undefined;
    const key = ev.value(cfg.src, objectProperty(cfg.node, 'connection'));
    const name = key?.kind === 'str' ? key.value : key?.fallback;
    const chosen = name === undefined ? undefined : ev.object(conns.src, objectProperty(conns.node, name));
    const found = chosen && knexConfig(chosen, ev);
    return found && { ...found, via: 'Lucid' };
  }
  if (m === 'knex' && (whole || c.name === 'knex')) {
    const cfg = args[0] && ev.composite(src, args[0]);
    if (cfg) return knexConfig(cfg, ev);
    // knex(require('./knexfile')[process.env.NODE_ENV || 'development']): one config per
    // environment. The same SQLite file in each is that file; anything else is for --db-path.
    const envs = ev.entriesOfPicked(src, args[0]);
    const found = envs && perEnvironment(envs, src, ev);
    return found && (found.describe ? { ...found, arg: args[0] } : found);
  }
  if ((m === 'sequelize' || m === '@sequelize/core') && c.name === 'Sequelize' && isNew) {
    const first = ev.value(src, args[0]);
    const url = first?.kind === 'str' ? first.value : first?.fallback;
    // new Sequelize(process.env.DB_URL || 'sqlite:...'): SQLite by its default.
    if (url !== undefined && /^sqlite:/.test(url)) return { via: 'Sequelize', arg: args[0], url: true };
    for (const a of args) {
      const o = ev.object(src, a);
      const dialect = ev.value(src, objectProperty(o?.node, 'dialect'));
      if (o && dialect?.kind === 'str' && dialect.value === 'sqlite')
        return {
          via: 'Sequelize',
          arg: objectProperty(o.node, 'storage'),
          argSrc: o.src,
          noArgIsMemory: true,
        };
    }
    return undefined;
  }
  if (
    (m === 'typeorm' && (c.name === 'DataSource' || c.name === 'createConnection')) ||
    (m === '@nestjs/typeorm' && /^(TypeOrmModule\.)?forRoot(Async)?$/.test(c.name))
  ) {
    // forRootAsync({ useFactory: (config) => ({ type, database, ... }) }): the options it returns.
    const o = c.name.endsWith('Async') ? factoryResult(ev.object(src, args[0]), ev) : ev.object(src, args[0]);
    if (!o || !isSqliteType(o.src, objectProperty(o.node, 'type'), ev)) return undefined;
    return { via: 'TypeORM', arg: objectProperty(o.node, 'database'), argSrc: o.src };
  }
  return undefined;
}

/**
 * Knex configs, one per environment (a knexfile's), of which NODE_ENV picks one at run time: the
 * same SQLite file in each is that file; anything else is for --db-path. Beside a production entry
 * on disk, in-memory entries (a test environment's `:memory:`) hold nothing a deploy runs on.
 */
function perEnvironment(
  envs: Array<{ key: string; value: { src: ParsedSource; node: Node } }>,
  src: ParsedSource,
  ev: Evaluator,
): Match | undefined {
  if (envs.length === 0) return undefined;
  const found = envs.map((e) => {
    const m = knexConfig(e.value, ev);
    return { name: e.key, m, value: m && ev.value(m.argSrc ?? src, m.arg) };
  });
  const sqlite = found.filter((f) => f.m);
  if (sqlite.length === 0) return undefined;
  const inMemory = (f: (typeof found)[number]) => f.value?.kind === 'str' && isInMemory(f.value.value);
  // Beside a production entry on disk, in-memory ones (a test environment's) do not count.
  const production = sqlite.find((f) => f.name === 'production');
  const considered = production && !inMemory(production) ? sqlite.filter((f) => !inMemory(f)) : sqlite;
  const key = (v: PathValue | undefined) => JSON.stringify(v ?? null);
  if (
    sqlite.length === found.length &&
    considered[0].value &&
    considered.every((f) => key(f.value) === key(considered[0].value))
  )
    return considered[0].m;
  const each = found.map((f) => `${f.name}: ${f.m ? showValue(f.value) : 'not SQLite'}`);
  // A deployed app runs with NODE_ENV=production (ls-mix's Dockerfile sets it): say so when
  // that environment has no entry at all — knex then gets no config and fails at start.
  if (!found.some((f) => f.name === 'production')) each.push('none for production');
  const prod = found.find((f) => f.name === 'production');
  return {
    via: 'Knex',
    describe: `a config per environment (${each.join(', ')})`,
    // A production path ls-mix cannot work out is left to --db-path, as any such path is.
    production: prod && (prod.m ? (prod.value ? { value: prod.value } : undefined) : { notSqlite: true }),
  };
}

/** A path value for a message: the string, or the env var with its default. */
function showValue(v: PathValue | undefined): string {
  if (!v) return 'unknown';
  // A path built from __dirname / process.cwd() starts with the app folder's marker (CWD).
  const shown = (p: string) => (p.startsWith(CWD) ? path.posix.relative(CWD, p) || '.' : p);
  if (v.kind === 'str') return shown(v.value);
  return `${v.name}${v.suffix ? ` + ${v.suffix}` : ''}${v.fallback !== undefined ? ` or ${shown(v.fallback)}` : ''}`;
}

/** A Knex config object's SQLite file argument; undefined when its client is not SQLite. */
function knexConfig(cfg: { src: ParsedSource; node: Node }, ev: Evaluator): Match | undefined {
  // Spreads and Object.assign count: `{ ...common, connection: { filename } }` is a common knexfile.
  const clientAt = ev.property(cfg, 'client');
  const client = clientAt && ev.value(clientAt.src, clientAt.node);
  if (client?.kind !== 'str' || !SQLITE_CLIENTS.has(client.value)) return undefined;
  const conn = ev.property(cfg, 'connection');
  const connObj = conn && ev.composite(conn.src, conn.node);
  if (connObj) {
    const file = ev.property(connObj, 'filename');
    return { via: 'Knex', arg: file?.node, argSrc: file?.src ?? connObj.src };
  }
  return { via: 'Knex', arg: conn?.node, argSrc: conn?.src ?? cfg.src };
}

/** A TypeORM `type` that is SQLite on every branch (`isProd ? 'better-sqlite3' : 'sqlite'`). */
function isSqliteType(src: ParsedSource, node: Node | undefined, ev: Evaluator): boolean {
  const n = node && unwrap(node);
  if (n?.type === 'ConditionalExpression')
    return isSqliteType(src, n.consequent, ev) && isSqliteType(src, n.alternate, ev);
  const v = ev.value(src, n);
  return v?.kind === 'str' && TYPEORM_TYPES.has(v.value);
}

/** The object literal a `useFactory` of an options object returns (arrow body or `return`). */
function factoryResult(
  options: { src: ParsedSource; node: Node } | undefined,
  ev: Evaluator,
): { src: ParsedSource; node: Node } | undefined {
  if (options?.node.type !== 'ObjectExpression') return undefined;
  let fn: Node | undefined = objectProperty(options.node, 'useFactory');
  if (!fn) {
    const method = options.node.properties.find(
      (p) => p.type === 'ObjectMethod' && p.key.type === 'Identifier' && p.key.name === 'useFactory',
    );
    fn = method as Node | undefined;
  }
  if (fn?.type === 'Identifier') fn = ev.deref(options.src, fn)?.node;
  if (!fn || !('body' in fn) || !fn.body) return undefined;
  const body = fn.body as Node;
  if (body.type !== 'BlockStatement') return ev.object(options.src, body);
  const ret = body.body.find((st) => st.type === 'ReturnStatement');
  return ret?.type === 'ReturnStatement' ? ev.object(options.src, ret.argument as Node) : undefined;
}

function prop(
  src: ParsedSource,
  ev: Evaluator,
  arg: Node | undefined,
  key: string,
): { arg?: Node; argSrc?: ParsedSource } {
  const o = ev.object(src, arg);
  return o ? { arg: objectProperty(o.node, key), argSrc: o.src } : {};
}

/** drizzle('path') / drizzle({ connection: 'path' | { url | source } }); drizzle(client) opens nothing itself. */
function drizzleArg(m: string, arg: Node | undefined, src: ParsedSource, ev: Evaluator): Match | undefined {
  const url = m.endsWith('libsql');
  if (!arg) return undefined;
  const o = ev.object(src, arg);
  if (!o) {
    const v = ev.value(src, arg);
    return v ? { via: 'Drizzle', arg, url } : undefined;
  }
  const conn = objectProperty(o.node, 'connection');
  if (!conn) return undefined;
  const c = ev.object(o.src, conn);
  if (!c) return { via: 'Drizzle', arg: conn, argSrc: o.src, url };
  return {
    via: 'Drizzle',
    arg: objectProperty(c.node, 'url') ?? objectProperty(c.node, 'source'),
    argSrc: c.src,
    url,
  };
}
