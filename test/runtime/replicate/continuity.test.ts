import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Replication } from '../../../runtime/replicate/index.js';
import { walChecksum } from '../../../runtime/sqlite/wal.js';
import { listObjects, restoreFileReplica } from '../../helpers/replica.js';
import { dumpDb, integrityCheck, openApp, runWorkload } from '../../helpers/sqlite.js';
import { checkObjects, type Harness, harness, localGeneration } from './harness.js';

let h: Harness | undefined;
afterEach(() => {
  h?.cleanup();
  h = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function restoresExactly(hh: Harness, name = 'out.db', replica = 0): Promise<void> {
  const out = join(hh.dir, name);
  await restoreFileReplica(hh.replicaDirs[replica], out);
  expect(integrityCheck(out)).toBe('ok');
  expect(dumpDb(out)).toBe(dumpDb(hh.dbPath));
}

describe('generation continuity', () => {
  it('a restart continues the generation while the app keeps the WAL', async () => {
    h = harness();
    let rep = await h.start();
    runWorkload(h.app, { steps: 30, seed: 1 });
    await rep.close();
    const gen = localGeneration(h.dbPath);
    runWorkload(h.app, { steps: 10, seed: 2 }); // written while the runtime is down
    rep = await h.start();
    runWorkload(h.app, { steps: 10, seed: 3 });
    await rep.close();
    expect(localGeneration(h.dbPath)).toBe(gen);
    expect(checkObjects(h.replicaDirs[0]).generations).toEqual(new Set([gen]));
    await restoresExactly(h);
  });

  it('a restart continues the generation after SQLite deleted the WAL on our close', async () => {
    h = harness();
    let rep = await h.start();
    runWorkload(h.app, { steps: 20, seed: 4 });
    h.app.close(); // the runtime's connection closes last: SQLite checkpoints and removes the WAL
    await rep.close();
    const gen = localGeneration(h.dbPath);
    rep = await h.start();
    h.app = openApp(h.dbPath);
    runWorkload(h.app, { steps: 20, seed: 5 });
    await rep.close();
    expect(localGeneration(h.dbPath)).toBe(gen);
    await restoresExactly(h);
  });

  it('a runtime killed right after restarting the WAL itself continues the generation', async () => {
    h = harness({ min: 20, max: 1000 });
    const rep = await h.start();
    runWorkload(h.app, { steps: 20, seed: 14, heavy: false });
    await rep.syncAll();
    const gen = localGeneration(h.dbPath);
    const db = rep.dbs[0].db as unknown as Record<string, unknown>;
    // Die between our checkpoint's restarting write and the new shadow index, as SIGKILL would.
    db.startIndex = () => {
      throw new Error('killed');
    };
    runWorkload(h.app, { steps: 20, seed: 15, heavy: false });
    await rep.dbs[0].db.checkpoint('PASSIVE').catch(() => undefined);
    for (const r of rep.dbs[0].replicas) r.stop();
    rep.dbs[0].db.stopTimers();
    (db.closeConnections as () => void).call(db); // no final copy, no clean-shutdown note
    await rep.dbs[0].db.local.releaseLock();
    const rep2 = await h.start();
    runWorkload(h.app, { steps: 10, seed: 16, heavy: false });
    await rep2.close();
    expect(localGeneration(h.dbPath)).toBe(gen);
    await restoresExactly(h);
  });

  it('starts a new generation when the db changed while the runtime was down without its WAL', async () => {
    h = harness();
    let rep = await h.start();
    runWorkload(h.app, { steps: 20, seed: 6 });
    h.app.close();
    await rep.close();
    const gen = localGeneration(h.dbPath);
    const other = openApp(h.dbPath);
    runWorkload(other, { steps: 5, seed: 7 });
    other.close(); // checkpointed into the db and WAL removed: changes we never saw
    rep = await h.start();
    h.app = openApp(h.dbPath);
    runWorkload(h.app, { steps: 5, seed: 8 });
    await rep.close();
    expect(localGeneration(h.dbPath)).not.toBe(gen);
    await restoresExactly(h);
  });

  it('starts a new generation when another process restarted the WAL while the runtime was down', async () => {
    h = harness();
    let rep = await h.start();
    runWorkload(h.app, { steps: 20, seed: 9 });
    await rep.close();
    const gen = localGeneration(h.dbPath);
    runWorkload(h.app, { steps: 3, seed: 10 });
    h.app.pragma('wal_checkpoint(TRUNCATE)');
    runWorkload(h.app, { steps: 3, seed: 11 });
    rep = await h.start();
    await rep.close();
    expect(localGeneration(h.dbPath)).not.toBe(gen);
    await restoresExactly(h);
  });

  it('starts a new generation when the local state is missing', async () => {
    h = harness();
    let rep = await h.start();
    runWorkload(h.app, { steps: 10, seed: 12 });
    await rep.close();
    const gen = localGeneration(h.dbPath);
    rmSync(join(h.dir, '.app.db-litestream'), { recursive: true });
    rep = await h.start();
    runWorkload(h.app, { steps: 10, seed: 13 });
    await rep.close();
    expect(localGeneration(h.dbPath)).not.toBe(gen);
    await restoresExactly(h);
  });

  it('frequent snapshots never start a new generation (Litestream #521)', async () => {
    h = harness({ min: 10, max: 30 });
    h.config.dbs[0].replicas[0].snapshotInterval = 100;
    const rep = await h.start();
    const indexes = new Set<number>();
    for (let i = 0; i < 8; i++) {
      runWorkload(h.app, { steps: 10, seed: 20 + i });
      await rep.snapshotAll(); // on demand, between checkpoints of the WAL
      indexes.add(rep.dbs[0].db.position!.index);
      await sleep(60);
    }
    await rep.close();
    const keys = listObjects(h.replicaDirs[0]);
    expect(indexes.size).toBeGreaterThan(2);
    expect(keys.filter((k) => k.includes('/snapshots/')).length).toBeGreaterThan(2);
    expect(checkObjects(h.replicaDirs[0]).generations.size).toBe(1);
    await restoresExactly(h);
  });

  it('an app with its own autocheckpoint stays restorable (Litestream #1536)', async () => {
    h = harness({ appAutocheckpoint: 20, min: 1000, max: 5000 });
    const rep = await h.start();
    for (let i = 0; i < 6; i++) {
      runWorkload(h.app, { steps: 15, seed: 30 + i });
      await sleep(80);
    }
    await rep.close();
    checkObjects(h.replicaDirs[0]);
    await restoresExactly(h);
  });
});

describe('a busy writer in another process', () => {
  it('checkpoints and WAL restarts while it writes flat out keep one generation, restored exactly', async () => {
    h = harness({ min: 200, max: 4000 });
    h.app.close();
    const rep = await h.start();
    // Another process, as apps are: it commits while our checkpoints run, and its own
    // autocheckpoint (SQLite's default) races ours.
    const app = spawn(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(h.dbPath)});
         db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL'); db.pragma('busy_timeout = 10000');
         db.exec('CREATE TABLE IF NOT EXISTS busy (id INTEGER PRIMARY KEY, v BLOB)');
         const ins = db.prepare('INSERT INTO busy (v) VALUES (randomblob(100))');
         const end = Date.now() + 2500; let n = 0;
         while (Date.now() < end) { ins.run(); n++; }
         db.close(); process.stdout.write(String(n));`,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    app.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => app.on('exit', r));
    expect(code).toBe(0);
    await rep.close();
    const { generations, indexes } = checkObjects(h.replicaDirs[0]);
    expect(generations.size).toBe(1);
    // The WAL restarted at least once while it wrote (how often depends on the machine).
    expect(indexes.size).toBeGreaterThan(1);
    await restoresExactly(h);
    const d = new Database(join(h.dir, 'out.db'), { readonly: true });
    try {
      const rows = d.prepare('SELECT COUNT(*) AS n, SUM(length(v)) AS b FROM busy').get();
      expect(rows).toEqual({ n: Number(out), b: Number(out) * 100 });
    } finally {
      d.close();
    }
  }, 60_000);
});

describe('checkpoints with app readers', () => {
  it('an app reader on old frames holds the WAL restart back until it ends, then the generation continues exactly', async () => {
    h = harness({ min: 40, max: 160 });
    h.app.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    const ins = h.app.prepare('INSERT INTO t (v) VALUES (randomblob(1000))');
    const batch = (n: number) =>
      h!.app.transaction(() => {
        for (let i = 0; i < n; i++) ins.run();
      })();
    const rep = await h.start();
    batch(50);
    // A reader of the app's, in the middle of a long read: its mark is below the WAL's end, so
    // no checkpoint can finish and RESTART mode (max 160 pages) has to ask it to end.
    const reader = openApp(h.dbPath);
    reader.exec('BEGIN');
    const before = reader.prepare('SELECT COUNT(*) AS n FROM t').get();
    for (let i = 0; i < 6; i++) {
      batch(300); // ~75 pages a time: past max-checkpoint-page-count (160) within a few passes
      await sleep(120);
    }
    // Its snapshot stayed what it was, and the app's writes went on meanwhile.
    expect(reader.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual(before);
    // RESTART waited its busy timeout (1 s, holding the app's writers) once, then backed off
    // instead of doing so on every pass (3+ times here).
    const monitored = rep.dbs[0].db;
    expect(monitored.writeLockSeconds).toBeGreaterThan(0.9);
    expect(monitored.writeLockSeconds).toBeLessThan(1.9);
    reader.exec('COMMIT');
    reader.close();
    for (let i = 0; i < 4; i++) {
      batch(60);
      await sleep(120);
    }
    await rep.close();
    const { generations, indexes } = checkObjects(h.replicaDirs[0]);
    expect(generations.size).toBe(1);
    expect(indexes.size).toBeGreaterThan(1); // the WAL restarted once the reader was gone
    await restoresExactly(h);
    expect(h.app.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 50 + 1800 + 240 });
  }, 60_000);
});

describe("the runtime's read mark and the app's checkpoints", () => {
  const ckpt = (db: Database.Database) =>
    db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];

  it('moves onto the new WAL after a restart, so an app checkpoint is not blocked until the next checkpoint pass', async () => {
    // min/max far above what the test writes after the restart: only the runtime's first
    // checkpoint (forced below) runs, every later pass just copies.
    h = harness({ min: 100_000, max: 200_000 });
    h.app.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    const ins = h.app.prepare('INSERT INTO t (v) VALUES (randomblob(500))');
    const rep = await h.start();
    const monitored = rep.dbs[0].db;
    for (let i = 0; i < 50; i++) ins.run();
    await sleep(150);
    const index = monitored.position!.index;
    // Complete, so the runtime's write restarts the WAL — possible only while its read lock is on
    // the db file alone. The app's commits then go on in the new WAL.
    await monitored.checkpoint('PASSIVE');
    for (let i = 0; i < 30; i++) ins.run();
    await sleep(300); // a few 50 ms passes
    expect(monitored.position!.index).toBe(index + 1);
    // The app checkpoints (as its autocheckpoint would): up to the runtime's mark in the new WAL.
    // A read lock left on the db file alone blocks every checkpoint: 0 frames.
    const [row] = ckpt(h.app);
    expect(row.busy).toBe(0);
    expect(row.log).toBeGreaterThanOrEqual(30);
    expect(row.checkpointed).toBeGreaterThan(0);
    // Never past what the shadow WAL holds: more app commits stay uncheckpointed until copied.
    for (let i = 0; i < 5; i++) ins.run();
    const [again] = ckpt(h.app);
    expect(again.checkpointed).toBeLessThan(again.log);
    await rep.close();
    const { generations } = checkObjects(h.replicaDirs[0]);
    expect(generations.size).toBe(1);
    await restoresExactly(h);
  });
});

describe('commits that SQLite never published', () => {
  it('ignores a commit frame past the wal-index end (writer killed mid-commit) and keeps up', async () => {
    h = harness({ min: 1000, max: 5000 });
    const rep = await h.start();
    runWorkload(h.app, { steps: 5, seed: 70, heavy: false });
    await rep.syncAll();
    const gen = localGeneration(h.dbPath);
    // Forge what a writer killed after writing its commit frame (but before updating the
    // wal-index) leaves behind: a valid, chained commit frame after the last committed one.
    const wal = readFileSync(`${h.dbPath}-wal`);
    const ps = wal.readUInt32BE(8);
    const fsz = 24 + ps;
    const end = rep.dbs[0].db.position!.size; // everything committed is copied
    const last = wal.subarray(end - fsz, end);
    const frame = Buffer.from(last);
    frame[24 + ps - 1] ^= 0x5a; // different page content, same page number
    const hdr = wal.subarray(0, 32);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const prev = { s1: last.readUInt32BE(16), s2: last.readUInt32BE(20) };
    let sum = walChecksum(view, 0, 8, (hdr.readUInt32BE(0) & 1) === 1, prev);
    sum = walChecksum(view, 24, ps, (hdr.readUInt32BE(0) & 1) === 1, sum);
    frame.writeUInt32BE(sum.s1, 16);
    frame.writeUInt32BE(sum.s2, 20);
    const fd = openSync(`${h.dbPath}-wal`, 'r+');
    writeSync(fd, frame, 0, fsz, end);
    closeSync(fd);
    await rep.syncAll();
    expect(rep.dbs[0].db.position!.size).toBe(end); // not copied
    runWorkload(h.app, { steps: 5, seed: 71, heavy: false }); // overwrites the phantom frame
    await rep.close();
    expect(localGeneration(h.dbPath)).toBe(gen);
    await restoresExactly(h);
  });
});

describe('age encryption', () => {
  it('with recipients only, a restart starts a new generation instead of guessing its position', async () => {
    const recipients = ['age12mr7uegj4hyapdd9re3njty2erkqsvf4yl2k8e0s87e230sz8ecq3s53q4'];
    const identities = ['AGE-SECRET-KEY-1DQK56SYZGC8VLLHD6MTU3DTY6EAUADL4K5V33JVZ0N5EMF2NWN9QF00P8F'];
    h = harness();
    h.config.dbs[0].replicas[0].age = { recipients, identities: [] };
    let rep = await h.start();
    runWorkload(h.app, { steps: 10, seed: 80, heavy: false });
    await rep.close();
    const gen = localGeneration(h.dbPath);
    rep = await h.start();
    runWorkload(h.app, { steps: 10, seed: 81, heavy: false });
    await rep.close();
    expect(localGeneration(h.dbPath)).not.toBe(gen);
    // With the identity the replica restores, from the newest generation.
    const { createFileReplicaClient } = await import('../../../runtime/replica/file.js');
    const { restoreDatabase } = await import('../../../runtime/restore.js');
    const client = createFileReplicaClient({ path: h.replicaDirs[0] });
    const out = join(h.dir, 'age.db');
    await restoreDatabase({
      replicas: [{ name: 'file', client, age: { recipients, identities } }],
      outputPath: out,
    });
    expect(dumpDb(out)).toBe(dumpDb(h.dbPath));
  });
});

describe('storage outages', () => {
  it('keeps writing, logs the failure once, and catches up on every missed WAL index when storage returns', async () => {
    h = harness({ min: 10, max: 30 });
    const lines: { msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const rep = await Replication.start(h.config, { logger });
    runWorkload(h.app, { steps: 10, seed: 40 });
    await rep.syncAll();
    const indexBefore = rep.dbs[0].db.position!.index;
    // Storage goes away: the replica folder is replaced by a file.
    const dir = h.replicaDirs[0];
    const away = `${dir}.away`;
    renameSync(dir, away);
    writeFileSync(dir, 'not a folder');
    for (let i = 0; i < 5; i++) {
      runWorkload(h.app, { steps: 15, seed: 41 + i });
      await sleep(150);
    }
    expect(lines.filter((l) => l.msg.startsWith('replica sync failed')).length).toBe(1);
    // Checkpoints went on (the WAL restarted into new indexes): the app's WAL stays bounded.
    expect(rep.dbs[0].db.position!.index).toBeGreaterThan(indexBefore + 1);
    rmSync(dir);
    renameSync(away, dir);
    await sleep(300);
    await rep.close();
    expect(lines.some((l) => l.msg.startsWith('replica reachable again'))).toBe(true);
    const { generations } = checkObjects(dir);
    expect(generations.size).toBe(1);
    await restoresExactly(h);
  });
});

describe('retention', () => {
  it('deletes snapshots, segments and generations older than retention, keeping the latest restore point', async () => {
    h = harness({ min: 10, max: 30 });
    const r = h.config.dbs[0].replicas[0];
    r.snapshotInterval = 150;
    r.retention = 400;
    r.retentionCheckInterval = 200;
    let rep = await h.start();
    runWorkload(h.app, { steps: 10, seed: 60 });
    await rep.close();
    const oldGen = localGeneration(h.dbPath);
    rmSync(join(h.dir, '.app.db-litestream'), { recursive: true }); // forces a second generation
    rep = await h.start();
    for (let i = 0; i < 10; i++) {
      runWorkload(h.app, { steps: 8, seed: 61 + i });
      await sleep(120);
    }
    await rep.close();
    const keys = listObjects(h.replicaDirs[0]);
    expect(keys.some((k) => k.includes(oldGen))).toBe(false);
    const snapshots = keys.filter((k) => k.includes('/snapshots/'));
    expect(snapshots.length).toBeGreaterThan(0);
    expect(snapshots.length).toBeLessThan(6);
    await restoresExactly(h);
    const db = new Database(join(h.dir, 'out.db'), { readonly: true });
    db.close();
  });
});
