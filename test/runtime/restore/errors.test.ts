import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { lz4FrameCompress, lz4FrameDecompress } from '../../../runtime/format/lz4.js';
import { createFileReplicaClient } from '../../../runtime/replica/file.js';
import { NoBackupError, restoreDatabase } from '../../../runtime/restore.js';
import { overrideClient } from '../../helpers/replica.js';
import { prepareCase, tableContents } from './fixture-helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function basic(): { dir: string; wal: string; gen: string } {
  const dir = prepareCase('basic');
  dirs.push(dir);
  const gen = '63117748c68cfd7a';
  return { dir, gen, wal: join(dir, 'replica/generations', gen, 'wal') };
}

function restore(dir: string, extra: Partial<Parameters<typeof restoreDatabase>[0]> = {}) {
  return restoreDatabase({
    replicas: [{ name: 'file', client: createFileReplicaClient({ path: join(dir, 'replica') }) }],
    outputPath: join(dir, 'out/restored.db'),
    ...extra,
  });
}

/** Damage an object in place as bit rot does: its content changes, its object time does not. */
function rot(path: string, data: Buffer): void {
  const { atime, mtime } = statSync(path);
  writeFileSync(path, data);
  utimesSync(path, atime, mtime);
}

/** The out folder holds nothing at all: no db, no temp db, no segments. */
function expectNothingLeft(dir: string): void {
  const out = join(dir, 'out');
  expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
}

describe('restore refuses damaged or incomplete replicas', () => {
  it('a flipped byte in a WAL segment: error names the object, no output left', async () => {
    const { dir, wal, gen } = basic();
    const seg = join(wal, '00000000_00005098.wal.lz4');
    const data = readFileSync(seg);
    data[data.length - 20] ^= 0x40;
    rot(seg, data);
    await expect(restore(dir)).rejects.toThrow(
      `replica "file": generations/${gen}/wal/00000000_00005098.wal.lz4: LZ4`,
    );
    expectNothingLeft(dir);
  });

  it('a flipped byte in the snapshot: error names the snapshot', async () => {
    const { dir, gen } = basic();
    const snap = join(dir, 'replica/generations', gen, 'snapshots/00000000.snapshot.lz4');
    const data = readFileSync(snap);
    data[100] ^= 0x01;
    rot(snap, data);
    await expect(restore(dir)).rejects.toThrow(
      `replica "file": generations/${gen}/snapshots/00000000.snapshot.lz4: LZ4`,
    );
    expectNothingLeft(dir);
  });

  it('a snapshot whose content is not a database (valid LZ4): error names replica, generation, object', async () => {
    const { dir, gen } = basic();
    const snap = join(dir, 'replica/generations', gen, 'snapshots/00000000.snapshot.lz4');
    rot(snap, await lz4FrameCompress(Buffer.alloc(4096, 0x41)));
    await expect(restore(dir)).rejects.toThrow(
      `replica "file": generations/${gen}/snapshots/00000000.snapshot.lz4: snapshot is not a SQLite database`,
    );
    expectNothingLeft(dir);
  });

  it('a snapshot whose page size differs from its WAL (the WAL is assembled before the snapshot arrives): named, nothing left', async () => {
    const { dir, gen } = basic();
    const snap = join(dir, 'replica/generations', gen, 'snapshots/00000000.snapshot.lz4');
    const other = join(dir, 'other.db');
    const db = new Database(other);
    db.pragma('page_size = 8192');
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    db.close();
    rot(snap, await lz4FrameCompress(readFileSync(other)));
    await expect(restore(dir)).rejects.toThrow(
      `replica "file": generations/${gen}/wal/00000000_00000000.wal.lz4: WAL page size 4096 does not match the snapshot's 8192`,
    );
    expectNothingLeft(dir);
  });

  it('valid LZ4 around a damaged WAL page (SQLite alone would silently stop there) is caught', async () => {
    const { dir, wal, gen } = basic();
    const seg = join(wal, '00000000_0000a110.wal.lz4');
    const plain = await lz4FrameDecompress(readFileSync(seg));
    plain[24 + 100] ^= 0xff; // inside the first frame's page
    rot(seg, await lz4FrameCompress(plain));
    await expect(restore(dir)).rejects.toThrow(
      new RegExp(
        `^replica "file": generations/${gen}/wal/00000000_0000a110\\.wal\\.lz4: WAL frame \\d+ checksum mismatch`,
      ),
    );
    expectNothingLeft(dir);
  });

  it('a truncated segment (whole LZ4 frame, partial WAL frame) is caught', async () => {
    const { dir, wal, gen } = basic();
    const seg = join(wal, '00000000_0000e170.wal.lz4');
    const plain = await lz4FrameDecompress(readFileSync(seg));
    rot(seg, await lz4FrameCompress(plain.subarray(0, plain.length - 100)));
    await expect(restore(dir)).rejects.toThrow(
      `replica "file": generations/${gen}/wal/00000000_0000e170.wal.lz4: WAL segment does not hold whole frames`,
    );
    expectNothingLeft(dir);
  });

  it('a missing segment in the middle: error names the missing object', async () => {
    const { dir, wal, gen } = basic();
    rmSync(join(wal, '00000000_00005098.wal.lz4'));
    await expect(restore(dir)).rejects.toThrow(
      `missing WAL segment generations/${gen}/wal/00000000_00005098.wal.lz4`,
    );
    expectNothingLeft(dir);
  });

  it('a missing first segment (the WAL header) is named before anything is downloaded', async () => {
    const { dir, wal, gen } = basic();
    rmSync(join(wal, '00000000_00000000.wal.lz4'));
    await expect(restore(dir)).rejects.toThrow(
      `missing WAL segment generations/${gen}/wal/00000000_00000000.wal.lz4`,
    );
    expectNothingLeft(dir);
  });

  it('a missing whole WAL index is named', async () => {
    const dir = prepareCase('multi-index');
    dirs.push(dir);
    const wal = join(dir, 'replica/generations/28eacad1ec68312f/wal');
    for (const f of readdirSync(wal)) if (f.startsWith('00000003_')) rmSync(join(wal, f));
    await expect(restore(dir)).rejects.toThrow('WAL index 00000003 is missing');
    expectNothingLeft(dir);
    // An earlier point is still restorable.
    await expect(restore(dir, { index: 2 })).resolves.toMatchObject({ index: 2 });
  });
});

