/**
 * Checks the WAL bytes of one index as they are assembled from its segments, so a damaged or
 * missing segment is reported by name instead of SQLite silently ignoring the frames after it
 * (SQLite stops replaying at the first frame whose salt or running checksum does not match).
 */
import { UserError } from '../errors.js';
import { walChecksum as sqliteWalChecksum } from '../sqlite/wal.js';

export const WAL_HEADER_SIZE = 32;
export const WAL_FRAME_HEADER_SIZE = 24;
const WAL_MAGIC_LE = 0x377f0682;
const WAL_MAGIC_BE = 0x377f0683;

/** SQLite's WAL checksum over `data` (length a multiple of 8), continuing from (s0, s1). */
export function walChecksum(data: Buffer, bigEndian: boolean, s0: number, s1: number): [number, number] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const sum = sqliteWalChecksum(view, 0, data.length, bigEndian, { s1: s0, s2: s1 });
  return [sum.s1, sum.s2];
}

function corrupt(object: string, problem: string): UserError {
  return new UserError(`${object}: ${problem}`, {
    hint: 'The replica object is damaged; restore an earlier point (-index/-timestamp) or from another replica.',
  });
}

/**
 * Feed it the segments of one WAL index in order, streaming: `begin(object)`, `update(chunk)`...,
 * `end()`. It verifies the header, every frame's salts and chained checksum, and that each
 * segment holds whole frames and ends on a commit frame. Memory: one frame.
 */
export class WalChecker {
  private bigEndian = false;
  private pageSize = 0;
  private salt1 = 0;
  private salt2 = 0;
  private s0 = 0;
  private s1 = 0;
  private started = false;
  /** A header or frame split across chunks, gathered until whole. */
  private carry = Buffer.alloc(0);
  private carryLength = 0;
  /** Where an unaligned frame is copied to be checksummed word by word. */
  private aligned = Buffer.alloc(0);
  private object = '';
  private lastCommit = 0;
  private segmentFrames = 0;
  /** WAL bytes checked so far: the offset the next segment must start at. */
  offset = 0;
  frames = 0;

  constructor(private readonly expectedPageSize?: number) {}

  /** The page size the WAL header declares (once the header has been checked). */
  get walPageSize(): number | undefined {
    return this.started ? this.pageSize : undefined;
  }

  /** The error for a WAL whose page size differs from the database's. */
  static pageSizeMismatch(object: string, walPageSize: number, dbPageSize: number): UserError {
    return corrupt(object, `WAL page size ${walPageSize} does not match the snapshot's ${dbPageSize}`);
  }

  begin(object: string): void {
    this.object = object;
    this.lastCommit = 0;
    this.segmentFrames = 0;
  }

  update(chunk: Buffer): void {
    this.offset += chunk.length;
    let pos = 0;
    if (this.carryLength > 0) {
      const need = this.unitSize() - this.carryLength;
      const n = Math.min(need, chunk.length);
      chunk.copy(this.carry, this.carryLength, 0, n);
      this.carryLength += n;
      pos = n;
      if (n < need) return;
      this.carryLength = 0;
      this.unit(this.carry.subarray(0, this.unitSize()));
    }
    // Whole frames are checked in place: no copy for all but the ones split across chunks.
    for (let need = this.unitSize(); chunk.length - pos >= need; need = this.unitSize()) {
      this.unit(chunk.subarray(pos, pos + need));
      pos += need;
    }
    if (pos < chunk.length) {
      if (this.carry.length < this.unitSize()) this.carry = Buffer.alloc(this.unitSize());
      this.carryLength = chunk.copy(this.carry, 0, pos);
    }
  }

  /** Size of the next unit to check: the WAL header, then one frame at a time. */
  private unitSize(): number {
    return this.started ? WAL_FRAME_HEADER_SIZE + this.pageSize : WAL_HEADER_SIZE;
  }

  private unit(bytes: Buffer): void {
    if (bytes.byteOffset % 4 !== 0) {
      // walChecksum reads whole words only from aligned memory (~5x faster): after a frame
      // split across chunks, every later frame of the chunk is unaligned, so copy (cheap).
      if (this.aligned.length < bytes.length) this.aligned = Buffer.alloc(bytes.length);
      bytes.copy(this.aligned);
      bytes = this.aligned.subarray(0, bytes.length);
    }
    if (this.started) this.frame(bytes);
    else this.header(bytes);
  }

  end(): void {
    if (!this.started) throw corrupt(this.object, 'WAL segment at offset 0 is shorter than a WAL header');
    if (this.carryLength !== 0) {
      throw corrupt(
        this.object,
        `WAL segment does not hold whole frames of ${this.pageSize}-byte pages (object truncated or corrupt)`,
      );
    }
    if (this.segmentFrames > 0 && this.lastCommit === 0) {
      throw corrupt(this.object, 'WAL segment does not end on a commit frame (incomplete transaction)');
    }
  }

  private frame(f: Buffer): void {
    const frameNo = this.frames + 1;
    if (f.readUInt32BE(8) !== this.salt1 || f.readUInt32BE(12) !== this.salt2) {
      throw corrupt(
        this.object,
        `WAL frame ${frameNo} has salts that do not match the WAL header (object corrupt or from another WAL)`,
      );
    }
    [this.s0, this.s1] = walChecksum(f.subarray(0, 8), this.bigEndian, this.s0, this.s1);
    [this.s0, this.s1] = walChecksum(f.subarray(WAL_FRAME_HEADER_SIZE), this.bigEndian, this.s0, this.s1);
    if (f.readUInt32BE(16) !== this.s0 || f.readUInt32BE(20) !== this.s1) {
      throw corrupt(this.object, `WAL frame ${frameNo} checksum mismatch (object corrupt)`);
    }
    this.lastCommit = f.readUInt32BE(4);
    this.frames++;
    this.segmentFrames++;
  }

  private header(h: Buffer): void {
    const magic = h.readUInt32BE(0);
    if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE)
      throw corrupt(this.object, 'not a SQLite WAL (bad magic)');
    this.bigEndian = magic === WAL_MAGIC_BE;
    this.pageSize = h.readUInt32BE(8);
    if (this.pageSize < 512 || this.pageSize > 65536 || (this.pageSize & (this.pageSize - 1)) !== 0) {
      throw corrupt(this.object, `WAL header has an invalid page size ${this.pageSize}`);
    }
    if (this.expectedPageSize !== undefined && this.pageSize !== this.expectedPageSize) {
      throw WalChecker.pageSizeMismatch(this.object, this.pageSize, this.expectedPageSize);
    }
    this.salt1 = h.readUInt32BE(16);
    this.salt2 = h.readUInt32BE(20);
    [this.s0, this.s1] = walChecksum(h.subarray(0, 24), this.bigEndian, 0, 0);
    if (h.readUInt32BE(24) !== this.s0 || h.readUInt32BE(28) !== this.s1) {
      throw corrupt(this.object, 'WAL header checksum mismatch (object corrupt)');
    }
    this.started = true;
  }
}

/** Page size from a SQLite database header (first 100 bytes). */
export function dbPageSize(object: string, header: Buffer): number {
  if (header.length < 100 || header.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') {
    throw corrupt(object, 'snapshot is not a SQLite database');
  }
  const raw = header.readUInt16BE(16);
  return raw === 1 ? 65536 : raw;
}
