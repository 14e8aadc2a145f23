import type { Readable } from 'node:stream';
import type { ReplicaType } from '../config/types.js';

/** A position in a generation's WAL stream: WAL index and byte offset within that index. */
export interface Pos {
  generation: string;
  index: number;
  offset: number;
}

export interface SnapshotInfo {
  generation: string;
  index: number;
  /** Stored (compressed, possibly encrypted) size in bytes. */
  size: number;
  /** Object time: S3 LastModified, blob creation time, file mtime. Drives -timestamp. */
  createdAt: Date;
}

/** How a snapshot may be read: its listed size, and how many ranged GETs at most at once. */
export interface SnapshotRead {
  size: number;
  parallelism?: number;
  /** Where a split read keeps parts that arrive early (a restore: beside its output; default: the OS temp folder). */
  spillDir?: string;
}

export interface WalSegmentInfo {
  generation: string;
  index: number;
  offset: number;
  size: number;
  createdAt: Date;
}

/**
 * One storage backend, speaking only in Litestream v0.3 object names (runtime/format/layout.ts).
 * Bodies are the bytes as stored: already LZ4-framed (and age-encrypted when configured) by the
 * caller, so every client stays a dumb object store. Listings are sorted: generations by name,
 * snapshots by index, segments by (index, offset). Missing generations list as empty, not errors.
 * Implementations retry transient errors themselves and throw UserError for permanent ones
 * (bad credentials, missing bucket), naming the replica but never a secret.
 */
export interface ReplicaClient {
  readonly type: ReplicaType;
  generations(): Promise<string[]>;
  deleteGeneration(generation: string): Promise<void>;

  snapshots(generation: string): Promise<SnapshotInfo[]>;
  writeSnapshot(generation: string, index: number, body: Readable): Promise<SnapshotInfo>;
  /**
   * `read.size` (the listing's) lets a cloud store read a large snapshot in up to
   * `read.parallelism` ranged parts at once (see object-store.ts).
   */
  openSnapshot(generation: string, index: number, read?: SnapshotRead): Promise<Readable>;
  deleteSnapshot(generation: string, index: number): Promise<void>;

  walSegments(generation: string): Promise<WalSegmentInfo[]>;
  writeWalSegment(pos: Pos, body: Readable): Promise<WalSegmentInfo>;
  openWalSegment(pos: Pos): Promise<Readable>;
  deleteWalSegments(positions: Pos[]): Promise<void>;

  /** Release connections (SFTP sessions, sockets). Safe to call twice. */
  close(): Promise<void>;
}
