import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { takeSnapshot } from '../../../runtime/replicate/snapshot.js';
import { listObjects, restoreFileReplica, SNAPSHOT_RE } from '../../helpers/replica.js';
import { dumpDb, integrityCheck, lastStep, runWorkload } from '../../helpers/sqlite.js';
import { checkObjects, type Harness, harness } from './harness.js';

let h: Harness | undefined;
afterEach(() => {
  h?.cleanup();
  h = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('replicate -> restore round trips', () => {
  it.each([
    [1024, 120, 7],
    [4096, 120, 11],
    [65536, 30, 13],
  ])(
    'page size %d: random workload restores exactly, at latest and at earlier points',
    async (pageSize, steps, seed) => {
      h = harness({ pageSize, min: 20, max: 60 });
      const rep = await h.start();
      const points: { at: Date; step: number; dump: string }[] = [];
      for (let round = 0; round < 4; round++) {
        runWorkload(h.app, { steps: steps / 4, seed: seed * 10 + round, blobBytes: pageSize * 3 });
        await rep.syncAll();
        await sleep(5);
        points.push({ at: new Date(), step: lastStep(h.dbPath), dump: dumpDb(h.dbPath) });
        await sleep(15);
      }
      await rep.close();
      const { generations, indexes } = checkObjects(h.replicaDirs[0]);
      expect(generations.size).toBe(1);
      expect(indexes.size).toBeGreaterThan(2); // checkpoints restarted the WAL several times

      const latest = join(h.dir, 'latest.db');
      await restoreFileReplica(h.replicaDirs[0], latest);
      expect(integrityCheck(latest)).toBe('ok');
      expect(dumpDb(latest)).toBe(dumpDb(h.dbPath));

      for (const [i, p] of points.slice(0, -1).entries()) {
        const out = join(h.dir, `ts${i}.db`);
        await restoreFileReplica(h.replicaDirs[0], out, { timestamp: p.at });
        expect(integrityCheck(out)).toBe('ok');
        expect(lastStep(out)).toBe(p.step);
        expect(dumpDb(out)).toBe(p.dump);
      }
    },
  );

  it('restores each -index to a committed prefix of the workload', async () => {
    h = harness({ pageSize: 4096, min: 15, max: 40 });
    const rep = await h.start();
    const dumps: string[] = [];
    // A dump after every step: any restored copy must equal the dump of the step it holds.
    runWorkload(h.app, { steps: 1, seed: 5 });
    await rep.syncAll();
    for (let i = 0; i < 60; i++) {
      runWorkload(h.app, { steps: 1, seed: 100 + i, heavy: i % 7 !== 0 });
      dumps[lastStep(h.dbPath)] = dumpDb(h.dbPath);
      if (i % 6 === 0) await rep.syncAll();
    }
    await rep.close();
    const { indexes } = checkObjects(h.replicaDirs[0]);
    const all = [...indexes].sort((a, b) => a - b);
    expect(all.length).toBeGreaterThan(3);
    let previous = -1;
    for (const index of all.slice(1)) {
      const out = join(h.dir, `idx${index}.db`);
      await restoreFileReplica(h.replicaDirs[0], out, { index });
      expect(integrityCheck(out)).toBe('ok');
      const step = lastStep(out);
      expect(step).toBeGreaterThanOrEqual(previous);
      if (step >= 1) expect(dumpDb(out)).toBe(dumps[step]);
      previous = step;
    }
  });

  it('a transaction bigger than the checkpoint threshold is copied whole and restored', async () => {
    h = harness({ pageSize: 4096, min: 10, max: 30 });
    const rep = await h.start();
    const big = Buffer.alloc(3 << 20, 7); // ~770 pages in one transaction
    h.app.transaction(() => {
      h!.app.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, data BLOB)');
      for (let i = 0; i < 4; i++) h!.app.prepare('INSERT INTO big (data) VALUES (?)').run(big);
    })();
    runWorkload(h.app, { steps: 10, seed: 3 });
    await rep.syncAll();
    await rep.close();
    const out = join(h.dir, 'big.db');
    await restoreFileReplica(h.replicaDirs[0], out);
    expect(dumpDb(out)).toBe(dumpDb(h.dbPath));
  });

  it('several replicas, each at its own sync-interval, all restore the same database', async () => {
    h = harness({ replicas: 2, sync: [50, 400] });
    const rep = await h.start();
    for (let i = 0; i < 3; i++) {
      runWorkload(h.app, { steps: 20, seed: 40 + i });
      await sleep(120);
    }
    await rep.close();
    for (const [i, d] of h.replicaDirs.entries()) {
      const out = join(h.dir, `r${i}.db`);
      await restoreFileReplica(d, out);
      expect(dumpDb(out)).toBe(dumpDb(h.dbPath));
    }
  });

  it('-timestamp restores use object times (mtime) as Litestream does', async () => {
    h = harness();
    const rep = await h.start();
    runWorkload(h.app, { steps: 5, seed: 9, heavy: false });
    await rep.syncAll();
    const early = dumpDb(h.dbPath);
    const keys = listObjects(h.replicaDirs[0]);
    // Age every object so far by an hour; later objects keep their real time.
    const past = new Date(Date.now() - 3_600_000);
    for (const k of keys) utimesSync(join(h.replicaDirs[0], k), past, past);
    runWorkload(h.app, { steps: 5, seed: 10, heavy: false });
    await rep.close();
    const out = join(h.dir, 'early.db');
    await restoreFileReplica(h.replicaDirs[0], out, { timestamp: new Date(past.getTime() + 1000) });
    expect(dumpDb(out)).toBe(early);
    expect(readFileSync(out).length).toBeGreaterThan(0);
  });

  it('a snapshot reads the db in blocks: the stored frame is the db file, progress ends at its size', async () => {
    h = harness({ pageSize: 4096 });
    // ~5.3 MiB: several 1 MiB read blocks and a short last one; half random (some blocks
    // compress, the random ones are stored as they are).
    h.app.exec('CREATE TABLE IF NOT EXISTS big (b BLOB)');
    const insert = h.app.prepare('INSERT INTO big VALUES (?)');
    for (let i = 0; i < 1300; i++) {
      insert.run(i % 2 ? randomBytes(4000) : Buffer.alloc(4000, i & 255));
    }
    h.app.pragma('wal_checkpoint(TRUNCATE)');
    const seen: Array<[number, number]> = [];
    const taken = await takeSnapshot(h.config.dbs[0], {
      onProgress: (_replica, done, total) => seen.push([done, total]),
    });
    expect(taken).toHaveLength(1);
    const size = statSync(h.dbPath).size;
    expect(size).toBeGreaterThan(5 << 20);
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.at(-1)).toEqual([size, size]);
    for (const [i, [done, total]] of seen.entries()) {
      expect(total).toBe(size);
      if (i > 0) expect(done).toBeGreaterThan(seen[i - 1][0]);
    }
    // The stored object decodes (the lz4 CLI, not our decoder) to the db file byte for byte.
    const key = listObjects(h.replicaDirs[0]).find((k) => SNAPSHOT_RE.test(k));
    expect(key).toBeDefined();
    const decoded = execFileSync('lz4', ['-d', '-c', join(h.replicaDirs[0], key!)], { maxBuffer: 64 << 20 });
    expect(decoded.equals(readFileSync(h.dbPath))).toBe(true);
    const out = join(h.dir, 'restored.db');
    await restoreFileReplica(h.replicaDirs[0], out);
    expect(dumpDb(out)).toBe(dumpDb(h.dbPath));
  });
});
