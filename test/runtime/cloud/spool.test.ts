/** The retry spool: small bodies in memory, large ones in a temp file that is always removed. */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { spool } from '../../../runtime/replica/spool.js';
import { readAll } from '../replica-contract/contract.js';

function* chunks(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const spoolDirs = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('ls-mix-spool-')));

describe('spool', () => {
  it('keeps a body up to the limit in memory', async () => {
    const data = randomBytes(64 * 1024);
    const s = await spool(Readable.from(chunks(data, 1000)), 64 * 1024);
    expect(s.size).toBe(data.length);
    expect(s.file).toBeUndefined();
    expect(s.buffer?.equals(data)).toBe(true);
    expect((await readAll(s.open())).equals(data)).toBe(true);
    await s.dispose();
  });

  it('moves a larger body to a temp file that can be read again and again, and removes it', async () => {
    const data = randomBytes(1024 * 1024 + 7);
    const s = await spool(Readable.from(chunks(data, 10_000)), 64 * 1024);
    expect(s.size).toBe(data.length);
    expect(s.buffer).toBeUndefined();
    expect(s.file && existsSync(s.file)).toBe(true);
    expect((await readAll(s.open())).equals(data)).toBe(true);
    expect((await readAll(s.open())).equals(data)).toBe(true); // a retry reads it again
    await s.dispose();
    expect(existsSync(s.file as string)).toBe(false);
    await s.dispose(); // twice is fine
  });

  it('removes the temp file when the source fails half-way', async () => {
    const before = spoolDirs();
    async function* failing() {
      yield randomBytes(200_000);
      throw new Error('source broke');
    }
    await expect(spool(Readable.from(failing()), 64 * 1024)).rejects.toThrow('source broke');
    const leaked = [...spoolDirs()].filter((d) => !before.has(d));
    expect(leaked).toEqual([]);
  });

  for (const [where, limit] of [
    ['in memory', 1 << 20],
    ['in a temp file', 64 * 1024],
  ] as const) {
    it(`reads byte ranges of the body, as S3 multipart parts do (${where})`, async () => {
      const data = randomBytes(200_000);
      const s = await spool(Readable.from(chunks(data, 10_000)), limit);
      try {
        expect(s.buffer === undefined).toBe(limit < data.length);
        for (const [start, end] of [
          [0, 65_536],
          [65_536, 131_072],
          [131_072, 200_000],
          [199_999, 200_000],
          [200_000, 200_000],
        ]) {
          expect((await readAll(s.open(start, end))).equals(data.subarray(start, end))).toBe(true);
        }
      } finally {
        await s.dispose();
      }
    });
  }
});
