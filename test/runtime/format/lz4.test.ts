import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BlockPool,
  createLz4FileRangeEncoder,
  createLz4FrameDecoder,
  createLz4FrameEncoder,
  lz4FrameCompress,
  lz4FrameDecompress,
} from '../../../runtime/format/lz4.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/litestream-v0.3.13');
const dir = mkdtempSync(join(tmpdir(), 'ls-mix-lz4-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Mixed content: incompressible, highly repetitive, and repeats that reach across 64 KiB blocks. */
function sample(): Buffer {
  const noise = randomBytes(300_000);
  return Buffer.concat([randomBytes(3 << 20), Buffer.alloc(5 << 20, 7), noise, noise, Buffer.from('tail')]);
}

function lz4Cli(args: string[], input: string, output: string): void {
  execFileSync('lz4', ['-q', '-f', ...args, input, output]);
}

describe('LZ4 frame encoder', () => {
  it('writes the frame header Litestream v0.3.13 writes (independent blocks, 4 MB, content checksum)', async () => {
    const frame = await lz4FrameCompress(Buffer.from('x'));
    const fixture = readFileSync(
      join(FIXTURES, 'basic/replica/generations/63117748c68cfd7a/snapshots/00000000.snapshot.lz4'),
    );
    expect(frame.subarray(0, 7).toString('hex')).toBe(fixture.subarray(0, 7).toString('hex'));
    expect(frame.subarray(0, 7).toString('hex')).toBe('04224d186470b9');
  });

  it('produces frames the lz4 CLI decompresses, incl. multi-block and uncompressed blocks', async () => {
    const data = sample();
    const frame = await lz4FrameCompress(data);
    expect(frame.length).toBeLessThan(data.length);
    writeFileSync(join(dir, 'enc.lz4'), frame);
    lz4Cli(['-d'], join(dir, 'enc.lz4'), join(dir, 'enc.out'));
    expect(readFileSync(join(dir, 'enc.out')).equals(data)).toBe(true);
  });

  it('encodes a stream of small chunks into the same bytes as one buffer', async () => {
    const data = sample().subarray(0, 5 << 20);
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 65_536) chunks.push(data.subarray(i, i + 65_536));
    const out: Buffer[] = [];
    const enc = createLz4FrameEncoder();
    enc.on('data', (c: Buffer) => out.push(c));
    await pipeline(Readable.from(chunks), enc);
    expect(Buffer.concat(out).equals(await lz4FrameCompress(data))).toBe(true);
  });

  it('encodes empty input as a valid empty frame', async () => {
    const frame = await lz4FrameCompress(Buffer.alloc(0));
    writeFileSync(join(dir, 'empty.lz4'), frame);
    lz4Cli(['-d'], join(dir, 'empty.lz4'), join(dir, 'empty.out'));
    expect(readFileSync(join(dir, 'empty.out')).length).toBe(0);
    expect((await lz4FrameDecompress(frame)).length).toBe(0);
  });
});

describe('LZ4 frame decoder', () => {
  const data = sample();
  writeFileSync(join(dir, 'plain'), data);

  it.each([
    ['default', []],
    ['dependent 64 KiB blocks', ['-BD', '-B4']],
    ['block checksums', ['-BX', '-B5']],
    ['content size, dependent, checksummed blocks', ['--content-size', '-B4', '-BD', '-BX']],
    ['high compression, dependent', ['-9', '-BD']],
    ['no content checksum', ['--no-frame-crc']],
  ])('decodes lz4 CLI output: %s', async (_label, args) => {
    lz4Cli(args as string[], join(dir, 'plain'), join(dir, 'cli.lz4'));
    expect((await lz4FrameDecompress(readFileSync(join(dir, 'cli.lz4')))).equals(data)).toBe(true);
  });

  it('decodes concatenated frames and skips skippable frames', async () => {
    const a = await lz4FrameCompress(Buffer.from('first '));
    const b = await lz4FrameCompress(Buffer.from('second'));
    const skippable = Buffer.from('502a4d1803000000abcdef', 'hex');
    expect((await lz4FrameDecompress(Buffer.concat([a, skippable, b]))).toString()).toBe('first second');
  });

  it('decodes every fixture object exactly as the lz4 CLI does', async () => {
    let count = 0;
    for (const c of ['basic', 'multi-index', 'two-generations', 'large-pages']) {
      const root = join(FIXTURES, c, 'replica/generations');
      for (const gen of readdirSync(root)) {
        for (const kind of ['snapshots', 'wal']) {
          for (const f of readdirSync(join(root, gen, kind))) {
            const path = join(root, gen, kind, f);
            const mine = await lz4FrameDecompress(readFileSync(path), f);
            const ref = execFileSync('lz4', ['-d', '-c', path], { maxBuffer: 64 << 20 });
            expect(createHash('sha256').update(mine).digest('hex'), path).toBe(
              createHash('sha256').update(ref).digest('hex'),
            );
            count++;
          }
        }
      }
    }
    expect(count).toBeGreaterThan(40);
  });

  it('decodes byte-by-byte input (state machine across chunk boundaries)', async () => {
    const frame = await lz4FrameCompress(Buffer.from('hello world '.repeat(100)));
    const out: Buffer[] = [];
    const dec = createLz4FrameDecoder();
    dec.on('data', (c: Buffer) => out.push(c));
    await pipeline(Readable.from([...frame].map((b) => Buffer.from([b]))), dec);
    expect(Buffer.concat(out).toString()).toBe('hello world '.repeat(100));
  });

  it('decodes a multi-block frame fed in 1-byte and odd-sized chunks (blocks, checksums split anywhere)', async () => {
    // 64 KiB blocks, block checksums, compressed and stored (random) blocks.
    const plain = Buffer.concat([randomBytes(100_000), Buffer.alloc(150_000, 3), randomBytes(30_000)]);
    writeFileSync(join(dir, 'small'), plain);
    lz4Cli(['-B4', '-BX'], join(dir, 'small'), join(dir, 'small.lz4'));
    const frame = readFileSync(join(dir, 'small.lz4'));
    for (const size of [1, 3, 4097, 65_539]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < frame.length; i += size) chunks.push(frame.subarray(i, i + size));
      const out: Buffer[] = [];
      const dec = createLz4FrameDecoder();
      dec.on('data', (c: Buffer) => out.push(c));
      await pipeline(Readable.from(chunks), dec);
      expect(Buffer.concat(out).equals(plain), `chunks of ${size}`).toBe(true);
    }
  });

  it('output blocks stay valid after later blocks are decoded (no shared decode buffer leaks out)', async () => {
    const plain = sample();
    const frame = await lz4FrameCompress(plain);
    const out: Buffer[] = [];
    const dec = createLz4FrameDecoder();
    dec.on('data', (c: Buffer) => out.push(c)); // kept, not copied
    const chunks: Buffer[] = [];
    for (let i = 0; i < frame.length; i += 100_003) chunks.push(frame.subarray(i, i + 100_003));
    await pipeline(Readable.from(chunks), dec);
    expect(out.length).toBeGreaterThan(2);
    expect(Buffer.concat(out).equals(plain)).toBe(true);
  });

  it('decoders running at once, each mid-block, keep their blocks apart (shared scratch buffers)', async () => {
    // Rows of 500 random bytes + 500 zeros: blocks compress to about half, so each compressed
    // block arrives over many chunks.
    const plains = [0, 1, 2, 3].map((i) =>
      Buffer.concat(
        Array.from({ length: 2500 + i * 100 }, () => Buffer.concat([randomBytes(500), Buffer.alloc(500)])),
      ),
    );
    const frames = await Promise.all(plains.map((p) => lz4FrameCompress(p)));
    const outs = plains.map(() => [] as Buffer[]);
    // Fed in turn, 50 KB at a time: every decoder is inside a compressed block while the others
    // take and give back their own scratch buffers.
    const feeds = frames.map(() => new Readable({ read() {} }));
    const done = frames.map((_, i) => {
      const dec = createLz4FrameDecoder({ name: `object ${i}` });
      dec.on('data', (c: Buffer) => outs[i].push(Buffer.from(c)));
      return pipeline(feeds[i], dec);
    });
    const longest = Math.max(...frames.map((f) => f.length));
    for (let at = 0; at < longest; at += 50_000) {
      frames.forEach((f, i) => {
        if (at < f.length) feeds[i].push(f.subarray(at, at + 50_000));
      });
      await new Promise((r) => setImmediate(r));
    }
    for (const feed of feeds) feed.push(null);
    await Promise.all(done);
    plains.forEach((p, i) => {
      expect(Buffer.concat(outs[i]).equals(p), `object ${i}`).toBe(true);
    });
  });

  describe('errors name the object', () => {
    const name = 'generations/0123456789abcdef/wal/00000000_00000000.wal.lz4';
    const frameP = lz4FrameCompress(Buffer.from('some page data '.repeat(500)));

    it('content checksum mismatch', async () => {
      const frame = Buffer.from(await frameP);
      frame[frame.length - 1] ^= 0xff;
      await expect(lz4FrameDecompress(frame, name)).rejects.toThrow(
        `${name}: LZ4 content checksum mismatch (object corrupt)`,
      );
    });

    it('flipped byte inside a block', async () => {
      const frame = Buffer.from(await frameP);
      frame[20] ^= 0x10;
      await expect(lz4FrameDecompress(frame, name)).rejects.toThrow(name);
    });

    it('flipped byte in the frame header', async () => {
      const frame = Buffer.from(await frameP);
      frame[5] ^= 0x10;
      await expect(lz4FrameDecompress(frame, name)).rejects.toThrow(
        `${name}: LZ4 frame header checksum mismatch`,
      );
    });

    it('truncated frame', async () => {
      const frame = await frameP;
      for (const cut of [3, 6, 11, 30, frame.length - 3]) {
        await expect(lz4FrameDecompress(frame.subarray(0, cut), name)).rejects.toThrow(
          `${name}: LZ4 frame is truncated`,
        );
      }
    });

    it('not LZ4 at all, and empty', async () => {
      await expect(lz4FrameDecompress(Buffer.from('SQLite format 3\0'), name)).rejects.toThrow(
        `${name}: not an LZ4 frame`,
      );
      await expect(lz4FrameDecompress(Buffer.alloc(0), name)).rejects.toThrow(`${name}: empty object`);
    });

    it('a corrupt later block, input in small chunks: fails naming the object', async () => {
      lz4Cli(['-B4'], join(dir, 'plain'), join(dir, 'b4.lz4'));
      const frame = readFileSync(join(dir, 'b4.lz4'));
      // The first compressed block, well into the frame (the sample starts with stored blocks).
      let at = 7;
      let blocks = 0;
      while (frame.readUInt32LE(at) & 0x80000000) {
        at += 4 + (frame.readUInt32LE(at) & 0x7fffffff);
        blocks++;
      }
      expect(blocks).toBeGreaterThan(2);
      frame.fill(0xff, at + 4, at + 40); // damage its first sequences
      const chunks: Buffer[] = [];
      for (let i = 0; i < frame.length; i += 777) chunks.push(frame.subarray(i, i + 777));
      const dec = createLz4FrameDecoder({ name });
      dec.resume();
      await expect(pipeline(Readable.from(chunks), dec)).rejects.toThrow(
        new RegExp(`^${name}: LZ4 (block does not decompress|content checksum mismatch)`),
      );
    });

    it('block checksum mismatch', async () => {
      lz4Cli(['-BX'], join(dir, 'plain'), join(dir, 'bx.lz4'));
      const frame = readFileSync(join(dir, 'bx.lz4'));
      // First block: header(7) + size word(4) + data + checksum(4): flip the checksum's first byte.
      const size = frame.readUInt32LE(7) & 0x7fffffff;
      frame[11 + size] ^= 0xff;
      await expect(lz4FrameDecompress(frame, name)).rejects.toThrow(`${name}: LZ4 block checksum mismatch`);
    });
  });
});

