/**
 * SQLite's checkpoint lock held by the runtime between its checkpoints (runtime/sqlite/checkpoint-lock.ts):
 * taken only under a fast writer, makes another process's checkpoint return busy at once, never
 * stops the runtime's own checkpoints, and does not keep an app from repairing a torn wal-index.
 * The app runs in another process, as apps do (POSIX locks do not conflict within one process).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_LOCK_BYTE } from '../../../runtime/sqlite/checkpoint-lock.js';
import { restoreFileReplica } from '../../helpers/replica.js';
import { dumpDb, integrityCheck } from '../../helpers/sqlite.js';
import { type Harness, harness } from './harness.js';

let h: Harness | undefined;
afterEach(() => {
  h?.cleanup();
  h = undefined;
  delete process.env.LS_MIX_CHECKPOINT_LOCK;
});

const linux64 = process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch);

/** Run `body` in a node process with `db` (better-sqlite3, busy_timeout 5 s) open; resolves to its stdout. */
function inApp(dbPath: string, body: string): Promise<string> {
  const script = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(dbPath)});
    db.pragma('journal_mode = WAL'); db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS busy (id INTEGER PRIMARY KEY, v BLOB)');
    const ins = db.prepare('INSERT INTO busy (v) VALUES (randomblob(100))');
    const out = (() => { ${body} })(); db.close(); process.stdout.write(JSON.stringify(out));`;
  const app = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  app.stdout.on('data', (d) => (out += d));
  app.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => app.kill('SIGKILL'), 30_000);
    app.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`app exited ${code}: ${err}`));
    });
  });
}

/** Commits 1-row transactions flat out for `ms` (SQLite's default autocheckpoint); the count. */
const flatOut = (ms: number) =>
  `const end = Date.now() + ${ms}; let n = 0; while (Date.now() < end) { ins.run(); n++; } return n;`;

/** The app's own PASSIVE checkpoint, as its autocheckpoint runs it. */
const appCheckpoint = "return db.pragma('wal_checkpoint(PASSIVE)')[0];";

/** POSIX write locks on the checkpoint-lock byte of the db's -shm, by pid. */
function checkpointLockHolders(dbPath: string): number[] {
  const ino = statSync(`${dbPath}-shm`, { throwIfNoEntry: false })?.ino;
  if (ino === undefined) return []; // SQLite removed it with the last connection
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(
      (f) =>
        f[1] === 'POSIX' &&
        f[3] === 'WRITE' &&
        f[5]?.endsWith(`:${ino}`) &&
        f[6] === String(CHECKPOINT_LOCK_BYTE) &&
        f[7] === String(CHECKPOINT_LOCK_BYTE),
    )
    .map((f) => Number(f[4]));
}

/**
 * The runtime on a fresh db with its own checkpoints far off (only the app's could take the lock),
 * an app process running `body`, then one pass of ours; `app` is the body's output.
 */
async function replicateWhile(body: string) {
  const hh = harness({ min: 1_000_000, max: 2_000_000 });
  h = hh;
  hh.app.close();
  const rep = await hh.start();
  const monitored = rep.dbs[0].db;
  const app = JSON.parse(await inApp(hh.dbPath, body));
  await monitored.sync();
  return { hh, rep, monitored, app };
}

async function restoresExactly(hh: Harness): Promise<void> {
  const out = join(hh.dir, 'out.db');
  await restoreFileReplica(hh.replicaDirs[0], out);
  expect(integrityCheck(out)).toBe('ok');
  expect(dumpDb(out)).toBe(dumpDb(hh.dbPath));
}

describe.runIf(linux64)("SQLite's checkpoint lock, held by the runtime", () => {
  // First in this file (one process per file): the FFI library is not loaded before it is needed.
  it('is not taken, nor its library loaded, while the app commits slowly', async () => {
    const {
      hh,
      rep,
      app: n,
    } = await replicateWhile(
      'let n = 0; const end = Date.now() + 1500; while (Date.now() < end) { ins.run(); n++; Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); } return n;',
    );
    expect(n).toBeGreaterThan(100); // ~400 commits a second: under the threshold
    expect(checkpointLockHolders(hh.dbPath)).toEqual([]);
    expect(readFileSync('/proc/self/maps', 'utf8')).not.toMatch(/koffi/);
    const row = JSON.parse(await inApp(hh.dbPath, appCheckpoint));
    expect(row.busy).toBe(0); // the app's checkpoint runs (up to the runtime's read mark)
    await rep.close();
    await restoresExactly(hh);
  }, 60_000);

  it("is held after a fast writer: the app's checkpoint is busy at once, the runtime's runs, restored exactly", async () => {
    const { hh, rep, monitored, app: n } = await replicateWhile(flatOut(1500));
    expect(n).toBeGreaterThan(3000);
    expect(checkpointLockHolders(hh.dbPath)).toEqual([process.pid]);
    expect(readFileSync('/proc/self/maps', 'utf8')).toMatch(/koffi/);
    // The app's autocheckpoint try: SQLITE_BUSY from its first lock call.
    const busy = JSON.parse(await inApp(hh.dbPath, appCheckpoint));
    expect(busy.busy).toBe(1);
    // Ours (same process) still checkpoints and restarts the WAL, and takes the lock again after.
    const index = monitored.position!.index;
    await monitored.checkpoint('PASSIVE');
    expect(checkpointLockHolders(hh.dbPath)).toEqual([process.pid]);
    const more = Number(await inApp(hh.dbPath, flatOut(300)));
    await monitored.sync();
    expect(monitored.position!.index).toBeGreaterThan(index);
    await rep.close();
    // Closing the connections and the -shm descriptor ends it.
    expect(checkpointLockHolders(hh.dbPath)).toEqual([]);
    await restoresExactly(hh);
    expect(
      JSON.parse(
        await inApp(join(hh.dir, 'out.db'), 'return db.prepare("SELECT COUNT(*) AS c FROM busy").get().c;'),
      ),
    ).toBe(n + more);
  }, 60_000);

  it('is not taken with LS_MIX_CHECKPOINT_LOCK=0', async () => {
    process.env.LS_MIX_CHECKPOINT_LOCK = '0';
    const { hh, rep, app: n } = await replicateWhile(flatOut(1500));
    expect(n).toBeGreaterThan(3000);
    expect(checkpointLockHolders(hh.dbPath)).toEqual([]);
    expect(JSON.parse(await inApp(hh.dbPath, appCheckpoint)).busy).toBe(0);
    await rep.close();
    await restoresExactly(hh);
  }, 60_000);

  it('lets an app repair a wal-index header torn by a writer that died writing it', async () => {
    const { hh, rep, monitored, app: n } = await replicateWhile(flatOut(1500));
    expect(checkpointLockHolders(hh.dbPath)).toEqual([process.pid]);
    // SQLite writes the header's second copy first: a writer killed between the two leaves
    // copies that differ. The next reader repairs it (recovery), which needs the checkpoint lock.
    monitored.stopTimers(); // no pass of ours may repair it before the app tries
    // From another process: closing a descriptor of the -shm here would drop every POSIX lock
    // this process holds on it (the runtime's read mark and the checkpoint lock included).
    const torn = spawnSync(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); const fd = fs.openSync(${JSON.stringify(`${hh.dbPath}-shm`)}, 'r+');
         const hdr = Buffer.alloc(96); fs.readSync(fd, hdr, 0, 96, 0);
         hdr.writeUInt32LE(hdr.readUInt32LE(16) + 7, 48 + 16); // copy 2's mxFrame (host order: LE here)
         fs.writeSync(fd, hdr, 48, 48, 48); fs.readSync(fd, hdr, 0, 96, 0); fs.closeSync(fd);
         process.stdout.write(String(hdr.subarray(0, 48).equals(hdr.subarray(48))));`,
      ],
      { encoding: 'utf8' },
    );
    expect(torn.stdout).toBe('false');
    const started = Date.now();
    const app = inApp(hh.dbPath, 'return db.prepare("SELECT COUNT(*) AS c FROM busy").get().c;');
    // The app retries (SQLite's WAL_RETRY, ~10 s in all before SQLITE_PROTOCOL) until our pass.
    await new Promise((r) => setTimeout(r, 300));
    await monitored.sync();
    expect(JSON.parse(await app)).toBe(n);
    expect(Date.now() - started).toBeLessThan(5_000);
    await rep.close();
    await restoresExactly(hh);
  }, 60_000);
});
