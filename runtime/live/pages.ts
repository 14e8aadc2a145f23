/**
 * Writes a live replica's pages the way sqlite3_rsync does: through the `sqlite_dbpage` virtual
 * table, inside one SQLite transaction per batch, on a connection to the replica database in WAL
 * mode. Readers keep their snapshot until COMMIT and then see the whole batch: never a torn or
 * half-applied database, and a crash mid-batch simply rolls the transaction back.
 *
 * It also keeps a content digest (XOR over pages of xxh64(page, seed = page number)), updated
 * per batch from the pages it replaces. Recomputed at start, it tells whether anything other than
 * the follower wrote to the database (see state.ts). The root pages of `_litestream_seq` and
 * `_litestream_lock` are left out: the monitor of a replica that has its own `replicas:` writes
 * there (both tables are one page).
 */
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import xxhash from 'xxhash-wasm';
import { UserError } from '../errors.js';

const xx = await xxhash();

export function pageHash(pgno: number, data: Uint8Array): bigint {
  return xx.h64Raw(data, BigInt(pgno));
}

const ENABLE_HINT =
  'Live replicas need better-sqlite3 built with SQLITE_ENABLE_DBPAGE_VTAB: run `node scripts/enable-sqlite-dbpage.mjs` ' +
  'in the ls-mix folder (it rebuilds the native module from its bundled SQLite, a few minutes, needs python3, make and g++).';

/** Throws a UserError telling how to enable it when this build of SQLite lacks sqlite_dbpage. */
export function assertDbpageAvailable(): void {
  const db = new Database(':memory:');
  try {
    db.prepare('SELECT count(*) FROM sqlite_dbpage').get();
  } catch {
    throw new UserError('this SQLite build has no sqlite_dbpage virtual table', { hint: ENABLE_HINT });
  } finally {
    db.close();
  }
}

export class PageWriter {
  readonly db: Database.Database;
  private readonly readPage: Database.Statement;
  private readonly writePage: Database.Statement;
  private readonly truncate: Database.Statement;
  /** Pages at the start of the open batch. */
  private startPages = 0;
  /** Newest hash of every page written in the open batch. */
  private written = new Map<number, bigint>();
  private fresh = false;
  private baseDigest = 0n;
  /** Pages left out of the digest (see above). */
  private excluded = new Set<number>();
  private schema?: Database.Database;

  private constructor(
    readonly path: string,
    db: Database.Database,
  ) {
    this.db = db;
    this.readPage = db.prepare('SELECT data FROM sqlite_dbpage WHERE pgno = ?').pluck();
    this.writePage = db.prepare('INSERT INTO sqlite_dbpage (pgno, data) VALUES (?, ?)');
    this.truncate = db.prepare('INSERT INTO sqlite_dbpage (pgno, data) VALUES (?, NULL)');
    this.excluded = this.monitorPages();
  }

  private monitorPages(): Set<number> {
    // Another connection: the writer's own schema cache never sees pages it wrote raw.
    this.schema ??= new Database(this.path, { readonly: true, fileMustExist: true });
    const rows = this.schema
      .prepare("SELECT rootpage FROM sqlite_schema WHERE name IN ('_litestream_seq', '_litestream_lock')")
      .pluck()
      .all() as number[];
    return new Set(rows.filter((p) => p > 0));
  }

  private hash(pgno: number, data: Uint8Array): bigint {
    if (this.excluded.has(pgno)) return 0n;
    if (pgno !== 1) return pageHash(pgno, data);
    // SQLite rewrites the change counter, version-valid-for and its version number on page 1 at
    // every commit that writes page 1: those bytes are ours, not the primary's.
    const page = Buffer.from(data);
    page.fill(0, 24, 28);
    page.fill(0, 92, 100);
    return pageHash(1, page);
  }

  /** Open an existing replica database; undefined when there is none yet (missing or empty). */
  static open(path: string, busyTimeout = 5_000): PageWriter | undefined {
    assertDbpageAvailable();
    if (!existsSync(path) || statSync(path).size === 0) return undefined;
    return PageWriter.connect(path, busyTimeout);
  }

  /** Create the replica database (WAL mode, the primary's page size). */
  static create(path: string, pageSize: number, busyTimeout = 5_000): PageWriter {
    assertDbpageAvailable();
    const db = new Database(path, { timeout: busyTimeout });
    try {
      db.pragma(`page_size = ${pageSize}`);
      db.pragma('journal_mode = wal');
    } finally {
      db.close();
    }
    return PageWriter.connect(path, busyTimeout);
  }

