/**
 * XXH32 (the LZ4 frame checksums) through xxhash-wasm, fed in slices.
 *
 * xxhash-wasm copies each input into its WebAssembly memory before hashing it, growing that
 * memory to the largest input it was ever given; a WebAssembly memory never shrinks. Hashing a
 * restore's 4 MiB decoded blocks whole kept 4 MiB of it resident for the life of the process
 * (and 1 MiB in `replicate`), for no speed: the copy is the same either way. Slices of SLICE
 * bytes keep it at its initial size.
 */
import xxhash from 'xxhash-wasm';

const xx = await xxhash();

/** The most handed to xxhash-wasm at once. */
export const XXH32_SLICE = 64 << 10;

export interface Xxh32 {
  update(data: Uint8Array): Xxh32;
  /** The hash of everything given so far, as an unsigned 32-bit number. */
  digest(): number;
}

/** A streaming XXH32 with `seed`. */
export function createXxh32(seed = 0): Xxh32 {
  const h = xx.create32(seed);
  const state: Xxh32 = {
    update(data) {
      for (let at = 0; at < data.length; at += XXH32_SLICE) {
        h.update(data.subarray(at, Math.min(at + XXH32_SLICE, data.length)));
      }
      return state;
    },
    digest: () => h.digest() >>> 0,
  };
  return state;
}

/** XXH32 of `data` with `seed`, as an unsigned 32-bit number. */
export function xxh32(data: Uint8Array, seed = 0): number {
  if (data.length <= XXH32_SLICE) return xx.h32Raw(data, seed) >>> 0;
  return createXxh32(seed).update(data).digest();
}
