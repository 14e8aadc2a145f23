/**
 * `ls-mix replicate` as users run it: the built CLI (`node bin/run.js`, after
 * `tsc -p tsconfig.build.json`), a real child process, real signals.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { listObjects, restoreFileReplica } from '../../helpers/replica.js';
import { integrityCheck } from '../../helpers/sqlite.js';

const ROOT = join(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'bin/run.js');
const TIMEOUT = 120_000;
const WRITER = join(ROOT, 'test/helpers/writer.mjs');

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function setup(): { dir: string; db: string; replica: string; config: string } {
  dir = mkdtempSync(join(tmpdir(), 'exec-'));
  const db = join(dir, 'app.db');
  const replica = join(dir, 'replica');
  const config = join(dir, 'litestream.yml');
  writeFileSync(
    config,
    `logging:\n  stderr: true\ndbs:\n  - path: ${db}\n    monitor-interval: 50ms\n    replicas:\n      - url: file://${replica}\n        sync-interval: 10s\n`,
  );
  return { dir, db, replica, config };
}

function rows(path: string, sql: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).raw().all();
  } finally {
    db.close();
  }
}

describe('ls-mix replicate -exec', { timeout: TIMEOUT }, () => {
  it('runs the child, does a final sync when it exits non-zero, and exits with its code', async () => {
    const s = setup();
    // sync-interval is 10s: only the final sync can have shipped the child's last writes.
    const r = await execa(
      'node',
      [
        CLI,
        'replicate',
        '-config',
        s.config,
        '-exec',
        `node ${WRITER} ${s.db} --count 40 --interval 2 --exit 7`,
      ],
      { reject: false, timeout: TIMEOUT },
    );
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/child process exited/);
    expect(r.stderr).toMatch(/final sync done/);
    const out = join(s.dir, 'out.db');
    await restoreFileReplica(s.replica, out);
    expect(integrityCheck(out)).toBe('ok');
    expect(rows(out, 'SELECT count(*), max(id) FROM tx')).toEqual([[40, 40]]);
  });

  it('forwards SIGTERM to the child, waits for it, final-syncs, exits with its code', async () => {
    const s = setup();
    const p = execa(
      'node',
      [CLI, 'replicate', '-config', s.config, '-exec', `node ${WRITER} ${s.db} --interval 5`],
      {
        reject: false,
        timeout: TIMEOUT,
      },
    );
    // Signal only once the child is up and writing (its SIGTERM handler installed).
    await waitFor(
      () =>
        existsSync(s.db) &&
        Number(rows(s.db, "SELECT count(*) FROM sqlite_schema WHERE name = 'tx'")[0]) > 0 &&
        Number((rows(s.db, 'SELECT count(*) FROM tx')[0] as number[])[0]) > 5,
    );
    p.kill('SIGTERM');
    const r = await p;
    expect(r.stderr).toMatch(/signal forwarded to the child process/);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = join(s.dir, 'out.db');
    await restoreFileReplica(s.replica, out);
    // The child's goodbye transaction, written after the signal, made it to the replica.
    expect(rows(out, "SELECT count(DISTINCT tx) FROM rows WHERE payload = CAST('bye' AS BLOB)")).toEqual([
      [1],
    ]);
    expect(rows(out, 'SELECT max(id) FROM tx')).toEqual(rows(s.db, 'SELECT max(id) FROM tx'));
  });

  it('without -exec, SIGINT does a final sync and exits 0', async () => {
    const s = setup();
    const app = new Database(s.db);
    app.pragma('journal_mode = wal');
    app.exec('CREATE TABLE t (x)');
    const p = execa('node', [CLI, 'replicate', s.db, `file://${s.replica}`], {
      reject: false,
      timeout: TIMEOUT,
    });
    await waitFor(() => listObjects(s.replica).some((k) => k.includes('/snapshots/')));
    app.prepare('INSERT INTO t VALUES (?)').run('last');
    await new Promise((r) => setTimeout(r, 200));
    p.kill('SIGINT');
    const r = await p;
    app.close();
    expect(r.exitCode).toBe(0);
    const out = join(s.dir, 'out.db');
    await restoreFileReplica(s.replica, out);
    expect(rows(out, 'SELECT x FROM t')).toEqual([['last']]);
  });

  it('a second signal during shutdown forces the exit', async () => {
    const s = setup();
    const p = execa(
      'node',
      [
        CLI,
        'replicate',
        '-config',
        s.config,
        '-exec',
        // The child announces when its handler is in place: a signal sent before that would
        // kill it (node's default) and the test would race the child's start-up.
        `node -e "process.on('SIGTERM', () => {}); console.log('child-ready'); setInterval(() => {}, 1000)"`,
      ],
      {
        reject: false,
        timeout: TIMEOUT,
      },
    );
    let stderr = '';
    let stdout = '';
    p.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    await waitFor(
      () => /child-ready/.test(stdout),
      60_000,
      () => stderr,
    );
    p.kill('SIGTERM'); // forwarded; the child ignores it
    await waitFor(
      () => /signal forwarded/.test(stderr),
      60_000,
      () => stderr,
    );
    p.kill('SIGTERM');
    const r = await p;
    expect(r.exitCode).toBe(143);
    expect(r.stderr).toMatch(/second signal: exiting without waiting/);
  });

  it('a child that cannot start: exit 127, nothing left running', async () => {
    const s = setup();
    const r = await execa(
      'node',
      [CLI, 'replicate', '-config', s.config, '-exec', 'no-such-command-xyz --flag'],
      {
        reject: false,
        timeout: TIMEOUT,
      },
    );
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toMatch(/could not start/);
  });

  it('rejects a config with no databases in one line', async () => {
    const s = setup();
    writeFileSync(s.config, 'dbs: []\n');
    const r = await execa('node', [CLI, 'replicate', '-config', s.config], {
      reject: false,
      timeout: TIMEOUT,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n')[0]).toBe(`Error: no databases to replicate in ${s.config}`);
  });
});

describe('ls-mix snapshot', { timeout: TIMEOUT }, () => {
  it('takes a snapshot now, or asks the running replicate process to', async () => {
    const s = setup();
    const app = new Database(s.db);
    app.pragma('journal_mode = wal');
    app.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    const first = await execa('node', [CLI, 'snapshot', '-config', s.config, s.db], {
      reject: false,
      timeout: TIMEOUT,
    });
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(
      /^snapshot written: replica=file generation=[0-9a-f]{16} index=00000000 size=\d+$/,
    );
    const snaps = () => listObjects(s.replica).filter((k) => k.includes('/snapshots/')).length;
    expect(snaps()).toBe(1);

    const p = execa('node', [CLI, 'replicate', '-config', s.config], { reject: false, timeout: TIMEOUT });
    let stderr = '';
    p.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Wait until it holds the db (its pid in the lock file) and has taken its first sync.
    const lock = join(s.dir, '.app.db-litestream', 'lock');
    await waitFor(
      () => existsSync(lock) && readFileSync(lock, 'utf8').includes(`"pid":${p.pid},`),
      60_000,
      () => `${existsSync(lock) ? readFileSync(lock, 'utf8') : 'no lock'} pid=${p.pid} ${stderr}`,
    );
    app.exec('INSERT INTO t VALUES (2)');
    const second = await execa('node', [CLI, 'snapshot', '-config', s.config, s.db], {
      reject: false,
      timeout: TIMEOUT,
    });
    expect(second.stderr).toBe(`asking the running replicate process (pid ${p.pid}) to take a snapshot`);
    // It returns once the running process has snapshotted (same index: the same object, rewritten).
    expect(second.stdout).toMatch(
      /^snapshot written: replica=file generation=[0-9a-f]{16} index=[0-9a-f]{8} size=\d+$/,
    );
    expect(stderr).toMatch(/snapshot written/);
    p.kill('SIGTERM');
    await p;
    app.close();
    const out = join(s.dir, 'out.db');
    await restoreFileReplica(s.replica, out);
    expect(rows(out, 'SELECT x FROM t ORDER BY x')).toEqual([[1], [2]]);
  });
});

async function waitFor(cond: () => boolean, ms = 60_000, detail?: () => string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting${detail ? `: ${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
