/**
 * The replicate process's HTTP server: /healthz readiness, /metrics (strictly parsed
 * Prometheus text), the token, bind addresses; and a live replica that refuses to start after a
 * local write unless told to re-sync. Real processes on 127.0.0.1 (build first:
 * npx tsc -p tsconfig.build.json).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../runtime/log.js';
import { Metrics } from '../../../runtime/metrics.js';
import { LiveServer, parseAddr } from '../../../runtime/server/http.js';
import { dumpDb } from '../../helpers/sqlite.js';
import { killPid, waitFor } from '../../services/process.js';
import { lastSeq, type Node, primaryNode, replicaNode, startBank } from '../live/harness.js';
import { parsePrometheusText, sampleValue } from './prom-text.js';

let dir: string | undefined;
const nodes: Node[] = [];
const others: ChildProcess[] = [];

afterEach(async () => {
  for (const c of others.splice(0)) await killPid(c.pid, 2_000);
  for (const n of nodes.splice(0)) await n.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.text() };
}

describe('addr', () => {
  it('parses Go listen addresses', () => {
    expect(parseAddr(':9090')).toEqual({ host: undefined, port: 9090 });
    expect(parseAddr('127.0.0.1:9090')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseAddr('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
    expect(parseAddr('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    for (const bad of ['9090', 'host:', ':99999', 'a:b:1']) {
      expect(() => parseAddr(bad)).toThrow(/expected HOST:PORT or :PORT/);
    }
  });

  it('binds exactly the host it is given', async () => {
    const server = await LiveServer.listen({
      addr: '127.0.0.1:0',
      logger: silentLogger(),
      metrics: new Metrics(),
      dbs: () => [],
      readiness: () => ({ ready: true, waiting: [] }),
    });
    try {
      const a = (server as unknown as { server: import('node:http').Server }).server.address();
      expect(a).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
      expect((await get(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
      expect((await get(`http://127.0.0.1:${server.port}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('replicate http server', { timeout: 120_000 }, () => {
  it('/healthz waits for the first sync and the first catch-up; tokens are checked; /metrics parses', async () => {
    dir = mkdtempSync(join(tmpdir(), 'server-'));
    // The primary's file replica cannot be written at first: a file stands where its folder goes.
    const blocked = join(dir, 'backup');
    writeFileSync(blocked, 'not a folder');
    // replicate never creates a db (it waits for the app to): the app's db is there already.
    const app = new Database(join(dir, 'primary.db'));
    app.pragma('journal_mode = WAL');
    app.exec('CREATE TABLE IF NOT EXISTS boot (x)');
    app.close();
    const primary = await primaryNode(dir, {
      token: 'right-token',
      dbExtra: `    replicas:\n      - url: file://${blocked}/db\n        sync-interval: 100ms`,
    });
    const replica = await replicaNode(dir, 'replica', primary, { token: 'wrong-token' });
    nodes.push(primary, replica);

    // The replica starts before its primary: alive but not ready.
    replica.start();
    await waitFor(
      'replica server',
      async () => (await replica.healthz()) !== 0,
      20_000,
      () => replica.log(),
    );
    const early = await get(replica.url('/healthz'));
    expect(early.status).toBe(503);
    expect(early.body).toMatch(/waiting for live replica .*replica\.db to catch up/);

    primary.start();
    await waitFor(
      'primary server',
      async () => (await primary.healthz()) !== 0,
      20_000,
      () => primary.log(),
    );
    await waitFor(
      'a failed first sync',
      () => /replica sync failed/.test(primary.log()),
      20_000,
      () => primary.log(),
    );
    const notYet = await get(primary.url('/healthz'), 'right-token');
    expect(notYet.status).toBe(503);
    expect(notYet.body).toMatch(/first sync of .*primary\.db to file/);
    // Without the token: ready or not, and nothing else.
    expect(await get(primary.url('/healthz'))).toEqual({ status: 503, body: 'starting\n' });

    // Tokens: none and a wrong one are refused on /metrics and /stream; /healthz is open.
    expect((await get(primary.url('/metrics'))).status).toBe(401);
    expect((await get(primary.url('/metrics'), 'wrong-token')).status).toBe(401);
    expect(
      (await get(primary.url(`/stream?db=${encodeURIComponent(primary.db)}`), 'wrong-token')).status,
    ).toBe(401);
    await waitFor(
      'the replica told of the refused token',
      () => /refused the token \(401\)/.test(replica.log()),
      20_000,
    );
    expect(await replica.healthz()).toBe(503);
    expect(replica.log()).not.toMatch(/wrong-token/);

    // The folder becomes writable: the first sync succeeds, /healthz turns 200.
    rmSync(blocked);
    mkdirSync(blocked, { recursive: true }); // the retrying sync may create it first
    await primary.waitHealthy();

    // The replica with the right token catches up and turns ready.
    await replica.stop();
    const good = await replicaNode(dir, 'replica', primary, { token: 'right-token' });
    nodes.push(good);
    good.start();
    await good.waitHealthy();

    const bank = startBank(dir, primary.db, ['--count', '200', '--interval', '1']);
    others.push(bank);
    await waitFor('bank done', () => bank.exitCode !== null, 30_000);
    await waitFor(
      'replica caught up',
      () => lastSeq(good.db) === 200,
      30_000,
      () => good.log(),
    );

    const pm = await get(primary.url('/metrics'), 'right-token');
    expect(pm.status).toBe(200);
    const p = parsePrometheusText(pm.body);
    expect(sampleValue(p, 'litestream_db_size', { db: primary.db })).toBeGreaterThan(0);
    expect(sampleValue(p, 'litestream_wal_size', { db: primary.db })).toBeGreaterThan(0);
    expect(sampleValue(p, 'litestream_sync_count', { db: primary.db })).toBeGreaterThan(0);
    expect(sampleValue(p, 'litestream_sync_seconds', { db: primary.db })).toBeGreaterThan(0);
    expect(
      sampleValue(p, 'litestream_replica_operation_total', { replica_type: 'file', operation: 'PUT' }),
    ).toBeGreaterThan(0);
    expect(
      sampleValue(p, 'litestream_replica_operation_bytes', { replica_type: 'file', operation: 'PUT' }),
    ).toBeGreaterThan(0);
    // The offset restarts at 0 with each WAL index: only its presence is certain.
    expect(
      sampleValue(p, 'litestream_replica_wal_offset', { db: primary.db, name: 'file' }),
    ).toBeGreaterThanOrEqual(0);
    expect(sampleValue(p, 'ls_mix_live_streams', { db: primary.db })).toBe(1);
    expect(sampleValue(p, 'ls_mix_live_stream_bytes_total', { db: primary.db })).toBeGreaterThan(0);
    expect(p.get('litestream_checkpoint_count')?.type).toBe('counter');

    const rm = await get(good.url('/metrics'));
    const r = parsePrometheusText(rm.body);
    expect(sampleValue(r, 'ls_mix_live_replica_connected', { db: good.db })).toBe(1);
    expect(sampleValue(r, 'ls_mix_live_replica_lag_seconds', { db: good.db })).toBeGreaterThanOrEqual(0);
    expect(sampleValue(r, 'ls_mix_live_replica_batches_total', { db: good.db })).toBeGreaterThan(0);
    expect(sampleValue(r, 'ls_mix_live_replica_snapshots_total', { db: good.db })).toBe(1);
    expect(sampleValue(r, 'litestream_db_size', { db: good.db })).toBeGreaterThan(0);
  });

  it('a replica written locally refuses to start; --resync copies the primary again; a new generation re-snapshots', async () => {
    dir = mkdtempSync(join(tmpdir(), 'server-'));
    const primary = await primaryNode(dir);
    const replica = await replicaNode(dir, 'replica', primary);
    nodes.push(primary, replica);
    const bank = startBank(dir, primary.db, ['--count', '150', '--interval', '0']);
    others.push(bank);
    await waitFor('bank done', () => bank.exitCode !== null, 30_000);
    primary.start();
    replica.start();
    await replica.waitHealthy();
    await replica.stop();

    const local = new Database(replica.db);
    local.exec('UPDATE acct SET bal = bal + 1 WHERE id = 1');
    local.close();

    replica.start();
    expect(await replica.exited()).toBe(1);
    expect(replica.log()).toMatch(/this live replica does not match the primary: its content changed/);
    expect(replica.log()).toMatch(/resync: true/);

    replica.start(['--resync']);
    await replica.waitHealthy();
    expect(replica.log()).toMatch(/re-syncing from a snapshot/);
    expect(dumpDb(replica.db)).toBe(dumpDb(primary.db));

    // The primary loses its local state: a new generation. The replica reconnects with a position
    // of the old one, gets a fresh snapshot and keeps following.
    const snapshots = () => replica.log().match(/snapshot applied/g)?.length ?? 0;
    const before = snapshots();
    await primary.stop();
    rmSync(join(dir, '.primary.db-litestream'), { recursive: true, force: true });
    primary.start();
    await primary.waitHealthy();
    await waitFor(
      'a snapshot of the new generation',
      () => snapshots() > before,
      30_000,
      () => replica.log(),
    );
    const more = new Database(primary.db);
    more.exec('UPDATE acct SET bal = bal - 5 WHERE id = 2; UPDATE acct SET bal = bal + 5 WHERE id = 3');
    more.close();
    await waitFor(
      'the write after the new generation',
      () => dumpDb(replica.db) === dumpDb(primary.db),
      30_000,
    );
  });
});
