import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { ReplicaConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { ReplicaClient } from './client.js';
import {
  type CloudClientOptions,
  type ObjectStore,
  ObjectStoreReplicaClient,
  type StoreEntry,
} from './object-store.js';
import { networkFailure, tlsFailure, type Verdict, withRetry } from './retry.js';
import { credentialSource } from './s3-credentials.js';
import {
  children,
  childText,
  type S3Body,
  S3Error,
  S3Http,
  type S3HttpOptions,
  xmlEscape,
} from './s3-http.js';
import { borrowSendBuffer, returnSendBuffer, type Spooled, writeFileRange } from './spool.js';

/** Bodies above this go up in parts (S3's minimum part size is 5 MiB, its maximum count 10000). */
const MULTIPART_PART_SIZE = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Parts in flight at once. Each streams from the spool file, so memory does not grow with it. */
const PART_CONCURRENCY = 2;

/**
 * `type: s3` — AWS S3 and S3-compatible stores (Ceph RGW, MinIO, R2, B2...). Never LISTs
 * inside a write: the replicate loop keeps its own position.
 */
export async function createS3ReplicaClient(
  cfg: ReplicaConfig,
  opts: CloudClientOptions = {},
): Promise<ReplicaClient> {
  const replica = cfg.name;
  if (!cfg.bucket) {
    throw new UserError(`replica "${replica}": s3 replica needs a bucket`, {
      hint: 'set `bucket:` or use `url: s3://BUCKET/PATH`',
    });
  }
  const bucket = cfg.bucket;
  const configured = cfg.endpoint || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL;
  const endpoint = configured ? normalizeEndpoint(configured, replica) : undefined;
  const timeout = opts.timeoutMs ?? 30_000;
  const base: Omit<S3HttpOptions, 'endpoint' | 'region' | 'pathStyle'> = {
    bucket,
    credentials: credentialSource(cfg),
    timeoutMs: timeout,
    connectTimeoutMs: Math.min(timeout, 10_000),
    skipVerify: cfg.skipVerify,
  };
  // Virtual-hosted names cannot hold a dotted bucket under TLS (the certificate covers one label).
  const pathStyle = cfg.forcePathStyle ?? (endpoint !== undefined || !isDnsBucket(bucket));

  const classify = (err: unknown) => classifyS3Error(err, bucket);
  let region = cfg.region || process.env.AWS_REGION || undefined;
  if (!region) {
    region = endpoint
      ? 'us-east-1'
      : await withRetry(
          `locate bucket ${bucket}`,
          { replica, logger: opts.logger, policy: opts.retry, classify },
          () => discoverRegion({ ...base, pathStyle }),
        );
  }
  const http = new S3Http({ ...base, region, pathStyle, endpoint: endpoint ?? awsEndpoint(region) });
  const store = new S3Store(http, cfg.path ?? '');
  return new ObjectStoreReplicaClient(store, {
    replica,
    logger: opts.logger,
    retry: opts.retry,
    memoryLimit: opts.memoryLimit,
  });
}

class S3Store implements ObjectStore {
  readonly type = 's3' as const;

  constructor(
    private readonly http: S3Http,
    private readonly root: string,
  ) {}

  /**
   * Litestream's key: Go's path.Join(path, key) — slashes collapsed, a leading one kept — so
   * a replica Litestream wrote with `path: /backups` (keys "/backups/generations/...") is found.
   */
  private key(rel: string): string {
    return this.root ? posix.join(this.root, rel) : rel;
  }

  /** ListObjectsV2, every page; `delimiter` '/' groups sub-folders into prefixes. */
  private async *list(prefix: string, delimiter?: string) {
    let token: string | undefined;
    do {
      const res = await this.http.send({
        method: 'GET',
        query: { 'list-type': '2', prefix, delimiter, 'continuation-token': token },
      });
      const page = await this.http.xml(res);
      yield page;
      token =
        childText(page, 'IsTruncated') === 'true' ? childText(page, 'NextContinuationToken') : undefined;
    } while (token);
  }

  async listDir(dir: string): Promise<StoreEntry[]> {
    const prefix = `${this.key(dir)}/`;
    const out: StoreEntry[] = [];
    for await (const page of this.list(prefix, '/')) {
      for (const p of children(page, 'CommonPrefixes')) {
        const name = childText(p, 'Prefix')?.slice(prefix.length).replace(/\/$/, '');
        if (name) out.push({ name, isDir: true, size: 0, createdAt: new Date(0) });
      }
      for (const o of children(page, 'Contents')) {
        const name = childText(o, 'Key')?.slice(prefix.length);
        const modified = childText(o, 'LastModified');
        if (name)
          out.push({
            name,
            isDir: false,
            size: Number(childText(o, 'Size') ?? 0),
            createdAt: modified ? new Date(modified) : new Date(0),
          });
      }
    }
    return out;
  }

  /**
   * Bodies stream to S3 from where the spool holds them (memory or its temp file) with their
   * length given, so no upload buffers a body or a part. Each body is sent with its SHA-256 in
   * the signature (a streamed one is hashed from the spool first), so S3 refuses a body that
   * arrives altered.
   */
  async put(rel: string, body: Spooled): Promise<{ createdAt: Date }> {
    const key = this.key(rel);
    if (body.buffer || body.size <= MULTIPART_PART_SIZE) {
      const res = await this.http.send({ method: 'PUT', key, body: await bodyOf(body, 0, body.size) });
      res.resume();
    } else {
      await this.putMultipart(key, body);
    }
    return { createdAt: new Date() };
  }

  /** A large spooled body in parts, each a range of the spool file; aborted on any failure. */
  private async putMultipart(key: string, body: Spooled): Promise<void> {
    const partSize = Math.max(MULTIPART_PART_SIZE, Math.ceil(body.size / MAX_PARTS));
    const created = await this.http.xml(
      await this.http.send({ method: 'POST', key, query: { uploads: '' } }),
    );
    const uploadId = childText(created, 'UploadId');
    if (!uploadId) throw new Error(`CreateMultipartUpload of ${key} returned no upload id`);
    try {
      const count = Math.ceil(body.size / partSize);
      const etags: string[] = new Array(count);
      let next = 0;
      let failure: unknown;
      // After a failure no new part starts, and the abort below waits for those in flight.
      const worker = async () => {
        while (failure === undefined && next < count) {
          const i = next++;
          const start = i * partSize;
          const end = Math.min(start + partSize, body.size);
          try {
            const res = await this.http.send({
              method: 'PUT',
              key,
              query: { partNumber: String(i + 1), uploadId },
              body: await bodyOf(body, start, end),
            });
            res.resume();
            const etag = res.headers.etag;
            if (!etag) throw new Error(`part ${i + 1} of ${key}: no ETag in the answer`);
            etags[i] = etag;
          } catch (err) {
            failure ??= err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, count) }, worker));
      if (failure !== undefined) throw failure;
      const parts = etags
        .map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEscape(etag)}</ETag></Part>`)
        .join('');
      // A 200 answer can still carry an <Error> (the assembly failed): xml() throws it.
      await this.http.xml(
        await this.http.send({
          method: 'POST',
          key,
          query: { uploadId },
          headers: { 'Content-Type': 'application/xml' },
          body: Buffer.from(`<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`),
        }),
      );
    } catch (err) {
      // Parts of an unfinished upload are billed until aborted; the retry starts a new upload.
      await this.http
        .send({ method: 'DELETE', key, query: { uploadId } })
        .then((res) => res.resume())
        .catch(() => undefined);
      throw err;
    }
  }

  async get(
    rel: string,
    start: number,
    end?: number,
  ): Promise<{ body: Readable; size?: number; etag?: string }> {
    const range = end !== undefined ? `bytes=${start}-${end - 1}` : start > 0 ? `bytes=${start}-` : undefined;
    const res = await this.http.send({
      method: 'GET',
      key: this.key(rel),
      headers: range ? { Range: range } : {},
    });
    const etag = res.headers.etag;
    if (range === undefined) {
      const length = res.headers['content-length'];
      return { body: res, size: length === undefined ? undefined : Number(length), etag };
    }
    // A server that ignored the Range header answers 200 with the whole object: appended to the
    // bytes already read, that would be a wrong file, so it is refused here.
    const answered = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (res.statusCode !== 206 || !answered || Number(answered[1]) !== start) {
      res.destroy();
      throw new S3Error(
        'RangeNotHonoured',
        res.statusCode ?? 0,
        `asked for ${range}, got HTTP ${res.statusCode} with Content-Range "${res.headers['content-range'] ?? ''}"`,
        res.headers,
      );
    }
    return { body: res, size: answered[3] === '*' ? undefined : Number(answered[3]), etag };
  }

  readonly ranged = true;

  deleteKeys(rels: string[]): Promise<void> {
    return this.deleteAbsolute(rels.map((r) => this.key(r)));
  }

  async deleteTree(dir: string): Promise<void> {
    for await (const page of this.list(`${this.key(dir)}/`)) {
      await this.deleteAbsolute(children(page, 'Contents').flatMap((o) => childText(o, 'Key') ?? []));
    }
  }

  /** DeleteObjects (at most 1000 keys a call, as S3 allows); keys already gone are fine. */
  private async deleteAbsolute(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const objects = keys
        .slice(i, i + 1000)
        .map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`)
        .join('');
      const xml = Buffer.from(`<Delete><Quiet>true</Quiet>${objects}</Delete>`);
      const res = await this.http.send({
        method: 'POST',
        query: { delete: '' },
        // S3 requires a content checksum on DeleteObjects.
        headers: {
          'Content-Type': 'application/xml',
          'Content-MD5': createHash('md5').update(xml).digest('base64'),
        },
        body: xml,
      });
      const failed = children(await this.http.xml(res), 'Error').filter(
        (e) => childText(e, 'Code') !== 'NoSuchKey',
      );
      if (failed.length > 0) {
        const e = failed[0];
        const code = childText(e, 'Code');
        throw Object.assign(
          new Error(`delete ${childText(e, 'Key')}: ${code} ${childText(e, 'Message') ?? ''}`.trim()),
          { s3Code: code },
        );
      }
    }
  }

  classify(err: unknown): Verdict {
    return classifyS3Error(err, this.http.bucket);
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

/** Bytes [start, end) of a spooled body: in memory as is, from its temp file with the hash taken first. */
async function bodyOf(body: Spooled, start: number, end: number): Promise<S3Body> {
  if (body.buffer) return body.buffer.subarray(start, end);
  if (!body.file) throw new Error('spooled body has neither a buffer nor a file');
  const sha256 = await sha256OfRange(body.file, start, end);
  const file = body.file;
  return {
    open: () => body.open(start, end),
    writeTo: (dest) => writeFileRange(file, start, end, dest),
    size: end - start,
    sha256,
  };
}

/** The hashing pass reads through one buffer of the uploads' shared pool: no garbage per part. */
async function sha256OfRange(file: string, start: number, end: number): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(file, 'r');
  const buf = borrowSendBuffer();
  try {
    for (let pos = start; pos < end; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (bytesRead === 0) throw new Error(`spool file ${file} ends at byte ${pos}, expected ${end}`);
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    returnSendBuffer(buf);
    await fh.close();
  }
  return hash.digest('hex');
}

const PERMANENT_HINTS: Record<string, string> = {
  InvalidAccessKeyId: 'check access-key-id (or LITESTREAM_ACCESS_KEY_ID / AWS_ACCESS_KEY_ID)',
  SignatureDoesNotMatch: 'check secret-access-key (or LITESTREAM_SECRET_ACCESS_KEY / AWS_SECRET_ACCESS_KEY)',
  AccessDenied: 'the key is valid but not allowed to use this bucket/path; check its policy',
  NoSuchBucket: 'create the bucket first, or fix `bucket:` / the s3:// URL',
  InvalidBucketName: 'fix `bucket:` / the s3:// URL',
  PermanentRedirect: 'the bucket is in another region; set `region:` (or leave it empty to discover it)',
  AuthorizationHeaderMalformed: 'the bucket is in another region; set `region:`',
  CredentialsProviderError:
    'set access-key-id/secret-access-key, LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY, or AWS credentials',
  RangeNotHonoured:
    'the S3-compatible server (or a proxy in front of it) ignores HTTP Range headers; ls-mix needs them to resume and to read large snapshots in parts',
};

const TRANSIENT_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TooManyRequests',
  // A body that arrived altered or cut short (its signed SHA-256 or length did not match).
  'XAmzContentSHA256Mismatch',
  'BadDigest',
  'IncompleteBody',
]);

