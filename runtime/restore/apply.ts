/**
 * Applying restored objects to the database being built: each WAL index's segments are
 * concatenated (checked frame by frame) into a WAL file of its own, then its frames are
 * written into the database at their pages' places (what SQLite's checkpoint does; Litestream
 * v0.3.13 has SQLite do it, which costs far more here: see applyWal).
 */
import { closeSync, ftruncateSync, openSync, writeSync, writevSync } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { UserError } from '../errors.js';
import { writeFully } from '../file-sink.js';
import { walSegmentKey } from '../format/layout.js';
import { formatIndex } from './listings.js';
import { dbPageSize, WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE, WalChecker } from './wal-check.js';

/** Read size when copying downloaded segments into the WAL and when applying it. */
const READ_CHUNK = 256 << 10;

/**
 * Read buffers of buildWal and applyWal, reused from one WAL index to the next (one of each
 * runs at a time per restore): a fresh buffer per index was dead memory that only the next
 * collection freed, ~1 MiB of peak RSS per index applied.
 */
const spareBuffers: Buffer[] = [];
function takeBuffer(min: number): Buffer {
  const i = spareBuffers.findIndex((b) => b.length >= min);
  return i >= 0 ? spareBuffers.splice(i, 1)[0] : Buffer.allocUnsafeSlow(Math.max(min, READ_CHUNK));
}
function giveBack(buffer: Buffer): void {
  if (spareBuffers.length < 4) spareBuffers.push(buffer);
}

export interface LocalSegment {
  key: string;
  offset: number;
  /** Where the decoded segment is (or will be) downloaded. */
  path: string;
  /** Resolves once the download into `path` is complete. */
  ready: () => Promise<unknown>;
}

/** Page size of the snapshot just downloaded (and proof that it is a SQLite database). */
export async function snapshotPageSize(key: string, dbPath: string): Promise<number> {
  const fh = await open(dbPath, 'r');
  try {
    const header = Buffer.alloc(100);
    const { bytesRead } = await fh.read(header, 0, 100, 0);
    return dbPageSize(key, header.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** One WAL index assembled (and checked) into a file of its own, ready to be checkpointed. */
export interface BuiltWal {
  index: number;
  path: string;
  frames: number;
  /** The WAL's length: where a next segment of this index would start. */
  offset: number;
  /** Page size its header declares (undefined: no segments). */
  pageSize?: number;
  /** Its first segment's key, for errors. */
  firstKey?: string;
}

/**
 * Concatenate one index's segments into `walPath`, verifying that offsets chain and frames
 * check out. Needs no database: it runs while the snapshot is still downloading, and the page
 * size is compared with the snapshot's in checkpointWal.
 */
export async function buildWal(
  walPath: string,
  generation: string,
  index: number,
  segments: LocalSegment[],
): Promise<BuiltWal> {
  const checker = new WalChecker();
  let buffer: Buffer | undefined;
  const out = await open(walPath, 'wx');
  try {
    for (const seg of segments) {
      if (seg.offset !== checker.offset) {
        const missing = walSegmentKey(generation, index, checker.offset);
        throw new UserError(
          seg.offset > checker.offset
            ? `missing WAL segment ${missing}: the previous segments end at offset ${checker.offset}, the next one found is ${seg.key}`
            : `WAL segment ${seg.key} overlaps the previous segments, which end at offset ${checker.offset} (replica damaged)`,
          { hint: 'Restore an earlier point with -index or -timestamp, or from another replica.' },
        );
      }
      await seg.ready();
      checker.begin(seg.key);
      buffer ??= takeBuffer(READ_CHUNK);
      await copyChecked(seg.path, out, checker, buffer);
      checker.end();
      await rm(seg.path, { force: true });
    }
    await out.close();
  } catch (err) {
    await out.close().catch(() => undefined);
    await rm(walPath, { force: true });
    throw err;
  } finally {
    if (buffer) giveBack(buffer);
  }
  return {
    index,
    path: walPath,
    frames: checker.frames,
    offset: checker.offset,
    pageSize: checker.walPageSize,
    firstKey: segments[0]?.key,
  };
}

/**
 * Write every frame of a built (already checked) WAL into the database at its page's place, in
 * WAL order, then set the file to the size the last commit frame records — what SQLite's
 * checkpoint does, without its cost here: SQLite first rebuilds its WAL index (a pass over the
 * whole WAL), sorts the frames, then copies them, and needed the WAL renamed beside the
 * database and a connection per index (75-95 ms per 11 MiB index on the bench's restore,
 * 0.75 s of a 4.4 s restore). Every frame was checked by WalChecker (salts, chained checksums,
 * each segment ending on a commit) before it gets here, so all of them are committed; a failure
 * midway leaves only the temp database, which restoreDatabase removes.
 * Writes are synchronous: runs of consecutive pages go out as one writev, and a WAL that
 * rewrites a few pages many times costs one small write per frame (~3 µs into the page cache,
 * where a thread-pool round trip costs ~20 µs).
 */
export async function applyWal(
  dbPath: string,
  generation: string,
  wal: BuiltWal,
  pageSize: number,
): Promise<void> {
  try {
    if (wal.pageSize !== undefined && wal.pageSize !== pageSize) {
      throw WalChecker.pageSizeMismatch(wal.firstKey ?? wal.path, wal.pageSize, pageSize);
    }
    if (wal.frames === 0) return;
    const frameSize = WAL_FRAME_HEADER_SIZE + pageSize;
    const buffer = takeBuffer(frameSize);
    const chunk = Math.floor(buffer.length / frameSize) * frameSize;
    const src = await open(wal.path, 'r');
    const db = openSync(dbPath, 'r+');
    let applied = 0;
    let dbPages = 0;
    try {
      let position = WAL_HEADER_SIZE;
      for (;;) {
        const { bytesRead } = await src.read(buffer, 0, chunk, position);
        if (bytesRead === 0) break;
        if (bytesRead % frameSize !== 0) {
          // buildWal wrote whole frames; anything else means the file changed under us.
          throw new UserError(`${wal.path}: WAL ends inside a frame (${bytesRead % frameSize} extra bytes)`);
        }
        position += bytesRead;
        const frames = bytesRead / frameSize;
        let run: Buffer[] = [];
        let runStart = 0;
        const flush = () => {
          if (run.length > 0) writevFully(db, run, (runStart - 1) * pageSize);
          run = [];
        };
        for (let f = 0; f < frames; f++) {
          const at = f * frameSize;
          const pgno = buffer.readUInt32BE(at);
          const commit = buffer.readUInt32BE(at + 4);
          if (pgno === 0) throw new UserError(`${wal.path}: WAL frame ${applied + 1} names page 0`);
          if (run.length === 0 || pgno !== runStart + run.length || run.length >= MAX_IOVECS) {
            flush();
            runStart = pgno;
          }
          run.push(buffer.subarray(at + WAL_FRAME_HEADER_SIZE, at + frameSize));
          if (commit > 0) dbPages = commit;
          applied++;
        }
        flush();
      }
      if (applied !== wal.frames) {
        throw new UserError(
          `generation ${generation}, WAL index ${formatIndex(wal.index)}: applied ${applied} of ${wal.frames} WAL frames (the assembled WAL changed on disk)`,
        );
      }
      if (dbPages === 0) throw new UserError(`${wal.path}: WAL has no commit frame`);
      // The last commit's database size: pages past it were freed (VACUUM, auto_vacuum).
      ftruncateSync(db, dbPages * pageSize);
    } finally {
      closeSync(db);
      await src.close();
      giveBack(buffer);
    }
  } finally {
    await rm(wal.path, { force: true });
  }
}

/** writev's limit on buffers per call (IOV_MAX on Linux and macOS). */
const MAX_IOVECS = 1024;

/** Write `buffers` back to back at `position`, however the OS splits the write. */
function writevFully(fd: number, buffers: Buffer[], position: number): void {
  let total = 0;
  for (const b of buffers) total += b.length;
  let done = writevSync(fd, buffers, position);
  while (done < total) {
    // A short write (rare on a local file): finish the rest buffer by buffer.
    let skip = done;
    for (const b of buffers) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      const rest = b.subarray(skip);
      skip = 0;
      let n = 0;
      while (n < rest.length) n += writeSync(fd, rest, n, rest.length - n, position + done + n);
      done += rest.length;
    }
  }
}

/**
 * Append a downloaded segment to the WAL, checking it on the way. One reused buffer: the
 * checker is done with each chunk before the next read, and the write is awaited.
 */
async function copyChecked(
  path: string,
  out: FileHandle,
  checker: WalChecker,
  buffer: Buffer,
): Promise<void> {
  const src = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await src.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      const chunk = buffer.subarray(0, bytesRead);
      checker.update(chunk);
      await writeFully(out, chunk, null);
    }
  } finally {
    await src.close();
  }
}

