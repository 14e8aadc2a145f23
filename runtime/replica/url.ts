/**
 * Replica URLs, as Litestream v0.3.13 accepts them on the command line and in `url:` keys:
 *
 *   file:///abs/folder
 *   s3://BUCKET/PATH[?endpoint=HOST:PORT&region=R&force-path-style=true&skip-verify=false]
 *   abs://ACCOUNT@CONTAINER/PATH
 *   sftp://USER[:PASSWORD]@HOST[:PORT]/PATH
 *   gs://BUCKET/PATH
 *
 * Object paths of s3/abs/sftp are relative (leading slash dropped, as Litestream does).
 */
import { posix } from 'node:path';
import type { ReplicaConfig, ReplicaType } from '../config/types.js';
import { UserError } from '../errors.js';
import { redactUrl } from '../log.js';

const SCHEME_RE = /^([a-z][a-z0-9+.-]*):\/\//i;
const TYPES: Record<string, ReplicaType> = { file: 'file', s3: 's3', abs: 'abs', sftp: 'sftp', gs: 'gcs' };
const S3_QUERY = ['endpoint', 'region', 'force-path-style', 'skip-verify'];

/** True when `s` looks like `scheme://...` (else it is a path, e.g. a database path). */
export function isReplicaUrl(s: string): boolean {
  return SCHEME_RE.test(s);
}

function bad(url: string, problem: string, hint?: string): UserError {
  return new UserError(`invalid replica URL "${redactUrl(url)}": ${problem}`, {
    hint:
      hint ??
      'Use file:///FOLDER, s3://BUCKET/PATH, gs://BUCKET/PATH, abs://ACCOUNT@CONTAINER/PATH or sftp://USER@HOST[:PORT]/PATH.',
  });
}

function decode(url: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad(url, `bad percent-encoding in "${s}"`);
  }
}

/** Litestream: relative object path, cleaned, no leading slash. */
function objectPath(url: string, pathname: string): string {
  const clean = posix.normalize(decode(url, pathname) || '/').replace(/^\/+/, '');
  return clean === '.' ? '' : clean.replace(/\/+$/, '');
}

function parseBool(url: string, key: string, value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw bad(url, `query parameter ${key}=${value} must be true or false`);
}

