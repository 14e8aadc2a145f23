import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ackKey, watchAcks } from '../../bench/lib/acks.js';
import { isSegment, listFiles } from '../../bench/lib/replica.js';

const CLI = join(import.meta.dirname, '../../bin/run.js');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('lag figure: replicate acknowledges each stored segment', () => {
  it("names every segment on the replica by generation/index/offset, no later than the file's mtime", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-mix-acks-'));
    dirs.push(dir);
    const dbPath = join(dir, 'app.db');
    const replica = join(dir, 'replica');
    const db = new Database(dbPath);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const config = join(dir, 'litestream.yml');
    writeFileSync(
      config,
      `dbs:\n  - path: ${dbPath}\n    replicas:\n      - url: file://${replica}\n        sync-interval: 100ms\nlogging:\n  type: json\n`,
    );
    const child = spawn(process.execPath, [CLI, 'replicate', '-config', config], {
      env: { ...process.env, LS_MIX_LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acks = watchAcks(child.stdout);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      // Commits keep coming until three segments are stored (bounded): on a loaded machine the
      // first ones can all land before replicate has started, in a single segment.
      const segmentCount = () => listFiles(replica).filter((f) => isSegment(f.key)).length;
      const deadline = Date.now() + 30_000;
      for (let i = 0; Date.now() < deadline && (i < 20 || segmentCount() < 3); i++) {
        db.prepare('INSERT INTO t (v) VALUES (?)').run(`row ${i}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      child.kill('SIGINT');
      await exited;
      db.close();
    }
    const segments = listFiles(replica).filter((f) => isSegment(f.key));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    for (const s of segments) {
      const key = ackKey(s.key);
      expect(key, s.key).toBeDefined();
      const at = acks.get(key!);
      expect(at, `no ack line for ${s.key}`).toBeDefined();
      // The line is written after the rename; its time is rounded down to the millisecond.
      expect(at!).toBeGreaterThanOrEqual(Math.floor(statSync(join(replica, s.key)).mtimeMs) - 1);
    }
    expect(ackKey('x/generations/0123abcd/snapshots/00000000.snapshot.lz4')).toBeUndefined();
  }, 60_000);
});
