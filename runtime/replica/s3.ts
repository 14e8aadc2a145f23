import { Agent as HttpsAgent } from 'node:https';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
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
import type { Spooled } from './spool.js';

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
  // The SDK warns on every run that its 2027 releases will need Node 22: ls-mix pins its SDK
  // version, so that notice is noise in a backup sidecar's log. Users can still opt back in.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = cfg.endpoint ? normalizeEndpoint(cfg.endpoint) : undefined;
  const credentials = resolveCredentials(cfg);
  const timeout = opts.timeoutMs ?? 30_000;
  const requestHandler = new NodeHttpHandler({
    connectionTimeout: Math.min(timeout, 10_000),
    socketTimeout: timeout,
    httpsAgent: cfg.skipVerify ? new HttpsAgent({ rejectUnauthorized: false, keepAlive: true }) : undefined,
  });
  const base: S3ClientConfig = {
    endpoint,
    forcePathStyle: cfg.forcePathStyle ?? endpoint !== undefined,
    credentials,
    requestHandler,
    // Our own retry (retry.ts) owns backoff; the SDK's would multiply attempts.
    maxAttempts: 1,
    // S3-compatible stores (Ceph Pacific, older MinIO) reject aws-chunked trailing checksums.
    ...(endpoint
      ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
  };

  const classify = (err: unknown) => classifyS3Error(err, bucket);
  let region = cfg.region || process.env.AWS_REGION || undefined;
  if (!region) {
    region = endpoint
      ? 'us-east-1'
      : await withRetry(
          `locate bucket ${bucket}`,
          { replica, logger: opts.logger, policy: opts.retry, classify },
          () => discoverRegion(base, bucket),
        );
  }
  const s3 = new S3Client({ ...base, region });
  const store = new S3Store(s3, bucket, cfg.path ?? '');
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
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly root: string,
  ) {}

  /**
   * Litestream's key: Go's path.Join(path, key) — slashes collapsed, a leading one kept — so
   * a replica Litestream wrote with `path: /backups` (keys "/backups/generations/...") is found.
   */
  private key(rel: string): string {
    return this.root ? posix.join(this.root, rel) : rel;
  }

  async listDir(dir: string): Promise<StoreEntry[]> {
    const prefix = `${this.key(dir)}/`;
    const out: StoreEntry[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      );
      for (const p of page.CommonPrefixes ?? []) {
        const name = p.Prefix?.slice(prefix.length).replace(/\/$/, '');
        if (name) out.push({ name, isDir: true, size: 0, createdAt: new Date(0) });
      }
      for (const o of page.Contents ?? []) {
        const name = o.Key?.slice(prefix.length);
        if (name)
          out.push({ name, isDir: false, size: o.Size ?? 0, createdAt: o.LastModified ?? new Date(0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /**
   * Bodies stream to S3 from where the spool holds them (memory or its temp file) with their
   * length given, so no upload buffers a body or a part: lib-storage's Upload gathered each
   * 8 MiB part into memory (and copied it), two at a time — most of replicate's peak RSS to S3.
   */
  async put(rel: string, body: Spooled): Promise<{ createdAt: Date }> {
    const Key = this.key(rel);
    if (body.buffer || body.size <= MULTIPART_PART_SIZE) {
      const stream = body.buffer ? undefined : body.open();
      try {
        await this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key,
            Body: body.buffer ?? stream,
            ContentLength: body.size,
          }),
        );
      } finally {
        stream?.destroy(); // a failed request leaves its file stream open otherwise
      }
    } else {
      await this.putMultipart(Key, body);
    }
    return { createdAt: new Date() };
  }

  /** A large spooled body in parts, each a range of the spool file; aborted on any failure. */
  private async putMultipart(Key: string, body: Spooled): Promise<void> {
    const partSize = Math.max(MULTIPART_PART_SIZE, Math.ceil(body.size / MAX_PARTS));
    const created = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    const UploadId = created.UploadId;
    if (!UploadId) throw new Error(`CreateMultipartUpload of ${Key} returned no upload id`);
    try {
      const count = Math.ceil(body.size / partSize);
      const parts: { PartNumber: number; ETag?: string }[] = new Array(count);
      let next = 0;
      let failure: unknown;
      // After a failure no new part starts, and the abort below waits for those in flight.
      const worker = async () => {
        while (failure === undefined && next < count) {
          const i = next++;
          const start = i * partSize;
          const end = Math.min(start + partSize, body.size);
          const stream = body.open(start, end);
          try {
            const res = await this.s3.send(
              new UploadPartCommand({
                Bucket: this.bucket,
                Key,
                UploadId,
                PartNumber: i + 1,
                Body: stream,
                ContentLength: end - start,
              }),
            );
            parts[i] = { PartNumber: i + 1, ETag: res.ETag };
          } catch (err) {
            failure ??= err;
          } finally {
            stream.destroy(); // a failed request leaves its file stream open otherwise
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, count) }, worker));
      if (failure !== undefined) throw failure;
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      // Parts of an unfinished upload are billed until aborted; the retry starts a new upload.
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  async get(rel: string, start: number): Promise<{ body: Readable; size?: number }> {
    const res = await this.s3.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.key(rel),
        Range: start > 0 ? `bytes=${start}-` : undefined,
      }),
    );
    const size = res.ContentLength === undefined ? undefined : start + res.ContentLength;
    return { body: res.Body as Readable, size };
  }

  deleteKeys(rels: string[]): Promise<void> {
    return this.deleteAbsolute(rels.map((r) => this.key(r)));
  }

  async deleteTree(dir: string): Promise<void> {
    const prefix = `${this.key(dir)}/`;
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      await this.deleteAbsolute((page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async deleteAbsolute(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const res = await this.s3.send(
      new DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
    if (failed.length > 0) {
      const e = failed[0];
      throw Object.assign(new Error(`delete ${e.Key}: ${e.Code} ${e.Message ?? ''}`.trim()), {
        s3Code: e.Code,
      });
    }
  }

  classify(err: unknown): Verdict {
    return classifyS3Error(err, this.bucket);
  }

  async close(): Promise<void> {
    this.s3.destroy();
  }
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
]);

export function classifyS3Error(err: unknown, bucket: string): Verdict {
  const tls = tlsFailure(err);
  if (tls) return tls;
  const net = networkFailure(err);
  if (net) return { kind: 'transient', reason: net };
  if (!(err instanceof Error)) return { kind: 'permanent', reason: String(err) };
  const code = (err as { s3Code?: string }).s3Code ?? err.name;
  const status = err instanceof S3ServiceException ? err.$metadata?.httpStatusCode : undefined;
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

/** Keys from config, then LITESTREAM_* env, else undefined so the AWS default chain applies. */
function resolveCredentials(cfg: ReplicaConfig): S3ClientConfig['credentials'] {
  const accessKeyId = cfg.accessKeyId || process.env.LITESTREAM_ACCESS_KEY_ID;
  const secretAccessKey = cfg.secretAccessKey || process.env.LITESTREAM_SECRET_ACCESS_KEY;
  if (accessKeyId && secretAccessKey) return { accessKeyId, secretAccessKey };
  if (accessKeyId || secretAccessKey) {
    throw new UserError(`replica "${cfg.name}": only one of access-key-id / secret-access-key is set`, {
      hint: 'set both (or neither, to use the AWS default credential chain)',
    });
  }
  return undefined;
}

/** `localhost:9000` -> `http://localhost:9000` (Litestream accepts scheme-less endpoints). */
function normalizeEndpoint(endpoint: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint.replace(/\/+$/, '') : `https://${endpoint}`;
}

/** Ask us-east-1 where the bucket lives (HeadBucket answers with x-amz-bucket-region). */
async function discoverRegion(base: S3ClientConfig, bucket: string): Promise<string> {
  const probe = new S3Client({ ...base, region: 'us-east-1', followRegionRedirects: true });
  try {
    const res = await probe.send(new HeadBucketCommand({ Bucket: bucket }));
    return res.BucketRegion || 'us-east-1';
  } catch (err) {
    const region = (err as { $response?: { headers?: Record<string, string> } }).$response?.headers?.[
      'x-amz-bucket-region'
    ];
    if (region) return region;
    if ((err as Error).name === 'NotFound')
      throw Object.assign(new Error('no such bucket'), { s3Code: 'NoSuchBucket' });
    throw err;
  } finally {
    probe.destroy();
  }
}
