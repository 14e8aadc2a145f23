/**
 * Encoding of one independent LZ4 block (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md)
 * into a buffer the caller owns — the greedy single-probe search of LZ4's "fast" mode, with its
 * 4096-entry hash table (LZ4_MEMORY_USAGE 14) and its skip-ahead over incompressible runs.
 * lz4-napi returned a new native buffer per block from its own allocator (mimalloc), which kept
 * 15–20 MiB of freed blocks resident while a snapshot streamed (replicate's peak RSS, issue 17);
 * encoding into one reused buffer leaves no garbage at all.
 *
 * The output obeys the block format's end rules, so every LZ4 decoder accepts it: the last 5
 * bytes are literals, and no match starts within the last 12 bytes.
 */

const MIN_MATCH = 4;
/** The last match must start at least this far before the end of the block. */
const MF_LIMIT = 12;
/** The block's last bytes are always literals. */
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;
const HASH_LOG = 12;
/**
 * Matches longer than this are extended with native compares (Buffer#compare: memcmp) — zeroed
 * space, large pages. Below it a word loop is faster than a native call (a WAL frame repeating
 * the page of an earlier one matches for up to a 4 KiB page).
 */
const LONG_MATCH = 4096;
const NATIVE_STEP = 256;
const NATIVE_MIN = 32;
const NATIVE_MAX = 64 << 10;
const compare = Buffer.prototype.compare;
/** Matches are searched one position at a time until this many misses, then faster (LZ4's skip). */
const SKIP_TRIGGER = 6;

/** A hash table for encodeLz4Block; one per encoder, reused across blocks. */
export function lz4HashTable(): Int32Array {
  return new Int32Array(1 << HASH_LOG);
}

function hash(seq: number): number {
  return Math.imul(seq, 2654435761) >>> (32 - HASH_LOG);
}

/** Below this many bytes a byte loop beats a subarray and a native copy. */
const SHORT_COPY = 32;

function copyLiterals(src: Buffer, from: number, to: number, dst: Uint8Array, op: number): number {
  if (to - from < SHORT_COPY) {
    while (from < to) dst[op++] = src[from++];
    return op;
  }
  dst.set(src.subarray(from, to), op);
  return op + (to - from);
}

/**
 * Encode `src` as one LZ4 block into `dst` from offset `at`. Returns the encoded length, or -1
 * when it would not be smaller than `limit` bytes (the caller then stores the block uncompressed,
 * as the frame format allows); `dst` needs `limit` bytes from `at`. `table` is scratch.
 */
