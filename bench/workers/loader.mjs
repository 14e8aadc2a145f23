// Bulk load: ~`bytes` of rows in large transactions (argv[2] JSON {db, bytes, txBytes,
// rowBytes, compressible}). Rows are half random, half zeros unless compressible=false, so
// LZ4 has something realistic to do. Prints {ms, rows}.
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

const job = JSON.parse(process.argv[2]);
const db = new Database(job.db, { timeout: 10_000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 10000');
db.pragma('cache_size = -65536');
if (job.autocheckpoint !== undefined) db.pragma(`wal_autocheckpoint = ${job.autocheckpoint}`);
db.exec('CREATE TABLE IF NOT EXISTS bulk (id INTEGER PRIMARY KEY, payload BLOB)');
const rowBytes = job.rowBytes ?? 1000;
const noise = randomBytes(1 << 20);
const insert = db.prepare('INSERT INTO bulk (payload) VALUES (?)');
const t0 = performance.now();
let written = 0;
let rows = 0;
while (written < job.bytes) {
  db.exec('BEGIN');
  let inTx = 0;
  while (inTx < job.txBytes && written < job.bytes) {
    const b = Buffer.alloc(rowBytes);
    const randomPart = job.compressible === false ? rowBytes : rowBytes / 2;
    const at = (rows * 4099) % (noise.length - rowBytes);
    noise.copy(b, 0, at, at + randomPart);
    insert.run(b);
    inTx += rowBytes;
    written += rowBytes;
    rows++;
  }
  db.exec('COMMIT');
  if (job.pauseMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, job.pauseMs);
}
const ms = performance.now() - t0;
db.close();
process.stdout.write(JSON.stringify({ ms, rows }));
