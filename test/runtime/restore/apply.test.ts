import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { applyWal, type BuiltWal } from '../../../runtime/restore/apply.js';
import { dumpDb, integrityCheck, openApp, runWorkload } from '../../helpers/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-mix-apply-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let cases = 0;

/**
 * A database file as checkpointed before `change` ran, and the WAL SQLite wrote for `change`
 * (no checkpoint in between): what a restore has as snapshot + one WAL index.
 */
function dbAndWal(
  change: (db: Database.Database) => void,
  opts: { pageSize?: number; setup?: (db: Database.Database) => void } = {},
) {
  const name = `case${++cases}`;
  const live = join(dir, `${name}-live.db`);
  const db = openApp(live, { pageSize: opts.pageSize, autocheckpoint: 0 });
  opts.setup?.(db);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const base = join(dir, `${name}-base.db`);
  copyFileSync(live, base);
  change(db);
  const wal = join(dir, `${name}.wal`);
  copyFileSync(`${live}-wal`, wal); // before close: closing checkpoints and removes the WAL
  db.close();
  const pageSize = readFileSync(wal).readUInt32BE(8);
  const frames = (statSync(wal).size - 32) / (24 + pageSize);
  return { base, wal, pageSize, frames, name };
}

/** SQLite's own replay of the WAL into a copy of the base database. */
function checkpointedBySqlite(base: string, wal: string, name: string): Buffer {
  const path = join(dir, `${name}-sqlite.db`);
  copyFileSync(base, path);
  copyFileSync(wal, `${path}-wal`);
  const db = new Database(path);
  const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  expect(row.busy).toBe(0);
  db.close();
  return readFileSync(path);
}

async function appliedByUs(c: ReturnType<typeof dbAndWal>): Promise<string> {
  const path = join(dir, `${c.name}-ours.db`);
  copyFileSync(c.base, path);
  const walCopy = join(dir, `${c.name}-ours.wal`);
  copyFileSync(c.wal, walCopy);
  const built: BuiltWal = { index: 1, path: walCopy, frames: c.frames, offset: 0, pageSize: c.pageSize };
  await applyWal(path, 'gen', built, c.pageSize);
  return path;
}

describe('applyWal (frames written at their pages, as a checkpoint does)', () => {
  it('matches SQLite checkpoint byte for byte: a random workload with VACUUMs, page rewrites, growth', async () => {
    const c = dbAndWal((db) => runWorkload(db, { steps: 300, seed: 7, blobBytes: 40 << 10 }), {
      setup: (db) => runWorkload(db, { steps: 50, seed: 3, blobBytes: 40 << 10 }),
    });
    expect(c.frames).toBeGreaterThan(500);
    const ours = await appliedByUs(c);
    expect(readFileSync(ours).equals(checkpointedBySqlite(c.base, c.wal, c.name))).toBe(true);
    expect(integrityCheck(ours)).toBe('ok');
  });

  it('a WAL whose last commit shrinks the database (DELETE + VACUUM): the file is cut to that size', async () => {
    const c = dbAndWal(
      (db) => {
        db.exec('DELETE FROM b');
        db.exec('VACUUM');
      },
      {
        setup: (db) => {
          db.exec('CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB)');
          const ins = db.prepare('INSERT INTO b (data) VALUES (randomblob(3000))');
          for (let i = 0; i < 400; i++) ins.run();
        },
      },
    );
    const before = statSync(c.base).size;
    const ours = await appliedByUs(c);
    const sqlite = checkpointedBySqlite(c.base, c.wal, c.name);
    expect(sqlite.length).toBeLessThan(before / 10);
    expect(statSync(ours).size).toBe(sqlite.length);
    expect(readFileSync(ours).equals(sqlite)).toBe(true);
    expect(dumpDb(ours)).toBe(dumpDb(join(dir, `${c.name}-sqlite.db`)));
  });

  it('64 KiB pages and one page rewritten by many transactions', async () => {
    const c = dbAndWal(
      (db) => {
        const up = db.prepare('UPDATE kv SET v = ? WHERE k = 1');
        for (let i = 0; i < 200; i++) up.run(`value ${i}`);
      },
      {
        pageSize: 65536,
        setup: (db) => {
          db.exec('CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)');
          db.exec("INSERT INTO kv VALUES (1, 'start')");
        },
      },
    );
    expect(c.pageSize).toBe(65536);
    expect(c.frames).toBeGreaterThanOrEqual(200);
    const ours = await appliedByUs(c);
    expect(readFileSync(ours).equals(checkpointedBySqlite(c.base, c.wal, c.name))).toBe(true);
    const db = new Database(ours, { readonly: true });
    expect(db.prepare('SELECT v FROM kv WHERE k = 1').pluck().get()).toBe('value 199');
    db.close();
  });

  it('refuses a WAL file that no longer holds the frames it was checked with, and removes it', async () => {
    const c = dbAndWal((db) => runWorkload(db, { steps: 20, seed: 11, heavy: false }));
    const path = join(dir, `${c.name}-short.db`);
    copyFileSync(c.base, path);
    const walCopy = join(dir, `${c.name}-short.wal`);
    const bytes = readFileSync(c.wal);
    writeFileSync(walCopy, bytes.subarray(0, bytes.length - (24 + c.pageSize))); // one frame gone
    await expect(
      applyWal(
        path,
        'gen',
        { index: 3, path: walCopy, frames: c.frames, offset: 0, pageSize: c.pageSize },
        c.pageSize,
      ),
    ).rejects.toThrow(`WAL index 00000003: applied ${c.frames - 1} of ${c.frames} WAL frames`);
    expect(() => statSync(walCopy)).toThrow();
  });

  it('refuses a WAL whose page size differs from the snapshot', async () => {
    const c = dbAndWal((db) => runWorkload(db, { steps: 5, seed: 1, heavy: false }));
    const walCopy = join(dir, `${c.name}-ps.wal`);
    copyFileSync(c.wal, walCopy);
    await expect(
      applyWal(
        c.base,
        'gen',
        { index: 1, path: walCopy, frames: c.frames, offset: 0, pageSize: c.pageSize, firstKey: 'seg-key' },
        c.pageSize * 2,
      ),
    ).rejects.toThrow(`seg-key: WAL page size ${c.pageSize} does not match the snapshot's ${c.pageSize * 2}`);
  });
});
