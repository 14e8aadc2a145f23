/**
 * Fixed-size slots of bytes kept in a temporary file instead of memory: parts of a ranged read
 * that arrive before the reader wants them (ranged-read.ts). The file is unlinked as soon as it
 * is open, so nothing is left behind however the process ends; its pages live in the OS page
 * cache, not in the process (a split read of a 558 MB snapshot held 7 x 2 MiB slots in memory:
 * 103 MiB peak RSS against ~70 for one GET).
 *
 * Reads and writes are synchronous: each is at most one socket chunk (64 KiB) to or from the
 * page cache, a few microseconds, and a synchronous write lets the chunk be collected young.
 */

import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class SpillFile {
  private constructor(
    private readonly fd: number,
    private readonly slotSize: number,
  ) {}

  /** A new spill file in `dir` (default: the OS temp folder), already unlinked. Throws if it cannot be made. */
  static open(slotSize: number, dir = tmpdir()): SpillFile {
    const path = join(dir, `.ls-mix-spill-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = openSync(path, 'wx+', 0o600);
    try {
      unlinkSync(path);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new SpillFile(fd, slotSize);
  }

  /** Writes `chunk` at `offset` within `slot`. */
  write(slot: number, offset: number, chunk: Buffer): void {
    if (offset + chunk.length > this.slotSize) throw new RangeError('spill write past its slot');
    let done = 0;
    while (done < chunk.length) {
      done += writeSync(this.fd, chunk, done, chunk.length - done, slot * this.slotSize + offset + done);
    }
  }

  /** `length` bytes from `offset` within `slot`, in a new buffer. */
  read(slot: number, offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, slot * this.slotSize + offset + done);
      if (n === 0) throw new Error('spill file shorter than what was written to it');
      done += n;
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}