  private static connect(path: string, busyTimeout: number): PageWriter {
    const db = new Database(path, { timeout: busyTimeout, fileMustExist: true });
    try {
      db.prepare('SELECT count(*) FROM sqlite_schema').get();
    } catch (err) {
      db.close();
      throw new UserError(`${path}: cannot open the live replica's database: ${(err as Error).message}`, {
        hint: 'Point the db path at a SQLite database (or at a file that does not exist yet: it is created).',
      });
    }
    try {
      if (String(db.pragma('journal_mode', { simple: true })) !== 'wal') db.pragma('journal_mode = wal');
      // A snapshot is one transaction as big as the db: trim the WAL file once it is reset.
      db.pragma('journal_size_limit = 16777216');
      // Writes to sqlite_dbpage are refused while SQLITE_DBCONFIG_DEFENSIVE is on.
      db.unsafeMode(true);
      return new PageWriter(path, db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  get pageSize(): number {
    return Number(this.db.pragma('page_size', { simple: true }));
  }

  /** No table, index, view or trigger: nothing a user could lose. */
  isEmpty(): boolean {
    if (this.pageCount() === 0) return true;
    this.schema ??= new Database(this.path, { readonly: true, fileMustExist: true });
    return (this.schema.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number) === 0;
  }

  pageCount(): number {
    return Number(this.db.pragma('page_count', { simple: true }));
  }

  /** The digest of the database as it is now: reads every page (startup check). */
  digest(): bigint {
    let d = 0n;
    for (const row of this.db.prepare('SELECT pgno, data FROM sqlite_dbpage').raw().iterate()) {
      const [pgno, data] = row as [number, Buffer];
      d ^= this.hash(pgno, data);
    }
    return d;
  }

  /**
   * Start a batch. `replaceAll`: the batch rewrites every page (a snapshot), so the old
   * content does not enter the digest. An empty database takes the primary's page size first.
   */
  begin(pageSize: number, digestBefore: bigint, replaceAll: boolean): void {
    if (this.pageSize !== pageSize) {
      throw new UserError(`${this.path}: page size ${this.pageSize} differs from the primary's ${pageSize}`, {
        hint: 'Stop the replica, delete its database file (and -wal, -shm), and start it again to re-sync.',
      });
    }
    this.db.exec('BEGIN IMMEDIATE');
    this.startPages = this.pageCount();
    this.written = new Map();
    this.fresh = replaceAll;
    this.baseDigest = replaceAll ? 0n : digestBefore;
  }

  write(pgno: number, data: Buffer): void {
    // A page's old content leaves the digest the first time the batch touches it.
    if (!this.fresh && pgno <= this.startPages && !this.written.has(pgno)) {
      this.baseDigest ^= this.oldHash(pgno);
    }
    this.writePage.run(pgno, data);
    this.written.set(pgno, this.hash(pgno, data));
  }

  /**
   * Cut the database to `pages`, commit; returns the new digest. `beforeCommit` gets it first;
   * in the rare batch that moves the excluded tables (the first snapshot) the digest returned
   * after COMMIT differs from that one and the caller records it again.
   */
  commit(pages: number, beforeCommit?: (digest: bigint) => void): bigint {
    let digest = this.baseDigest;
    for (const [pgno, h] of this.written) if (pgno <= pages) digest ^= h;
    if (!this.fresh) {
      // Pages that existed before and are cut off leave the digest.
      for (let p = pages + 1; p <= this.startPages; p++) {
        if (!this.written.has(p)) digest ^= this.oldHash(p);
      }
    }
    // Must be the last write of the transaction (a later page write cancels it).
    if (pages < this.startPages) this.truncate.run(pages + 1);
    beforeCommit?.(digest);
    this.db.exec('COMMIT');
    this.written = new Map();
    const excluded = this.monitorPages();
    if ([...excluded].join() !== [...this.excluded].join()) {
      // The schema moved those tables (first snapshot): recount with the new set.
      this.excluded = excluded;
      return this.digest();
    }
    return digest;
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    this.written = new Map();
  }

  close(): void {
    this.rollback();
    this.schema?.close();
    this.db.close();
  }

  private oldHash(pgno: number): bigint {
    const data = this.readPage.get(pgno) as Buffer | undefined;
    return data ? this.hash(pgno, data) : 0n;
  }
}
