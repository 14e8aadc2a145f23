/**
 * PageWriter in process: pages copied through sqlite_dbpage, one transaction per batch; a reader
 * keeps its snapshot until COMMIT; the database grows and shrinks; the running digest always
 * equals a full recount; a batch rolled back (the crash case) leaves the database as it was.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { assertDbpageAvailable, PageWriter } from '../../../runtime/live/pages.js';
import { dumpDb, integrityCheck } from '../../helpers/sqlite.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function pagesOf(db: Database.Database): [number, Buffer][] {
  return db.prepare('SELECT pgno, data FROM sqlite_dbpage').raw().all() as [number, Buffer][];
}

describe('PageWriter', () => {
  it('this build of better-sqlite3 has sqlite_dbpage; the enable script is idempotent', async () => {
    expect(() => assertDbpageAvailable()).not.toThrow();
    const script = join(import.meta.dirname, '../../../scripts/enable-sqlite-dbpage.mjs');
    const check = await execa('node', [script, '--check'], { reject: false });
    expect(check.exitCode).toBe(0);
    expect(check.stderr).toMatch(/sqlite_dbpage is enabled \(SQLite 3\.\d+/);
    const again = await execa('node', [script], { reject: false });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toMatch(/already enabled .*nothing to do/);
  });

  it('applies batches atomically, grows and shrinks, keeps the digest exact', () => {
    dir = mkdtempSync(join(tmpdir(), 'pages-'));
    const src = new Database(join(dir, 'src.db'));
    src.pragma('journal_mode = wal');
    src.exec(
      'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)',
    );
    const ins = src.prepare(
      'INSERT INTO t (v) SELECT randomblob(700) FROM (SELECT 1 UNION ALL SELECT 2) , (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)',
    );
    for (let i = 0; i < 200; i++) ins.run();

    const path = join(dir, 'replica.db');
    const w = PageWriter.create(path, 4096);
    const copyAll = (fresh: boolean, digest: bigint) => {
      const pages = pagesOf(src);
      w.begin(4096, digest, fresh);
      for (const [p, data] of pages) w.write(p, data);
      return w.commit(pages.length);
    };
    let digest = copyAll(true, 0n);
    expect(digest).toBe(w.digest());

    const reader = new Database(path, { readonly: true });
    const count = () => (reader.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
    expect(count()).toBe(1200);

    // A batch in flight is invisible to a reader; a rolled-back one leaves no trace.
    for (let i = 0; i < 100; i++) ins.run();
    w.begin(4096, digest, false);
    for (const [p, data] of pagesOf(src)) w.write(p, data);
    expect(count()).toBe(1200);
    w.rollback();
    expect(count()).toBe(1200);
    expect(w.digest()).toBe(digest);

    // Grow, then shrink (DELETE + VACUUM): the file is cut, the digest follows.
    digest = copyAll(false, digest);
    expect(count()).toBe(1800);
    expect(digest).toBe(w.digest());
    const big = w.pageCount();
    src.exec('DELETE FROM t WHERE id > 100');
    src.exec('VACUUM');
    digest = copyAll(false, digest);
    expect(w.pageCount()).toBeLessThan(big);
    expect(digest).toBe(w.digest());
    expect(count()).toBe(100);
    reader.close();
    w.close();
    src.close();
    expect(integrityCheck(path)).toBe('ok');
    expect(dumpDb(path)).toBe(dumpDb(join(dir, 'src.db')));
  });

  it('the digest changes when anything else writes to the database', () => {
    dir = mkdtempSync(join(tmpdir(), 'pages-'));
    const src = new Database(join(dir, 'src.db'));
    src.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b')");
    const path = join(dir, 'replica.db');
    const w = PageWriter.create(path, 4096);
    const pages = pagesOf(src);
    w.begin(4096, 0n, true);
    for (const [p, data] of pages) w.write(p, data);
    const digest = w.commit(pages.length);
    const other = new Database(path);
    other.exec("UPDATE t SET v = 'c' WHERE id = 1");
    other.close();
    expect(w.digest()).not.toBe(digest);
    w.close();
    src.close();
  });
});
