/**
 * `type: gcs` / `gs://BUCKET/PATH` — Google Cloud Storage, as in Litestream. Credentials come
 * from Google's Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the metadata
 * server, gcloud's login), never from the config file. `endpoint` (or the SDK's own
 * STORAGE_EMULATOR_HOST) points it at a GCS-compatible server.
 *
 * Not tested against a server: no GCS-compatible server runs from the npm registry on these
 * machines (see docs/storage.md). The layout code it shares with s3/abs is.
 */
import type { Readable } from 'node:stream';
import { ApiError, type Bucket, type GetFilesOptions, Storage } from '@google-cloud/storage';
import type { ReplicaConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { ReplicaClient } from './client.js';
import {
  type CloudClientOptions,
  joinKey,
  mapLimit,
  type ObjectStore,
  ObjectStoreReplicaClient,
  type StoreEntry,
} from './object-store.js';
import { networkFailure, tlsFailure, type Verdict } from './retry.js';
import type { Spooled } from './spool.js';

const PAGE_SIZE = 1000;

export async function createGcsReplicaClient(
  cfg: ReplicaConfig,
  opts: CloudClientOptions = {},
): Promise<ReplicaClient> {
  if (!cfg.bucket) {
    throw new UserError(`replica "${cfg.name}": gcs replica needs a bucket`, {
      hint: 'set `bucket:` or use `url: gs://BUCKET/PATH`',
    });
  }
  const storage = new Storage({
    ...(cfg.endpoint ? { apiEndpoint: cfg.endpoint.replace(/\/+$/, '') } : {}),
    // Our own retry (retry.ts) owns backoff; the SDK's would multiply attempts.
    retryOptions: { autoRetry: false },
    timeout: opts.timeoutMs ?? 60_000,
  });
  const store = new GcsStore(storage.bucket(cfg.bucket), cfg.bucket, cfg.path ?? '');
  return new ObjectStoreReplicaClient(store, {
    replica: cfg.name,
    logger: opts.logger,
    retry: opts.retry,
    memoryLimit: opts.memoryLimit,
  });
}

class GcsStore implements ObjectStore {
  readonly type = 'gcs' as const;

  constructor(
    private readonly bucket: Bucket,
    private readonly bucketName: string,
    private readonly root: string,
  ) {}

  private key(rel: string): string {
    return joinKey(this.root, rel);
  }

  async listDir(dir: string): Promise<StoreEntry[]> {
    const prefix = `${this.key(dir)}/`;
    const out: StoreEntry[] = [];
    let query: GetFilesOptions | null = {
      prefix,
      delimiter: '/',
      autoPaginate: false,
      maxResults: PAGE_SIZE,
    };
    while (query) {
      const [files, next, response] = (await this.bucket.getFiles(query)) as unknown as [
        { name: string; metadata: { size?: string | number; timeCreated?: string; updated?: string } }[],
        GetFilesOptions | null,
        { prefixes?: string[] } | undefined,
      ];
      for (const p of response?.prefixes ?? []) {
        const name = p.slice(prefix.length).replace(/\/$/, '');
        if (name) out.push({ name, isDir: true, size: 0, createdAt: new Date(0) });
      }
      for (const f of files) {
        out.push({
          name: f.name.slice(prefix.length),
          isDir: false,
          size: Number(f.metadata.size ?? 0),
          createdAt: new Date(f.metadata.timeCreated ?? f.metadata.updated ?? 0),
        });
      }
      query = next;
    }
    return out;
  }

  async put(rel: string, body: Spooled): Promise<{ createdAt: Date }> {
    const file = this.bucket.file(this.key(rel));
    if (body.buffer) await file.save(body.buffer, { resumable: false, validation: false });
    else await this.bucket.upload(body.file as string, { destination: file, resumable: true });
    const created = (file.metadata as { timeCreated?: string } | undefined)?.timeCreated;
    return { createdAt: created ? new Date(created) : new Date() };
  }

  async get(rel: string, start: number): Promise<{ body: Readable; size?: number }> {
    const file = this.bucket.file(this.key(rel));
    // Metadata first: a missing object is an error here (notfound), not later on the stream.
    const [meta] = await file.getMetadata();
    const size = Number(meta.size ?? 0);
    return { body: file.createReadStream({ start, validation: false }), size };
  }

  async deleteKeys(rels: string[]): Promise<void> {
    await mapLimit(rels, 16, (r) =>
      this.bucket
        .file(this.key(r))
        .delete({ ignoreNotFound: true })
        .then(() => undefined),
    );
  }

  async deleteTree(dir: string): Promise<void> {
    await this.bucket.deleteFiles({ prefix: `${this.key(dir)}/`, force: true });
  }

  classify(err: unknown): Verdict {
    return classifyGcsError(err, this.bucketName);
  }

  async close(): Promise<void> {}
}

export function classifyGcsError(err: unknown, bucket: string): Verdict {
  const tls = tlsFailure(err);
  if (tls) return tls;
  if (err instanceof ApiError && typeof err.code === 'number') {
    const status = err.code;
    if (status === 404) {
      return /bucket/i.test(err.message)
        ? {
            kind: 'permanent',
            reason: `bucket "${bucket}" does not exist (HTTP 404)`,
            hint: 'create the bucket first, or fix `bucket:` / the gs:// URL',
          }
        : { kind: 'notfound' };
    }
    if (status >= 500 || status === 429 || status === 408)
      return { kind: 'transient', reason: `HTTP ${status}` };
    return {
      kind: 'permanent',
      reason: `${err.message.slice(0, 160)} (HTTP ${status})`,
      hint:
        status === 401 || status === 403
          ? 'check the credentials (GOOGLE_APPLICATION_CREDENTIALS) and their roles on the bucket'
          : undefined,
    };
  }
  const net = networkFailure(err);
  if (net) return { kind: 'transient', reason: net };
  const msg = err instanceof Error ? err.message : String(err);
  if (/Could not load the default credentials|Unable to detect a Project Id/i.test(msg)) {
    return {
      kind: 'permanent',
      reason: 'no Google Cloud credentials found',
      hint: 'set GOOGLE_APPLICATION_CREDENTIALS to a service account key file (or run on GCP with a service account)',
    };
  }
  return { kind: 'permanent', reason: msg };
}
