import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** Where the database lives: DB_PATH, else data/app.db (relative to the working folder). */
export const dbPath = process.env.DB_PATH ?? 'data/app.db';

/**
 * Opens the app's SQLite database with the settings that suit a web server in production.
 * Litestream (ls-mix replicate) needs WAL mode, and the other PRAGMAs keep writes fast and
 * safe while it replicates.
 */
export function openDatabase() {
  mkdirSync(dirname(dbPath), { recursive: true });
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL'); // readers never block the writer; required for replication
  db.pragma('synchronous = NORMAL'); // durable in WAL mode, far fewer fsyncs than FULL
  db.pragma('busy_timeout = 5000'); // wait for a lock (e.g. a checkpoint) instead of failing
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -20000'); // 20 MB page cache
  db.pragma('mmap_size = 134217728'); // 128 MB memory-mapped reads
  migrate(db);
  return db;
}

function migrate(db) {
  db.exec(`
    CREATE TABLE IF NOT EXISTS notes (
      id         INTEGER PRIMARY KEY,
      text       TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
  `);
}
