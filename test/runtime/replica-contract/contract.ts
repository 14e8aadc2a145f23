/**
 * The behaviour every ReplicaClient must have, run against each backend on a real server
 * (file, S3 on Ceph RGW, Azure on Azurite, SFTP on OpenSSH). Each test gets its own path.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { isUserError } from '../../../runtime/errors.js';
import type { ReplicaClient } from '../../../runtime/replica/client.js';

export interface ContractTarget {
  /** A fresh client rooted at `path` (unique per test). */
  open(path: string, opts?: { memoryLimit?: number }): Promise<ReplicaClient>;
}

const GEN_A = '0123456789abcdef';
const GEN_B = 'fedcba9876543210';

export function body(bytes: Buffer | string): Readable {
  return Readable.from([Buffer.from(bytes)]);
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Run `fn` over `items`, `limit` at a time. */
async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

export function replicaContract(name: string, target: ContractTarget): void {
  describe(`replica client contract: ${name}`, () => {
    const clients: ReplicaClient[] = [];
    let n = 0;
    const open = async (opts?: { memoryLimit?: number }) => {
      const c = await target.open(`contract-${process.pid}-${Date.now()}-${n++}`, opts);
      clients.push(c);
      return c;
    };
    afterEach(async () => {
      for (const c of clients.splice(0)) await c.close();
    });

    it('lists a missing replica and a missing generation as empty', async () => {
      const c = await open();
      expect(await c.generations()).toEqual([]);
      expect(await c.snapshots(GEN_A)).toEqual([]);
      expect(await c.walSegments(GEN_A)).toEqual([]);
    });

    it('writes, lists and reads snapshots, sorted by index, with sizes and object times', async () => {
      const c = await open();
      const before = Date.now();
      const big = randomBytes(70_000);
      const w1 = await c.writeSnapshot(GEN_A, 0x10, body(big));
      const w0 = await c.writeSnapshot(GEN_A, 1, body('snapshot one'));
      const after = Date.now();
      expect(w1).toMatchObject({ generation: GEN_A, index: 0x10, size: big.length });
      expect(w0).toMatchObject({ generation: GEN_A, index: 1, size: 12 });

      const list = await c.snapshots(GEN_A);
      expect(list.map((s) => [s.generation, s.index, s.size])).toEqual([
        [GEN_A, 1, 12],
        [GEN_A, 0x10, big.length],
      ]);
      for (const s of list) {
        expect(s.createdAt).toBeInstanceOf(Date);
        // Object times come from the server's clock (same machine); SFTP mtimes have 1 s resolution.
        expect(s.createdAt.getTime()).toBeGreaterThanOrEqual(before - 2_000);
        expect(s.createdAt.getTime()).toBeLessThanOrEqual(after + 2_000);
      }
      expect(await readAll(await c.openSnapshot(GEN_A, 0x10))).toEqual(big);
      expect((await readAll(await c.openSnapshot(GEN_A, 1))).toString()).toBe('snapshot one');
      expect(await c.generations()).toEqual([GEN_A]);
    });

    it('writes, lists and reads WAL segments sorted by (index, offset)', async () => {
      const c = await open();
      const segs = [
        { index: 2, offset: 0, data: 'two-zero' },
        { index: 1, offset: 0x1038, data: 'one-1038' },
        { index: 1, offset: 0, data: 'one-zero!' },
        { index: 1, offset: 0x20, data: 'one-20' },
      ];
      for (const s of segs) {
        const info = await c.writeWalSegment(
          { generation: GEN_A, index: s.index, offset: s.offset },
          body(s.data),
        );
        expect(info).toMatchObject({
          generation: GEN_A,
          index: s.index,
          offset: s.offset,
          size: s.data.length,
        });
      }
      const list = await c.walSegments(GEN_A);
      expect(list.map((s) => [s.index, s.offset, s.size])).toEqual([
        [1, 0, 9],
        [1, 0x20, 6],
        [1, 0x1038, 8],
        [2, 0, 8],
      ]);
      for (const s of list) expect(s.createdAt).toBeInstanceOf(Date);
      const read = await readAll(await c.openWalSegment({ generation: GEN_A, index: 1, offset: 0x1038 }));
      expect(read.toString()).toBe('one-1038');
      expect(await c.snapshots(GEN_A)).toEqual([]);
    });

    it('replaces an object written twice (same key)', async () => {
      const c = await open();
      await c.writeSnapshot(GEN_A, 3, body('first version'));
      await c.writeSnapshot(GEN_A, 3, body('second'));
      const list = await c.snapshots(GEN_A);
      expect(list.map((s) => [s.index, s.size])).toEqual([[3, 6]]);
      expect((await readAll(await c.openSnapshot(GEN_A, 3))).toString()).toBe('second');
    });

    it('rejects reading a missing object with a UserError naming it', async () => {
      const c = await open();
      const missingSnapshot = await c.openSnapshot(GEN_A, 7).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isUserError(missingSnapshot)).toBe(true);
      expect((missingSnapshot as Error).message).toMatch(
        /not found.*00000007\.snapshot\.lz4|00000007\.snapshot\.lz4.*not found/,
      );
      await c.writeWalSegment({ generation: GEN_A, index: 1, offset: 0 }, body('x'));
      await expect(c.openWalSegment({ generation: GEN_A, index: 1, offset: 8 })).rejects.toThrow(
        /00000001_00000008\.wal\.lz4/,
      );
    });

    it('deletes snapshots, WAL segments (missing ones are fine) and whole generations', async () => {
      const c = await open();
      await c.writeSnapshot(GEN_A, 1, body('a1'));
      await c.writeSnapshot(GEN_A, 2, body('a2'));
      await c.writeWalSegment({ generation: GEN_A, index: 1, offset: 0 }, body('w0'));
      await c.writeWalSegment({ generation: GEN_A, index: 1, offset: 2 }, body('w2'));
      await c.writeSnapshot(GEN_B, 1, body('b1'));
      await c.writeWalSegment({ generation: GEN_B, index: 1, offset: 0 }, body('bw'));
      expect(await c.generations()).toEqual([GEN_A, GEN_B]);

      await c.deleteSnapshot(GEN_A, 1);
      expect((await c.snapshots(GEN_A)).map((s) => s.index)).toEqual([2]);
      await c.deleteWalSegments([
        { generation: GEN_A, index: 1, offset: 0 },
        { generation: GEN_A, index: 9, offset: 0 }, // never existed
      ]);
      expect((await c.walSegments(GEN_A)).map((s) => s.offset)).toEqual([2]);

      await c.deleteGeneration(GEN_A);
      expect(await c.generations()).toEqual([GEN_B]);
      expect(await c.snapshots(GEN_A)).toEqual([]);
      expect(await c.walSegments(GEN_A)).toEqual([]);
      expect((await readAll(await c.openSnapshot(GEN_B, 1))).toString()).toBe('b1');
      // Writing into a deleted generation starts it again.
      await c.writeWalSegment({ generation: GEN_A, index: 5, offset: 0 }, body('again'));
      expect((await c.walSegments(GEN_A)).map((s) => s.index)).toEqual([5]);
    });

    it('streams a body larger than the in-memory limit (temp-file spool, multipart where supported)', async () => {
      const c = await open({ memoryLimit: 256 * 1024 });
      // 9 MiB: above the 8 MiB multipart part size of the S3 client.
      const big = Buffer.alloc(9 * 1024 * 1024 + 123);
      for (let i = 0; i < big.length; i += 4096) randomBytes(32).copy(big, i);
      const info = await c.writeSnapshot(GEN_A, 1, Readable.from(chunks(big, 64 * 1024)));
      expect(info.size).toBe(big.length);
      expect((await c.snapshots(GEN_A))[0].size).toBe(big.length);
      expect((await readAll(await c.openSnapshot(GEN_A, 1))).equals(big)).toBe(true);
    });

    it('lists and deletes past 1000 objects (pagination)', async () => {
      const c = await open();
      const count = 1_005;
      const offsets = Array.from({ length: count }, (_, i) => i * 16);
      await parallel(offsets, 16, (offset) =>
        c.writeWalSegment({ generation: GEN_B, index: 1, offset }, body(`s${offset}`)),
      );
      await c.writeSnapshot(GEN_B, 1, body('snap'));
      const list = await c.walSegments(GEN_B);
      expect(list).toHaveLength(count);
      expect(list.map((s) => s.offset)).toEqual(offsets);
      expect(await c.generations()).toEqual([GEN_B]);
      await c.deleteGeneration(GEN_B);
      expect(await c.walSegments(GEN_B)).toEqual([]);
      expect(await c.generations()).toEqual([]);
    });

    it('close() is safe to call twice', async () => {
      const c = await open();
      await c.generations();
      await c.close();
      await c.close();
    });
  });
}

function* chunks(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}
