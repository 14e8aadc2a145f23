/**
 * Compare a restored database with the live one AT THE RESTORED POSITION, page by page.
 *
 * The replica's latest state is (generation, WAL index, offset P). While the live WAL is still
 * that index (same salts), the live database as of P is: for every page, its last frame in the
 * live WAL at or before P, else the page in the database file — valid as long as no checkpoint
 * has copied frames past P into the file (the -shm's nBackfill <= frames before P). We read it
 * inside a read transaction of our own, so the WAL cannot be restarted under us, and re-check
 * nBackfill afterwards so a checkpoint racing the read voids the result instead of faking a
 * mismatch. When the live db has no WAL at all (fully checkpointed, nobody writing), the file
 * itself is compared. Anything else (the live WAL restarted since P) cannot be compared
 * exactly and is reported as skipped, with the reason.
 *
 * The live database file is opened once for the whole comparison and closed only after our
 * SQLite connection: closing any descriptor of a file drops every POSIX lock the process holds
 * on it, SQLite's included.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import Database from 'better-sqlite3';
import {
  frameSize,
  parseWalHeader,
  readWalHeader,
  scanBuffer,
  scanWal,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
} from '../sqlite/wal.js';

export type CompareMethod = 'pages-at-position' | 'whole-file' | 'none';

export interface CompareResult {
  method: CompareMethod;
  status: 'match' | 'mismatch' | 'skipped';
  /** Pages compared. */
  pages: number;
  /** First differing page numbers (at most 10). */
  differingPages: number[];
  reason?: string;
}

export interface RestoredPosition {
  /** The 32-byte WAL header of the restored WAL index; undefined when no segment was applied. */
  walHeader?: Buffer;
  /** WAL bytes applied in that index (0 = snapshot only). */
  offset: number;
}

const skipped = (reason: string): CompareResult => ({
  method: 'none',
  status: 'skipped',
  pages: 0,
  differingPages: [],
  reason,
});

/** Page size and page count from a database header (bytes 16-17, 28-31). */
function dbHeaderInfo(fd: number): { pageSize: number; pages: number } | undefined {
  const h = Buffer.alloc(100);
  if (readSync(fd, h, 0, 100, 0) < 100 || h.toString('latin1', 0, 16) !== 'SQLite format 3\0')
    return undefined;
  const raw = h.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const inHeader = h.readUInt32BE(28);
  const bySize = Math.floor(fstatSync(fd).size / pageSize);
  // The header's count is valid only when its version-valid-for matches the change counter.
  const pages = inHeader > 0 && h.readUInt32BE(92) === h.readUInt32BE(24) ? inHeader : bySize;
  return { pageSize, pages };
}

/** nBackfill from the -shm (WalCkptInfo at byte 96, native byte order); 0 when there is none. */
function readBackfill(shmPath: string): number {
  let fd: number;
  try {
    fd = openSync(shmPath, 'r');
  } catch {
    return 0;
  }
  try {
    const b = Buffer.alloc(4);
    if (readSync(fd, b, 0, 4, 96) < 4) return 0;
    return endianness() === 'LE' ? b.readUInt32LE(0) : b.readUInt32BE(0);
  } finally {
    closeSync(fd);
  }
}

function readPage(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) {
      buf.fill(0, done); // short file: compare as zeros
      return;
    }
    done += n;
  }
}

