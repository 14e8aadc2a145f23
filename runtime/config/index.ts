import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import * as v from 'valibot';
import type { LineCounter, Node, parseDocument } from 'yaml';
import { UserError } from '../errors.js';
import { isReplicaUrl, parseReplicaUrl } from '../replica/url.js';
import { parseAddr } from '../server/addr.js';
import { ageIdentityProblem, ageRecipientProblem, base64Problem, httpUrlProblem } from './checks.js';
import { expandValue } from './env.js';
import { fileSchema, type RawDb, type RawReplica } from './schema.js';
import { assertDistinctReplicaLocations } from './shared-location.js';
import { type Config, type DbConfig, DEFAULTS, type ReplicaConfig } from './types.js';

/**
 * The YAML parser loads when a config file is read, not for a restore or replicate given by URL
 * (~1-2 MiB of RSS less there). A plain require: `yaml` is CommonJS under Node either way.
 */
let yamlModule: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
};
const isMap = (n: unknown) => yaml().isMap(n);
const isPair = (n: unknown) => yaml().isPair(n);
const isScalar = (n: unknown) => yaml().isScalar(n);
const isSeq = (n: unknown) => yaml().isSeq(n);

export * from './duration.js';
export * from './types.js';

export interface ParseOptions {
  /** File name used in error messages. */
  source?: string;
  /** Environment for `$VAR` expansion and LITESTREAM_* defaults (defaults to process.env). */
  env?: Record<string, string | undefined>;
  /** Expand `$VAR`/`${VAR}` in values (default true; Litestream's -no-expand-env). */
  expandEnv?: boolean;
  /**
   * Where load-time warnings go (an unset variable, expanded to ""). Default: one
   * `Warning: ...` line on stderr. They are also in `Config.warnings`.
   */
  warn?: (message: string) => void;
  /** Base for relative paths (default process.cwd(), as Litestream). */
  cwd?: string;
}

type Path = (string | number)[];

/** Resolves a key path (dbs.0.path) to the 1-based line of its YAML node. */
class Locator {
  /** keyName -> variables that were unset when the key's value was expanded. */
  readonly unsetVars = new Map<string, string[]>();

  private parsed: { doc: ReturnType<typeof parseDocument>; lines: LineCounter } | undefined;

  /** `parse` runs only when a line is asked for (an error): see configFromArgs. */
  constructor(
    private readonly parse: () => { doc: ReturnType<typeof parseDocument>; lines: LineCounter },
    readonly source: string,
  ) {}

  private get doc(): ReturnType<typeof parseDocument> {
    this.parsed ??= this.parse();
    return this.parsed.doc;
  }

  private get lines(): LineCounter {
    this.parsed ??= this.parse();
    return this.parsed.lines;
  }

  /** " (it comes from $X, which is not set)" when an unset variable emptied this key. */
  unsetNote(path: Path): string {
    const vars = this.unsetVars.get(keyName(path));
    return vars ? ` (it comes from ${vars.map((v) => `$${v}`).join(', ')}, which is not set)` : '';
  }

  line(path: Path, key?: string): number | undefined {
    let node = this.doc.getIn(path, true) as Node | undefined;
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair && isScalar(pair.key)) node = pair.key;
    } else if (path.length > 0 && node === undefined) {
      return this.line(path.slice(0, -1));
    }
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : this.lines.linePos(offset).line;
  }

  error(path: Path, message: string, hint?: string, key?: string): UserError {
    const line = this.line(path, key);
    return new UserError(`${line === undefined ? this.source : `${this.source}:${line}`}: ${message}`, {
      hint,
    });
  }

  /** An error about the value of one key: "FILE:LINE: dbs[0].path: message". */
  keyError(path: Path, message: string, hint?: string): UserError {
    return this.error(path, `${keyName(path)}: ${message}${this.unsetNote(path)}`, hint);
  }
}