/**
 * How thoroughly the finished database is checked before it is placed:
 * - `quick`: `PRAGMA quick_check` — every page and b-tree structure, record formats, NOT NULL
 *   and CHECK constraints; not that each index matches its table (O(N), about a third of full).
 * - `full`: `PRAGMA integrity_check` — also every index entry against its row (O(N log N)).
 * - `none`: no SQLite check (Litestream v0.3.13 runs none). LZ4 checksums, WAL frame checks and
 *   the checkpoint's frame count still apply at every level.
 */
/** SQLite page cache of the check's connection, in pages. */
const CHECK_CACHE_PAGES = 64;

export type IntegrityLevel = 'quick' | 'full' | 'none';
export const INTEGRITY_LEVELS: readonly IntegrityLevel[] = ['quick', 'full', 'none'];

/** quick_check / integrity_check on the finished database; throws with SQLite's findings. */
export function checkIntegrity(dbPath: string, level: IntegrityLevel = 'full'): void {
  if (level === 'none') return;
  const pragma = level === 'quick' ? 'quick_check' : 'integrity_check';
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    // The check visits each page once: a page cache would only be filled and evicted. 64 pages
    // instead of the default 2000 (~8 MiB): on a 578 MiB db peak RSS -16 MiB and quick_check
    // ~20% faster (less cache churn).
    db.pragma(`cache_size = ${CHECK_CACHE_PAGES}`);
    let problems: string[];
    try {
      problems = (db.pragma(pragma) as Array<Record<string, string>>)
        .map((r) => r[pragma])
        .filter((m) => m !== 'ok');
    } catch (err) {
      // Damage bad enough that SQLite stops the check itself (SQLITE_CORRUPT).
      problems = [(err as Error).message];
    }
    if (problems.length > 0) {
      throw new UserError(`restored database failed PRAGMA ${pragma}: ${problems.slice(0, 3).join('; ')}`, {
        hint: 'The replica holds a damaged database: restore an earlier point (-index/-timestamp) or from another replica.',
      });
    }
  } finally {
    db.close();
  }
}
