import { randomBytes } from 'node:crypto';
import { compressSync } from 'lz4-napi';
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
