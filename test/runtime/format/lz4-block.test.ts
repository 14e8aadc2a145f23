import { randomBytes } from 'node:crypto';
import { compressSync, uncompressSync } from 'lz4-napi';
import { describe, expect, it } from 'vitest';
import { decodeLz4Block, Lz4BlockError } from '../../../runtime/format/lz4-block.js';

/** An independent LZ4 block of `data` (lz4-napi puts a 4-byte size before it). */
const block = (data: Buffer) => compressSync(data).subarray(4);

/** `count` bytes repeating a random pattern of `period` bytes. */
function periodic(period: number, count: number): Buffer {
  const pattern = randomBytes(period);
  const out = Buffer.alloc(count);
  for (let i = 0; i < count; i++) out[i] = pattern[i % period];
  return out;
}

function decode(compressed: Uint8Array, capacity: number): Buffer {
  const out = Buffer.alloc(capacity);
  return out.subarray(0, decodeLz4Block(compressed, out));
}

describe('LZ4 block decoder into a caller buffer', () => {
  it('decodes what lz4-napi encodes: random, zeros, runs and short/long periods, mixed', () => {
    const samples: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('a'),
      randomBytes(100_000),
      Buffer.alloc(4 << 20),
      ...[1, 2, 3, 7, 16, 31, 32, 33, 100, 4000].map((p) => periodic(p, 200_000)),
      Buffer.concat([randomBytes(5000), Buffer.alloc(70_000, 7), periodic(5, 9999), randomBytes(17)]),
    ];
    // A SQLite-like page: text columns, random blobs, zero padding.
    const pages: Buffer[] = [];
    for (let i = 0; i < 64; i++) {
      pages.push(Buffer.from(`row ${i} `.repeat(40)), randomBytes(500), Buffer.alloc(2000));
    }
    samples.push(Buffer.concat(pages));
    for (const data of samples) {
      const decoded = decode(block(data), Math.max(data.length, 1) + 64);
      expect(decoded.length).toBe(data.length);
      expect(decoded.equals(data)).toBe(true);
    }
  });

  it('decodes short overlapping matches and text into a buffer of exactly the decoded size', () => {
    // Hand-built sequences: 3-20 literals, then a match of 4-19 bytes at offsets 1-20 (periods
    // shorter than the match repeat, as LZ4 defines), then 5 last literals.
    for (let literals = 3; literals <= 20; literals += 1) {
      for (let offset = 1; offset <= Math.min(20, literals); offset++) {
        for (let match = 4; match <= 19; match += 3) {
          const lit = randomBytes(literals);
          const token = Buffer.from([(Math.min(literals, 15) << 4) | Math.min(match - 4, 15)]);
          const parts = [token, literals >= 15 ? Buffer.from([literals - 15]) : Buffer.alloc(0), lit];
          parts.push(Buffer.from([offset, 0]));
          if (match - 4 >= 15) parts.push(Buffer.from([match - 4 - 15]));
          parts.push(Buffer.from([0x50]), randomBytes(5));
          const compressed = Buffer.concat(parts);
          const size = literals + match + 5;
          const sized = Buffer.concat([Buffer.alloc(4), compressed]);
          sized.writeUInt32LE(size, 0);
          const expected = uncompressSync(sized);
          expect(expected.length).toBe(size);
          expect(decode(compressed, size).equals(expected)).toBe(true);
          expect(decode(compressed, size + 40).equals(expected)).toBe(true);
        }
      }
    }
    // Text: mostly short literals and matches.
    const words = ['select', 'from', 'where', 'id', 'name', '=', 'and', 'order', 'by', 'limit'];
    const text = Buffer.from(
      Array.from({ length: 40_000 }, (_, i) => words[(i * 7919) % words.length] + (i % 13)).join(' '),
    );
    expect(decode(block(text), text.length).equals(text)).toBe(true);
  });

  it('rejects a block that does not fit its buffer instead of writing past it', () => {
    const data = Buffer.alloc(100_000, 1);
    expect(() => decode(block(data), data.length - 1)).toThrow(Lz4BlockError);
  });

  it('rejects truncated and corrupt blocks without reading or writing outside the buffers', () => {
    const data = Buffer.concat([randomBytes(3000), periodic(9, 50_000), randomBytes(3000)]);
    const good = block(data);
    // Every truncation either throws or yields fewer bytes: never more, never out of bounds.
    for (let cut = 1; cut < good.length; cut += Math.max(1, Math.floor(good.length / 300))) {
      try {
        const n = decode(good.subarray(0, cut), data.length).length;
        expect(n).toBeLessThan(data.length);
      } catch (err) {
        expect(err).toBeInstanceOf(Lz4BlockError);
      }
    }
    // A match offset of 0 and one before the start of the output.
    expect(() => decode(Buffer.from([0x04, 0x00, 0x00]), 100)).toThrow(/offset/);
    expect(() => decode(Buffer.from([0x10, 0x61, 0x05, 0x00]), 100)).toThrow(/offset/);
    // Literal length running past the block.
    expect(() => decode(Buffer.from([0xf0, 0xff]), 100)).toThrow(Lz4BlockError);
    expect(() => decode(Buffer.from([0x50, 0x61]), 100)).toThrow(/past the end/);
    // Flipped bytes anywhere: an error or some output, within the buffer (the frame's content
    // checksum catches what decodes).
    for (let i = 0; i < good.length; i += Math.max(1, Math.floor(good.length / 200))) {
      const bad = Buffer.from(good);
      bad[i] ^= 0x5a;
      try {
        expect(decode(bad, data.length + 64).length).toBeLessThanOrEqual(data.length + 64);
      } catch (err) {
        expect(err).toBeInstanceOf(Lz4BlockError);
      }
    }
  });
});
