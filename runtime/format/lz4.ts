/**
 * LZ4 frames exactly as Litestream v0.3.13 (pierrec/lz4 v4) writes them: one standard frame,
 * independent blocks, 4 MB max block size, content checksum on, block checksums off, a block
 * stored uncompressed when compression does not shrink it.
 *
 * The frame container and checksums are written here (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md);
 * the block encoder is lz4-block-encode.ts, the block decoder lz4-block.ts (lz4-napi for dependent
 * blocks, which only other tools write). Memory stays bounded by one block on both sides.
 */

import { createRequire } from 'node:module';
import { Duplex, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.js';
import { collectYoung, IdleRelease } from '../memory.js';
import { decodeLz4Block, Lz4BlockError } from './lz4-block.js';
import { encodeLz4Block, lz4HashTable } from './lz4-block-encode.js';
import { createXxh32, type Xxh32, xxh32 } from './xxh32.js';

// lz4-napi is loaded on first use, for dependent blocks only (lz4-block.ts decodes independent
// ones, lz4-block-encode.ts writes them): its native module is 4-11 MiB of RSS, and its allocator
// (mimalloc) kept 15-20 MiB of freed block buffers resident while replicate compressed a snapshot.
const requireCjs = createRequire(import.meta.url);
let codec: typeof import('lz4-napi') | undefined;
const lz4napi = () => {
  codec ??= requireCjs('lz4-napi') as typeof import('lz4-napi');
  return codec;
};
// The synchronous call: lz4-napi 2.10's async uncompress leaks its native buffers
// (measured: ~4 MB of RSS per 4 MB block, never freed). A 4 MB block takes a few ms.
const uncompressBlock = (data: Buffer, dict?: Buffer): Buffer => lz4napi().uncompressSync(data, dict);

export const LZ4_FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MIN = 0x184d2a50;
const SKIPPABLE_MAGIC_MAX = 0x184d2a5f;
const LEGACY_MAGIC = 0x184c2102;
/** "age-": an age-encrypted object read without identities. */
const AGE_MAGIC_LE = 0x2d656761;
/** Block max size codes (BD byte bits 4-6) -> bytes. */
const BLOCK_MAX_SIZES: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
/** The most a block may hold (the frame's declared 4 MB max): what decoders must accept. */
const MAX_BLOCK_SIZE = 4 << 20;
/**
 * Blocks this encoder writes: 1 MiB, under the declared 4 MB max (any LZ4 reader takes smaller
 * blocks). The block buffer and each block's compressed output are a quarter of the size, which
 * is most of a snapshot's transient memory (replicate peak RSS, 256 MiB db: ~117 -> ~103 MiB);
 * independent blocks with a 64 KiB window compress the same at 1 or 4 MiB.
 */
const ENCODE_BLOCK_SIZE = 1 << 20;
/** LZ4 back-references reach 64 KiB: the history a dependent block may need. */
const DICT_SIZE = 64 << 10;
const UNCOMPRESSED_BIT = 0x80000000;

// FLG: version 01, block independence, content checksum. BD: 4 MB max block.
const ENCODER_FLG = 0x40 | 0x20 | 0x04;
const ENCODER_BD = 7 << 4;

/** The 7-byte frame header the encoder writes (magic, FLG, BD, header checksum). */
function frameHeader(): Buffer {
  const header = Buffer.alloc(7);
  header.writeUInt32LE(LZ4_FRAME_MAGIC, 0);
  header[4] = ENCODER_FLG;
  header[5] = ENCODER_BD;
  header[6] = headerChecksum(header.subarray(4, 6));
  return header;
}

function headerChecksum(descriptor: Uint8Array): number {
  return (xxh32(descriptor) >>> 8) & 0xff;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0, 0);
  return b;
}

/**
 * Encoded blocks of at least POOLED_ENCODE_MIN bytes are written into these buffers; the sink
 * that stores an object gives each chunk back with releaseEncoded() once it is written (the file
 * replica, the upload spool). A chunk never given back (an encrypting or remote sink) is simply
 * garbage. Four kept: the encoder's readable side holds one block, the sink one or two.
 */
let encodedBlocks: BlockPool | undefined;
const encoding = new IdleRelease(() => encodedBlocks?.trim());
/** Below this, an encoded block is copied out of `encodeScratch`: pooling would lend 1 MiB for it. */
const POOLED_ENCODE_MIN = 64 << 10;
let encodeScratch: Buffer | undefined;
/** Encoding is synchronous: one hash table serves every encoder of the process. */
const encodeTable = lz4HashTable();

