import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { uncompressSync } from 'lz4-napi';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSink } from '../../../runtime/file-sink.js';
import {
  createLz4FrameEncoder,
  encodedBlocksKept,
  lz4FrameCompress,
  releaseEncoded,
} from '../../../runtime/format/lz4.js';
import { decodeLz4Block } from '../../../runtime/format/lz4-block.js';
import { encodeLz4Block, lz4HashTable } from '../../../runtime/format/lz4-block-encode.js';

function periodic(period: number, count: number): Buffer {
  const pattern = randomBytes(period);
  const out = Buffer.alloc(count);
  for (let i = 0; i < count; i++) out[i] = pattern[i % period];
  return out;
}

/** Rows like an app's: half text that repeats with variations, half noise (as SQLite pages hold them). */
function rows(count: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(Buffer.from(`{"id":${i},"name":"customer ${i % 97}","city":"Lisbon","ok":${i % 3 === 0}}`));
    if (i % 5 === 0) parts.push(randomBytes(i % 40));
  }
  return Buffer.concat(parts);
}

/**
 * A WAL's shape: 24-byte frame headers, each before a 4 KiB page that repeats an earlier frame's
 * page with one row more (matches of up to a page, cut by the header and the new row).
 */
function walLike(frames: number): Buffer {
  const page = randomBytes(4096);
  const parts: Buffer[] = [];
  for (let i = 0; i < frames; i++) {
    const header = Buffer.alloc(24, 0);
    header.writeUInt32BE(2, 0);
    header.writeUInt32BE(i, 4);
    header.writeUInt32BE(Math.imul(i, 2654435761) >>> 0, 16);
    randomBytes(100).copy(page, 4000 - ((i * 100) % 3800));
    page.writeUInt16BE(i, 3);
    parts.push(header, Buffer.from(page));
  }
  return Buffer.concat(parts);
}

const samples: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ...[1, 4, 5, 12, 13, 14, 17, 20].map((n): [string, Buffer] => [`${n} zero bytes`, Buffer.alloc(n)]),
  ['random 100 KB', randomBytes(100_000)],
  ['zeros 1 MiB', Buffer.alloc(1 << 20)],
  ...[1, 2, 3, 4, 7, 16, 31, 32, 33, 100, 4000, 70_000].map((p): [string, Buffer] => [
    `period ${p}`,
    periodic(p, 200_000),
  ]),
  ['rows', rows(20_000)],
  ['WAL-like frames', walLike(60)],
  // A literal run longer than 15 + 255 + 255 before a match, and a match longer than that.
  ['long literals then long match', Buffer.concat([randomBytes(600), Buffer.alloc(1000, 9), randomBytes(3)])],
  ['match reaching the end rules', Buffer.concat([randomBytes(20), Buffer.alloc(40, 1)])],
  ['mixed', Buffer.concat([randomBytes(5000), Buffer.alloc(70_000, 7), periodic(5, 9999), randomBytes(17)])],
];

/** The block's sequences, checked against the format's end rules (what strict decoders assume). */
function checkEndRules(block: Buffer, inputLength: number): void {
  let ip = 0;
  let op = 0;
  for (;;) {
    const token = block[ip++];
    let literals = token >>> 4;
    if (literals === 15) for (let b = 255; b === 255; literals += b) b = block[ip++];
    ip += literals;
    op += literals;
    if (ip === block.length) break;
    ip += 2;
    let match = token & 15;
    if (match === 15) for (let b = 255; b === 255; match += b) b = block[ip++];
    // A match starts at least 12 bytes before the end and leaves the last 5 as literals.
    expect(op).toBeLessThanOrEqual(inputLength - 12);
    op += match + 4;
    expect(op).toBeLessThanOrEqual(inputLength - 5);
  }
  expect(op).toBe(inputLength);
}

