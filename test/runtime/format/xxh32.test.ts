import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { createXxh32, XXH32_SLICE, xxh32 } from '../../../runtime/format/xxh32.js';

describe('xxh32 in slices', () => {
  it('matches the published vector and xxhash-wasm fed whole, across slice boundaries', async () => {
    // XXH32 of no bytes with seed 0 (xxHash's reference value).
    expect(xxh32(new Uint8Array(0))).toBe(0x02cc5d05);
    const whole = await xxhash();
    const data = randomBytes(5 * XXH32_SLICE + 13);
    for (const n of [1, 15, 16, XXH32_SLICE - 1, XXH32_SLICE, XXH32_SLICE + 1, data.length]) {
      const part = data.subarray(3, 3 + Math.min(n, data.length - 3));
      const expected = whole.h32Raw(part, 0) >>> 0;
      expect(xxh32(part)).toBe(expected);
      expect(createXxh32().update(part).digest()).toBe(expected);
      // Fed in uneven pieces, as a stream delivers them.
      const h = createXxh32();
      for (let at = 0; at < part.length; at += 7919) h.update(part.subarray(at, at + 7919));
      expect(h.digest()).toBe(expected);
    }
    expect(xxh32(data, 0x9747b28c)).toBe(whole.h32Raw(data, 0x9747b28c) >>> 0);
  });
});
