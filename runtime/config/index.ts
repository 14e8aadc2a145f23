import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import { isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../errors.js';
import { isReplicaUrl, parseReplicaUrl } from '../replica/url.js';
import { expandEnv } from './env.js';
import { fileSchema, type RawDb, type RawReplica } from './schema.js';
import { assertDistinctReplicaLocations } from './shared-location.js';
import { type Config, type DbConfig, DEFAULTS, type ReplicaConfig } from './types.js';

export * from './duration.js';
export * from './types.js';

export interface ParseOptions {
  /** File name used in error messages. */
  source?: string;
  /** Environment for `$VAR` expansion and LITESTREAM_* defaults (defaults to process.env). */
  env?: Record<string, string | undefined>;
  /** Expand `$VAR`/`${VAR}` before parsing (default true; Litestream's -no-expand-env). */
  expandEnv?: boolean;
  /** Base for relative paths (default process.cwd(), as Litestream). */
  cwd?: string;
}

type Path = (string | number)[];

/** Resolves a key path (dbs.0.path) to the 1-based line of its YAML node. */
class Locator {
  constructor(
    private readonly doc: ReturnType<typeof parseDocument>,
    private readonly lines: LineCounter,
    readonly source: string,
  ) {}

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
    const where = line === undefined ? this.source : `${this.source}:${line}`;
    return new UserError(`${where}: ${message}`, { hint });
  }
}

function keyName(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function knownKeys(schema: z.ZodType, path: Path): string[] {
  // Walk the schema along the path to list the keys allowed where an unknown key was found.
  let s: unknown = schema;
  for (const p of path) {
    const def = (
      s as {
        def?: { type?: string; shape?: Record<string, unknown>; element?: unknown; innerType?: unknown };
      }
    ).def;
    if (!def) return [];
    if (def.type === 'optional') s = def.innerType;
    const d = (
      s as { def: { type: string; shape?: Record<string, unknown>; element?: unknown; innerType?: unknown } }
    ).def;
    if (typeof p === 'number' && d.type === 'array') s = d.element;
    else if (typeof p === 'string' && d.shape) s = d.shape[p];
    else return [];
  }
  let d = (s as { def?: { type: string; shape?: Record<string, unknown>; innerType?: unknown } }).def;
  if (d?.type === 'optional') d = (d.innerType as { def: typeof d }).def;
  return d?.shape ? Object.keys(d.shape) : [];
}

function toUserError(issue: z.core.$ZodIssue, loc: Locator): UserError {
  const path = issue.path as Path;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const allowed = knownKeys(fileSchema, path);
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
  const name = keyName(path) || 'document';
  if (issue.code === 'invalid_type') {
    const expected = issue.expected;
    return loc.error(
      path,
      `${name}: expected ${expected === 'object' ? 'a mapping' : expected === 'array' ? 'a list' : `a ${expected}`}`,
    );
  }
  if (issue.code === 'invalid_value') {
    return loc.error(path, `${name}: must be one of ${issue.values.map(String).join(', ')}`);
  }
  if (issue.code === 'invalid_union') {
    // Durations and string lists: report the custom message of the closest branch.
    const inner = issue.errors.flat().find((e) => e.code === 'custom');
    if (inner) return loc.error(path, `${name}: ${inner.message}`);
    return loc.error(path, `${name}: invalid value`);
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
      throw loc.error([...path, 'url'], `${keyName([...path, 'url'])}: ${e.message}`, e.hint);
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
      throw loc.error(
        path,
        `${keyName(path)}: s3 replica needs a bucket`,
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
      throw loc.error(
        path,
        `${keyName(path)}: abs replica needs a container ("bucket")`,
        'Set "bucket", or use url: abs://ACCOUNT@CONTAINER/PATH.',
      );
    if (!r.accountName && !r.connectionString) {
      throw loc.error(path, `${keyName(path)}: abs replica needs "account-name" (or "connection-string")`);
    }
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
      throw loc.error(
        path,
        `${keyName(path)}: sftp replica needs a host`,
        'Set "host", or use url: sftp://USER@HOST[:PORT]/PATH.',
      );
  } else {
    if (!r.path)
      throw loc.error(
        path,
        `${keyName(path)}: file replica needs a path`,
        'Set "path" to a folder, or use url: file:///FOLDER.',
      );
    r.path = expandPath(r.path, cwd);
  }
  // Keys that belong to another storage type are almost always a copy-paste mistake.
  const foreign = foreignKeys(raw, type);
  if (foreign) {
    throw loc.error(path, `key "${foreign}" does not apply to a ${type} replica`, undefined, foreign);
  }
  return r;
}

const TYPE_KEYS: Record<string, ReplicaConfig['type'][]> = {
  bucket: ['s3', 'abs'],
  region: ['s3'],
  endpoint: ['s3', 'abs'],
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
  const db: DbConfig = {
    path: expandPath(raw.path, cwd),
    monitorInterval: raw['monitor-interval'] ?? DEFAULTS.monitorInterval,
    checkpointInterval: raw['checkpoint-interval'] ?? DEFAULTS.checkpointInterval,
    minCheckpointPageCount: raw['min-checkpoint-page-count'] ?? DEFAULTS.minCheckpointPageCount,
    maxCheckpointPageCount: raw['max-checkpoint-page-count'] ?? DEFAULTS.maxCheckpointPageCount,
    replicas: [],
  };
  if (raw['meta-path'] !== undefined) db.metaPath = expandPath(raw['meta-path'], cwd);
  if (raw.upstream) db.upstream = { ...raw.upstream };
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

/** Parse and validate litestream.yml text. Throws UserError naming file, line and key. */
export function parseConfig(yamlText: string, opts: ParseOptions = {}): Config {
  const source = opts.source ?? 'litestream.yml';
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const text = opts.expandEnv === false ? yamlText : expandEnv(yamlText, env, source);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const loc = new Locator(doc, lines, source);
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? lines.linePos(yamlError.pos[0]).line;
    const msg = yamlError.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new UserError(`${source}:${line}: invalid YAML: ${msg}`);
  }
  const data = doc.toJS() ?? {};
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issues = [...parsed.error.issues].sort(
      (a, b) => (loc.line(a.path as Path) ?? 0) - (loc.line(b.path as Path) ?? 0),
    );
    throw toUserError(issues[0], loc);
  }
  const raw = parsed.data;
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
      stderr: raw.logging?.stderr ?? true,
    },
    dbs: [],
  };
  if (raw.addr !== undefined) config.addr = raw.addr;
  if (raw['auth-token'] !== undefined) config.authToken = raw['auth-token'];
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
  return parseConfig(JSON.stringify(doc), { ...opts, source: 'command line', expandEnv: false });
}
