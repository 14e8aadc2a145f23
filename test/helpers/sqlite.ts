/**
 * SQLite helpers for tests: canonical dumps to compare databases, integrity checks, and a
 * seeded random workload (inserts, updates, deletes, schema changes, VACUUM, large blobs).
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';

/** Every user table's schema and rows (sorted), as one string; `_litestream_*` tables ignored. */
export function dumpDb(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_litestream_%' ORDER BY name",
      )
      .all() as { name: string; sql: string }[];
    const out: string[] = [];
    for (const t of tables) {
      out.push(`-- ${t.sql}`);
      const rows = db.prepare(`SELECT * FROM "${t.name}" ORDER BY 1`).raw().all() as unknown[][];
      for (const row of rows) {
        out.push(
          row
            .map((v) =>
              Buffer.isBuffer(v)
                ? `x'${createHash('sha256').update(v).digest('hex')}:${v.length}'`
                : JSON.stringify(v),
            )
            .join('|'),
        );
      }
    }
    return out.join('\n');
  } finally {
    db.close();
  }
}

export function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}

/** A small deterministic PRNG (mulberry32) so failures reproduce from the seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Open a database the way an application would: WAL mode, busy timeout. */
export function openApp(
  path: string,
  opts: { pageSize?: number; autocheckpoint?: number } = {},
): Database.Database {
  const db = new Database(path, { timeout: 5_000 });
  if (opts.pageSize) db.pragma(`page_size = ${opts.pageSize}`);
  db.pragma('journal_mode = wal');
  if (opts.autocheckpoint !== undefined) db.pragma(`wal_autocheckpoint = ${opts.autocheckpoint}`);
  return db;
}

export interface WorkloadOptions {
  /** Transactions to run. */
  steps: number;
  seed: number;
  /** Include VACUUM / schema changes / large blobs (default true). */
  heavy?: boolean;
  /** Bytes of the occasional large blob (default 200 KiB). */
  blobBytes?: number;
}

/** The last workload step a database holds (-1 when none). */
export function lastStep(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT max(step) AS m FROM steps').get() as { m: number | null }).m ?? -1;
  } finally {
    db.close();
  }
}

/**
 * Apply a random mix of transactions to `db`. Every step is one transaction; returns after the
 * last. Each transaction records its step number in `steps`, so a restored copy tells which
 * committed prefix it holds. Tables: t(id, v, n) always; b(id, data BLOB) and extra columns/tables appear over time.
 */
export function runWorkload(
  db: Database.Database,
  opts: WorkloadOptions,
  onStep?: (i: number) => void,
): void {
  const r = rng(opts.seed);
  const heavy = opts.heavy !== false;
  db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER)');
  db.exec('CREATE TABLE IF NOT EXISTS b (id INTEGER PRIMARY KEY, data BLOB)');
  db.exec('CREATE TABLE IF NOT EXISTS steps (step INTEGER PRIMARY KEY)');
  const first = ((db.prepare('SELECT max(step) AS m FROM steps').get() as { m: number | null }).m ?? -1) + 1;
  const mark = db.prepare('INSERT INTO steps (step) VALUES (?)');
  let extra = first;
  for (let i = first; i < first + opts.steps; i++) {
    const p = r();
    const tx = db.transaction(() => {
      mark.run(i);
      if (p < 0.45) {
        const n = 1 + Math.floor(r() * 20);
        const ins = db.prepare('INSERT INTO t (v, n) VALUES (?, ?)');
        for (let k = 0; k < n; k++)
          ins.run(`v${i}-${k}-${'x'.repeat(Math.floor(r() * 300))}`, Math.floor(r() * 1e6));
      } else if (p < 0.65) {
        db.prepare('UPDATE t SET v = v || ?, n = n + 1 WHERE id % ? = 0').run(
          `u${i}`,
          2 + Math.floor(r() * 7),
        );
      } else if (p < 0.78) {
        db.prepare('DELETE FROM t WHERE id % ? = 1').run(3 + Math.floor(r() * 9));
      } else if (p < 0.88 || !heavy) {
        const size = heavy ? (opts.blobBytes ?? 200 << 10) : 2000;
        const buf = Buffer.alloc(Math.floor(size * (0.2 + r())));
        for (let k = 0; k + 4 <= buf.length; k += 4) buf.writeUInt32LE(Math.floor(r() * 0xffffffff), k);
        db.prepare('INSERT INTO b (data) VALUES (?)').run(buf);
        if (r() < 0.3)
          db.prepare('DELETE FROM b WHERE id IN (SELECT id FROM b ORDER BY random() LIMIT 1)').run();
      } else if (p < 0.95) {
        extra++;
        db.exec(`CREATE TABLE IF NOT EXISTS extra${extra} (id INTEGER PRIMARY KEY, s TEXT)`);
        db.prepare(`INSERT INTO extra${extra} (s) VALUES (?)`).run(`s${i}`);
        if (extra > 2 && r() < 0.5) db.exec(`DROP TABLE IF EXISTS extra${extra - 2}`);
      }
    });
    tx();
    if (p >= 0.95 && heavy) db.exec('VACUUM');
    onStep?.(i);
  }
}
