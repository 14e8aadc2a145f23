import type { Readable } from 'node:stream';
import {
  AnonymousCredential,
  BlobServiceClient,
  type ContainerClient,
  RestError,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
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

const BLOCK_SIZE = 8 * 1024 * 1024;
/** Listing page size: S3's 1000 rather than Azure's 5000 max, so one test exercises paging for both. */
const PAGE_SIZE = 1000;
/** Azure's limit of sub-requests per blob batch. */
const BATCH_SIZE = 256;

/**
 * `type: abs` — Azure Blob Storage (and Azurite). Auth: account key (config or
 * LITESTREAM_AZURE_ACCOUNT_KEY), a SAS token, or a connection string. `endpoint` is the blob
 * service URL (default https://<account>.blob.core.windows.net).
 */
export async function createAbsReplicaClient(
  cfg: ReplicaConfig,
  opts: CloudClientOptions = {},
): Promise<ReplicaClient> {
  const replica = cfg.name;
  if (!cfg.bucket) {
    throw new UserError(`replica "${replica}": abs replica needs a container`, {
      hint: 'set `bucket:` (the container) or use `url: abs://ACCOUNT@CONTAINER/PATH`',
    });
  }
  const pipeline: StoragePipelineOptions = {
    // Our own retry (retry.ts) owns backoff; the SDK's would multiply attempts.
    retryOptions: { maxTries: 1, tryTimeoutInMs: opts.timeoutMs ?? 60_000 },
  };
  const service = serviceClient(cfg, pipeline);
  const container = service.getContainerClient(cfg.bucket);
  const store = new AbsStore(container, cfg.bucket, cfg.path ?? '');
  return new ObjectStoreReplicaClient(store, {
    replica,
    logger: opts.logger,
    retry: opts.retry,
    memoryLimit: opts.memoryLimit,
  });
}

function serviceClient(cfg: ReplicaConfig, pipeline: StoragePipelineOptions): BlobServiceClient {
  if (cfg.connectionString) return BlobServiceClient.fromConnectionString(cfg.connectionString, pipeline);
  const account = cfg.accountName;
  const url = (cfg.endpoint ?? (account ? `https://${account}.blob.core.windows.net` : '')).replace(
    /\/+$/,
    '',
  );
  if (!url) {
    throw new UserError(`replica "${cfg.name}": abs replica needs an account name`, {
      hint: 'set `account-name:` or use `url: abs://ACCOUNT@CONTAINER/PATH`',
    });
  }
  if (cfg.sasToken) {
    return new BlobServiceClient(
      `${url}?${cfg.sasToken.replace(/^\?/, '')}`,
      new AnonymousCredential(),
      pipeline,
    );
  }
  const key = cfg.accountKey || process.env.LITESTREAM_AZURE_ACCOUNT_KEY;
  if (!account || !key) {
    throw new UserError(`replica "${cfg.name}": abs replica needs account-name and an account key`, {
      hint: 'set `account-key:` or LITESTREAM_AZURE_ACCOUNT_KEY (or a sas-token / connection-string)',
    });
  }
  return new BlobServiceClient(url, new StorageSharedKeyCredential(account, key), pipeline);
}

class AbsStore implements ObjectStore {
  readonly type = 'abs' as const;
  private batchUnsupported = false;

  constructor(
    private readonly container: ContainerClient,
    private readonly containerName: string,
    private readonly root: string,
  ) {}

  private key(rel: string): string {
    return joinKey(this.root, rel);
  }

  async listDir(dir: string): Promise<StoreEntry[]> {
    const prefix = `${this.key(dir)}/`;
    const out: StoreEntry[] = [];
    for await (const page of this.container
      .listBlobsByHierarchy('/', { prefix })
      .byPage({ maxPageSize: PAGE_SIZE })) {
      for (const p of page.segment.blobPrefixes ?? []) {
        const name = p.name.slice(prefix.length).replace(/\/$/, '');
        if (name) out.push({ name, isDir: true, size: 0, createdAt: new Date(0) });
      }
      for (const b of page.segment.blobItems) {
        out.push({
          name: b.name.slice(prefix.length),
          isDir: false,
          size: b.properties.contentLength ?? 0,
          createdAt: b.properties.createdOn ?? b.properties.lastModified,
        });
      }
    }
    return out;
  }

  async put(rel: string, body: Spooled): Promise<{ createdAt: Date }> {
    const blob = this.container.getBlockBlobClient(this.key(rel));
    const res = body.buffer
      ? await blob.upload(body.buffer, body.size)
      : // Large snapshot: blocks straight from the spool file, two in flight.
        await blob.uploadFile(body.file as string, { blockSize: BLOCK_SIZE, concurrency: 2 });
    return { createdAt: res.lastModified ?? new Date() };
  }

  readonly ranged = true;

  async get(
    rel: string,
    start: number,
    end?: number,
  ): Promise<{ body: Readable; size?: number; etag?: string }> {
    // No SDK-level body retries (maxRetryRequests: 0): the base class resumes broken bodies.
    const res = await this.container
      .getBlobClient(this.key(rel))
      .download(start, end === undefined ? undefined : end - start, { maxRetryRequests: 0 });
    // A ranged answer names the whole blob's size after the slash of its Content-Range.
    const total = /\/(\d+)$/.exec(res.contentRange ?? '')?.[1];
    const size =
      total !== undefined
        ? Number(total)
        : res.contentLength === undefined
          ? undefined
          : start + res.contentLength;
    return { body: res.readableStreamBody as Readable, size, etag: res.etag };
  }

  deleteKeys(rels: string[]): Promise<void> {
    return this.deleteNames(rels.map((r) => this.key(r)));
  }

  async deleteTree(dir: string): Promise<void> {
    const prefix = `${this.key(dir)}/`;
    for await (const page of this.container.listBlobsFlat({ prefix }).byPage({ maxPageSize: PAGE_SIZE })) {
      await this.deleteNames(page.segment.blobItems.map((b) => b.name));
    }
  }

  /**
   * Blob batch (256 deletes per request) where the service and credential allow it, else one
   * request per blob. Blobs already gone are fine.
   */
  private async deleteNames(names: string[]): Promise<void> {
    if (!this.batchUnsupported) {
      try {
        for (let i = 0; i < names.length; i += BATCH_SIZE) {
          const clients = names.slice(i, i + BATCH_SIZE).map((n) => this.container.getBlobClient(n));
          const res = await this.container.getBlobBatchClient().deleteBlobs(clients);
          const failed = res.subResponses.find((r) => r.status >= 300 && r.status !== 404);
          if (failed) {
            throw new RestError(`batch delete: ${failed.errorCode ?? failed.statusMessage}`, {
              statusCode: failed.status,
              code: failed.errorCode,
            });
          }
        }
        return;
      } catch (err) {
        // Fall back to single deletes, for good: batching is only an optimisation.
        if (!(err instanceof RestError) || !isBatchRefusal(err)) throw err;
        this.batchUnsupported = true;
      }
    }
    await mapLimit(names, 16, (n) => this.container.deleteBlob(n).catch(ignoreNotFound));
  }

  classify(err: unknown): Verdict {
    return classifyAbsError(err, this.containerName);
  }

  async close(): Promise<void> {}
}

/**
 * The batch request itself was answered with an error (not one of its deletes, not a network
 * failure): some credentials (container SAS) and emulators refuse or break on batches.
 */
function isBatchRefusal(err: RestError): boolean {
  return err.statusCode !== undefined && !err.message.startsWith('batch delete:');
}

function ignoreNotFound(err: unknown): void {
  if (err instanceof RestError && err.statusCode === 404 && err.code !== 'ContainerNotFound') return;
  throw err;
}

const PERMANENT_HINTS: Record<string, string> = {
  AuthenticationFailed:
    'check account-name and account-key (or LITESTREAM_AZURE_ACCOUNT_KEY / the SAS token)',
  AuthorizationFailure:
    'check account-name and account-key (or the SAS token); they are wrong or lack access to this container',
  AuthorizationPermissionMismatch:
    'the SAS token / role lacks a permission (needs read, write, delete, list)',
  ContainerNotFound: 'create the container first, or fix `bucket:` / the abs:// URL',
  InvalidResourceName: 'fix the container name (3-63 lowercase letters, digits and dashes)',
};

export function classifyAbsError(err: unknown, container: string): Verdict {
  const tls = tlsFailure(err);
  if (tls) return tls;
  if (err instanceof RestError) {
    const status = err.statusCode;
    const code = err.code ?? '';
    if (status === undefined || code === 'REQUEST_SEND_ERROR') {
      return {
        kind: 'transient',
        reason: networkFailure(err) ?? (err.message.slice(0, 120) || 'request failed'),
      };
    }
    if (code === 'BlobNotFound' || (status === 404 && code !== 'ContainerNotFound'))
      return { kind: 'notfound' };
    if (
      status >= 500 ||
      status === 429 ||
      status === 408 ||
      code === 'ServerBusy' ||
      code === 'OperationTimedOut'
    ) {
      return { kind: 'transient', reason: `${status} ${code}`.trim() };
    }
    const what =
      code === 'ContainerNotFound' ? `container "${container}" does not exist` : code || err.message;
    return { kind: 'permanent', reason: `${what} (HTTP ${status})`, hint: PERMANENT_HINTS[code] };
  }
  const net = networkFailure(err);
  if (net) return { kind: 'transient', reason: net };
  // The SDK aborts a try that exceeds tryTimeoutInMs.
  if (err instanceof Error && err.name === 'AbortError') return { kind: 'transient', reason: 'timeout' };
  return { kind: 'permanent', reason: err instanceof Error ? err.message : String(err) };
}
