/**
 * Litestream v0.3.13 replica layout: object keys relative to the replica root (posix paths;
 * each client joins them to its own root).
 *
 *   generations/<gen>/snapshots/<index %08x>.snapshot.lz4
 *   generations/<gen>/wal/<index %08x>_<offset %08x>.wal.lz4
 */
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';

export const GENERATIONS_DIR = 'generations';

const GENERATION_RE = /^[0-9a-f]{16}$/;
const SNAPSHOT_RE = /^([0-9a-f]{8})\.snapshot\.lz4$/;
const WAL_SEGMENT_RE = /^([0-9a-f]{8})_([0-9a-f]{8})\.wal\.lz4$/;
const MAX_U32 = 0xffffffff;

/** A new random generation id: 16 lowercase hex characters (8 random bytes). */
export function newGenerationId(): string {
  return randomBytes(8).toString('hex');
}

export function isGenerationId(value: string): boolean {
  return GENERATION_RE.test(value);
}

/** Throws a UserError unless `value` is a valid generation id. */
export function assertGenerationId(value: string): string {
  if (!isGenerationId(value)) {
    throw new UserError(`invalid generation "${value}": expected 16 lowercase hex characters`, {
      hint: 'List the available generations with `ls-mix generations`.',
    });
  }
  return value;
}

/** %08x, as Litestream formats WAL indexes and offsets. */
export function formatHex8(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
    throw new RangeError(`value out of range for an 8-digit hex name: ${value}`);
  }
  return value.toString(16).padStart(8, '0');
}

export function generationDir(generation: string): string {
  return `${GENERATIONS_DIR}/${assertGenerationId(generation)}`;
}

export function snapshotsDir(generation: string): string {
  return `${generationDir(generation)}/snapshots`;
}

export function walDir(generation: string): string {
  return `${generationDir(generation)}/wal`;
}

export function snapshotFileName(index: number): string {
  return `${formatHex8(index)}.snapshot.lz4`;
}

export function walSegmentFileName(index: number, offset: number): string {
  return `${formatHex8(index)}_${formatHex8(offset)}.wal.lz4`;
}

export function snapshotKey(generation: string, index: number): string {
  return `${snapshotsDir(generation)}/${snapshotFileName(index)}`;
}

export function walSegmentKey(generation: string, index: number, offset: number): string {
  return `${walDir(generation)}/${walSegmentFileName(index, offset)}`;
}

/** `00000002.snapshot.lz4` -> { index: 2 }; anything else -> undefined. */
export function parseSnapshotFileName(name: string): { index: number } | undefined {
  const m = SNAPSHOT_RE.exec(name);
  return m ? { index: Number.parseInt(m[1], 16) } : undefined;
}

/** `00000002_00001038.wal.lz4` -> { index: 2, offset: 0x1038 }; anything else -> undefined. */
export function parseWalSegmentFileName(name: string): { index: number; offset: number } | undefined {
  const m = WAL_SEGMENT_RE.exec(name);
  return m ? { index: Number.parseInt(m[1], 16), offset: Number.parseInt(m[2], 16) } : undefined;
}

export type ParsedKey =
  | { kind: 'snapshot'; generation: string; index: number }
  | { kind: 'wal'; generation: string; index: number; offset: number };

/** Parse a full relative key (`generations/<gen>/...`); undefined when it is not a replica object. */
export function parseKey(key: string): ParsedKey | undefined {
  const parts = key.split('/');
  if (parts.length !== 4 || parts[0] !== GENERATIONS_DIR || !isGenerationId(parts[1])) return undefined;
  const generation = parts[1];
  if (parts[2] === 'snapshots') {
    const s = parseSnapshotFileName(parts[3]);
    return s && { kind: 'snapshot', generation, index: s.index };
  }
  if (parts[2] === 'wal') {
    const w = parseWalSegmentFileName(parts[3]);
    return w && { kind: 'wal', generation, ...w };
  }
  return undefined;
}
