/**
 * The wal-index header in the `-shm` file: SQLite's own record of the last committed frame
 * (mxFrame). The WAL file alone cannot tell a committed transaction from one whose writer was
 * killed after writing its commit frame but before publishing it here — SQLite treats that one as
 * never committed and overwrites it. So the runtime copies frames only up to mxFrame.
 *
 * Layout (sqlite/src/wal.c, WalIndexHdr, host byte order), written twice (copy 2 first, then
 * copy 1); a reader accepts it only when both copies are equal, initialised, and checksummed.
 *
 * Read it through a descriptor that stays open: closing any descriptor of the -shm file would
 * drop this process's POSIX locks on it — SQLite's read-mark locks included.
 */

import { readSync } from 'node:fs';
import { endianness } from 'node:os';
import { walChecksum } from './wal.js';

const HDR = 48;
const HOST_BE = endianness() === 'BE';

export interface WalIndexHeader {
  /** Frames committed in the current WAL. */
  mxFrame: number;
  /** The WAL header's salts (bytes 16..24 of the WAL file) of that WAL. */
  salt: Buffer;
  pageSize: number;
}

/** undefined: no usable header (not initialised, or being written right now — retry later). */
export function readWalIndexHeader(fd: number): WalIndexHeader | undefined {
  const buf = Buffer.alloc(HDR * 2);
  if (readSync(fd, buf, 0, HDR * 2, 0) < HDR * 2) return undefined;
  const h1 = buf.subarray(0, HDR);
  if (!h1.equals(buf.subarray(HDR))) return undefined;
  if (h1[12] !== 1) return undefined; // isInit
  const view = new DataView(buf.buffer, buf.byteOffset, HDR);
  const sum = walChecksum(view, 0, 40, HOST_BE);
  const u32 = (o: number) => (HOST_BE ? h1.readUInt32BE(o) : h1.readUInt32LE(o));
  if (sum.s1 !== u32(40) || sum.s2 !== u32(44)) return undefined;
  const sz = HOST_BE ? h1.readUInt16BE(14) : h1.readUInt16LE(14);
  return {
    mxFrame: u32(16),
    salt: Buffer.from(h1.subarray(32, 40)),
    pageSize: (sz & 0xfe00) + ((sz & 0x0001) << 16),
  };
}
