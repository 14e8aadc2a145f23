/**
 * Decoding of one independent LZ4 block (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md)
 * straight into a buffer the caller owns. lz4-napi can only return a new native buffer per
 * block, which a restore then had to copy into its pooled buffer and leave to the garbage
 * collector (4 MiB per block); decoding in place removes that copy and that garbage.
 * Every length and offset is bounds-checked: a corrupt block throws, it never reads or writes
 * outside its buffers (the frame's content checksum then covers what a valid-looking block
 * could still get wrong).
 *
 * Short literals and matches (most sequences of text-like data) are copied as 16 bytes in four
 * 32-bit moves whatever their length, as LZ4's C decoder does: fewer branches than a loop over
 * their exact length. The bytes past a sequence are overwritten by the next one; `dst` past
 * the returned length may hold such scratch.
 */

/** Below this many bytes a byte loop beats a native copy call. */
const SHORT_COPY = 32;
/** A literal run or match at most this long is copied as one fixed 16-byte move. */
const WILD_COPY = 16;

export class Lz4BlockError extends Error {}

/**
 * Decode the block `src` into `dst` from offset 0; returns the number of bytes written.
 * Throws Lz4BlockError when the block is malformed or does not fit in `dst`.
 */
export function decodeLz4Block(src: Uint8Array, dst: Uint8Array): number {
  const srcEnd = src.length;
  const dstEnd = dst.length;
  let ip = 0;
  let op = 0;
  // Unaligned 32-bit moves (V8 compiles DataView#getInt32/setInt32 to one load or store each).
  const srcView = new DataView(src.buffer, src.byteOffset, src.length);
  const dstView = new DataView(dst.buffer, dst.byteOffset, dst.length);
  for (;;) {
    if (ip >= srcEnd) throw new Lz4BlockError('block ends inside a sequence');
    const token = src[ip++];

    // Literals.
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw new Lz4BlockError('block ends inside a literal length');
        b = src[ip++];
        literals += b;
      } while (b === 255);
    }
    if (literals > 0) {
      if (ip + literals > srcEnd) throw new Lz4BlockError('literals run past the end of the block');
      if (op + literals > dstEnd) throw new Lz4BlockError('block decodes to more than its maximum size');
      if (literals <= WILD_COPY && op + WILD_COPY <= dstEnd && ip + WILD_COPY <= srcEnd) {
        dstView.setInt32(op, srcView.getInt32(ip, true), true);
        dstView.setInt32(op + 4, srcView.getInt32(ip + 4, true), true);
        dstView.setInt32(op + 8, srcView.getInt32(ip + 8, true), true);
        dstView.setInt32(op + 12, srcView.getInt32(ip + 12, true), true);
      } else if (literals < SHORT_COPY) {
        for (let i = 0; i < literals; i++) dst[op + i] = src[ip + i];
      } else {
        dst.set(src.subarray(ip, ip + literals), op);
      }
      ip += literals;
      op += literals;
    }
    // The last sequence has literals only.
    if (ip === srcEnd) return op;

    // Match.
    if (ip + 2 > srcEnd) throw new Lz4BlockError('block ends inside a match offset');
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Lz4BlockError('match offset points before the block');
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw new Lz4BlockError('block ends inside a match length');
        b = src[ip++];
        length += b;
      } while (b === 255);
    }
    length += 4;
    if (op + length > dstEnd) throw new Lz4BlockError('block decodes to more than its maximum size');
    let from = op - offset;
    if (length <= WILD_COPY && offset >= 4 && op + WILD_COPY <= dstEnd) {
      // In order, 4 bytes at a time: with an offset of 4 or more each move reads bytes already
      // final, so an overlapping match repeats its period as LZ4 defines.
      dstView.setInt32(op, dstView.getInt32(from, true), true);
      dstView.setInt32(op + 4, dstView.getInt32(from + 4, true), true);
      dstView.setInt32(op + 8, dstView.getInt32(from + 8, true), true);
      dstView.setInt32(op + 12, dstView.getInt32(from + 12, true), true);
      op += length;
    } else if (length < SHORT_COPY) {
      const end = op + length;
      while (op < end) dst[op++] = dst[from++];
    } else if (offset >= length) {
      dst.copyWithin(op, from, from + length);
      op += length;
    } else if (offset >= SHORT_COPY) {
      // Overlapping but with a long period: copy in chunks of `offset` bytes.
      const end = op + length;
      while (op < end) {
        const n = Math.min(offset, end - op);
        dst.copyWithin(op, from, from + n);
        op += n;
        from += n;
      }
    } else if (offset === 1) {
      // A run of one byte (zeroed pages, padding): the most common short period.
      dst.fill(dst[from], op, op + length);
      op += length;
    } else {
      // A long match with a short period: [from, op) repeats with period `offset`; copy it in
      // doubling spans (multiples of the period, never overlapping their source).
      const end = op + length;
      let span = offset;
      while (op < end) {
        const n = Math.min(span, end - op);
        dst.copyWithin(op, from, from + n);
        op += n;
        span *= 2;
      }
    }
  }
}