/** An endpoint without a scheme gets http:// on loopback hosts (local test stores), else https://. */
function endpointUrl(url: string, value: string): string {
  if (/^https?:\/\//i.test(value)) return value.replace(/\/+$/, '');
  if (!value || /[/?#@]/.test(value))
    throw bad(url, `endpoint "${value}" must be HOST[:PORT] or http(s)://HOST[:PORT]`);
  const host = value.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback =
    host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1';
  return `${loopback ? 'http' : 'https'}://${value}`;
}

/**
 * Litestream v0.3.13's S3 host shortcuts: BUCKET.localhost, BUCKET.s3.REGION.backblazeb2.com,
 * BUCKET.s3.filebase.com, BUCKET.REGION.digitaloceanspaces.com, BUCKET.s3.REGION.scw.cloud,
 * BUCKET.REGION.linodeobjects.com; anything else is the bucket name.
 */
function parseS3Host(
  hostname: string,
  port: string,
): Pick<ReplicaConfig, 'bucket' | 'region' | 'endpoint' | 'forcePathStyle'> {
  const providers: Array<
    [RegExp, (m: RegExpExecArray) => { region?: string; endpoint: string; scheme?: string }]
  > = [
    [/^(?:(.+)\.)?localhost$/, () => ({ region: 'us-east-1', endpoint: 'localhost', scheme: 'http' })],
    [
      /^(?:(.+)\.)?s3\.([^.]+)\.backblazeb2\.com$/,
      (m) => ({ region: m[2], endpoint: `s3.${m[2]}.backblazeb2.com` }),
    ],
    [/^(?:(.+)\.)?s3\.filebase\.com$/, () => ({ endpoint: 's3.filebase.com' })],
    [
      /^(?:(.+)\.)?([^.]+)\.digitaloceanspaces\.com$/,
      (m) => ({ region: m[2], endpoint: `${m[2]}.digitaloceanspaces.com` }),
    ],
    [/^(?:(.+)\.)?s3\.([^.]+)\.scw\.cloud$/, (m) => ({ region: m[2], endpoint: `s3.${m[2]}.scw.cloud` })],
    [
      /^(?:(.+)\.)?([^.]+)\.linodeobjects\.com$/,
      (m) => ({ region: m[2], endpoint: `${m[2]}.linodeobjects.com` }),
    ],
  ];
  for (const [re, fields] of providers) {
    const m = re.exec(hostname);
    if (!m) continue;
    const f = fields(m);
    const endpoint = `${f.scheme ?? 'https'}://${f.endpoint}${port ? `:${port}` : ''}`;
    return { bucket: m[1], region: f.region, endpoint, forcePathStyle: true };
  }
  return { bucket: hostname };
}

/** Parse a replica URL into the config fields it sets. Throws a UserError (password redacted). */
export function parseReplicaUrl(url: string): Partial<ReplicaConfig> & { type: ReplicaType; path: string } {
  const scheme = SCHEME_RE.exec(url)?.[1].toLowerCase();
  if (!scheme) throw bad(url, 'missing scheme');
  const type = TYPES[scheme];
  if (!type) throw bad(url, `unsupported scheme "${scheme}://"`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad(url, 'not a valid URL');
  }
  const query = [...u.searchParams.keys()];
  const allowed = type === 's3' ? S3_QUERY : [];
  const unknown = query.find((k) => !allowed.includes(k));
  if (unknown) {
    throw bad(
      url,
      `unknown query parameter "${unknown}"`,
      allowed.length ? `Supported: ${allowed.join(', ')}.` : `${type}:// URLs take no query parameters.`,
    );
  }

  if (type === 'file') {
    if (u.hostname && u.hostname !== 'localhost') {
      throw bad(
        url,
        `file URLs have no host ("${u.hostname}")`,
        'Use three slashes: file:///absolute/folder.',
      );
    }
    const path = decode(url, u.pathname);
    if (!path || path === '/') throw bad(url, 'missing folder path');
    return { type, url, path: posix.normalize(path) };
  }

  if (!u.hostname)
    throw bad(
      url,
      type === 'abs'
        ? 'missing container'
        : type === 's3' || type === 'gcs'
          ? 'missing bucket'
          : 'missing host',
    );
  const path = objectPath(url, u.pathname);

  if (type === 's3') {
    if (u.username || u.password)
      throw bad(
        url,
        'credentials do not belong in an s3:// URL',
        'Use access-key-id / secret-access-key or LITESTREAM_ACCESS_KEY_ID / LITESTREAM_SECRET_ACCESS_KEY.',
      );
    const out: Partial<ReplicaConfig> & { type: ReplicaType; path: string } = {
      type,
      url,
      path,
      ...parseS3Host(u.hostname, u.port),
    };
    const q = u.searchParams;
    if (q.get('endpoint') !== null) {
      out.endpoint = endpointUrl(url, q.get('endpoint')!);
      out.forcePathStyle = true;
    }
    if (q.get('region')) out.region = q.get('region')!;
    if (q.get('force-path-style') !== null)
      out.forcePathStyle = parseBool(url, 'force-path-style', q.get('force-path-style')!);
    if (q.get('skip-verify') !== null) out.skipVerify = parseBool(url, 'skip-verify', q.get('skip-verify')!);
    for (const k of Object.keys(out) as Array<keyof typeof out>) if (out[k] === undefined) delete out[k];
    return out;
  }

  if (type === 'abs') {
    if (u.password)
      throw bad(
        url,
        'the account key does not belong in an abs:// URL',
        'Use account-key or LITESTREAM_AZURE_ACCOUNT_KEY.',
      );
    const out: Partial<ReplicaConfig> & { type: ReplicaType; path: string } = {
      type,
      url,
      path,
      bucket: decode(url, u.hostname),
    };
    if (u.username) out.accountName = decode(url, u.username);
    if (u.port) throw bad(url, 'abs:// URLs take no port', 'Set a custom endpoint with the "endpoint" key.');
    return out;
  }

  if (type === 'gcs') {
    if (u.username || u.password || u.port)
      throw bad(
        url,
        'gs:// URLs hold only a bucket and a path',
        'Credentials come from GOOGLE_APPLICATION_CREDENTIALS.',
      );
    return { type, url, path, bucket: decode(url, u.hostname) };
  }

  // sftp
  const out: Partial<ReplicaConfig> & { type: ReplicaType; path: string } = {
    type,
    url,
    path,
    host: u.port ? `${u.hostname}:${u.port}` : u.hostname,
  };
  if (u.username) out.user = decode(url, u.username);
  if (u.password) out.password = decode(url, u.password);
  return out;
}
