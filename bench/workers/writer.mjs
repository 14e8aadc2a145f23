// An application doing small transactions, for the write-overhead and lag figures.
// argv[2]: JSON {db, seconds, rowsPerTx, rate (tx/s, 0 = as fast as possible), idBase, writer, timesOut?}. Prints {tx, rows} as JSON. With timesOut, writes each tx's
// commit time (epoch ms from the wall clock, float64) there, tx k having id idBase + k.
import { randomBytes } from 'node:crypto';
import { readSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';

const job = JSON.parse(process.argv[2]);
const db = new Database(job.db, { timeout: 10_000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 10000');
db.pragma('foreign_keys = ON');
db.pragma('cache_size = -20000');
db.pragma('mmap_size = 268435456');
if (job.autocheckpoint !== undefined) db.pragma(`wal_autocheckpoint = ${job.autocheckpoint}`);
db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, writer INTEGER, payload BLOB)');

const noise = randomBytes(1 << 16);
const insert = db.prepare('INSERT INTO t (writer, payload) VALUES (?, ?)');
const insertId = db.prepare('INSERT INTO t (id, writer, payload) VALUES (?, ?, ?)');
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const now = () => performance.timeOrigin + performance.now();
const sleepMs = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// A 100-byte payload: a marker the lag figure finds in shipped WAL pages, then noise.
function payload(id, k) {
  const b = Buffer.allocUnsafe(100);
  b.write(`TX${String(id).padStart(10, '0')}`, 0, 'latin1');
  noise.copy(b, 12, (k * 97) % (noise.length - 100), ((k * 97) % (noise.length - 100)) + 88);
  return b;
}

// Ready: wait for the parent's go (one byte on stdin) so every writer starts together.
process.stdout.write('ready\n');
readSync(0, Buffer.alloc(1));
job.startAt = now();
const end = job.startAt + job.seconds * 1000;
const times = job.timesOut ? [] : undefined;
let tx = 0;
let rows = 0;
for (;;) {
  const t = now();
  if (t >= end) break;
  if (job.rate > 0) {
    const due = job.startAt + (tx * 1000) / job.rate;
    if (due > t) {
      sleepMs(Math.max(0, Math.floor(due - t)));
      while (now() < due);
    }
  }
  begin.run();
  for (let i = 0; i < job.rowsPerTx; i++) {
    if (times) insertId.run(job.idBase + tx, job.writer, payload(job.idBase + tx, rows));
    else insert.run(job.writer, payload(rows, rows));
    rows++;
  }
  commit.run();
  // Wall-clock time: the lag figure compares it with other processes' times (see lag.ts).
  if (times) times.push(Date.now());
  tx++;
}
db.close();
if (times) writeFileSync(job.timesOut, Buffer.from(Float64Array.from(times).buffer));
process.stdout.write(JSON.stringify({ tx, rows }));