describe('restore never overwrites', () => {
  it('an existing output database is refused and left untouched', async () => {
    const { dir } = basic();
    const out = join(dir, 'existing.db');
    writeFileSync(out, 'precious');
    await expect(restore(dir, { outputPath: out })).rejects.toThrow(`cannot restore: ${out} already exists`);
    expect(readFileSync(out, 'utf8')).toBe('precious');
  });

  it('a stale -wal without its database is refused', async () => {
    const { dir } = basic();
    const out = join(dir, 'lonely.db');
    writeFileSync(`${out}-wal`, 'stale');
    await expect(restore(dir, { outputPath: out })).rejects.toThrow('exists without its database');
    expect(existsSync(out)).toBe(false);
  });
});

describe('restore targets', () => {
  it('no backups: NoBackupError (what -if-replica-exists tolerates)', async () => {
    const { dir } = basic();
    const err = await restoreDatabase({
      replicas: [{ name: 'empty', client: createFileReplicaClient({ path: join(dir, 'nothing-here') }) }],
      outputPath: join(dir, 'out/x.db'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoBackupError);
    expect((err as Error).message).toBe('no backups found on replica "empty"');
  });

  it('unknown generation, index past the end, time before the first backup, both index and timestamp', async () => {
    const { dir } = basic();
    await expect(restore(dir, { generation: 'ffffffffffffffff' })).rejects.toThrow(
      'generation ffffffffffffffff not found on replica "file"',
    );
    await expect(restore(dir, { index: 3 })).rejects.toThrow(
      'WAL index 00000003 not found (highest index is 00000000)',
    );
    await expect(restore(dir, { timestamp: new Date('2020-01-01T00:00:00Z') })).rejects.toThrow(
      'no backup at or before 2020-01-01T00:00:00.000Z',
    );
    await expect(restore(dir, { index: 0, timestamp: new Date() })).rejects.toThrow(
      'cannot restore to both an index and a timestamp',
    );
    expectNothingLeft(dir);
  });

  it('a timestamp after the last backup restores the latest state (Litestream v0.3.13 found nothing)', async () => {
    const { dir } = basic();
    const r = await restore(dir, { timestamp: new Date('2030-01-01T00:00:00Z') });
    expect(r.segments).toBe(7);
  });

  it('with several replicas, the one with the newest data wins', async () => {
    const { dir } = basic();
    // A second replica: the same objects, all one hour older.
    cpSync(join(dir, 'replica'), join(dir, 'older'), { recursive: true });
    const root = join(dir, 'older/generations/63117748c68cfd7a');
    for (const sub of ['snapshots', 'wal']) {
      for (const f of readdirSync(join(root, sub))) utimesSync(join(root, sub, f), 1_000_000, 1_000_000);
    }
    // Drop the last segment from the newer one so the two restore different data.
    rmSync(join(dir, 'replica/generations/63117748c68cfd7a/wal/00000000_000121d0.wal.lz4'));
    const r = await restoreDatabase({
      replicas: [
        { name: 'older', client: createFileReplicaClient({ path: join(dir, 'older') }) },
        { name: 'newer', client: createFileReplicaClient({ path: join(dir, 'replica') }) },
      ],
      outputPath: join(dir, 'out/multi.db'),
    });
    expect(r).toMatchObject({ replica: 'newer', segments: 6 });
    expect(tableContents(join(dir, 'out/multi.db')).rows).toBeGreaterThan(0);
  });

  it('reports progress up to the full stored size', async () => {
    const { dir } = basic();
    const seen: Array<{ phase: string; bytesDone: number; bytesTotal: number }> = [];
    const r = await restore(dir, { onProgress: (p) => seen.push({ ...p }), parallelism: 1 });
    const last = seen[seen.length - 1];
    expect(last).toEqual({ phase: 'done', bytesDone: r.bytes, bytesTotal: r.bytes });
    expect(seen.map((p) => p.phase)).toContain('apply');
  });

  it('-parallelism bounds the WAL segment downloads; the snapshot downloads beside them', async () => {
    for (const parallelism of [1, 2]) {
      const { dir } = basic();
      const real = createFileReplicaClient({ path: join(dir, 'replica') });
      let segmentsOpen = 0;
      let mostSegments = 0;
      let snapshotOpen = false;
      let segmentsBesideSnapshot = 0;
      // The real file replica, with the snapshot's end held back 300 ms and downloads counted.
      const client = overrideClient(real, {
        openSnapshot: async (...args) => {
          snapshotOpen = true;
          const held = new Transform({
            transform: (chunk, _enc, cb) => cb(null, chunk),
            flush: (cb) => setTimeout(cb, 300),
          });
          held.on('close', () => {
            snapshotOpen = false;
          });
          return (await real.openSnapshot(...args)).pipe(held);
        },
        openWalSegment: async (...args) => {
          segmentsOpen++;
          mostSegments = Math.max(mostSegments, segmentsOpen);
          if (snapshotOpen) segmentsBesideSnapshot++;
          const body = await real.openWalSegment(...args);
          body.on('close', () => segmentsOpen--);
          return body;
        },
      });
      const r = await restoreDatabase({
        replicas: [{ name: 'file', client }],
        outputPath: join(dir, 'out/restored.db'),
        parallelism,
      });
      expect(r.segments).toBeGreaterThan(parallelism);
      expect(mostSegments, `parallelism ${parallelism}`).toBe(parallelism);
      expect(segmentsBesideSnapshot, `parallelism ${parallelism}`).toBeGreaterThan(0);
      expect(tableContents(join(dir, 'out/restored.db')).rows).toBeGreaterThan(0);
    }
  });

  /**
   * The file replica, each WAL segment's body delayed 20 ms a chunk so that downloads overlap in
   * time; `onOpen` may swap a body (a fault), `onRead` sees the first pull of one.
   */
  function slowSegments(
    dir: string,
    hooks: {
      onOpen?: (body: Readable, opening: number) => Readable;
      onRead?: (closed: Promise<void>) => void;
    },
  ) {
    const real = createFileReplicaClient({ path: join(dir, 'replica') });
    let openings = 0;
    return overrideClient(real, {
      openWalSegment: async (...args) => {
        const opening = openings++;
        const inner = (await real.openWalSegment(...args))[Symbol.asyncIterator]();
        let started = false;
        const slow = new Readable({
          read() {
            if (!started) {
              started = true;
              hooks.onRead?.(new Promise((resolve) => slow.once('close', resolve)));
            }
            inner.next().then(
              (r) => setTimeout(() => this.push(r.done ? null : r.value), 20),
              (err) => this.destroy(err),
            );
          },
        });
        slow.once('close', () => void inner.return?.());
        return hooks.onOpen ? hooks.onOpen(slow, opening) : slow;
      },
    });
  }

  it('at most 2 WAL segments are read and decoded at once; the others wait opened', async () => {
    const { dir } = basic();
    let opened = 0;
    let mostOpened = 0;
    let reading = 0;
    let mostReading = 0;
    const client = slowSegments(dir, {
      onOpen: (body) => {
        opened++;
        mostOpened = Math.max(mostOpened, opened);
        body.once('close', () => opened--);
        return body;
      },
      // Counts from the first pull, as a socket's body would start to flow.
      onRead: (closed) => {
        reading++;
        mostReading = Math.max(mostReading, reading);
        void closed.then(() => reading--);
      },
    });
    const r = await restoreDatabase({
      replicas: [{ name: 'file', client }],
      outputPath: join(dir, 'out/restored.db'),
      parallelism: 8,
    });
    expect(r.segments).toBeGreaterThan(4);
    expect(mostOpened).toBeGreaterThan(4);
    expect(mostReading).toBe(2);
    expect(tableContents(join(dir, 'out/restored.db')).rows).toBeGreaterThan(0);
  });

  // The 2nd segment opened is read at once; the 6th waits behind two slow ones when it fails.
  it.each([
    ['as it starts to be read', 1],
    ['while it waits for its turn', 5],
  ])('a segment whose connection drops %s fails the restore, naming it', async (_when, failing) => {
    const { dir } = basic();
    let failed = false;
    const client = slowSegments(dir, {
      onOpen: (body, opening) => {
        if (opening !== failing) return body;
        failed = true;
        body.destroy();
        const dropped = new Transform({ transform: (chunk, _enc, cb) => cb(null, chunk) });
        setImmediate(() => dropped.destroy(new Error('connection reset')));
        return dropped;
      },
    });
    await expect(
      restoreDatabase({
        replicas: [{ name: 'file', client }],
        outputPath: join(dir, 'out/r.db'),
        parallelism: 8,
      }),
    ).rejects.toThrow(/replica "file": cannot download .*\.wal\.lz4: connection reset/);
    expect(failed).toBe(true);
    expectNothingLeft(dir);
  });

  it('rejects a parallelism below 1', async () => {
    const { dir } = basic();
    await expect(restore(dir, { parallelism: 0 })).rejects.toThrow('parallelism must be a whole number');
  });
});

describe('restore environment problems', () => {
  it('an unwritable output folder is one clear error', async () => {
    const { dir } = basic();
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    await expect(restore(dir, { outputPath: join(blocker, 'x.db') })).rejects.toThrow(
      `cannot write to ${blocker}: it is not a folder`,
    );
  });

  it('a generation without a snapshot is an error even for -if-replica-exists callers', async () => {
    const { dir, gen } = basic();
    rmSync(join(dir, 'replica/generations', gen, 'snapshots'), { recursive: true });
    const err = await restore(dir).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(NoBackupError);
    expect((err as Error).message).toBe(`replica "file", generation ${gen}: no snapshot`);
  });

  it('a replica that cannot be listed fails the restore, naming it', async () => {
    const { dir } = basic();
    const broken = createFileReplicaClient({ path: join(dir, 'replica') });
    broken.generations = () => Promise.reject(new Error('connection refused'));
    await expect(
      restoreDatabase({
        replicas: [
          { name: 'good', client: createFileReplicaClient({ path: join(dir, 'replica') }) },
          { name: 'flaky', client: broken },
        ],
        outputPath: join(dir, 'out/y.db'),
      }),
    ).rejects.toThrow('replica "flaky": cannot list backups: connection refused');
    expectNothingLeft(dir);
  });
});