describe('LZ4 decoder teardown (a download that fails mid-body)', () => {
  /** A frame's first part written, then the source fails while the decoder waits for more. */
  async function failMidFrame(at: number): Promise<unknown> {
    const frame = await lz4FrameCompress(randomBytes(200_000));
    const source = new PassThrough();
    const dec = createLz4FrameDecoder({ name: 'seg.wal.lz4' });
    source.on('error', (err) => dec.destroy(err));
    source.pipe(dec);
    source.write(frame.subarray(0, at));
    setTimeout(() => source.destroy(new Error('connection reset')), 20);
    return pipeline(dec, new PassThrough().resume());
  }

  it.each([
    ['before any byte', 0],
    ['inside the frame header', 5],
    ['inside a block', 30_000],
  ])('a source error %s fails the decoder at once instead of leaving it waiting', async (_where, at) => {
    await expect(failMidFrame(at)).rejects.toThrow('connection reset');
  });

  it('a reader that gives up mid-frame closes the decoder', async () => {
    const frame = await lz4FrameCompress(Buffer.alloc(20 << 20, 3));
    const dec = createLz4FrameDecoder();
    dec.write(frame);
    const first = await new Promise<Buffer>((resolve) => dec.once('data', resolve));
    expect(first.length).toBeGreaterThan(0);
    const closed = new Promise((resolve) => dec.once('close', resolve));
    dec.destroy();
    await closed;
    expect(dec.destroyed).toBe(true);
  });
});