describe('LZ4 block encoder into a caller buffer', () => {
  const table = lz4HashTable();

  it.each(samples)(
    '%s: decodes back exactly (own decoder and lz4-napi), keeps the end rules',
    (_name, data) => {
      // LZ4's worst case: every byte a literal.
      const dst = Buffer.alloc(data.length + Math.ceil(data.length / 255) + 16);
      const n = encodeLz4Block(data, dst, 0, dst.length, table);
      expect(n).toBeGreaterThan(0);
      const block = dst.subarray(0, n);
      const back = Buffer.alloc(data.length);
      expect(decodeLz4Block(block, back)).toBe(data.length);
      expect(back.equals(data)).toBe(true);
      if (data.length > 0) {
        // lz4-napi (lz4_flex) reads the size before the block.
        const sized = Buffer.alloc(n + 4);
        sized.writeUInt32LE(data.length, 0);
        block.copy(sized, 4);
        expect(uncompressSync(sized).equals(data)).toBe(true);
      }
      checkEndRules(block, data.length);
    },
  );

  it('ends a match at the exact byte that differs, wherever it falls in a 16-byte step', () => {
    const base = randomBytes(6000);
    for (const at of [0, 1, 3, 4, 7, 8, 12, 15, 16, 17, 31, 32, 33, 100, 255, 4095, 4096, 4100, 5000]) {
      // The base, then a copy of it with one byte changed `at` bytes in, then a tail.
      const copy = Buffer.from(base);
      copy[at] ^= 0x5a;
      const data = Buffer.concat([base, copy, randomBytes(64)]);
      const dst = Buffer.alloc(data.length + 1024);
      const n = encodeLz4Block(data, dst, 0, dst.length, table);
      const back = Buffer.alloc(data.length);
      expect(decodeLz4Block(dst.subarray(0, n), back)).toBe(data.length);
      expect(back.equals(data)).toBe(true);
      expect(n).toBeLessThan(base.length + 200); // the copy was matched, not stored as literals
      checkEndRules(dst.subarray(0, n), data.length);
    }
  });

  it('compresses what compresses as well as lz4_flex does (within 2%)', () => {
    const data = Buffer.concat([rows(20_000), Buffer.alloc(100_000), periodic(300, 100_000)]);
    const dst = Buffer.alloc(data.length);
    const n = encodeLz4Block(data, dst, 0, data.length, table);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(data.length / 2);
  });

  it('gives up (-1) when the block would not be smaller than the limit, without writing past it', () => {
    const data = randomBytes(50_000);
    const dst = Buffer.alloc(data.length + 100, 0xee);
    expect(encodeLz4Block(data, dst, 10, data.length, table)).toBe(-1);
    // Nothing written beyond at + limit.
    expect(dst.subarray(10 + data.length).every((b) => b === 0xee)).toBe(true);
    // A block that just fits is written at `at`.
    const zeros = Buffer.alloc(10_000);
    const n = encodeLz4Block(zeros, dst, 10, 200, table);
    expect(n).toBeGreaterThan(0);
    const back = Buffer.alloc(zeros.length);
    expect(decodeLz4Block(dst.subarray(10, 10 + n), back)).toBe(zeros.length);
  });

  it('reads its input wherever it sits in its memory (odd offsets into a larger buffer)', () => {
    const data = Buffer.concat([walLike(20), rows(3000)]);
    const whole = Buffer.alloc(data.length);
    const n = encodeLz4Block(data, whole, 0, data.length, table);
    for (const shift of [1, 2, 3, 5]) {
      const host = Buffer.alloc(data.length + 16, 0xaa);
      data.copy(host, shift);
      const inside = host.subarray(shift, shift + data.length);
      const dst = Buffer.alloc(data.length);
      const m = encodeLz4Block(inside, dst, 0, data.length, table);
      expect(dst.subarray(0, m).equals(whole.subarray(0, n))).toBe(true);
    }
  });

  it('the same input encodes to the same bytes whatever the table held before', () => {
    const a = rows(5000);
    const first = Buffer.alloc(a.length);
    const n1 = encodeLz4Block(a, first, 0, a.length, table);
    encodeLz4Block(randomBytes(30_000), Buffer.alloc(40_000), 0, 40_000, table);
    const second = Buffer.alloc(a.length);
    const n2 = encodeLz4Block(a, second, 0, a.length, table);
    expect(first.subarray(0, n1).equals(second.subarray(0, n2))).toBe(true);
  });
});