/**
 * One framed block (size word + data) as a single buffer: compressed, or stored as is when
 * compression does not shrink it.
 */
function encodeBlock(data: Buffer): Buffer {
  const pooled = data.length >= POOLED_ENCODE_MIN;
  let out: Buffer;
  if (pooled) {
    encodedBlocks ??= new BlockPool(ENCODE_BLOCK_SIZE + 4, 4);
    // A long-lived replicate does not keep the buffers between snapshots (2 s idle).
    encoding.touch();
    out = encodedBlocks.acquire(data.length + 4);
  } else {
    encodeScratch ??= Buffer.allocUnsafeSlow(POOLED_ENCODE_MIN + 4);
    out = encodeScratch;
  }
  const n = encodeLz4Block(data, out, 4, data.length, encodeTable);
  let length: number;
  if (n < 0) {
    out.writeUInt32LE((data.length | UNCOMPRESSED_BIT) >>> 0, 0);
    data.copy(out, 4);
    length = data.length + 4;
  } else {
    out.writeUInt32LE(n, 0);
    length = n + 4;
  }
  return pooled ? out.subarray(0, length) : Buffer.from(out.subarray(0, length));
}

/** Free buffers the encoder keeps for its next blocks (tests). */
export function encodedBlocksKept(): number {
  return encodedBlocks?.freeCount ?? 0;
}

/**
 * A sink has written `chunk` of an encoder's output (anything else is ignored): its buffer may
 * hold the next block.
 */
export function releaseEncoded(chunk: Buffer): void {
  encodedBlocks?.release(chunk);
}

