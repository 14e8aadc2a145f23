/**
 * The HTTP server of `ls-mix replicate` (the built CLI) under hostile input: malformed requests
 * never crash it, thousands of idle sockets are bounded, warnings are rate-limited, /healthz
 * tells a caller without the token nothing, an empty token is refused at start, and a stalled
 * live replica cannot pin the primary's WAL without bound.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, waitFor } from '../../services/process.js';
import { CLI, type Node, primaryNode } from '../live/harness.js';

let dir: string | undefined;
const extraDirs: string[] = [];
const nodes: Node[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const n of nodes.splice(0)) await n.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  for (const d of extraDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  dir = undefined;
});

/** Send raw bytes, collect the reply until the server closes or `ms` of silence. */
function raw(port: number, bytes: string, ms = 1_500): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    let timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    }
    s.on('data', (d) => {
      out += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, 300);
    });
    s.on('error', done);
    s.on('close', done);
    s.write(bytes);
  });
}

function status(reply: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function logLines(n: Node, re: RegExp): number {
  return n
    .log()
    .split('\n')
    .filter((l) => re.test(l)).length;
}

async function startPrimary(opts: { token?: string; dbExtra?: string; top?: string } = {}): Promise<Node> {
  dir = mkdtempSync(join(tmpdir(), 'hardening-'));
  const db = join(dir, 'primary.db');
  const w = new Database(db);
  w.pragma('journal_mode = wal');
  w.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  w.close();
  const p = await primaryNode(dir, {
    token: opts.token,
    dbExtra: `    replicas:\n      - url: file://${join(dir, 'backup')}\n        sync-interval: 100ms${opts.dbExtra ?? ''}`,
  });
  if (opts.top) writeFileSync(p.configFile, `${opts.top}\n${readFileSyncUtf8(p.configFile)}`);
  nodes.push(p);
  p.start();
  await p.waitHealthy();
  return p;
}

function readFileSyncUtf8(p: string): string {
  return readFileSync(p, 'utf8');
}

describe('replicate http server, hostile input', { timeout: 180_000 }, () => {
  it('answers malformed requests with 4xx and keeps running (no crash, no final-sync loss)', async () => {
    const p = await startPrimary({ token: 'secret-token' });
    const pid = p.child!.pid!;
    const bad: [string, number[]][] = [
      // The request that used to throw "Invalid URL" before the token was even checked.
      ['GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n', [400]],
      ['GET //evil HTTP/1.1\r\nHost: x\r\n\r\n', [400]],
      ['GET * HTTP/1.1\r\nHost: x\r\n\r\n', [400]],
      ['GET /stream?db=%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n', [401]],
      [
        'GET /stream?db=%E0%A4%A&v=x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token\r\n\r\n',
        [400],
      ],
      ['GET /stream?db=/nope%00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token\r\n\r\n', [400]],
      ['GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n\r\n', [401]],
      ['GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n', [401]],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 << 10)}\r\n\r\n`, [431]],
      ['BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n', [405, 400]],
      ['\x00\x01\x02 garbage\r\n\r\n', [400]],
    ];
    for (const [req, expected] of bad) {
      const reply = await raw(p.port, req);
      expect(expected, `${JSON.stringify(req.slice(0, 60))} -> ${reply.slice(0, 80)}`).toContain(
        status(reply),
      );
      expect(alive(pid)).toBe(true);
    }
    expect(await p.healthz()).toBe(200);
    expect(p.log()).not.toMatch(/TypeError|uncaught|Invalid URL/i);
  });

  it('bounds 10k idle sockets: fds stay under the cap, replication goes on, then it answers again', async () => {
    // Default limits (max-connections 256).
    const p = await startPrimary();
    const pid = p.child!.pid!;
    const before = openFds(pid);
    let opened = 0;
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 500 }, () => {
          return new Promise<void>((resolve) => {
            const s = connect(p.port, '127.0.0.1', () => {
              opened++;
              resolve();
            });
            s.on('error', () => resolve());
            s.on('close', () => resolve());
            sockets.push(s);
          });
        }),
      );
    }
    expect(opened).toBeGreaterThan(9_000);
    // Whatever the kernel accepted, the process holds at most max-connections of them.
    await waitFor('fds bounded', () => openFds(pid) <= before + 256 + 20, 20_000);
    console.log(`10k idle sockets: ${opened} connected; server fds ${before} before, ${openFds(pid)} during`);
    expect(openFds(pid)).toBeLessThanOrEqual(before + 276);
    // Monitoring and shipping go on: a new row reaches the file replica.
    const w = new Database(p.db);
    w.exec("INSERT INTO t(v) VALUES ('under siege')");
    w.close();
    const wal = join(dir!, 'backup');
    const walBytes = () =>
      readdirSync(join(wal, 'generations'))
        .flatMap((g) =>
          readdirSync(join(wal, 'generations', g, 'wal')).map((f) => join(wal, 'generations', g, 'wal', f)),
        )
        .reduce((n, f) => n + statSync(f).size, 0);
    const shipped = walBytes();
    const w2 = new Database(p.db);
    w2.exec(`INSERT INTO t(v) VALUES ('${'x'.repeat(4000)}')`);
    w2.close();
    await waitFor(
      'a write shipped while 10k sockets are open',
      () => walBytes() > shipped,
      20_000,
      () => p.log().slice(-2000),
    );
    expect(alive(pid)).toBe(true);
    expect(p.log()).not.toMatch(/EMFILE/);
    // The connection-limit warning is logged, but not once per dropped socket.
    expect(logLines(p, /connection limit reached/)).toBeGreaterThanOrEqual(1);
    expect(logLines(p, /connection limit reached/)).toBeLessThan(10);
    for (const s of sockets.splice(0)) s.destroy();
    await waitFor('/healthz answers again', async () => (await p.healthz()) === 200, 20_000);
  });

  it('rate-limits its warnings and requests; /healthz details only with the token', async () => {
    // Connection and rate limits out of the way: this is about the warnings alone.
    const p = await startPrimary({
      token: 'secret-token',
      top: 'http:\n  requests-per-second: 1000\n  max-connections: 1000',
    });
    const replies = await Promise.all(
      Array.from({ length: 400 }, () =>
        raw(p.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 10_000),
      ),
    );
    expect(replies.every((r) => status(r) === 401)).toBe(true);
    // 400 refusals: at most one warning per 10 s, each counting what it suppressed.
    expect(logLines(p, /request refused/)).toBeGreaterThanOrEqual(1);
    expect(logLines(p, /request refused/)).toBeLessThanOrEqual(2);

    const limited = await startSecondLimitedPrimary();
    const statuses = await Promise.all(
      Array.from({ length: 30 }, () =>
        raw(limited.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      ),
    );
    expect(statuses.map(status)).toContain(429);
  });

  it('/healthz: "starting" without the token, what it waits for with it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hardening-'));
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'a file where the replica folder goes');
    const p = await primaryNode(dir, {
      token: 'secret-token',
      dbExtra: `    replicas:\n      - name: offsite-bucket\n        url: file://${blocked}/db\n        sync-interval: 100ms`,
    });
    nodes.push(p);
    p.start();
    await waitFor(
      '/healthz 503',
      async () => (await p.healthz()) === 503,
      30_000,
      () => p.log(),
    );
    const anon = await fetch(p.url('/healthz'));
    const anonBody = await anon.text();
    expect(anon.status).toBe(503);
    expect(anonBody.trim()).toBe('starting');
    expect(anonBody).not.toContain(p.db);
    expect(anonBody).not.toContain('offsite-bucket');
    const withToken = await fetch(p.url('/healthz'), { headers: { authorization: 'Bearer secret-token' } });
    const body = await withToken.text();
    expect(body).toContain(p.db);
    expect(body).toContain('offsite-bucket');
  });

  it.each([
    ['empty', ''],
    ['whitespace', '   '],
  ])('refuses to start with an %s auth-token (never "no auth")', (_name, value) => {
    dir = mkdtempSync(join(tmpdir(), 'hardening-'));
    const config = join(dir, 'litestream.yml');
    writeFileSync(
      config,
      `addr: "127.0.0.1:0"\nauth-token: "\${LS_MIX_TOKEN}"\ndbs:\n  - path: ${join(dir, 'app.db')}\n    replicas:\n      - url: file://${join(dir, 'r')}\n`,
    );
    const r = spawnSync(process.execPath, [CLI, 'replicate', '-config', config], {
      env: { ...process.env, LS_MIX_TOKEN: value },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `Error: ${config}:2: auth-token: is empty: an empty token would let anyone read the databases`,
    );
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/http server listening|auth: "none"/);
  });

  it('drops a stalled live replica to a fresh snapshot past live-max-pinned-bytes', async () => {
    const p = await startPrimary({
      token: 'secret-token',
      top: 'http:\n  live-max-pinned-bytes: 2000000',
    });
    // A live replica that asks for the stream and then never reads a byte.
    const stalled = connect(p.port, '127.0.0.1');
    sockets.push(stalled);
    stalled.pause();
    stalled.write(
      `GET /stream?v=1&db=${encodeURIComponent(p.db)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token\r\n\r\n`,
    );
    await waitFor(
      'stream connected',
      () => /live replica connected/.test(p.log()),
      10_000,
      () => p.log(),
    );
    // ~40 MB of writes; with max-checkpoint-page-count 800 the WAL restarts every ~3 MB.
    const w = new Database(p.db);
    const ins = w.prepare('INSERT INTO t(v) VALUES (?)');
    const shadow = join(dir!, '.primary.db-litestream');
    const shadowBytes = () => {
      let n = 0;
      const gens = join(shadow, 'generations');
      for (const g of readdirSync(gens)) {
        let files: string[] = [];
        try {
          files = readdirSync(join(gens, g, 'wal'));
        } catch {} // a generation being created or removed (asserted against below)
        for (const f of files) {
          try {
            n += statSync(join(gens, g, 'wal', f)).size;
          } catch {}
        }
      }
      return n;
    };
    let maxShadow = 0;
    for (let i = 0; i < 200; i++) {
      w.transaction(() => {
        for (let j = 0; j < 50; j++) ins.run('y'.repeat(4000));
      })();
      maxShadow = Math.max(maxShadow, shadowBytes());
      await new Promise((r) => setTimeout(r, 20));
    }
    w.close();
    await waitFor(
      'stalled replica dropped',
      () => /too far behind/.test(p.log()),
      30_000,
      () => p.log().slice(-3000),
    );
    // The checkpoints of this run never lose track of where the WAL restarts.
    expect(p.log()).not.toMatch(/new generation: the backup does not continue/);
    // Pinned WAL stays near the limit (plus the current index and one checkpoint's worth).
    console.log(`stalled live replica: peak shadow WAL ${maxShadow} bytes (limit 2000000 + current index)`);
    expect(maxShadow).toBeLessThan(30_000_000);
    await waitFor('shadow WAL pruned after the drop', () => shadowBytes() < 10_000_000, 30_000);
    expect(alive(p.child!.pid!)).toBe(true);
  });
});

async function startSecondLimitedPrimary(): Promise<Node> {
  const d = mkdtempSync(join(tmpdir(), 'hardening-rate-'));
  extraDirs.push(d);
  const p = await primaryNode(d, {});
  writeFileSync(p.configFile, `http:\n  requests-per-second: 5\n${readFileSyncUtf8(p.configFile)}`);
  nodes.push(p);
  p.start();
  await p.waitHealthy();
  return p;
}