export function classifyS3Error(err: unknown, bucket: string): Verdict {
  const tls = tlsFailure(err);
  if (tls) return tls;
  const net = networkFailure(err);
  if (net) return { kind: 'transient', reason: net };
  if (!(err instanceof Error)) return { kind: 'permanent', reason: String(err) };
  const code = (err as { s3Code?: string }).s3Code ?? err.name;
  const status = err instanceof S3Error ? err.status : undefined;
  if (code === 'NoSuchKey' || (status === 404 && code !== 'NoSuchBucket')) return { kind: 'notfound' };
  if (
    TRANSIENT_CODES.has(code) ||
    (status !== undefined && (status >= 500 || status === 429 || status === 408))
  ) {
    return { kind: 'transient', reason: `${status ?? ''} ${code}`.trim() };
  }
  const hint = PERMANENT_HINTS[code];
  const detail =
    err.message && err.message !== 'UnknownError' && err.message !== code ? `: ${err.message}` : '';
  const what = code === 'NoSuchBucket' ? `bucket "${bucket}" does not exist` : `${code}${detail}`;
  return { kind: 'permanent', reason: status ? `${what} (HTTP ${status})` : what, hint };
}

/** `localhost:9000` -> `http://localhost:9000` (Litestream accepts scheme-less endpoints). */
function normalizeEndpoint(endpoint: string, replica: string): URL {
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  throw new UserError(`replica "${replica}": endpoint "${endpoint}" is not an http(s) URL`, {
    hint: 'set `endpoint:` to the service URL, e.g. https://s3.example.com or http://127.0.0.1:9000',
  });
}