function keyName(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** A valibot schema as walked here: optional wraps, arrays have an item, objects entries. */
interface SchemaNode {
  type: string;
  expects?: string;
  wrapped?: SchemaNode;
  item?: SchemaNode;
  entries?: Record<string, SchemaNode>;
}

function unwrap(schema: SchemaNode | undefined): SchemaNode | undefined {
  let s = schema;
  while (s?.type === 'optional') s = s.wrapped;
  return s;
}

/** The schema at a key path (dbs.0.path), or undefined past a leaf. */
function schemaAt(path: Path): SchemaNode | undefined {
  let s = unwrap(fileSchema as unknown as SchemaNode);
  for (const p of path) {
    if (typeof p === 'number' && s?.type === 'array') s = unwrap(s.item);
    else if (typeof p === 'string' && s?.entries) s = unwrap(s.entries[p]);
    else return undefined;
  }
  return s;
}

/** The keys allowed where an unknown key was found. */
function knownKeys(path: Path): string[] {
  const entries = schemaAt(path)?.entries;
  return entries ? Object.keys(entries) : [];
}

type Issue = v.InferIssue<typeof fileSchema>;

function issuePath(issue: Issue): Path {
  return (issue.path ?? []).map((item) => item.key as string | number);
}

function expectedText(expected: string): string {
  return expected === 'Object' ? 'a mapping' : expected === 'Array' ? 'a list' : `a ${expected}`;
}

function toUserError(issue: Issue, loc: Locator): UserError {
  const full = issuePath(issue);
  const last = issue.path?.[issue.path.length - 1];
  if (issue.type === 'strict_object' && last?.origin === 'key') {
    const path = full.slice(0, -1);
    const key = String(last.key);
    if (issue.expected !== 'never') {
      // A required key that is missing: say what it should hold.
      const expects = schemaAt(full)?.expects;
      return loc.error(full, `${keyName(full)}: expected ${expectedText(expects ?? 'value')}`);
    }
    const allowed = knownKeys(path);
    const guess = allowed.length > 0 ? closest(key, allowed) : undefined;
    const where = path.length > 0 ? ` in ${keyName(path)}` : '';
    return loc.error(
      path,
      `unknown key "${key}"${where}`,
      guess && distance(key, guess) <= 3
        ? `Did you mean "${guess}"?`
        : allowed.length > 0
          ? `Allowed here: ${allowed.join(', ')}.`
          : undefined,
      key,
    );
  }
  const path = full;
  const name = keyName(path) || 'document';
  if (issue.type === 'picklist') {
    const values = [...(issue.expected ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    return loc.error(path, `${name}: must be one of ${values.join(', ')}`);
  }
  // Unions (durations, string lists) carry their own message (schema.ts).
  if (issue.kind === 'schema' && issue.type !== 'union' && issue.expected) {
    return loc.error(path, `${name}: expected ${expectedText(issue.expected)}`);
  }
  return loc.error(path, `${name}: ${issue.message}`);
}

function expandPath(p: string, cwd: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return resolve(cwd, p);
}

interface Defaults {
  accessKeyId?: string;
  secretAccessKey?: string;
  azureAccountKey?: string;
}

function buildReplica(
  raw: RawReplica,
  path: Path,
  loc: Locator,
  defaults: Defaults,
  cwd: string,
): ReplicaConfig {
  let fromUrl: ReturnType<typeof parseReplicaUrl> | undefined;
  if (raw.url !== undefined) {
    try {
      fromUrl = isReplicaUrl(raw.url) ? parseReplicaUrl(raw.url) : { type: 'file', path: raw.url };
    } catch (err) {
      const e = err as UserError;
      throw loc.keyError([...path, 'url'], e.message, e.hint);
    }
  }
  // Litestream: a URL's scheme wins over `type`; neither means file.
  const type = fromUrl?.type ?? raw.type ?? 'file';
  const r: ReplicaConfig = {
    type,
    name: raw.name ?? type,
    url: raw.url,
    path: raw.path ?? fromUrl?.path ?? '',
    retention: raw.retention ?? DEFAULTS.retention,
    retentionCheckInterval: raw['retention-check-interval'] ?? DEFAULTS.retentionCheckInterval,
    syncInterval: raw['sync-interval'] ?? DEFAULTS.syncInterval,
    snapshotInterval: raw['snapshot-interval'] ?? DEFAULTS.snapshotInterval,
    validationInterval: raw['validation-interval'] ?? DEFAULTS.validationInterval,
  };
  if (raw.age) r.age = { recipients: raw.age.recipients ?? [], identities: raw.age.identities ?? [] };
  const set = <K extends keyof ReplicaConfig>(k: K, v: ReplicaConfig[K] | undefined) => {
    if (v !== undefined && v !== '') r[k] = v;
  };
  if (type === 's3') {
    set('bucket', raw.bucket ?? fromUrl?.bucket);
    set('region', raw.region ?? fromUrl?.region);
    set('endpoint', raw.endpoint ?? fromUrl?.endpoint);
    set(
      'forcePathStyle',
      raw['force-path-style'] ?? fromUrl?.forcePathStyle ?? (r.endpoint ? true : undefined),
    );
    set('skipVerify', raw['skip-verify'] ?? fromUrl?.skipVerify);
    set('accessKeyId', raw['access-key-id'] ?? defaults.accessKeyId);
    set('secretAccessKey', raw['secret-access-key'] ?? defaults.secretAccessKey);
    if (!r.bucket)
      throw loc.keyError(
        [...path, raw.bucket !== undefined ? 'bucket' : raw.url !== undefined ? 'url' : 'type'],
        's3 replica needs a bucket',
        'Set "bucket", or use url: s3://BUCKET/PATH.',
      );
  } else if (type === 'abs') {
    set('bucket', raw.bucket ?? fromUrl?.bucket);
    set('accountName', raw['account-name'] ?? fromUrl?.accountName);
    set('accountKey', raw['account-key'] ?? defaults.azureAccountKey);
    set('endpoint', raw.endpoint ?? fromUrl?.endpoint);
    set('sasToken', raw['sas-token']);
    set('connectionString', raw['connection-string']);
    if (!r.bucket)
      throw loc.keyError(
        [...path, raw.bucket !== undefined ? 'bucket' : raw.url !== undefined ? 'url' : 'type'],
        'abs replica needs a container ("bucket")',
        'Set "bucket", or use url: abs://ACCOUNT@CONTAINER/PATH.',
      );
    if (!r.accountName && !r.connectionString) {
      throw loc.keyError(
        [
          ...path,
          raw['account-name'] !== undefined ? 'account-name' : raw.url !== undefined ? 'url' : 'type',
        ],
        'abs replica needs "account-name" (or "connection-string")',
      );
    }
  } else if (type === 'gcs') {
    set('bucket', raw.bucket ?? fromUrl?.bucket);
    set('endpoint', raw.endpoint);
    if (!r.bucket)
      throw loc.keyError(
        [...path, raw.bucket !== undefined ? 'bucket' : raw.url !== undefined ? 'url' : 'type'],
        'gcs replica needs a bucket',
        'Set "bucket", or use url: gs://BUCKET/PATH.',
      );
  } else if (type === 'sftp') {
    set('host', raw.host ?? fromUrl?.host);
    set('user', raw.user ?? fromUrl?.user);
    set('password', raw.password ?? fromUrl?.password);
    set('keyPath', raw['key-path'] === undefined ? undefined : expandPath(raw['key-path'], cwd));
    set('passphrase', raw.passphrase);
    set('hostKey', raw['host-key']);
    set(
      'knownHostsPath',
      raw['known-hosts-path'] === undefined ? undefined : expandPath(raw['known-hosts-path'], cwd),
    );
    set('insecureIgnoreHostKey', raw['insecure-ignore-host-key']);
    if (!r.host)
      throw loc.keyError(
        [...path, raw.host !== undefined ? 'host' : raw.url !== undefined ? 'url' : 'type'],
        'sftp replica needs a host',
        'Set "host", or use url: sftp://USER@HOST[:PORT]/PATH.',
      );
  } else {
    if (!r.path)
      throw loc.keyError(
        [...path, raw.path !== undefined ? 'path' : raw.url !== undefined ? 'url' : 'type'],
        'file replica needs a path',
        'Set "path" to a folder, or use url: file:///FOLDER.',
      );
    r.path = expandPath(r.path, cwd);
  }
  checkReplicaValues(raw, r, path, loc);
  // Keys that belong to another storage type are almost always a copy-paste mistake.
  const foreign = foreignKeys(raw, type);
  if (foreign) {
    throw loc.error(path, `key "${foreign}" does not apply to a ${type} replica`, undefined, foreign);
  }
  return r;
}

/** Values that can be checked without contacting anything (age keys, URLs, base64). */
function checkReplicaValues(raw: RawReplica, r: ReplicaConfig, path: Path, loc: Locator): void {
  raw.age?.recipients?.forEach((k, i) => {
    const problem = ageRecipientProblem(k.trim());
    if (problem)
      throw loc.keyError([...path, 'age', 'recipients', i], problem, 'Generate one with age-keygen.');
  });
  raw.age?.identities?.forEach((k, i) => {
    const problem = ageIdentityProblem(k.trim());
    if (problem)
      throw loc.keyError([...path, 'age', 'identities', i], problem, 'Generate one with age-keygen.');
  });
  if (r.endpoint !== undefined) {
    // Litestream accepts a scheme-less HOST[:PORT] (https:// is assumed).
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(r.endpoint) ? r.endpoint : `https://${r.endpoint}`;
    // A path is fine (Azurite and other emulators serve the account under /ACCOUNT); blanks,
    // a query or a fragment are not.
    const problem = /[\s?#]/.test(withScheme)
      ? `"${r.endpoint}" is not a URL (expected http(s)://HOST[:PORT][/PATH] or HOST[:PORT])`
      : httpUrlProblem(withScheme);
    if (problem) {
      throw loc.keyError(
        [...path, raw.endpoint !== undefined ? 'endpoint' : 'url'],
        problem,
        'For example endpoint: https://s3.example.com or http://127.0.0.1:9000.',
      );
    }
  }
  if (r.accountKey !== undefined) {
    const problem = base64Problem(r.accountKey);
    if (problem) {
      if (raw['account-key'] === undefined) {
        throw new UserError(`LITESTREAM_AZURE_ACCOUNT_KEY ${problem}`, {
          hint: `It is the account key of ${keyName(path)} in ${loc.source}.`,
        });
      }
      throw loc.keyError([...path, 'account-key'], problem);
    }
  }
}

/** A replica must never write over (or into the local state of) the db it backs up. */
function checkReplicaAgainstDb(r: ReplicaConfig, db: DbConfig, path: Path, loc: Locator): void {
  if (r.type !== 'file') return;
  const key = [...path, r.url !== undefined ? 'url' : 'path'];
  if (r.path === db.path) {
    throw loc.keyError(
      key,
      `is the database file itself (${db.path})`,
      'Point the replica at a folder of its own.',
    );
  }
  const meta = db.metaPath ?? defaultMetaPathOf(db.path);
  if (r.path === meta || r.path.startsWith(`${meta}/`)) {
    throw loc.keyError(
      key,
      `is inside the database's local state ${meta}`,
      'Point the replica at a folder of its own.',
    );
  }
  if (statOrUndefined(r.path)?.isFile()) {
    throw loc.keyError(key, `${r.path} is a file; a file replica is a folder`);
  }
}

/** undefined when the path cannot be stat'ed (missing, a file in the way: ENOTDIR, EACCES). */
function statOrUndefined(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function defaultMetaPathOf(dbPath: string): string {
  const slash = dbPath.lastIndexOf('/');
  return `${dbPath.slice(0, slash + 1)}.${dbPath.slice(slash + 1)}-litestream`;
}

const TYPE_KEYS: Record<string, ReplicaConfig['type'][]> = {
  bucket: ['s3', 'abs', 'gcs'],
  region: ['s3'],
  endpoint: ['s3', 'abs', 'gcs'],
  'force-path-style': ['s3'],
  'skip-verify': ['s3'],
  'access-key-id': ['s3'],
  'secret-access-key': ['s3'],
  'account-name': ['abs'],
  'account-key': ['abs'],
  'sas-token': ['abs'],
  'connection-string': ['abs'],
  host: ['sftp'],
  user: ['sftp'],
  password: ['sftp'],
  'key-path': ['sftp'],
  passphrase: ['sftp'],
  'host-key': ['sftp'],
  'known-hosts-path': ['sftp'],
  'insecure-ignore-host-key': ['sftp'],
};

function foreignKeys(raw: RawReplica, type: ReplicaConfig['type']): string | undefined {
  return Object.keys(raw).find((k) => TYPE_KEYS[k] && !TYPE_KEYS[k].includes(type));
}

function buildDb(raw: RawDb, path: Path, loc: Locator, defaults: Defaults, cwd: string): DbConfig {
  if (raw.path.trim() === '') {
    throw loc.keyError(
      [...path, 'path'],
      'is empty',
      'Set it to the SQLite database file, e.g. /data/app.db.',
    );
  }
  const dbPath = expandPath(raw.path, cwd);
  if (statOrUndefined(dbPath)?.isDirectory()) {
    throw loc.keyError(
      [...path, 'path'],
      `${dbPath} is a directory, not a database file`,
      'Name the database file itself, e.g. /data/app.db.',
    );
  }
  const db: DbConfig = {
    path: dbPath,
    monitorInterval: raw['monitor-interval'] ?? DEFAULTS.monitorInterval,
    checkpointInterval: raw['checkpoint-interval'] ?? DEFAULTS.checkpointInterval,
    minCheckpointPageCount: raw['min-checkpoint-page-count'] ?? DEFAULTS.minCheckpointPageCount,
    maxCheckpointPageCount: raw['max-checkpoint-page-count'] ?? DEFAULTS.maxCheckpointPageCount,
    replicas: [],
  };
  if (raw['meta-path'] !== undefined) db.metaPath = expandPath(raw['meta-path'], cwd);
  if (raw.upstream) {
    const up = [...path, 'upstream'];
    const problem = httpUrlProblem(raw.upstream.url);
    if (problem) throw loc.keyError([...up, 'url'], problem, "The primary's addr, e.g. http://primary:9090.");
    if (raw.upstream.token !== undefined && raw.upstream.token.trim() === '') {
      throw loc.keyError(
        [...up, 'token'],
        'is empty',
        "Set it to the primary's auth-token, or remove the key when the primary has none.",
      );
    }
    db.upstream = { ...raw.upstream };
  }
  if (db.monitorInterval <= 0) {
    throw loc.error(
      [...path, 'monitor-interval'],
      `${keyName([...path, 'monitor-interval'])}: must be greater than 0`,
    );
  }
  if (db.maxCheckpointPageCount > 0 && db.minCheckpointPageCount > db.maxCheckpointPageCount) {
    throw loc.error(
      [...path, 'min-checkpoint-page-count'],
      `${keyName(path)}: min-checkpoint-page-count (${db.minCheckpointPageCount}) is above max-checkpoint-page-count (${db.maxCheckpointPageCount})`,
    );
  }
  const names = new Map<string, number>();
  (raw.replicas ?? []).forEach((rr, i) => {
    const rpath = [...path, 'replicas', i];
    const r = buildReplica(rr, rpath, loc, defaults, cwd);
    checkReplicaAgainstDb(r, db, rpath, loc);
    const prev = names.get(r.name);
    if (prev !== undefined) {
      throw loc.error(
        rpath,
        `duplicate replica name "${r.name}" (also ${keyName([...path, 'replicas', prev])})`,
        'Give each replica of a db a unique "name" (it defaults to the type).',
      );
    }
    if (r.syncInterval <= 0) {
      throw loc.error(
        [...rpath, 'sync-interval'],
        `${keyName([...rpath, 'sync-interval'])}: must be greater than 0`,
      );
    }
    names.set(r.name, i);
    db.replicas.push(r);
  });
  return db;
}

/**
 * Expand `$VAR` in every string value of the parsed document (never in keys), in place. Values
 * keep their nodes, so line numbers stay right and the environment cannot change the structure.
 */
function expandDocument(
  node: unknown,
  path: Path,
  env: Record<string, string | undefined>,
  loc: Locator,
  warnings: string[],
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key !== undefined) expandDocument(pair.value, [...path, key], env, loc, warnings);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      expandDocument(item, [...path, i], env, loc, warnings);
    });
  } else if (isScalar(node) && typeof node.value === 'string') {
    const e = expandValue(node.value, env);
    if (e.invalid) {
      throw loc.keyError(
        path,
        `invalid variable reference "${e.invalid}"`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: config syntax, not a template
        'Use $NAME or ${NAME}; write $$ for a literal dollar sign.',
      );
    }
    if (e.unset.length > 0) {
      loc.unsetVars.set(keyName(path), e.unset);
      const line = loc.line(path);
      warnings.push(
        `${loc.source}${line === undefined ? '' : `:${line}`}: ${keyName(path)}: environment variable ` +
          `${e.unset.join(', ')} is not set; using an empty value`,
      );
    }
    node.value = e.value;
  }
}

function stderrWarning(message: string): void {
  process.stderr.write(`Warning: ${message}\n`);
}

/** Parse and validate litestream.yml text. Throws UserError naming file, line and key. */
export function parseConfig(yamlText: string, opts: ParseOptions = {}): Config {
  const source = opts.source ?? 'litestream.yml';
  const env = opts.env ?? process.env;
  // The file as written is parsed first: `$VAR` values are expanded afterwards, one value at a
  // time, so no secret can change the YAML or appear in a parse error.
  const { doc, lines } = parseYaml(yamlText);
  const loc = new Locator(() => ({ doc, lines }), source);
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? lines.linePos(yamlError.pos[0]).line;
    const msg = yamlError.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new UserError(`${source}:${line}: invalid YAML: ${msg}`);
  }
  const warnings: string[] = [];
  if (opts.expandEnv !== false) expandDocument(doc.contents, [], env, loc, warnings);
  return buildConfig(doc.toJS() ?? {}, loc, warnings, opts);
}

