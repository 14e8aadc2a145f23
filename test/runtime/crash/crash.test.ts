/**
 * Crash safety with real processes: an app (test/helpers/writer.mjs) commits numbered
 * transactions and logs each acknowledged commit; the runtime (`node bin/run.js replicate`) and,
 * separately, the app are SIGKILLed at random moments. After every kill the replica is
 * restored and must pass integrity_check, hold a committed prefix (no torn transaction), and hold
 * every commit acknowledged more than sync-interval + monitor-interval before the kill (plus a
 * scheduling allowance for a loaded 2-core CI machine, CRASH_SLACK_MS) — counting from when a
 * restarted runtime has shipped its downtime backlog (CRASH_CATCH_UP_MS after it is up). Restarts
 * of the runtime must continue the generation when continuity holds.
 *
 * CRASH_RUNTIME_KILLS / CRASH_APP_KILLS set the number of kills (default 25 + 25).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { restoreFileReplica } from '../../helpers/replica.js';
import { integrityCheck, rng } from '../../helpers/sqlite.js';

const ROOT = join(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'bin/run.js');
const WRITER = join(ROOT, 'test/helpers/writer.mjs');
const MONITOR_MS = 50;
const SYNC_MS = 100;
const SLACK_MS = Number(process.env.CRASH_SLACK_MS ?? 350);
/** After a (re)start the runtime first ships the backlog of its downtime, one WAL index at a time. */
const CATCH_UP_MS = Number(process.env.CRASH_CATCH_UP_MS ?? 1500);
const BOUND_MS = SYNC_MS + MONITOR_MS + SLACK_MS;
const RUNTIME_KILLS = Number(process.env.CRASH_RUNTIME_KILLS ?? 25);
const APP_KILLS = Number(process.env.CRASH_APP_KILLS ?? 25);
const KEEP = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  readyAt?: number;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const c of running) c.kill('SIGKILL');
});

function start(cmd: string[], logFile: string, onLine?: (line: string) => void): Proc {
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, cmd, { stdio: ['ignore', out, onLine ? 'pipe' : out] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => running.delete(child));
  const proc: Proc = { child, exited };
  if (onLine && child.stderr) {
    let buf = '';
    child.stderr.on('data', (d: Buffer) => {
      writeFileSync(logFile, d, { flag: 'a' });
      buf += d.toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
  }
  return proc;
}

async function kill(p: Proc): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

function readAcks(path: string): { id: number; at: number }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => /^\d+ \d+$/.test(l))
    .map((l) => {
      const [id, at] = l.split(' ').map(Number);
      return { id, at };
    });
}

/** Restored copy: integrity, contiguous tx ids 1..m, every kept transaction whole. */
function checkRestored(path: string): number {
  expect(integrityCheck(path)).toBe('ok');
  const db = new Database(path, { readonly: true });
  try {
    const { c, m } = db.prepare('SELECT count(*) AS c, coalesce(max(id), 0) AS m FROM tx').get() as {
      c: number;
      m: number;
    };
    expect(c, 'transaction ids form a prefix 1..m').toBe(m);
    const torn = db
      .prepare(
        'SELECT tx.id, tx.n, (SELECT count(*) FROM rows WHERE rows.tx = tx.id) AS k FROM tx WHERE tx.id > ? AND k != tx.n',
      )
      .all(m - KEEP + 1);
    expect(torn, 'no torn transaction').toEqual([]);
    return m;
  } finally {
    db.close();
  }
}

function generationOf(dir: string): string | undefined {
  const f = join(dir, '.app.db-litestream', 'generation');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
}

