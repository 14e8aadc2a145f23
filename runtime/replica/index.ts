/**
 * One entry point to open the storage behind a replica config. Each storage type lives in its
 * own module; add a case to the switch below when a new client lands.
 */
import { pipeline, type Readable, Transform } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ReplicaConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ReplicaClient } from './client.js';
import { createFileReplicaClient } from './file.js';

export type { Pos, ReplicaClient, SnapshotInfo, WalSegmentInfo } from './client.js';
export { createFileReplicaClient, FileReplicaClient } from './file.js';
export { isReplicaUrl, parseReplicaUrl } from './url.js';

export interface OpenReplicaClientOptions {
  logger?: Logger;
}

export async function openReplicaClient(
  cfg: ReplicaConfig,
  opts: OpenReplicaClientOptions = {},
): Promise<ReplicaClient> {
  return collectingUploads(await openClient(cfg, opts));
}

async function openClient(cfg: ReplicaConfig, opts: OpenReplicaClientOptions): Promise<ReplicaClient> {
  switch (cfg.type) {
    case 'file':
      return createFileReplicaClient({ path: cfg.path, name: cfg.name });
    // Cloud SDKs load on first use: each adds ~0.3-0.9 s of startup and 10-40 MB of RSS to
    // every command, which a file replica (or `ls-mix add`) should not pay.
    case 's3':
      return (await import('./s3.js')).createS3ReplicaClient(cfg, opts);
    case 'abs':
      return (await import('./abs.js')).createAbsReplicaClient(cfg, opts);
    case 'sftp':
      return (await import('./sftp.js')).createSftpReplicaClient(cfg, opts);
    default:
      throw new UserError(`replica "${cfg.name}": storage type "${cfg.type}" is not available in this build`);
  }
}

/**
 * Uploads churn through large buffers (1 MiB file reads, 4 MiB LZ4 blocks, the LZ4 codec's
 * native output) that die at once but are freed only at V8's next collection, which external
 * memory triggers only every ~64 MB. A young-generation collection per COLLECT_EVERY bytes
 * uploaded frees them as they die, about a millisecond each (`ls-mix snapshot` of a 256 MiB db:
 * peak RSS 157 -> 122 MB, same CPU time).
 */
const COLLECT_EVERY = 2 << 20;
let minorGc: (() => void) | null | undefined;
/** Bytes uploaded since the last collection, across uploads: WAL segments are often small. */
let uploadedSinceGc = 0;

function collector(): (() => void) | null {
  if (minorGc === undefined) {
    try {
      // --expose-gc applies to contexts created while it is set: only this throwaway one gets
      // a gc function (the host's globals and later vm contexts stay as they were).
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as (o: { type: 'minor' }) => void;
      setFlagsFromString('--no-expose-gc');
      minorGc = () => gc({ type: 'minor' });
    } catch {
      minorGc = null; // a runtime without it: uploads work the same, memory is freed later
    }
  }
  return minorGc;
}

function collecting(body: Readable): Readable {
  const gc = collector();
  if (!gc) return body;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      uploadedSinceGc += chunk.length;
      if (uploadedSinceGc >= COLLECT_EVERY) {
        uploadedSinceGc = 0;
        gc();
      }
      cb(null, chunk);
    },
  });
  // pipeline, not pipe: an error or an early destroy on either side reaches the other.
  return pipeline(body, out, () => undefined);
}

function collectingUploads(client: ReplicaClient): ReplicaClient {
  const writeSnapshot = client.writeSnapshot.bind(client);
  const writeWalSegment = client.writeWalSegment.bind(client);
  client.writeSnapshot = (generation, index, body) => writeSnapshot(generation, index, collecting(body));
  client.writeWalSegment = (pos, body) => writeWalSegment(pos, collecting(body));
  return client;
}
