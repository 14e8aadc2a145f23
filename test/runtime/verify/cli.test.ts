/**
 * `ls-mix verify` as users run it: a real `ls-mix replicate` process replicating an app's
 * database, then `ls-mix verify` (a separate process) while it runs, and again after a
 * segment went missing. Runs the sources through tsx (bin/dev.js), no build needed.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { listObjects } from '../../helpers/replica.js';

const ROOT = join(import.meta.dirname, '../../..');
const DEV = join(ROOT, 'bin/dev.js');
const TIMEOUT = 120_000;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const cli = (args: string[]) =>
  execa('node', ['--import', 'tsx', DEV, ...args], { reject: false, timeout: 60_000, cwd: ROOT });

async function waitFor(check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ls-mix verify (CLI)', { timeout: TIMEOUT }, () => {
  it('passes against a live replicated db (--json), fails with exit 1 once a segment is missing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'verify-cli-'));
    const db = join(dir, 'app.db');
    const replica = join(dir, 'replica');
    const config = join(dir, 'litestream.yml');
    writeFileSync(
      config,
      `dbs:\n  - path: ${db}\n    monitor-interval: 50ms\n    replicas:\n      - url: file://${replica}\n        sync-interval: 100ms\n`,
    );
    const app = new Database(db);
    app.pragma('journal_mode = wal');
    app.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    const insert = app.prepare('INSERT INTO t (v) VALUES (randomblob(100))');
    const replicate = execa('node', ['--import', 'tsx', DEV, 'replicate', '-config', config], {
      reject: false,
      timeout: TIMEOUT,
      cwd: ROOT,
    });
    try {
      await waitFor(() => listObjects(replica).some((k) => k.includes('/snapshots/')));
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 50; j++) insert.run();
        const before = listObjects(replica).length;
        await waitFor(() => listObjects(replica).length > before);
      }

      const good = await cli(['verify', '-config', config, db, '--json']);
      expect(good.exitCode, good.stderr).toBe(0);
      const report = JSON.parse(good.stdout);
      expect(report.ok).toBe(true);
      expect(report.replicas).toHaveLength(1);
      expect(report.replicas[0]).toMatchObject({ replica: 'file', ok: true, integrity: 'ok' });
      // Compared with the live db while replicate holds its read lock in another process.
      expect(report.replicas[0].compare.method).toBe('pages-at-position');
      expect(report.replicas[0].compare.status).toBe('match');
    } finally {
      replicate.kill('SIGINT');
      await replicate;
      app.close();
    }

    const gen = readdirSync(join(replica, 'generations'))[0];
    const walDir = join(replica, 'generations', gen, 'wal');
    const segs = readdirSync(walDir).sort();
    expect(segs.length).toBeGreaterThanOrEqual(3);
    rmSync(join(walDir, segs[1]));
    const bad = await cli(['verify', '-config', config]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(/FAILED/);
    expect(bad.stdout).toMatch(/missing WAL segment/);
  });
});
