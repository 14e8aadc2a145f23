/**
 * A live replica's position, kept beside its database in `.<dbfile>-litestream/upstream.json`:
 * the stream position and content digest of the last committed batch, plus the pending batch's
 * (written, fsynced and renamed into place just BEFORE its COMMIT). At start, the database's
 * digest must equal one of the two: the pending one means the crash came after COMMIT. Any
 * other digest means something else wrote to the replica (it diverged from the primary).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultMetaPath } from '../replicate/local-state.js';
import type { StreamPos } from '../server/protocol.js';

export interface Checkpointed {
  pos: StreamPos;
  /** Hex of the 64-bit content digest (pages.ts). */
  digest: string;
}

export interface LiveState {
  /** The primary's db path it follows (a changed upstream means a fresh start). */
  upstream: string;
  committed?: Checkpointed;
  pending?: Checkpointed;
}

export function liveStatePath(dbPath: string, metaPath?: string): string {
  return join(metaPath ?? defaultMetaPath(dbPath), 'upstream.json');
}

export function readLiveState(file: string): LiveState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LiveState;
  } catch {
    return undefined;
  }
}

/** Atomic replace: temp file, fsync, rename. */
export function writeLiveState(file: string, state: LiveState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export const digestHex = (d: bigint): string => d.toString(16).padStart(16, '0');