describe('LZ4 decoder output bound', () => {
  it('decodes blocks that expand the maximum (a run of zeros, ~255x)', async () => {
    for (const size of [1, 100, 65_536, 1 << 20, 4 << 20]) {
      const data = Buffer.alloc(size);
      const frame = await lz4FrameCompress(data);
      expect((await lz4FrameDecompress(frame)).equals(data)).toBe(true);
    }
  });
});

describe('LZ4 decoder memory (BlockPool, backpressure)', () => {
  it('decodes a highly compressible frame one block at a time as a slow reader asks, into reused buffers', async () => {
    // 64 MiB that compress ~250x: a 64 KiB input chunk holds many 4 MiB blocks.
    const data = Buffer.alloc(64 << 20);
    for (let i = 0; i < data.length; i += 7 * 4096) data.fill(i & 0xff, i, i + 100);
    const frame = await lz4FrameCompress(data);
    const chunks: Buffer[] = [];
    for (let i = 0; i < frame.length; i += 64 << 10) chunks.push(frame.subarray(i, i + (64 << 10)));
    const pool = new BlockPool();
    const hash = createHash('sha256');
    let maxLent = 0;
    let bytes = 0;
    await pipeline(
      Readable.from(chunks),
      createLz4FrameDecoder({ pool }),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          maxLent = Math.max(maxLent, pool.lentCount);
          hash.update(chunk);
          bytes += chunk.length;
          // Slow: give the buffer back only a turn later, as a file write would.
          setImmediate(() => {
            pool.release(chunk);
            cb();
          });
        },
      }),
    );
    expect(bytes).toBe(data.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    // Before: every block of a chunk was decoded at once (16 of 4 MiB here, 64 with 1 MiB chunks).
    expect(maxLent).toBeLessThanOrEqual(4);
    expect(pool.lentCount).toBe(0);
  });

  it('a pool ignores a second release and buffers it did not lend', () => {
    const pool = new BlockPool(1 << 20, 2);
    const a = pool.acquire(1 << 20);
    pool.release(a);
    pool.release(a);
    pool.release(Buffer.alloc(1 << 20));
    const b = pool.acquire(100);
    const c = pool.acquire(100);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(b.buffer); // never the same buffer to two users
    expect(pool.lentCount).toBe(2);
  });

  it('a trimmed pool lends new buffers, never the ones it let go', () => {
    const pool = new BlockPool(1 << 20, 2);
    const a = pool.acquire(1 << 20);
    pool.release(a);
    pool.trim();
    expect(pool.acquire(10).buffer).not.toBe(a.buffer);
  });

  it('a corrupt block still fails with the object name when decoding into a pool', async () => {
    const data = Buffer.alloc(8 << 20, 7);
    const frame = await lz4FrameCompress(data);
    frame[12] ^= 0xff; // inside the first block's compressed bytes
    await expect(
      pipeline(
        Readable.from([frame]),
        createLz4FrameDecoder({ name: 'obj.lz4', pool: new BlockPool() }),
        new Writable({ write: (_c, _e, cb) => cb() }),
      ),
    ).rejects.toThrow(/obj\.lz4: /);
  });
});

