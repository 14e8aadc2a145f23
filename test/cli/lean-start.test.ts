import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEAN_ENV, LEAN_V8_FLAGS, planLeanRestart } from '../../src/lean-start.js';
import { assertBuilt, cli } from './harness.js';

const NODE = '/usr/bin/node';
const argv = (...rest: string[]) => [NODE, '/app/bin/run.js', ...rest];

describe('planLeanRestart', () => {
  it('restarts replicate and restore with the V8 flags after the user’s own node options', () => {
    for (const command of ['replicate', 'restore']) {
      const plan = planLeanRestart(argv(command, '-config', 'x.yml'), ['--enable-source-maps'], {}, NODE);
      expect(plan?.file).toBe(NODE);
      expect(plan?.args).toEqual([
        NODE,
        '--enable-source-maps',
        ...LEAN_V8_FLAGS,
        '/app/bin/run.js',
        command,
        '-config',
        'x.yml',
      ]);
      expect(plan?.env).toEqual({ [LEAN_ENV]: '1' });
    }
  });

  it('leaves every other command, an opted-out run and an already restarted one alone', () => {
    for (const command of ['add', 'snapshot', 'generations', 'verify', 'new']) {
      expect(planLeanRestart(argv(command), [], {}, NODE)).toBeUndefined();
    }
    expect(planLeanRestart(argv(), [], {}, NODE)).toBeUndefined();
    expect(planLeanRestart(argv('replicate'), [], { [LEAN_ENV]: '0' }, NODE)).toBeUndefined();
    expect(planLeanRestart(argv('replicate'), [], { [LEAN_ENV]: '1' }, NODE)).toBeUndefined();
  });

  it('keeps the environment and does not repeat a flag the user gave', () => {
    const plan = planLeanRestart(
      argv('restore', 's3://b/db'),
      ['--single-threaded'],
      { HOME: '/root' },
      NODE,
    );
    expect(plan?.env).toEqual({ HOME: '/root', [LEAN_ENV]: '1' });
    expect(plan?.args.filter((a) => a === '--single-threaded')).toHaveLength(1);
  });
});

// The real CLI: `replicate -exec` runs a probe that reports what its parent (the replicator)
// was started with and what environment the app itself gets.
describe('replicate as started by bin/run.js', () => {
  let dir: string;
  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'ls-mix-lean-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function probeRun(env: Record<string, string>) {
    const db = join(dir, `app-${Math.random().toString(36).slice(2)}.db`);
    const app = new Database(db);
    app.pragma('journal_mode = wal');
    app.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    app.close();
    const report = `${db}.probe.json`;
    const probe = join(dir, 'probe.cjs');
    writeFileSync(
      probe,
      `const fs = require('node:fs');
const split = (f) => fs.readFileSync('/proc/' + process.ppid + '/' + f, 'utf8').split('\\0').filter(Boolean);
fs.writeFileSync(process.argv[2], JSON.stringify({
  parentPid: process.ppid,
  parentArgs: split('cmdline'),
  parentStartMarker: split('environ').filter((e) => e.startsWith('${LEAN_ENV}=')),
  marker: process.env.${LEAN_ENV} ?? null,
}));`,
    );
    const r = cli(
      ['replicate', db, `file://${db}-replica`, '-exec', `${process.execPath} ${probe} ${report}`],
      {
        env,
        timeout: 60_000,
      },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const seen = JSON.parse(readFileSync(report, 'utf8')) as {
      parentPid: number;
      parentArgs: string[];
      parentStartMarker: string[];
      marker: string | null;
    };
    // The app's parent is the process the test started: a restart keeps the pid.
    expect(seen.parentPid).toBe(r.pid);
    return seen;
  }

  const canRestart = typeof (process as unknown as { execve?: unknown }).execve === 'function';

  it.runIf(process.platform === 'linux')(
    canRestart
      ? 'restarts once with the lean V8 flags, same pid; the app does not inherit the marker'
      : 'runs on unchanged where Node has no process.execve',
    () => {
      const seen = probeRun({});
      for (const flag of LEAN_V8_FLAGS) {
        expect(seen.parentArgs.filter((a) => a === flag)).toHaveLength(canRestart ? 1 : 0);
      }
      expect(seen.parentStartMarker).toEqual(canRestart ? [`${LEAN_ENV}=1`] : []);
      expect(seen.marker).toBeNull();
    },
  );

  it.runIf(process.platform === 'linux')('LS_MIX_LEAN=0 runs replicate unchanged', () => {
    const seen = probeRun({ [LEAN_ENV]: '0' });
    for (const flag of LEAN_V8_FLAGS) expect(seen.parentArgs).not.toContain(flag);
    expect(seen.parentStartMarker).toEqual([`${LEAN_ENV}=0`]);
    expect(seen.marker).toBe('0');
  });
});
