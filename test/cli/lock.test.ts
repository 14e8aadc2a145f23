/**
 * The per-db lock through the built CLI: a stale lock whose PID now belongs to an unrelated
 * process is never signalled (`snapshot` takes the snapshot itself, `replicate` takes the lock
 * over), and `snapshot` beside a running `replicate` returns only once the snapshot exists.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alive, killPid, spawnServer, waitFor } from '../services/process.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/run.js');
let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  expect(existsSync(join(ROOT, 'dist/src/commands/snapshot.js')), 'run `npm run build` first').toBe(true);
});

afterEach(async () => {
  for (const c of children.splice(0)) await killPid(c.pid, 5_000);
  rmSync(dir, { recursive: true, force: true });
});

function setup(): { db: string; config: string; replica: string; lock: string } {
  dir = mkdtempSync(join(tmpdir(), 'lock-'));
  const db = join(dir, 'app.db');
  const replica = join(dir, 'replica');
  const w = new Database(db);
  w.pragma('journal_mode = wal');
  w.exec("CREATE TABLE t(v); INSERT INTO t VALUES ('a')");
  w.close();
  const config = join(dir, 'litestream.yml');
  writeFileSync(
    config,
    `logging:\n  stderr: true\ndbs:\n  - path: ${db}\n    monitor-interval: 50ms\n    replicas:\n      - url: file://${replica}\n        sync-interval: 100ms\n`,
  );
  mkdirSync(join(dir, '.app.db-litestream'));
  return { db, config, replica, lock: join(dir, '.app.db-litestream', 'lock') };
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 90_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function snapshotCount(replica: string): number {
  const gens = join(replica, 'generations');
  if (!existsSync(gens)) return 0;
  return readdirSync(gens).reduce((n, g) => {
    const s = join(gens, g, 'snapshots');
    return n + (existsSync(s) ? readdirSync(s).length : 0);
  }, 0);
}

/** A real, unrelated process: what a recycled PID belongs to. */
function unrelated(): ChildProcess {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

function procStartTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

describe('stale locks', { timeout: 120_000 }, () => {
  it.each([
    ['a bare PID (older lock format)', (pid: number) => `${pid}\n`],
    [
      'a PID whose start time does not match',
      (pid: number) =>
        `${JSON.stringify({ pid, startTime: String(Number(procStartTime(pid)) - 1), command: 'replicate' })}\n`,
    ],
  ])('snapshot never signals %s: it takes the snapshot itself', (_name, lockText) => {
    const s = setup();
    const victim = unrelated();
    writeFileSync(s.lock, lockText(victim.pid!));
    const r = cli(['snapshot', '-config', s.config, s.db]);
    expect(r.code, r.stderr).toBe(0);
    expect(alive(victim.pid!)).toBe(true);
    expect(victim.signalCode).toBeNull();
    expect(r.stdout).toMatch(
      /^snapshot written: replica=file generation=[0-9a-f]{16} index=00000000 size=\d+$/m,
    );
    expect(snapshotCount(s.replica)).toBe(1);
  });

  it('snapshot never signals a live holder that is not an ls-mix replicate process', () => {
    const s = setup();
    const other = unrelated();
    // A lock that verifies (right PID and start time) but whose process has no SIGUSR1 handler.
    writeFileSync(
      s.lock,
      `${JSON.stringify({ pid: other.pid, startTime: procStartTime(other.pid!), command: 'replicate' })}\n`,
    );
    const r = cli(['snapshot', '-config', s.config, s.db]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `Error: ${s.db} is locked by process ${other.pid}, which is not an ls-mix replicate process`,
    );
    expect(alive(other.pid!)).toBe(true);
    expect(snapshotCount(s.replica)).toBe(0);
  });

  it('replicate takes over a stale lock held by a recycled PID', async () => {
    const s = setup();
    const victim = unrelated();
    writeFileSync(s.lock, `${victim.pid}\n`);
    const rep = spawnServer(process.execPath, [CLI, 'replicate', '-config', s.config], join(dir, 'rep.log'));
    children.push(rep);
    await waitFor(
      'replicate took the lock',
      () => readFileSync(s.lock, 'utf8').includes(`"pid":${rep.pid}`),
      30_000,
      () => readFileSync(join(dir, 'rep.log'), 'utf8'),
    );
    expect(alive(victim.pid!)).toBe(true);
    expect(JSON.parse(readFileSync(s.lock, 'utf8'))).toEqual({
      pid: rep.pid,
      startTime: procStartTime(rep.pid!),
      command: 'replicate',
    });
  });
});

describe('snapshot beside a running replicate', { timeout: 120_000 }, () => {
  it('asks it (verified by PID + start time) and returns once the snapshot exists', async () => {
    const s = setup();
    const log = join(dir, 'rep.log');
    const rep = spawnServer(process.execPath, [CLI, 'replicate', '-config', s.config], log);
    children.push(rep);
    await waitFor(
      'first snapshot',
      () => snapshotCount(s.replica) === 1,
      30_000,
      () => readFileSync(log, 'utf8'),
    );
    const w = new Database(s.db);
    w.exec("INSERT INTO t VALUES ('b')");
    w.close();
    const r = cli(['snapshot', '-config', s.config, s.db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`asking the running replicate process (pid ${rep.pid}) to take a snapshot`);
    // It returned after the snapshot was written, not before.
    expect(r.stdout).toMatch(
      /^snapshot written: replica=file generation=[0-9a-f]{16} index=[0-9a-f]{8} size=\d+$/m,
    );
    expect(snapshotCount(s.replica)).toBeGreaterThanOrEqual(1);
    expect(readFileSync(log, 'utf8')).toMatch(/SIGUSR1: taking a snapshot/);
  });

  it('times out with an error when no snapshot appears', async () => {
    const s = setup();
    // A live process that is "our replicate" by the lock but never snapshots (stopped).
    const rep = spawnServer(process.execPath, [CLI, 'replicate', '-config', s.config], join(dir, 'rep.log'));
    children.push(rep);
    await waitFor(
      'lock taken',
      () => existsSync(s.lock) && readFileSync(s.lock, 'utf8').includes(`"pid":${rep.pid}`),
      30_000,
    );
    await waitFor('first snapshot', () => snapshotCount(s.replica) === 1, 30_000);
    process.kill(rep.pid!, 'SIGSTOP');
    try {
      const r = cli(['snapshot', '-config', s.config, '-timeout', '2s', s.db]);
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[1]).toBe(
        `Error: the replicate process (pid ${rep.pid}) was asked for a snapshot, but replica file shows none after 2s`,
      );
    } finally {
      process.kill(rep.pid!, 'SIGCONT');
    }
  });
});