export function encodeLz4Block(
  src: Buffer,
  dst: Uint8Array,
  at: number,
  limit: number,
  table: Int32Array,
): number {
  const srcEnd = src.length;
  const dstEnd = at + Math.min(limit, dst.length - at);
  let op = at;
  let anchor = 0;
  // Unaligned 32-bit reads: V8 compiles DataView#getInt32 to one load where four byte reads
  // were four (with LONG_MATCH 4096, one core: one-row WAL 0.93 -> 1.33 GB/s, app rows
  // 0.48 -> 0.91, text 0.12 -> 0.18, binaries 0.16 -> 0.25).
  const view = new DataView(src.buffer, src.byteOffset, src.length);

  if (srcEnd >= MF_LIMIT + 1) {
    // Positions are stored +1 so that 0 (a fresh table) means "none".
    table.fill(0);
    const matchLimit = srcEnd - LAST_LITERALS;
    const mfLimit = srcEnd - MF_LIMIT;
    let ip = 1;
    table[hash(view.getInt32(0, true))] = 1;
    for (;;) {
      // Find a match: probe the table at ip, moving ahead faster the longer nothing matches.
      let ref = 0;
      let misses = 1 << SKIP_TRIGGER;
      for (;;) {
        if (ip > mfLimit) break;
        const seq = view.getInt32(ip, true);
        const h = hash(seq);
        ref = table[h] - 1;
        table[h] = ip + 1;
        if (ref >= 0 && ip - ref <= MAX_OFFSET && view.getInt32(ref, true) === seq) break;
        ref = -1;
        ip += misses++ >>> SKIP_TRIGGER;
      }
      if (ref < 0 || ip > mfLimit) break;
      // Extend backwards over equal bytes still in the pending literals.
      while (ip > anchor && ref > 0 && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      // Extend forwards (never into the last literals): 16 bytes a step while they all match (a
      // quarter of the loop tests: one-row WAL 1.31 -> 1.59 GB/s, bulk-loaded db pages 0.83 -> 0.90,
      // text unchanged), then word by word from the first group that differs.
      let end = ip + MIN_MATCH;
      let r = ref + MIN_MATCH;
      while (
        end + 16 <= matchLimit &&
        end - ip < LONG_MATCH &&
        view.getInt32(end, true) === view.getInt32(r, true) &&
        view.getInt32(end + 4, true) === view.getInt32(r + 4, true) &&
        view.getInt32(end + 8, true) === view.getInt32(r + 8, true) &&
        view.getInt32(end + 12, true) === view.getInt32(r + 12, true)
      ) {
        end += 16;
        r += 16;
      }
      while (end + 4 <= matchLimit && view.getInt32(end, true) === view.getInt32(r, true)) {
        end += 4;
        r += 4;
        // A long match (a page repeated from an earlier WAL frame, zeroed space): compare
        // natively in doubling steps, narrowing them again at the first difference.
        if (end - ip >= LONG_MATCH) {
          let step = NATIVE_STEP;
          while (step >= NATIVE_MIN) {
            const n = Math.min(step, matchLimit - end);
            if (n < NATIVE_MIN) break;
            if (compare.call(src, src, r, r + n, end, end + n) === 0) {
              end += n;
              r += n;
              if (step < NATIVE_MAX) step *= 2;
            } else {
              step >>>= 2;
            }
          }
          while (end + 4 <= matchLimit && view.getInt32(end, true) === view.getInt32(r, true)) {
            end += 4;
            r += 4;
          }
          break;
        }
      }
      while (end < matchLimit && src[end] === src[r]) {
        end++;
        r++;
      }
      const literals = ip - anchor;
      const matchLength = end - ip - MIN_MATCH;
      // Worst case of this sequence: token, literal length bytes, literals, offset, match length bytes.
      if (op + 1 + ((literals / 255) | 0) + 1 + literals + 2 + ((matchLength / 255) | 0) + 1 > dstEnd)
        return -1;
      const token = op++;
      if (literals >= 15) {
        dst[token] = 15 << 4;
        let n = literals - 15;
        for (; n >= 255; n -= 255) dst[op++] = 255;
        dst[op++] = n;
      } else {
        dst[token] = literals << 4;
      }
      op = copyLiterals(src, anchor, ip, dst, op);
      const offset = ip - ref;
      dst[op++] = offset & 255;
      dst[op++] = offset >>> 8;
      if (matchLength >= 15) {
        dst[token] |= 15;
        let n = matchLength - 15;
        for (; n >= 255; n -= 255) dst[op++] = 255;
        dst[op++] = n;
      } else {
        dst[token] |= matchLength;
      }
      ip = end;
      anchor = ip;
      if (ip > mfLimit) break;
      // Remember the position just before the match's end, as LZ4 does.
      table[hash(view.getInt32(ip - 2, true))] = ip - 2 + 1;
    }
  }

  // The rest as literals: the last sequence.
  const literals = srcEnd - anchor;
  if (op + 1 + ((literals / 255) | 0) + 1 + literals >= dstEnd) return -1;
  if (literals >= 15) {
    dst[op++] = 15 << 4;
    let n = literals - 15;
    for (; n >= 255; n -= 255) dst[op++] = 255;
    dst[op++] = n;
  } else {
    dst[op++] = literals << 4;
  }
  op = copyLiterals(src, anchor, srcEnd, dst, op);
  return op - at;
}
