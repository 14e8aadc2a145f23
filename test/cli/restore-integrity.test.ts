/**
 * `restore -integrity quick|full|none` with the real CLI on snapshots that are valid LZ4 and
 * valid SQLite headers but damaged inside: what each level catches, and that a failed check
 * leaves nothing at the output path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { lz4FrameCompress } from '../../runtime/format/lz4.js';

const ROOT = join(import.meta.dirname, '../..');
const GEN = '0123456789abcdef';
const dirs: string[] = [];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {
    env: { ...process.env, LITESTREAM_CONFIG: '/nonexistent/litestream.yml' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A db of 200 rows with an index on `a`, damaged by `damage`, as a snapshot-only file replica. */
async function replicaOf(damage: (dbPath: string) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ls-mix-integrity-'));
  dirs.push(dir);
  const dbPath = join(dir, 'src.db');
  const db = new Database(dbPath);
  db.exec(
    'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL); CREATE INDEX t_a ON t (a);',
  );
  const insert = db.prepare('INSERT INTO t (a, b) VALUES (?, ?)');
  for (let i = 0; i < 200; i++) insert.run(`a-${i}-${'x'.repeat(200)}`, `b-${199 - i}`);
  db.close();
  damage(dbPath);
  const snapshots = join(dir, 'replica', 'generations', GEN, 'snapshots');
  mkdirSync(snapshots, { recursive: true });
  writeFileSync(join(snapshots, '00000000.snapshot.lz4'), await lz4FrameCompress(readFileSync(dbPath)));
  return dir;
}

/** Page 2 onwards: set the b-tree page type byte of the table's last page to an invalid value. */
function breakAPage(dbPath: string): void {
  const bytes = readFileSync(dbPath);
  const pageSize = bytes.readUInt16BE(16);
  const pages = bytes.length / pageSize;
  bytes[(pages - 1) * pageSize] = 0x07; // not 2, 5, 10 or 13: "invalid page type"
  writeFileSync(dbPath, bytes);
}

/** Keep every page sound but make the index describe another column: entries no longer match rows. */
function mismatchIndex(dbPath: string): void {
  const db = new Database(dbPath);
  db.unsafeMode(true);
  db.pragma('writable_schema = ON');
  db.prepare("UPDATE sqlite_schema SET sql = 'CREATE INDEX t_a ON t (b)' WHERE name = 't_a'").run();
  db.close();
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('ls-mix restore -integrity', () => {
  it('quick (the default) catches a damaged page; nothing is left at the output; none restores it as Litestream does', async () => {
    const dir = await replicaOf(breakAPage);
    const url = `file://${join(dir, 'replica')}`;
    const out = join(dir, 'quick.db');
    const quick = cli(['restore', '-o', out, url]);
    expect(quick.code).toBe(1);
    expect(quick.stderr).toMatch(/restored database failed PRAGMA quick_check: .+/);
    expect(existsSync(out)).toBe(false);

    const none = cli(['restore', '-integrity', 'none', '-o', join(dir, 'none.db'), url]);
    expect(none.stderr).toBe('');
    expect(none.code).toBe(0);
    expect(existsSync(join(dir, 'none.db'))).toBe(true);
  });

  it('full also checks every index entry against its row, which quick does not', async () => {
    const dir = await replicaOf(mismatchIndex);
    const url = `file://${join(dir, 'replica')}`;
    const quick = cli(['restore', '--integrity', 'quick', '-o', join(dir, 'quick.db'), url]);
    expect(quick.stderr).toBe('');
    expect(quick.code).toBe(0);

    const out = join(dir, 'full.db');
    const full = cli(['restore', '-integrity', 'full', '-o', out, url]);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/restored database failed PRAGMA integrity_check: .*t_a/);
    expect(existsSync(out)).toBe(false);
  });

  it('an unknown level is refused by name', () => {
    const r = cli(['restore', '-integrity', 'fast', '-o', '/tmp/never.db', 'file:///nonexistent']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/quick, full, none/);
  });
});
