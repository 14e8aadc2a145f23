import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sendBuffersLent, writeFileRange } from '../../../runtime/replica/spool.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function fileOf(bytes: Buffer): string {
  dir = mkdtempSync(join(tmpdir(), 'spool-'));
  const file = join(dir, 'body');
  writeFileSync(file, bytes);
  return file;
}

/** A destination that copies what it gets and answers each write after `delayMs`. */
function slowSink(delayMs: number, opts: { failAfter?: number } = {}) {
  const got: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, cb) {
      buffers.add(chunk.buffer);
      got.push(Buffer.from(chunk));
      const n = got.length;
      setTimeout(() => {
        if (opts.failAfter !== undefined && n > opts.failAfter) cb(new Error('connection reset'));
        else cb();
      }, delayMs);
    },
  });
  return { sink, got, buffers };
}

describe('writeFileRange', () => {
  it('sends exactly the range, reusing a few buffers however slow the destination is', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 12345);
    const file = fileOf(bytes);
    const { sink, got, buffers } = slowSink(2);
    await writeFileRange(file, 1000, bytes.length - 77, sink);
    expect(Buffer.concat(got).equals(bytes.subarray(1000, bytes.length - 77))).toBe(true);
    expect(got.length).toBeGreaterThan(10);
    // Every chunk came from one of at most 3 buffers: none is allocated per read.
    expect(buffers.size).toBeLessThanOrEqual(3);
    expect(sink.destroyed).toBe(false); // left open for the caller to end
  });

  it('one part after another reuses the same buffers (no garbage per part)', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const file = fileOf(bytes);
    const seen = new Set<ArrayBufferLike>();
    for (let part = 0; part < 3; part++) {
      const { sink, got, buffers } = slowSink(1);
      await writeFileRange(file, part << 20, (part + 1) << 20, sink);
      expect(Buffer.concat(got).equals(bytes.subarray(part << 20, (part + 1) << 20))).toBe(true);
      for (const b of buffers) seen.add(b);
    }
    expect(seen.size).toBeLessThanOrEqual(3);
  });

  it('an empty range writes nothing', async () => {
    const file = fileOf(randomBytes(100));
    const { sink, got } = slowSink(0);
    await writeFileRange(file, 50, 50, sink);
    expect(got).toHaveLength(0);
  });

  it('fails, instead of waiting forever, when the destination fails mid-way', async () => {
    const file = fileOf(randomBytes(4 * 1024 * 1024));
    const { sink } = slowSink(1, { failAfter: 3 });
    await expect(writeFileRange(file, 0, 4 * 1024 * 1024, sink)).rejects.toThrow(/connection reset/);
  });

  it('fails when the destination is closed before the body is sent', async () => {
    const file = fileOf(randomBytes(4 * 1024 * 1024));
    const { sink } = slowSink(5);
    setTimeout(() => sink.destroy(), 20);
    await expect(writeFileRange(file, 0, 4 * 1024 * 1024, sink)).rejects.toThrow();
  });

  it('names the file when it is shorter than the range', async () => {
    const file = fileOf(randomBytes(1000));
    const { sink } = slowSink(0);
    await expect(writeFileRange(file, 0, 5000, sink)).rejects.toThrow(/ends at byte 1000, expected 5000/);
    // Once the write in flight is answered, every buffer is back in the pool, the one of the read
    // that came back empty included.
    await vi.waitFor(() => expect(sendBuffersLent()).toBe(0), { timeout: 2000 });
  });
});