function parseYaml(text: string): { doc: ReturnType<typeof parseDocument>; lines: LineCounter } {
  const lines = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  return { doc, lines };
}

/** Validate parsed config data and resolve it; `loc` places errors in the source text. */
function buildConfig(data: unknown, loc: Locator, warnings: string[], opts: ParseOptions): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const parsed = v.safeParse(fileSchema, data);
  if (!parsed.success) {
    const issues = [...parsed.issues].sort(
      (a, b) => (loc.line(issuePath(a)) ?? 0) - (loc.line(issuePath(b)) ?? 0),
    );
    throw toUserError(issues[0], loc);
  }
  const raw = parsed.output;
  const defaults: Defaults = {
    accessKeyId: raw['access-key-id'] ?? env.LITESTREAM_ACCESS_KEY_ID,
    secretAccessKey: raw['secret-access-key'] ?? env.LITESTREAM_SECRET_ACCESS_KEY,
    azureAccountKey: env.LITESTREAM_AZURE_ACCOUNT_KEY,
  };
  const config: Config = {
    source: opts.source,
    logging: {
      level: raw.logging?.level ?? 'info',
      type: raw.logging?.type ?? 'text',
      // Litestream logs to stdout unless `logging.stderr: true`.
      stderr: raw.logging?.stderr ?? false,
    },
    dbs: [],
    warnings,
  };
  if (raw.addr !== undefined) {
    try {
      parseAddr(raw.addr);
    } catch (err) {
      throw loc.keyError(['addr'], `"${raw.addr}" is not HOST:PORT or :PORT`, (err as UserError).hint);
    }
    config.addr = raw.addr;
  }
  if (raw['auth-token'] !== undefined) {
    if (raw['auth-token'].trim() === '') {
      throw loc.keyError(
        ['auth-token'],
        'is empty: an empty token would let anyone read the databases',
        'Set it to a long random secret (openssl rand -hex 32), or remove the key to run without auth.',
      );
    }
    config.authToken = raw['auth-token'];
  }
  if (raw.http) config.http = { ...raw.http };
  if (raw.exec !== undefined) config.exec = raw.exec;
  if (raw['access-key-id'] !== undefined) config.accessKeyId = raw['access-key-id'];
  if (raw['secret-access-key'] !== undefined) config.secretAccessKey = raw['secret-access-key'];
  const seen = new Map<string, number>();
  (raw.dbs ?? []).forEach((rd, i) => {
    const db = buildDb(rd, ['dbs', i], loc, defaults, cwd);
    const prev = seen.get(db.path);
    if (prev !== undefined) {
      throw loc.error(['dbs', i, 'path'], `dbs[${i}].path: ${db.path} is already listed as dbs[${prev}]`);
    }
    seen.set(db.path, i);
    config.dbs.push(db);
  });
  if (raw['shutdown-sync-timeout'] !== undefined) config.shutdownSyncTimeout = raw['shutdown-sync-timeout'];
  assertDistinctReplicaLocations(config);
  for (const w of warnings) (opts.warn ?? stderrWarning)(w);
  return config;
}