describe('LZ4 frames from reused block buffers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-mix-lz4enc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Encode `source` into a new file the way the file replica does: each chunk given back once written. */
  async function encodeToFile(source: Readable, file: string): Promise<void> {
    const fh = await open(file, 'wx');
    try {
      await pipeline(source, createLz4FrameEncoder(), fileSink(fh, { release: releaseEncoded }));
    } finally {
      await fh.close();
    }
  }

  const big = Buffer.concat([rows(60_000), randomBytes(1_500_000), Buffer.alloc(2_000_000, 3), rows(30_000)]);

  it('chunks a consumer keeps (never gives back) are not overwritten by later blocks', async () => {
    const chunks: Buffer[] = [];
    await pipeline(Readable.from([big]), createLz4FrameEncoder(), async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) chunks.push(c);
    });
    const file = join(dir, 'kept.lz4');
    writeFileSync(file, Buffer.concat(chunks));
    const out = execFileSync('lz4', ['-d', '-c', file], { maxBuffer: 64 << 20 });
    expect(out.equals(big)).toBe(true);
  });

  it('a file sink that gives each chunk back writes a frame the lz4 CLI decodes byte for byte', async () => {
    const file = join(dir, 'released.lz4');
    // Input in uneven chunks, so blocks are gathered and reused buffers cycle many times.
    const pieces: Buffer[] = [];
    for (let at = 0; at < big.length; at += 77_777) pieces.push(big.subarray(at, at + 77_777));
    await encodeToFile(Readable.from(pieces), file);
    const out = execFileSync('lz4', ['-d', '-c', file], { maxBuffer: 64 << 20 });
    expect(createHash('sha256').update(out).digest('hex')).toBe(
      createHash('sha256').update(big).digest('hex'),
    );
    // Same bytes as the one-buffer encode (the pool changes where blocks are built, not what).
    expect(readFileSync(file).equals(await lz4FrameCompress(big))).toBe(true);
  });

  it('on a slow disk a block goes back to the pool only after its write: nothing overwritten in flight', async () => {
    const file = join(dir, 'slow.lz4');
    const fh = await open(file, 'wx');
    // Fault injection over the real file: every write waits 5 ms first, so the encoder runs ahead.
    const slow = new Proxy(fh, {
      get(target, prop) {
        if (prop === 'write')
          return async (...args: Parameters<typeof fh.write>) => {
            await sleep(5);
            return target.write(...args);
          };
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const pieces: Buffer[] = [];
    for (let at = 0; at < big.length; at += 300_000) pieces.push(big.subarray(at, at + 300_000));
    try {
      await pipeline(
        Readable.from(pieces),
        createLz4FrameEncoder(),
        fileSink(slow, { release: releaseEncoded }),
      );
    } finally {
      await fh.close();
    }
    const out = execFileSync('lz4', ['-d', '-c', file], { maxBuffer: 64 << 20 });
    expect(out.equals(big)).toBe(true);
  });

  it('given-back buffers are reused, then let go after 2 s without encoding (a long-lived replicate)', async () => {
    const file = join(dir, 'idle.lz4');
    await encodeToFile(Readable.from([big]), file);
    expect(encodedBlocksKept()).toBeGreaterThan(0);
    for (let i = 0; i < 100 && encodedBlocksKept() > 0; i++) await sleep(50); // bounded: 5 s
    expect(encodedBlocksKept()).toBe(0);
  });

  it("the file replica's way of writing refuses an existing file (wx) and leaves it as it was", async () => {
    const file = join(dir, 'exists.lz4');
    writeFileSync(file, 'x');
    await expect(encodeToFile(Readable.from([big.subarray(0, 100_000)]), file)).rejects.toThrow(/EEXIST/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});