/** A Transform that turns raw bytes into one LZ4 frame (Litestream's object format). */
export function createLz4FrameEncoder(): Transform {
  const hash = createXxh32();
  // Input is gathered into one block buffer (reused after each block that compresses), so a
  // stream of small chunks costs one copy per byte and no allocation per block.
  let block = Buffer.alloc(0);
  let filled = 0;
  let headerWritten = false;

  const writeHeader = (stream: Transform) => {
    if (!headerWritten) {
      stream.push(frameHeader());
      headerWritten = true;
    }
  };

  const pushBlock = (stream: Transform, data: Buffer) => {
    stream.push(encodeBlock(data));
  };

  const append = (stream: Transform, chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      // Whole blocks straight from a large chunk: no copy at all.
      if (filled === 0 && chunk.length - at >= ENCODE_BLOCK_SIZE) {
        pushBlock(stream, chunk.subarray(at, at + ENCODE_BLOCK_SIZE));
        at += ENCODE_BLOCK_SIZE;
        continue;
      }
      if (block.length < ENCODE_BLOCK_SIZE && filled + (chunk.length - at) > block.length) {
        // Grow toward one block: small objects (WAL segments) never take a whole block buffer.
        const size = Math.min(
          ENCODE_BLOCK_SIZE,
          Math.max(2 * block.length, filled + chunk.length - at, 64 << 10),
        );
        const grown = Buffer.allocUnsafe(size);
        block.copy(grown, 0, 0, filled);
        block = grown;
      }
      const n = Math.min(chunk.length - at, ENCODE_BLOCK_SIZE - filled);
      chunk.copy(block, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === ENCODE_BLOCK_SIZE) {
        filled = 0;
        pushBlock(stream, block);
      }
    }
  };

  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        writeHeader(this);
        hash.update(chunk);
        append(this, chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        writeHeader(this);
        if (filled > 0) pushBlock(this, block.subarray(0, filled));
        this.push(u32(0)); // end mark
        this.push(u32(hash.digest()));
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

/**
 * Blocks of 1 MiB in WAL segments (the frame still declares 4 MB, the most a block may hold):
 * the reused buffer and each block's compressed output stay a quarter of the size, which is what
 * bounds replicate's memory under a fast writer. Independent blocks with a 64 KiB window compress
 * the same either way.
 */
const RANGE_BLOCK_SIZE = 1 << 20;

/** What createLz4FileRangeEncoder reads through: a FileHandle, or a db's own descriptor (db.ts). */
export interface PositionalReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/**
 * One LZ4 frame of bytes [start, end) of an open file (WAL segments from the shadow WAL, the
 * database file for a snapshot): read
 * one block (RANGE_BLOCK_SIZE) at a time into a single reused buffer and compressed from there — no buffer per
 * read, no copy between reading and compressing (the stream form allocated a 1 MiB buffer per
 * read and copied every byte into the block). The handle stays the caller's: destroy this
 * stream, then close it (FileHandle.close waits for a read in flight).
 */
export function createLz4FileRangeEncoder(
  fh: PositionalReader,
  start: number,
  end: number,
  opts: { onRead?: (bytes: number) => void } = {},
): Readable {
  const hash = createXxh32();
  let block: Buffer | undefined;
  let pos = start;
  let header: Buffer | undefined = frameHeader();
  const finish = (stream: Readable) => {
    if (header) stream.push(header);
    header = undefined;
    stream.push(u32(0)); // end mark
    stream.push(u32(hash.digest()));
    stream.push(null);
  };
  return new Readable({
    // One block ahead at most.
    highWaterMark: 1,
    read() {
      if (pos >= end) {
        finish(this);
        return;
      }
      // Small segments never take a whole block buffer.
      block ??= Buffer.allocUnsafe(Math.min(RANGE_BLOCK_SIZE, end - start));
      const buf = block;
      fh.read(buf, 0, Math.min(buf.length, end - pos), pos).then(
        ({ bytesRead }) => {
          if (this.destroyed) return;
          if (bytesRead === 0) {
            this.destroy(new Error(`file ended at ${pos}, before ${end}`));
            return;
          }
          try {
            pos += bytesRead;
            opts.onRead?.(bytesRead);
            const data = buf.subarray(0, bytesRead);
            hash.update(data);
            const encoded = encodeBlock(data);
            if (header) this.push(header);
            header = undefined;
            this.push(encoded);
            if (pos >= end) finish(this);
          } catch (err) {
            this.destroy(err as Error);
          }
        },
        (err: Error) => {
          if (!this.destroyed) this.destroy(err);
        },
      );
    },
  });
}

/**
 * FIFO of incoming chunks. Small fields are read without allocating, block bytes are copied
 * straight into their destination: one copy per byte, no per-block concatenation.
 */
class ChunkQueue {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private head = 0;
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Remove n bytes (n <= length). */
  skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const available = this.chunks[0].length - this.head;
      if (n < available) {
        this.head += n;
        return;
      }
      n -= available;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Copy n bytes (n <= length) into dest at offset and remove them. */
  copyTo(dest: Uint8Array, offset: number, n: number): void {
    this.length -= n;
    while (n > 0) {
      const c = this.chunks[0];
      const want = Math.min(c.length - this.head, n);
      dest.set(c.subarray(this.head, this.head + want), offset);
      offset += want;
      n -= want;
      if (this.head + want === c.length) {
        this.chunks.shift();
        this.head = 0;
      } else {
        this.head += want;
      }
    }
  }

  /** The little-endian word at the front (length >= 4); removes it. */
  readU32(): number {
    const c = this.chunks[0];
    if (c.length - this.head >= 4) {
      const v = c.readUInt32LE(this.head);
      this.skip(4);
      return v;
    }
    this.copyTo(this.word, 0, 4);
    return this.word.readUInt32LE(0);
  }

  /** The byte at position i from the front, not removed (i < length). */
  peekByte(i: number): number {
    let k = 0;
    let at = this.head + i;
    while (at >= this.chunks[k].length) {
      at -= this.chunks[k].length;
      k++;
    }
    return this.chunks[k][at];
  }

  private readonly word = Buffer.alloc(4);
}

interface FrameState {
  independent: boolean;
  blockChecksum: boolean;
  contentChecksum: boolean;
  contentSize?: bigint;
  blockMaxSize: number;
  hash: Xxh32;
  produced: bigint;
  history: Buffer;
}

type Phase =
  | { kind: 'magic' }
  | { kind: 'skip'; remaining: number }
  | { kind: 'header' }
  | { kind: 'blockSize' }
  /** Block bytes arrive into `buf` (at `at`) until `size` are there, then its checksum if any. */
  | { kind: 'block'; size: number; uncompressed: boolean; buf: Buffer; at: number; filled: number }
  | { kind: 'checksum' };

/** Room before a compressed block in the decoder's buffer: lz4-napi reads the output size there. */
const SIZE_PREFIX = 4;
/** Decode buffers grow in steps of this much (fewer reallocations while sizes creep up). */
const BUFFER_STEP = 64 << 10;

/**
 * Reusable buffers for decoded blocks of at least POOLED_MIN bytes. A decoder given a pool writes
 * those blocks into its buffers; the stream's final consumer gives each one back with release()
 * once it is done with it (download.ts: after the block is written to its file). Without it each
 * 4 MiB block was a new native buffer, freed only at V8's next full collection and then mostly
 * kept by malloc: a restore's RSS grew by ~120 MiB of dead blocks. A buffer never released is
 * simply garbage-collected; one released twice is ignored (never handed out to two users).
 */
export class BlockPool {
  private readonly free: Buffer[] = [];
  /** Weak: a buffer its user never gives back is garbage, not kept here. */
  private readonly lent = new WeakSet<ArrayBufferLike>();
  private lentNow = 0;
  /** Buffers dropped (beyond `keep`) since the last collection. */
  private dropped = 0;

  constructor(
    /** Size of each buffer: the largest block it serves. */
    readonly size: number = MAX_BLOCK_SIZE,
    /**
     * Free buffers kept for reuse; more than this are dropped. 12: a restore at -parallelism 8
     * lends up to ~2 per download (decoder output + file sink); with 4 kept, the rest were
     * dropped after each WAL segment and waited for a full collection (bulk restore p8: peak
     * RSS ~96 -> ~92 MiB, dead ArrayBuffers at the peak 47 -> 38 MiB). Kept buffers are never
     * more than were lent at once, and download.ts lets them go once downloads stop (trim).
     */
    private readonly keep = 12,
  ) {}

  /** Free buffers kept for reuse. */
  get freeCount(): number {
    return this.free.length;
  }

  /** Buffers handed out and not yet given back. */
  get lentCount(): number {
    return this.lentNow;
  }

  /** A buffer of `n` bytes (n <= size), uninitialised. */
  acquire(n: number): Buffer {
    // Buffers dropped earlier are external memory nobody holds any more: a minor collection
    // frees them before a new one is allocated (without it peak RSS rose by ~20 MiB). Only
    // then: a collection per decoded block cost ~0.4 CPU s per GiB restored.
    if (this.free.length === 0 && this.dropped > 0) {
      collectYoung(this.dropped * this.size);
      this.dropped = 0;
    }
    const whole = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.lent.add(whole.buffer);
    this.lentNow++;
    return whole.subarray(0, n);
  }

  /** Let go of the free buffers (they are garbage from here on; see IdleRelease). */
  trim(): void {
    this.dropped += this.free.length;
    this.free.length = 0;
  }

  /** Give back a chunk that acquire() returned (anything else is ignored). */
  release(chunk: Buffer): void {
    if (!this.lent.delete(chunk.buffer)) return;
    this.lentNow--;
    if (this.free.length < this.keep) this.free.push(Buffer.from(chunk.buffer, 0, this.size));
    else this.dropped++;
  }
}

/**
 * Buffers that compressed blocks are gathered into, shared by every decoder of the process: a
 * decoder holds one only from a block's size word until the block is decoded. With one per
 * decoder, a restore's ~100 concurrent-ish WAL segment downloads each left one (~0.5 MiB) that
 * outlived two young collections and waited for a full one (restore -parallelism 8 of the
 * bench's bulk replica: ~60 MiB of dead ArrayBuffers at the peak).
 */
const spareScratch: Buffer[] = [];
const SPARE_SCRATCH_KEEP = 8;
/** Decoders running; once none has run for a while the spare scratch buffers are let go. */
const scratchUsers = new IdleRelease(() => {
  for (const b of spareScratch.splice(0)) collectYoung(b.length);
});

function takeScratch(min: number): Buffer {
  const i = spareScratch.findIndex((b) => b.length >= min);
  if (i >= 0) return spareScratch.splice(i, 1)[0];
  return Buffer.allocUnsafeSlow(Math.ceil(min / BUFFER_STEP) * BUFFER_STEP);
}

function giveBackScratch(buffer: Buffer): void {
  if (spareScratch.length < SPARE_SCRATCH_KEEP) spareScratch.push(buffer);
  else collectYoung(buffer.length);
}

/** Blocks smaller than this are allocated as before: pooling them would waste a whole buffer. */
const POOLED_MIN = 1 << 20;

/** An LZ4 frame that cannot be decoded: corrupt, truncated, or not LZ4 at all. */
export class Lz4FormatError extends UserError {
  constructor(name: string, problem: string) {
    super(`${name}: ${problem}`, {
      hint: 'The replica object is damaged or incomplete; restore from another replica, generation or an earlier -timestamp.',
    });
    this.name = 'Lz4FormatError';
  }
}

/**
 * A Transform that decodes any valid LZ4 frame stream: one or more frames (and skippable
 * frames), dependent or independent blocks, block and content checksums, content size.
 * `name` (the object key) is put into every error so a bad object is easy to find.
 */
export function createLz4FrameDecoder(opts: { name?: string; pool?: BlockPool } = {}): Duplex {
  const name = opts.name ?? 'LZ4 stream';
  const queue = new ChunkQueue();
  let phase: Phase = { kind: 'magic' };
  let frame: FrameState | undefined;
  let frames = 0;
  // Compressed blocks are gathered into a shared scratch buffer (takeScratch) while they arrive.
  const fail = (problem: string) => new Lz4FormatError(name, problem);

  /** Account for a decoded block (size, checksum, history); returns it. */
  const emit = (data: Buffer): Buffer => {
    const f = frame!;
    f.produced += BigInt(data.length);
    if (f.contentChecksum) f.hash.update(data);
    if (!f.independent) {
      f.history =
        data.length >= DICT_SIZE
          ? Buffer.from(data.subarray(data.length - DICT_SIZE))
          : Buffer.from(Buffer.concat([f.history, data]).subarray(-DICT_SIZE));
    }
    return data;
  };

  const pool = opts.pool;
  const decodeBlock = (f: FrameState, block: Phase & { kind: 'block' }): Buffer => {
    if (block.uncompressed) return block.buf;
    // What the block can expand to at most (LZ4 expands at most 255x), not a 4 MB buffer for
    // each small segment.
    const bound = Math.min(f.blockMaxSize, block.size * 255 + 64);
    if (f.independent || f.history.length === 0) {
      const out = Buffer.allocUnsafe(bound);
      let n: number;
      try {
        n = decodeLz4Block(block.buf.subarray(SIZE_PREFIX, SIZE_PREFIX + block.size), out);
      } catch (err) {
        if (err instanceof Lz4BlockError)
          throw fail(`LZ4 block does not decompress (object corrupt): ${err.message}`);
        throw err;
      }
      // Far smaller than its bound: a right-sized copy, not a mostly empty buffer kept alive.
      return n >= bound / 2 ? out.subarray(0, n) : Buffer.from(out.subarray(0, n));
    }
    // A dependent block (not what Litestream writes): lz4-napi, with the previous 64 KiB.
    block.buf.writeUInt32LE(bound, 0);
    const sized = block.buf.subarray(0, SIZE_PREFIX + block.size);
    let decoded: Buffer;
    try {
      decoded = uncompressBlock(sized, f.history);
    } catch {
      throw fail('LZ4 block does not decompress (object corrupt)');
    }
    if (!pool || decoded.length < POOLED_MIN || decoded.length > pool.size) return decoded;
    // Into a pooled buffer: the codec's own buffer dies here, young, and a minor collection
    // (collectYoung) frees it before malloc has to find room for another.
    const out = pool.acquire(decoded.length);
    decoded.copy(out);
    collectYoung(decoded.length);
    return out;
  };

  /**
   * An independent block straight into a pooled buffer (no codec buffer, no copy): see
   * lz4-block.ts. A block that turns out small is copied out and its pooled buffer given back.
   */
  const decodeBlockIntoPool = (pool: BlockPool, block: Phase & { kind: 'block' }): Buffer => {
    const out = pool.acquire(pool.size);
    let n: number;
    try {
      n = decodeLz4Block(block.buf.subarray(SIZE_PREFIX, SIZE_PREFIX + block.size), out);
    } catch (err) {
      pool.release(out);
      if (err instanceof Lz4BlockError)
        throw fail(`LZ4 block does not decompress (object corrupt): ${err.message}`);
      throw err;
    }
    if (n >= POOLED_MIN) return out.subarray(0, n);
    const small = Buffer.from(out.subarray(0, n));
    pool.release(out);
    return small;
  };

  const finishFrame = () => {
    const f = frame!;
    if (f.contentSize !== undefined && f.contentSize !== f.produced) {
      throw fail(`LZ4 content size mismatch (header says ${f.contentSize} bytes, decoded ${f.produced})`);
    }
    frame = undefined;
    frames++;
    phase = { kind: 'magic' };
  };

  // Consume as much of the queue as forms complete units; returns when more input is needed.
  // Consume as much of the queue as forms complete units, yielding each decoded block as it is
  // asked for: a highly compressible 1 MiB chunk holds up to 64 blocks of 4 MiB, which must not
  // all be decoded into memory at once. Returns when more input is needed.
  const drain = function* (): Generator<Buffer, void> {
    for (;;) {
      switch (phase.kind) {
        case 'magic': {
          if (queue.length < 4) return;
          const magic = queue.readU32();
          if (magic === LZ4_FRAME_MAGIC) {
            phase = { kind: 'header' };
          } else if (magic >= SKIPPABLE_MAGIC_MIN && magic <= SKIPPABLE_MAGIC_MAX) {
            phase = { kind: 'skip', remaining: -1 }; // size word read in the 'skip' phase
          } else if (magic === LEGACY_MAGIC) {
            throw fail('legacy LZ4 frame format is not supported');
          } else if (magic === AGE_MAGIC_LE && frames === 0) {
            throw new UserError(`${name}: object is age-encrypted`, {
              hint: 'Add `age: { identities: [AGE-SECRET-KEY-1...] }` to the replica in the config and pass -config.',
            });
          } else {
            throw fail(
              frames === 0
                ? `not an LZ4 frame (magic ${magic.toString(16).padStart(8, '0')})`
                : 'trailing garbage after the LZ4 frame',
            );
          }
          break;
        }
        case 'skip': {
          if (phase.remaining < 0) {
            if (queue.length < 4) return;
            phase = { kind: 'skip', remaining: queue.readU32() };
          }
          const n = Math.min(phase.remaining, queue.length);
          queue.skip(n);
          phase.remaining -= n;
          if (phase.remaining > 0) return;
          frames++;
          phase = { kind: 'magic' };
          break;
        }
        case 'header': {
          if (queue.length < 2) return;
          const flg = queue.peekByte(0);
          const headerLength = 2 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
          if (queue.length < headerLength) return;
          const header = Buffer.alloc(headerLength);
          queue.copyTo(header, 0, headerLength);
          if (flg >> 6 !== 1) throw fail(`unsupported LZ4 frame version ${flg >> 6}`);
          if (flg & 0x01) throw fail('LZ4 frame needs a dictionary (dictID set), which is not supported');
          const blockMaxSize = BLOCK_MAX_SIZES[(header[1] >> 4) & 0x07];
          if (blockMaxSize === undefined) throw fail('invalid LZ4 block maximum size');
          if (headerChecksum(header.subarray(0, headerLength - 1)) !== header[headerLength - 1]) {
            throw fail('LZ4 frame header checksum mismatch');
          }
          frame = {
            independent: (flg & 0x20) !== 0,
            blockChecksum: (flg & 0x10) !== 0,
            contentChecksum: (flg & 0x04) !== 0,
            contentSize: flg & 0x08 ? header.readBigUInt64LE(2) : undefined,
            blockMaxSize,
            hash: createXxh32(),
            produced: 0n,
            history: Buffer.alloc(0),
          };
          phase = { kind: 'blockSize' };
          break;
        }
        case 'blockSize': {
          if (queue.length < 4) return;
          const word = queue.readU32();
          if (word === 0) {
            phase = { kind: 'checksum' };
            break;
          }
          const size = (word & ~UNCOMPRESSED_BIT) >>> 0;
          if (size > frame!.blockMaxSize) {
            throw fail(`LZ4 block of ${size} bytes exceeds the frame's ${frame!.blockMaxSize}-byte maximum`);
          }
          const uncompressed = (word & UNCOMPRESSED_BIT) !== 0;
          let buf: Buffer;
          if (uncompressed) {
            // The block is its own output.
            buf =
              pool && size >= POOLED_MIN && size <= pool.size ? pool.acquire(size) : Buffer.allocUnsafe(size);
          } else {
            buf = takeScratch(SIZE_PREFIX + size);
          }
          const at = uncompressed ? 0 : SIZE_PREFIX;
          phase = { kind: 'block', size, uncompressed, buf, at, filled: 0 };
          break;
        }
        case 'block': {
          const f = frame!;
          if (phase.filled < phase.size) {
            const n = Math.min(phase.size - phase.filled, queue.length);
            queue.copyTo(phase.buf, phase.at + phase.filled, n);
            phase.filled += n;
            if (phase.filled < phase.size) return;
          }
          const data = phase.buf.subarray(phase.at, phase.at + phase.size);
          if (f.blockChecksum) {
            if (queue.length < 4) return;
            if (xxh32(data) !== queue.readU32()) {
              throw fail('LZ4 block checksum mismatch (object corrupt)');
            }
          }
          let decoded: Buffer;
          try {
            decoded = emit(
              pool && !phase.uncompressed && f.independent && f.blockMaxSize <= pool.size
                ? decodeBlockIntoPool(pool, phase)
                : decodeBlock(f, phase),
            );
          } finally {
            // Decoded (or failed): the compressed bytes are no longer needed.
            if (!phase.uncompressed) giveBackScratch(phase.buf);
          }
          phase = { kind: 'blockSize' };
          if (decoded.length > 0) yield decoded;
          break;
        }
        case 'checksum': {
          const f = frame!;
          if (f.contentChecksum) {
            if (queue.length < 4) return;
            const expected = queue.readU32();
            if (f.hash.digest() !== expected) {
              throw fail('LZ4 content checksum mismatch (object corrupt)');
            }
          }
          finishFrame();
          break;
        }
      }
    }
  };

  const endOfInput = (): Error | undefined => {
    if (phase.kind === 'magic' && queue.length === 0 && frames > 0) return undefined;
    if (frames === 0 && phase.kind === 'magic' && queue.length === 0) {
      return fail('empty object, not an LZ4 frame');
    }
    return fail('LZ4 frame is truncated (object incomplete)');
  };

  // Driven by hand rather than Duplex.from(async generator): such a stream, destroyed while its
  // generator waits for input (the download's connection reset), never finishes destroying, so a
  // restore waiting on it hung. Each decoded block is made only when the reader asks (backpressure).
  let pass: Generator<Buffer, void> | undefined; // decoding what the queue holds
  let consumed: ((err?: Error | null) => void) | undefined; // asks the writer for more input
  let pumping = false;
  /** The pass is over (ended or failed): tell the writer, or fail the stream if none waits. */
  const endPass = (stream: Duplex, err?: Error) => {
    const done = consumed;
    pass = undefined;
    consumed = undefined;
    if (done) done(err);
    else if (err) stream.destroy(err);
  };
  scratchUsers.enter();
  const pump = (stream: Duplex) => {
    if (pumping) return;
    pumping = true;
    try {
      while (pass) {
        let step: IteratorResult<Buffer, void>;
        try {
          step = pass.next();
        } catch (err) {
          endPass(stream, err as Error);
          return;
        }
        if (step.done) endPass(stream);
        else if (!stream.push(step.value)) return;
      }
    } finally {
      pumping = false;
    }
  };
  return new Duplex({
    readableObjectMode: true,
    readableHighWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      queue.push(chunk);
      pass = drain();
      consumed = cb;
      pump(this);
    },
    read() {
      pump(this);
    },
    final(cb) {
      const err = endOfInput();
      if (err) return cb(err);
      this.push(null);
      cb();
    },
    // Node calls this once, after an error or once both sides are done (autoDestroy).
    destroy(err, cb) {
      pass = undefined;
      consumed = undefined;
      scratchUsers.leave();
      cb(err);
    },
  });
}

async function collect(input: Buffer, transform: Duplex): Promise<Buffer> {
  const out: Buffer[] = [];
  transform.on('data', (c: Buffer) => out.push(c));
  await pipeline(
    (async function* () {
      yield input;
    })(),
    transform,
  );
  return Buffer.concat(out);
}

/** Compress a whole buffer into one LZ4 frame (for small objects and tests). */
export function lz4FrameCompress(data: Uint8Array): Promise<Buffer> {
  return collect(Buffer.from(data.buffer, data.byteOffset, data.byteLength), createLz4FrameEncoder());
}

/** Decompress every frame in a buffer. */
export function lz4FrameDecompress(data: Uint8Array, name?: string): Promise<Buffer> {
  return collect(Buffer.from(data.buffer, data.byteOffset, data.byteLength), createLz4FrameDecoder({ name }));
}