/** The config path to use: explicit, else $LITESTREAM_CONFIG, else /etc/litestream.yml. */
export function configPath(path?: string, env: Record<string, string | undefined> = process.env): string {
  return path ?? env.LITESTREAM_CONFIG ?? DEFAULTS.configPath;
}

/** Read and parse a config file (see parseConfig). A missing file is a UserError. */
export async function loadConfig(path?: string, opts: Omit<ParseOptions, 'source'> = {}): Promise<Config> {
  const file = configPath(path, opts.env ?? process.env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `config file not found: ${file}`
        : `cannot read config file ${file}: ${code ?? String(err)}`,
      { hint: 'Pass -config PATH, set LITESTREAM_CONFIG, or create /etc/litestream.yml.', cause: err },
    );
  }
  return parseConfig(text, { ...opts, source: file });
}

/**
 * The config of `ls-mix replicate DB_PATH REPLICA_URL...`: one db, one replica per URL with
 * default intervals (names: the type, then type2, type3... when a type repeats).
 */
export function configFromArgs(
  dbPath: string,
  replicaUrls: string[],
  opts: Omit<ParseOptions, 'source' | 'expandEnv'> = {},
): Config {
  // URL problems read better as the URL parser states them than as a position in a fake file.
  for (const url of replicaUrls) if (isReplicaUrl(url)) parseReplicaUrl(url);
  const counts = new Map<string, number>();
  const doc = {
    dbs: [
      {
        path: dbPath,
        replicas: replicaUrls.map((url) => {
          const type = isReplicaUrl(url) ? parseReplicaUrl(url).type : 'file';
          const n = (counts.get(type) ?? 0) + 1;
          counts.set(type, n);
          return { url, name: n === 1 ? type : `${type}${n}` };
        }),
      },
    ],
  };
  // Built as data, not parsed: the YAML parser loads only if an error needs a position in it.
  const source = 'command line';
  return buildConfig(doc, new Locator(() => parseYaml(JSON.stringify(doc)), source), [], {
    ...opts,
    source,
    expandEnv: false,
  });
}
