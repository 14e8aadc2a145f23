/**
 * The real CLI (`node bin/run.js`, compiled dist/) restoring Litestream v0.3.13 fixtures:
 * exit codes, one-line errors, Litestream's single-dash flags, and the listing commands.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, integrity, prepareCase, tableContents } from '../runtime/restore/fixture-helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const dirs: string[] = [];

function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, LITESTREAM_CONFIG: '/nonexistent/litestream.yml', ...opts.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function caseDir(name: string): string {
  const d = prepareCase(name);
  dirs.push(d);
  return d;
}

function expectSameTables(actual: string, expected: string): void {
  expect(tableContents(actual).json).toBe(tableContents(expected).json);
  expect(integrity(actual)).toBe('ok');
}

beforeAll(() => {
  // dist/ comes from `npm run build` (README, .ci/run). Never rebuilt from here: tsc rewrites
  // files in place while other test files run the CLI (a half-written module fails to import).
  expect(
    existsSync(join(ROOT, 'dist/src/commands/restore.js')),
    'dist/ has no restore command: run `npm run build` first',
  ).toBe(true);
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('ls-mix restore', () => {
  it('restores from a replica URL, latest and -timestamp (single-dash flags)', () => {
    const d = caseDir('basic');
    const url = `file://${join(d, 'replica')}`;
    const latest = cli(['restore', '-o', join(d, 'latest.db'), url]);
    expect(latest.stderr).toBe('');
    expect(latest.code).toBe(0);
    expect(latest.stdout).toMatch(/^restored .*latest\.db from replica "file", generation 63117748c68cfd7a/);
    expectSameTables(join(d, 'latest.db'), join(FIXTURES, 'basic/expected/latest.db'));

    const ts = cli(['restore', '-timestamp', '2026-11-22T01:59:05.565500909Z', '-o', join(d, 'ts.db'), url]);
    expect(ts.code).toBe(0);
    expectSameTables(join(d, 'ts.db'), join(FIXTURES, 'basic/expected/timestamp-1.db'));
  });

  it('-index and -generation', () => {
    const m = caseDir('multi-index');
    expect(cli(['restore', '-index', '2', '-o', join(m, 'i2.db'), `file://${join(m, 'replica')}`]).code).toBe(
      0,
    );
    expectSameTables(join(m, 'i2.db'), join(FIXTURES, 'multi-index/expected/index-2.db'));

    const g = caseDir('two-generations');
    const r = cli([
      'restore',
      '-generation',
      '184ad278b7745211',
      '-parallelism',
      '2',
      '-o',
      join(g, 'g.db'),
      `file://${join(g, 'replica')}`,
    ]);
    expect(r.code).toBe(0);
    expectSameTables(
      join(g, 'g.db'),
      join(FIXTURES, 'two-generations/expected/generation-184ad278b7745211.db'),
    );
  });

  it('age-encrypted: DB_PATH + -config from inside the case folder (the db entry selects the replica)', () => {
    const d = caseDir('age-encrypted');
    const r = cli(['restore', '-config', 'config.yml', '-o', 'restored.db', './app.db'], { cwd: d });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectSameTables(join(d, 'restored.db'), join(FIXTURES, 'age-encrypted/expected/latest.db'));
    // Without -o the database path itself is the output; LITESTREAM_CONFIG is honoured.
    const r2 = cli(['restore', 'app.db'], { cwd: d, env: { LITESTREAM_CONFIG: join(d, 'config.yml') } });
    expect(r2.code).toBe(0);
    expectSameTables(join(d, 'app.db'), join(FIXTURES, 'age-encrypted/expected/latest.db'));
  });

  it('an age-encrypted replica read by URL (no identities) fails with one clear error', () => {
    const d = caseDir('age-encrypted');
    const r = cli(['restore', '-o', join(d, 'x.db'), `file://${join(d, 'replica')}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^Error: replica "file": generations\/058deaac10e9c9cf\/snapshots\/00000000\.snapshot\.lz4: object is age-encrypted\n/,
    );
    expect(existsSync(join(d, 'x.db'))).toBe(false);
  });

  it('refuses an existing output (exit 1, untouched); -if-db-not-exists exits 0', () => {
    const d = caseDir('basic');
    const out = join(d, 'existing.db');
    writeFileSync(out, 'keep me');
    const r = cli(['restore', '-o', out, `file://${join(d, 'replica')}`]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`Error: cannot restore: ${out} already exists`);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const skip = cli(['restore', '-if-db-not-exists', '-o', out, `file://${join(d, 'replica')}`]);
    expect(skip.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
  });

  it('no backups: exit 1, or 0 with -if-replica-exists', () => {
    const d = caseDir('basic');
    const url = `file://${join(d, 'empty')}`;
    const r = cli(['restore', '-o', join(d, 'x.db'), url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: no backups found on replica "file"\n');
    expect(cli(['restore', '-if-replica-exists', '-o', join(d, 'x.db'), url]).code).toBe(0);
    expect(existsSync(join(d, 'x.db'))).toBe(false);
  });

  it('a corrupt object: exit 1, error names the object, nothing left behind', () => {
    const d = caseDir('basic');
    const seg = join(d, 'replica/generations/63117748c68cfd7a/wal/00000000_0000a110.wal.lz4');
    const data = readFileSync(seg);
    data[data.length - 10] ^= 0x08;
    const { atime, mtime } = statSync(seg);
    writeFileSync(seg, data); // bit rot: the object time stays
    utimesSync(seg, atime, mtime);
    const r = cli(['restore', '-o', join(d, 'out', 'x.db'), `file://${join(d, 'replica')}`]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(
      /^Error: replica "file": generations\/63117748c68cfd7a\/wal\/00000000_0000a110\.wal\.lz4: LZ4 .*\(object corrupt\)$/,
    );
    expect(readdirSync(join(d, 'out'))).toEqual([]);
  });

  it.each([
    [
      ['restore', '-timestamp', 'yesterday', '-o', '/tmp/x.db', 'file:///tmp/none'],
      'Error: invalid -timestamp "yesterday"',
    ],
    [['restore', 'file:///tmp/none'], 'Error: restoring from a replica URL needs an output path'],
    [
      ['restore', '-o', '/tmp/x.db', 'ftp://host/x'],
      'Error: invalid replica URL "ftp://host/x": unsupported scheme "ftp://"',
    ],
    [['restore', '/data/app.db'], 'Error: config file not found: /nonexistent/litestream.yml'],
  ])('bad input %j -> one clear error', (args, first) => {
    const r = cli(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr.split('\n')[0]).toBe(first);
  });

  it('a db path missing from the config is named', () => {
    const d = caseDir('age-encrypted');
    const r = cli(['restore', '-config', 'config.yml', 'other.db'], { cwd: d });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `Error: database not found in config config.yml: ${join(d, 'other.db')}`,
    );
  });
});

describe('listings', () => {
  it('generations, snapshots and wal print Litestream columns; --json gives rows', () => {
    const d = caseDir('two-generations');
    const url = `file://${join(d, 'replica')}`;
    const g = cli(['generations', url]);
    expect(g.code).toBe(0);
    const lines = g.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^replica\s+generation\s+lag\s+start\s+end$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['06bd33ccf6b1f0ea', '184ad278b7745211']);
    expect(lines[1]).toMatch(
      /^file\s+06bd33ccf6b1f0ea\s+(\d+h)?(\d+m)?\d+s\s+2026-11-22T\d\d:\d\d:\d\dZ\s+2026-11-22T/,
    );

    const s = cli(['snapshots', url]);
    expect(s.stdout.trim().split('\n')).toHaveLength(3);
    expect(s.stdout.split('\n')[0]).toMatch(/^replica\s+generation\s+index\s+size\s+created$/);

    const w = JSON.parse(cli(['wal', '-generation', '184ad278b7745211', url, '--json']).stdout) as Array<{
      offset: number;
      index: number;
    }>;
    expect(w.map((x) => x.offset)).toEqual([0, 0x4080, 0x5098, 0x90f8, 0xd158, 0x111b8]);
    const wt = cli(['wal', url]);
    expect(wt.stdout.split('\n')[0]).toMatch(/^replica\s+generation\s+index\s+offset\s+size\s+created$/);
    expect(wt.stdout.trim().split('\n')).toHaveLength(12);
  });

  it('databases lists the config entries', () => {
    const d = caseDir('age-encrypted');
    const r = cli(['databases', '-config', 'config.yml'], { cwd: d });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `path${' '.repeat(join(d, 'app.db').length - 2)}replicas\n${join(d, 'app.db')}  file\n`,
    );
    expect(JSON.parse(cli(['databases', '-config', 'config.yml', '--json'], { cwd: d }).stdout)).toEqual([
      { path: join(d, 'app.db'), replicas: ['file'] },
    ]);
  });
});