describe('LZ4 frame of a file range (WAL segment uploads)', () => {
  /** Random blocks are stored uncompressed: each must reach the frame as its own copy. */
  const content = Buffer.concat([randomBytes(9 << 20), Buffer.alloc(3 << 20, 5), randomBytes(1000)]);
  const file = join(dir, 'range.bin');
  writeFileSync(file, content);

  async function encodeRange(start: number, end: number): Promise<Buffer> {
    const fh = await open(file, 'r');
    try {
      const chunks: Buffer[] = [];
      for await (const c of createLz4FileRangeEncoder(fh, start, end)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    } finally {
      await fh.close();
    }
  }

  it.each([
    ['several stored and compressed blocks from an offset', 12345, content.length],
    ['a range inside one block', 4096, 4096 + 24 * 4120],
    ['an empty range', 100, 100],
  ])('%s: the lz4 CLI and our decoder give back exactly the range', async (_name, start, end) => {
    const frame = await encodeRange(start, end);
    const framePath = join(dir, `range-${start}-${end}.lz4`);
    const outPath = `${framePath}.out`;
    writeFileSync(framePath, frame);
    lz4Cli(['-d'], framePath, outPath);
    const want = content.subarray(start, end);
    expect(createHash('sha256').update(readFileSync(outPath)).digest('hex')).toBe(
      createHash('sha256').update(want).digest('hex'),
    );
    expect((await lz4FrameDecompress(frame)).equals(want)).toBe(true);
  });

  it('fails, rather than ending the frame early, when the file is shorter than the range', async () => {
    await expect(encodeRange(0, content.length + 10)).rejects.toThrow(/file ended at/);
  });
});