describe('crash safety', () => {
  it(`SIGKILL of the runtime (${RUNTIME_KILLS}x) and of the app (${APP_KILLS}x) never loses an acknowledged commit`, {
    timeout: 600_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crash-'));
    const db = join(dir, 'app.db');
    const replica = join(dir, 'replica');
    const config = join(dir, 'litestream.yml');
    const ack = join(dir, 'ack.txt');
    writeFileSync(
      config,
      [
        'logging: { type: json, level: info, stderr: true }',
        'dbs:',
        `  - path: ${db}`,
        `    monitor-interval: ${MONITOR_MS}ms`,
        '    checkpoint-interval: 1s',
        '    min-checkpoint-page-count: 50',
        '    max-checkpoint-page-count: 200',
        '    replicas:',
        `      - url: file://${replica}`,
        `        sync-interval: ${SYNC_MS}ms`,
        '        snapshot-interval: 3s',
        '',
      ].join('\n'),
    );
    const r = rng(20261122);
    const startRuntime = () => {
      const p: Proc = start([CLI, 'replicate', '-config', config], join(dir, 'runtime.log'), (line) => {
        if (line.includes('"msg":"replicating"')) p.readyAt = Date.now();
      });
      return p;
    };
    const startApp = () =>
      start(
        [
          WRITER,
          db,
          '--interval',
          '8',
          '--ack',
          ack,
          '--big-every',
          '60',
          '--big-rows',
          '60',
          '--keep',
          String(KEEP),
        ],
        join(dir, 'app.log'),
      );

    let app = startApp();
    let runtime = startRuntime();
    let required = 0; // highest tx id the replica must hold from now on
    let restores = 0;
    let continued = 0;
    let restarts = 0;
    let runtimeKills = 0;
    let appKills = 0;

    const verify = async (killedAt: number, readyAt: number | undefined) => {
      const out = join(dir, `restore-${restores++}.db`);
      await restoreFileReplica(replica, out);
      const m = checkRestored(out);
      rmSync(out, { force: true });
      // Commits acknowledged more than the bound before the kill, once the runtime was up and
      // had caught up (a required commit implies every earlier one: restores are prefixes).
      if (readyAt !== undefined) {
        const acked = readAcks(ack).filter(
          (a) => a.at >= readyAt + CATCH_UP_MS && a.at < killedAt - BOUND_MS,
        );
        required = Math.max(required, acked.at(-1)?.id ?? 0);
      }
      expect(m, `restore after kill #${runtimeKills + appKills} holds tx ${required}`).toBeGreaterThanOrEqual(
        required,
      );
    };

    try {
      while (runtimeKills < RUNTIME_KILLS || appKills < APP_KILLS) {
        const killRuntime = appKills >= APP_KILLS || (runtimeKills < RUNTIME_KILLS && r() < 0.5);
        // Until the runtime has opened the db once, it has nothing to lose.
        if (!runtime.readyAt) await waitUntil(() => runtime.readyAt !== undefined);
        await sleep(80 + r() * 420);
        if (killRuntime) {
          const gen = generationOf(dir);
          const readyAt = runtime.readyAt;
          const killedAt = Date.now();
          await kill(runtime);
          runtimeKills++;
          await verify(killedAt, readyAt);
          runtime = startRuntime();
          await waitUntil(() => runtime.readyAt !== undefined);
          restarts++;
          if (generationOf(dir) === gen) continued++;
        } else {
          await kill(app);
          const killedAt = Date.now();
          appKills++;
          await sleep(BOUND_MS);
          await verify(Date.now(), runtime.readyAt);
          expect(killedAt).toBeLessThan(Date.now());
          app = startApp();
        }
      }
    } finally {
      await kill(app);
      await kill(runtime);
    }
    console.log(
      `crash: ${runtimeKills} runtime kills, ${appKills} app kills, ${restores} restores verified, ` +
        `last tx ${required}, generation continued on ${continued}/${restarts} runtime restarts`,
    );
    const reasons = readFileSync(join(dir, 'runtime.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"new generation"'))
      .map((l) => (JSON.parse(l) as { reason: string }).reason);
    console.log(`crash: new generations: ${reasons.join('; ')}`);
    // A kill in the middle of a WAL restart may legitimately start a new generation; most don't.
    expect(continued).toBeGreaterThanOrEqual(Math.ceil(restarts * 0.75));
    rmSync(dir, { recursive: true, force: true });
  });
});

async function waitUntil(cond: () => boolean, ms = 180_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting for the runtime to start');
    await sleep(20);
  }
}
