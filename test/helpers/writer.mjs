#!/usr/bin/env node
/**
 * A test application: commits numbered transactions to a SQLite db and acknowledges each one
 * (after COMMIT returned) in an ack file, one "txid epoch-ms" line per commit.
 *
 *   node writer.mjs DB [--count N] [--interval MS] [--ack FILE] [--exit CODE] [--rows N]
 *                      [--big-every N] [--big-rows N] [--keep N] [--autocheckpoint N]
 *
 * Each transaction writes tx(id, n, at) and n rows(tx, payload): a restored copy shows whether
 * any transaction is torn. Every --big-every-th transaction writes --big-rows rows of 4000
 * bytes (bigger than a small checkpoint threshold). With --keep N, each transaction deletes the
 * rows of transactions older than N (tx rows stay), so the db stays small in long runs. On SIGTERM/SIGINT it commits one last transaction (payload "bye")
 * and exits with --exit (default 0). With --count it exits with --exit after N transactions.
 */
import { appendFileSync } from 'node:fs';
import Database from 'better-sqlite3';

const [dbPath, ...rest] = process.argv.slice(2);
const opt = (name, def) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : def;
};
const count = Number(opt('count', '0'));
const interval = Number(opt('interval', '5'));
const ack = opt('ack', '');
const exitCode = Number(opt('exit', '0'));
const rowsPerTx = Number(opt('rows', '3'));
const bigEvery = Number(opt('big-every', '0'));
const bigRows = Number(opt('big-rows', '200'));
const keep = Number(opt('keep', '0'));

const db = new Database(dbPath, { timeout: 10_000 });
db.pragma('journal_mode = wal');
db.pragma(`wal_autocheckpoint = ${opt('autocheckpoint', '0')}`);
db.exec('CREATE TABLE IF NOT EXISTS tx (id INTEGER PRIMARY KEY, n INTEGER, at INTEGER)');
db.exec('CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, tx INTEGER, payload BLOB)');
let next = (db.prepare('SELECT max(id) AS m FROM tx').get().m ?? 0) + 1;
const insTx = db.prepare('INSERT INTO tx (id, n, at) VALUES (?, ?, ?)');
const insRow = db.prepare('INSERT INTO rows (tx, payload) VALUES (?, ?)');
const prune = db.prepare('DELETE FROM rows WHERE tx <= ?');

function commit(payload) {
  const id = next++;
  const big = bigEvery > 0 && id % bigEvery === 0;
  const n = big ? bigRows : rowsPerTx;
  db.transaction(() => {
    insTx.run(id, n, Date.now());
    if (keep > 0) prune.run(id - keep);
    for (let k = 0; k < n; k++)
      insRow.run(id, payload ?? Buffer.alloc(big ? 4000 : 100 + ((id * 31 + k) % 400), id % 251));
  })();
  if (ack) appendFileSync(ack, `${id} ${Date.now()}\n`);
  return id;
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  commit(Buffer.from('bye'));
  db.close();
  process.exit(exitCode);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

let done = 0;
const tick = () => {
  if (stopping) return;
  commit();
  done++;
  if (count > 0 && done >= count) {
    db.close();
    process.exit(exitCode);
  }
  setTimeout(tick, interval);
};
tick();