/** Ask us-east-1 where the bucket lives: S3 names the region in x-amz-bucket-region, even in a refusal. */
async function discoverRegion(opts: Omit<S3HttpOptions, 'endpoint' | 'region'>): Promise<string> {
  const probe = new S3Http({ ...opts, region: 'us-east-1', endpoint: awsEndpoint('us-east-1') });
  try {
    const res = await probe.send({ method: 'HEAD' });
    res.resume();
    return headerRegion(res.headers) ?? 'us-east-1';
  } catch (err) {
    const region = err instanceof S3Error ? headerRegion(err.headers) : undefined;
    if (region) return region;
    if (err instanceof S3Error && err.status === 404)
      throw Object.assign(new Error('no such bucket'), { s3Code: 'NoSuchBucket' });
    throw err;
  } finally {
    probe.close();
  }
}

function headerRegion(headers: Record<string, string | string[] | undefined>): string | undefined {
  const region = headers['x-amz-bucket-region'];
  return typeof region === 'string' && region ? region : undefined;
}

/** AWS's regional S3 endpoint (China's regions live under amazonaws.com.cn). */
function awsEndpoint(region: string): URL {
  return new URL(`https://s3.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`);
}

/** A bucket name usable as a host label under TLS: lowercase letters, digits and hyphens. */
function isDnsBucket(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}
