/**
 * The splitter of ranged-read.ts on its own, over in-process sources whose pace the test sets:
 * order kept when parts finish out of order, no split when the source keeps up, every part's
 * stream closed on destroy, short or long answers refused. (Against real stores: cloud/s3-ranged.)
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type OpenRange, rangedRead } from '../../../runtime/replica/ranged-read.js';
import { readAll } from '../replica-contract/contract.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** This process's open descriptors on spill files made in `dir` (Linux: /proc/self/fd). */
function spillFds(dir: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(join(dir, '.ls-mix-spill-')) ? [target] : [];
    } catch {
      return []; // closed meanwhile (the readdir's own descriptor)
    }
  });
}

/** A source of `data` that sends `chunk` bytes every `everyMs` (0: as fast as read), per range asked. */
function source(data: Buffer, chunk: number, everyMs: (start: number) => number) {
  const opened: Array<{ start: number; end: number; body: Readable; sent: number }> = [];
  const open: OpenRange = async (start, end) => {
    const entry = { start, end, sent: 0 } as (typeof opened)[number];
    entry.body = Readable.from(
      (async function* () {
        for (let at = start; at < end; at += chunk) {
          const ms = everyMs(start);
          if (ms > 0) await sleep(ms);
          const piece = data.subarray(at, Math.min(end, at + chunk));
          entry.sent += piece.length;
          yield piece;
        }
      })(),
    );
    opened.push(entry);
    return entry.body;
  };
  return { open, opened };
}

describe('rangedRead', () => {
  it('splits a slow read into parallel ranges and keeps every byte in order, parts finishing out of order', async () => {
    const data = randomBytes(3 << 20);
    const partSize = 64 << 10;
    // The first GET is slow; later parts answer at different paces, later ones faster.
    const { open, opened } = source(data, 16 << 10, (start) => (start === 0 ? 2 : (start / partSize) % 3));
    let splitAt: number | undefined;
    const got = await readAll(
      rangedRead(data.length, open, {
        partSize,
        parts: 4,
        windowMs: 5,
        onSplit: (at) => {
          splitAt = at;
        },
      }),
    );
    expect(got.equals(data)).toBe(true);
    expect(splitAt).toBeDefined();
    expect(splitAt! % partSize).toBe(0);
    expect(opened[0]).toMatchObject({ start: 0, end: data.length });
    // The first read stopped at the split's boundary instead of fetching what the parts fetch.
    await sleep(20);
    expect(opened[0].body.destroyed).toBe(true);
    expect(opened[0].sent).toBeLessThan(splitAt! + (64 << 10));
    // After the split, ranges of partSize cover the rest exactly.
    const rest = opened.slice(1);
    expect(rest[0].start).toBe(splitAt);
    for (let i = 1; i < rest.length; i++) expect(rest[i].start).toBe(rest[i - 1].end);
    expect(rest.at(-1)!.end).toBe(data.length);
  });

  it('stays one read when the source keeps up', async () => {
    const data = randomBytes(2 << 20);
    const { open, opened } = source(data, 64 << 10, () => 0);
    const got = await readAll(rangedRead(data.length, open, { partSize: 64 << 10, parts: 8, windowMs: 1 }));
    expect(got.equals(data)).toBe(true);
    expect(opened).toHaveLength(1);
  });

  it('closes every open part when the reader is destroyed', async () => {
    const data = randomBytes(1 << 20);
    const { open, opened } = source(data, 4 << 10, () => 3);
    const reader = rangedRead(data.length, open, { partSize: 32 << 10, parts: 4, windowMs: 5 });
    let n = 0;
    for await (const c of reader) {
      n += (c as Buffer).length;
      if (opened.length > 2) break;
    }
    expect(n).toBeGreaterThan(0);
    await sleep(20);
    expect(opened.length).toBeGreaterThan(2);
    for (const o of opened) expect(o.body.destroyed).toBe(true);
  });

  it('keeps parts ahead in a temporary file that is unlinked at once and closed at the end', async () => {
    const data = randomBytes(2 << 20);
    const partSize = 64 << 10;
    const dir = await mkdtemp(join(tmpdir(), 'ranged-spill-'));
    try {
      const { open } = source(data, 16 << 10, (start) => (start === 0 ? 2 : 0));
      const reader = rangedRead(data.length, open, { partSize, parts: 4, windowMs: 5, spillDir: dir });
      const chunks: Buffer[] = [];
      let seenOpen = false;
      for await (const c of reader) {
        chunks.push(c as Buffer);
        if (spillFds(dir).length > 0) {
          seenOpen = true;
          // Open, yet nowhere in the folder: nothing is left behind however the process ends.
          expect(await readdir(dir)).toEqual([]);
        }
      }
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      expect(seenOpen).toBe(true);
      expect(spillFds(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('closes the temporary file when the reader is destroyed mid-read', async () => {
    const data = randomBytes(2 << 20);
    const dir = await mkdtemp(join(tmpdir(), 'ranged-spill-'));
    try {
      const { open, opened } = source(data, 16 << 10, (start) => (start === 0 ? 2 : 1));
      const reader = rangedRead(data.length, open, {
        partSize: 64 << 10,
        parts: 4,
        windowMs: 5,
        spillDir: dir,
      });
      for await (const _ of reader) if (opened.length > 2 && spillFds(dir).length > 0) break;
      expect(opened.length).toBeGreaterThan(2);
      expect(spillFds(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stays one read, every byte delivered, when no temporary file can be made', async () => {
    const data = randomBytes(1 << 20);
    const { open, opened } = source(data, 16 << 10, () => 2);
    const refused: Error[] = [];
    const got = await readAll(
      rangedRead(data.length, open, {
        partSize: 64 << 10,
        parts: 4,
        windowMs: 5,
        spillDir: join(tmpdir(), 'no-such-folder-for-ls-mix', String(process.pid)),
        onNoSpill: (err) => refused.push(err),
      }),
    );
    expect(got.equals(data)).toBe(true);
    expect(opened).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect((refused[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('fails, naming the range, when a part ends short', async () => {
    const data = randomBytes(256 << 10);
    const open: OpenRange = async (start, end) => Readable.from([data.subarray(start, end - 1)]);
    await expect(readAll(rangedRead(data.length, open, { partSize: 64 << 10, parts: 2 }))).rejects.toThrow(
      `range 0-${data.length - 1} ended after ${data.length - 1} of ${data.length} bytes`,
    );
  });

  it('passes on an error of a part', async () => {
    const open: OpenRange = async () => {
      throw new Error('connection refused');
    };
    await expect(readAll(rangedRead(10, open, { partSize: 4, parts: 2 }))).rejects.toThrow(
      'connection refused',
    );
  });

  it('ends at once for an empty object', async () => {
    const open: OpenRange = async () => {
      throw new Error('not asked');
    };
    expect((await readAll(rangedRead(0, open, { partSize: 4, parts: 2 }))).length).toBe(0);
  });
});