export function compareWithLive(
  livePath: string,
  restoredPath: string,
  pos: RestoredPosition,
): CompareResult {
  if (!existsSync(livePath)) return skipped('no live database at this path (restore-only check)');
  const dbFd = openSync(livePath, 'r');
  let conn: Database.Database | undefined;
  const restoredFd = openSync(restoredPath, 'r');
  try {
    try {
      conn = new Database(livePath, { readonly: true, fileMustExist: true, timeout: 5_000 });
      conn.exec('BEGIN');
      conn.prepare('SELECT count(*) FROM sqlite_schema').get(); // takes the read snapshot
    } catch (err) {
      return skipped(`cannot open the live database for reading: ${(err as Error).message}`);
    }
    const restored = dbHeaderInfo(restoredFd);
    if (!restored) return skipped('restored file has no SQLite header');
    const { pageSize } = restored;
    const wal = readWalHeader(`${livePath}-wal`);
    if (!wal) return compareWholeFile(dbFd, restoredFd, restored);

    if (!pos.walHeader) {
      return skipped(
        'the replica holds a snapshot only for its latest WAL index; its live WAL position is unknown',
      );
    }
    const replicated = parseWalHeader(pos.walHeader);
    if (!replicated || replicated.salt1 !== wal.header.salt1 || replicated.salt2 !== wal.header.salt2) {
      return skipped(
        'the live WAL has restarted since the replicated position (a checkpoint ran after the last shipped segment); see the RPO',
      );
    }
    if (wal.header.pageSize !== pageSize)
      return skipped('page sizes of the live and restored databases differ');

    // Where each page's newest frame at or before P is.
    const walFd = openSync(`${livePath}-wal`, 'r');
    try {
      const fsz = frameSize(pageSize);
      const frameOf = new Map<number, number>();
      const scan = scanWal(walFd, {
        from: WAL_HEADER_SIZE,
        to: pos.offset,
        header: wal.header,
        checksum: { s1: wal.header.checksum1, s2: wal.header.checksum2 },
        buffer: scanBuffer(pageSize),
        onFrames: (buf, start, end, fileOffset) => {
          for (let off = start; off < end; off += fsz) {
            frameOf.set(buf.readUInt32BE(off), fileOffset + (off - start));
          }
        },
      });
      if (scan.commitEnd < pos.offset) {
        return {
          method: 'pages-at-position',
          status: 'mismatch',
          pages: 0,
          differingPages: [],
          reason: `the live WAL holds committed frames only up to byte ${scan.commitEnd}, the replica up to ${pos.offset}`,
        };
      }
      const framesAtP = Math.max(0, (pos.offset - WAL_HEADER_SIZE) / fsz);
      const shm = `${livePath}-shm`;
      if (readBackfill(shm) > framesAtP) {
        return skipped(
          'a checkpoint already copied frames newer than the replicated position into the database file',
        );
      }
      const pages = scan.commitDbSize || restored.pages;
      const result = comparePages(restoredFd, restored.pages, pages, pageSize, (pgno, buf) => {
        const frame = frameOf.get(pgno);
        if (frame !== undefined) {
          readPage(walFd, buf, frame + WAL_FRAME_HEADER_SIZE);
        } else {
          readPage(dbFd, buf, (pgno - 1) * pageSize);
        }
      });
      if (readBackfill(shm) > framesAtP) {
        return skipped('a checkpoint ran during the comparison; run verify again');
      }
      return { method: 'pages-at-position', ...result };
    } finally {
      closeSync(walFd);
    }
  } finally {
    try {
      conn?.exec('COMMIT');
    } catch {}
    conn?.close();
    closeSync(restoredFd);
    closeSync(dbFd);
  }
}

function compareWholeFile(
  dbFd: number,
  restoredFd: number,
  restored: { pageSize: number; pages: number },
): CompareResult {
  const live = dbHeaderInfo(dbFd);
  if (!live) return skipped('live database has no SQLite header');
  if (live.pageSize !== restored.pageSize) {
    return {
      method: 'whole-file',
      status: 'mismatch',
      pages: 0,
      differingPages: [],
      reason: 'page sizes differ',
    };
  }
  const result = comparePages(restoredFd, restored.pages, live.pages, live.pageSize, (pgno, buf) =>
    readPage(dbFd, buf, (pgno - 1) * live.pageSize),
  );
  if (result.status === 'mismatch') {
    result.reason = `${result.reason ?? 'pages differ'}; the live database has no WAL, so it was compared as a whole: it holds changes the replica lacks (written while not replicating?)`;
  }
  return { method: 'whole-file', ...result };
}

function comparePages(
  restoredFd: number,
  restoredPages: number,
  livePages: number,
  pageSize: number,
  readLive: (pgno: number, buf: Buffer) => void,
): Omit<CompareResult, 'method'> {
  const a = Buffer.allocUnsafe(pageSize);
  const b = Buffer.allocUnsafe(pageSize);
  const differing: number[] = [];
  let count = 0;
  const n = Math.min(restoredPages, livePages);
  for (let pgno = 1; pgno <= n; pgno++) {
    readPage(restoredFd, a, (pgno - 1) * pageSize);
    readLive(pgno, b);
    if (!a.equals(b)) {
      count++;
      if (differing.length < 10) differing.push(pgno);
    }
  }
  const reasons: string[] = [];
  if (restoredPages !== livePages)
    reasons.push(`page counts differ (replica ${restoredPages}, live ${livePages})`);
  if (count > 0) reasons.push(`${count} of ${n} pages differ`);
  return {
    status: reasons.length === 0 ? 'match' : 'mismatch',
    pages: n,
    differingPages: differing,
    reason: reasons.length > 0 ? reasons.join('; ') : undefined,
  };
}
