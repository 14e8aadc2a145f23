/**
 * One entry point to open the storage behind a replica config. Each storage type lives in its
 * own module; add a case to the switch below when a new client lands.
 */
import type { ReplicaConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import { collecting } from '../memory.js';
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
    case 'gcs':
      return (await import('./gcs.js')).createGcsReplicaClient(cfg, opts);
    default:
      throw new UserError(`replica "${cfg.name}": storage type "${cfg.type}" is not available in this build`);
  }
}

function collectingUploads(client: ReplicaClient): ReplicaClient {
  const writeSnapshot = client.writeSnapshot.bind(client);
  const writeWalSegment = client.writeWalSegment.bind(client);
  client.writeSnapshot = (generation, index, body) => writeSnapshot(generation, index, collecting(body));
  client.writeWalSegment = (pos, body) => writeWalSegment(pos, collecting(body));
  return client;
}
