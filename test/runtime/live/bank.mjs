#!/usr/bin/env node
/**
 * A write workload with an invariant, for live-replica tests: accounts whose balances always sum
 * to ACCOUNTS * 100, and a `moves` table with exactly one row per committed transfer (seq 1..N).
 * Each transaction moves money and adds padded rows; every 50th deletes old padding (free pages,
 * the db shrinks after the occasional VACUUM-free checkpoint) and every 97th is large (many pages).
 *
 *   node bank.mjs DB [--count N] [--interval MS] [--vacuum-every N]
 *
 * Exits after --count transfers (0 = until SIGTERM).
 */
import Database from 'better-sqlite3';

const [dbPath, ...rest] = process.argv.slice(2);
const opt = (name, def) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? Number(rest[i + 1]) : def;
};
const count = opt('count', 0);
const interval = opt('interval', 2);
const vacuumEvery = opt('vacuum-every', 0);
const ACCOUNTS = 20;

const db = new Database(dbPath, { timeout: 10_000 });
db.pragma('journal_mode = wal');
db.exec(`
  CREATE TABLE IF NOT EXISTS acct (id INTEGER PRIMARY KEY, bal INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS moves (seq INTEGER PRIMARY KEY, a INTEGER, b INTEGER, x INTEGER);
  CREATE TABLE IF NOT EXISTS pad (id INTEGER PRIMARY KEY, seq INTEGER, data BLOB);
  CREATE INDEX IF NOT EXISTS pad_seq ON pad (seq);
`);
db.transaction(() => {
  if (db.prepare('SELECT count(*) AS n FROM acct').get().n === 0) {
    const ins = db.prepare('INSERT INTO acct (id, bal) VALUES (?, 100)');
    for (let i = 1; i <= ACCOUNTS; i++) ins.run(i);
  }
})();

let seq = db.prepare('SELECT coalesce(max(seq), 0) AS m FROM moves').get().m;
const move = db.prepare('UPDATE acct SET bal = bal + ? WHERE id = ?');
const log = db.prepare('INSERT INTO moves (seq, a, b, x) VALUES (?, ?, ?, ?)');
const pad = db.prepare('INSERT INTO pad (seq, data) VALUES (?, randomblob(?))');
const prune = db.prepare('DELETE FROM pad WHERE seq < ?');

const transfer = db.transaction((n) => {
  const a = 1 + (n % ACCOUNTS);
  const b = 1 + ((n * 7 + 3) % ACCOUNTS);
  const x = (n % 13) + 1;
  move.run(-x, a);
  move.run(x, b);
  log.run(n, a, b, x);
  const rows = n % 97 === 0 ? 300 : 2;
  for (let k = 0; k < rows; k++) pad.run(n, 200 + ((n * 31 + k) % 900));
  if (n % 50 === 0) prune.run(n - 40);
});

let done = 0;
const stop = () => {
  db.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const tick = () => {
  seq++;
  transfer(seq);
  done++;
  if (vacuumEvery > 0 && done % vacuumEvery === 0) db.exec('VACUUM');
  if (count > 0 && done >= count) stop();
  else setTimeout(tick, interval);
};
tick();
