import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { walSegmentKey } from '../../../runtime/format/layout.js';
import { createFileReplicaClient } from '../../../runtime/replica/file.js';
import { openReplicaClient } from '../../../runtime/replica/index.js';

const root = mkdtempSync(join(tmpdir(), 'ls-mix-file-replica-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const GEN = '0123456789abcdef';

describe('file replica client', () => {
  const client = createFileReplicaClient({ path: join(root, 'nested/replica'), name: 'disk' });

  it('lists nothing (not an error) when the replica folder does not exist yet', async () => {
    expect(await client.generations()).toEqual([]);
    expect(await client.snapshots(GEN)).toEqual([]);
    expect(await client.walSegments(GEN)).toEqual([]);
  });

  it('writes objects under the Litestream layout, creating folders', async () => {
    const s = await client.writeSnapshot(GEN, 0, Readable.from([Buffer.from('snap')]));
    expect(s).toMatchObject({ generation: GEN, index: 0, size: 4 });
    await client.writeWalSegment({ generation: GEN, index: 0, offset: 0x1038 }, Readable.from(['b']));
    await client.writeWalSegment({ generation: GEN, index: 0, offset: 0 }, Readable.from(['aa']));
    await client.writeWalSegment({ generation: GEN, index: 1, offset: 0 }, Readable.from(['c']));
    const base = join(root, 'nested/replica/generations', GEN);
    expect(readdirSync(join(base, 'snapshots'))).toEqual(['00000000.snapshot.lz4']);
    expect(readdirSync(join(base, 'wal')).sort()).toEqual([
      '00000000_00000000.wal.lz4',
      '00000000_00001038.wal.lz4',
      '00000001_00000000.wal.lz4',
    ]);
    expect(readFileSync(join(base, 'snapshots/00000000.snapshot.lz4'), 'utf8')).toBe('snap');
  });

  it('lists sorted, with sizes and mtimes, ignoring foreign and temp files', async () => {
    const base = join(root, 'nested/replica/generations', GEN);
    writeFileSync(join(base, 'wal/00000000_00002000.wal.lz4.1234.tmp'), 'partial');
    writeFileSync(join(base, 'wal/README'), 'x');
    const t = new Date('2026-01-02T03:04:05.678Z');
    utimesSync(join(base, 'wal/00000000_00001038.wal.lz4'), t, t);
    const segs = await client.walSegments(GEN);
    expect(segs.map((s) => [s.index, s.offset, s.size])).toEqual([
      [0, 0, 2],
      [0, 0x1038, 1],
      [1, 0, 1],
    ]);
    expect(segs[1].createdAt.toISOString()).toBe(t.toISOString());
    expect(await client.generations()).toEqual([GEN]);
  });

  it('reads back what it wrote; a missing object is a clear error naming it', async () => {
    expect(await text(await client.openSnapshot(GEN, 0))).toBe('snap');
    expect(await text(await client.openWalSegment({ generation: GEN, index: 0, offset: 0 }))).toBe('aa');
    await expect(client.openWalSegment({ generation: GEN, index: 9, offset: 0 })).rejects.toThrow(
      `replica "disk": object ${walSegmentKey(GEN, 9, 0)} not found`,
    );
  });

  it('overwrites atomically and leaves no temp file when the body fails', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('network went away'));
      },
    });
    await expect(client.writeSnapshot(GEN, 0, failing)).rejects.toThrow('network went away');
    expect(await text(await client.openSnapshot(GEN, 0))).toBe('snap');
    expect(readdirSync(join(root, 'nested/replica/generations', GEN, 'snapshots'))).toEqual([
      '00000000.snapshot.lz4',
    ]);
  });

  it('deletes segments, snapshots and generations (missing ones are fine)', async () => {
    await client.deleteWalSegments([
      { generation: GEN, index: 0, offset: 0 },
      { generation: GEN, index: 7, offset: 0 },
    ]);
    expect((await client.walSegments(GEN)).map((s) => s.offset)).toEqual([0x1038, 0]);
    await client.deleteSnapshot(GEN, 0);
    await client.deleteSnapshot(GEN, 0);
    expect(await client.snapshots(GEN)).toEqual([]);
    await client.deleteGeneration(GEN);
    expect(await client.generations()).toEqual([]);
    await client.close();
    await client.close();
  });

  it('is what openReplicaClient returns for type file', async () => {
    const c = await openReplicaClient({
      type: 'file',
      name: 'f',
      path: join(root, 'other'),
      retention: 0,
      retentionCheckInterval: 0,
      syncInterval: 0,
      snapshotInterval: 0,
      validationInterval: 0,
    });
    expect(c.type).toBe('file');
    expect(await c.generations()).toEqual([]);
  });
});
