/**
 * ls-mix runtime: a Litestream v0.3.13-compatible replication engine, usable as a library.
 *
 *   import { loadConfig, Replication, restoreDatabase } from 'ls-mix';
 *   const config = await loadConfig('/etc/litestream.yml');
 *   const rep = await Replication.start(config, { logger: createLogger(config.logging) });
 *   ...
 *   await rep.close(); // final sync
 */
export * from './config/index.js';
export { isUserError, UserError } from './errors.js';
export { parseCommandLine, type RunReplicateOptions, runReplicate } from './exec.js';
export * from './format/layout.js';
export {
  createLz4FrameDecoder,
  createLz4FrameEncoder,
  lz4FrameCompress,
  lz4FrameDecompress,
} from './format/lz4.js';
export { decodeObject, encodeObject } from './format/object.js';
export { createLogger, type Logger, redactUrl, silentLogger } from './log.js';
export {
  type OpenReplicaClientOptions,
  openReplicaClient,
  type Pos,
  parseReplicaUrl,
  type ReplicaClient,
  type SnapshotInfo,
  type WalSegmentInfo,
} from './replica/index.js';
export * from './replicate/index.js';
export { type TakenSnapshot, takeSnapshot } from './replicate/snapshot.js';
export * from './restore.js';
export {
  parseWalHeader,
  readWalHeader,
  scanWal,
  type WalHeader,
  walChecksum,
} from './sqlite/wal.js';
export * from './verify.js';
