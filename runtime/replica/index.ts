/**
 * One entry point to open the storage behind a replica config. Each storage type lives in its
 * own module; add a case to the switch below when a new client lands.
 */
import type { ReplicaConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import { createAbsReplicaClient } from './abs.js';
import type { ReplicaClient } from './client.js';
import { createFileReplicaClient } from './file.js';
import { createS3ReplicaClient } from './s3.js';
import { createSftpReplicaClient } from './sftp.js';

export type { Pos, ReplicaClient, SnapshotInfo, WalSegmentInfo } from './client.js';
export { createFileReplicaClient, FileReplicaClient } from './file.js';
export { isReplicaUrl, parseReplicaUrl } from './url.js';

export interface OpenReplicaClientOptions {
  logger?: Logger;
}

export async function openReplicaClient(
  cfg: ReplicaConfig,
  _opts: OpenReplicaClientOptions = {},
): Promise<ReplicaClient> {
  switch (cfg.type) {
    case 'file':
      return createFileReplicaClient({ path: cfg.path, name: cfg.name });
    case 's3':
      return createS3ReplicaClient(cfg, _opts);
    case 'abs':
      return createAbsReplicaClient(cfg, _opts);
    case 'sftp':
      return createSftpReplicaClient(cfg, _opts);
    default:
      throw new UserError(`replica "${cfg.name}": storage type "${cfg.type}" is not available in this build`);
  }
}
