/**
 * /healthz means replication: the built CLI's `ls-mix replicate` (as the generated sidecar runs
 * it) answers 200 while its SFTP replica takes the app's writes, 503 once storage has been
 * unreachable for longer than max(3 x sync-interval, 10 s), and 200 again after storage is back.
 * A real sshd on 127.0.0.1 behind a TCP proxy that goes down (connections refused, open sessions
 * reset, as when the server stops) and comes back on the same port.
 * Needs root and openssh-server (see test/services/sshd.ts); build first (npm run build).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpFaultProxy, type TcpFaultProxy } from '../../services/fault-proxy.js';
import { freePort, waitFor } from '../../services/process.js';
import { type SshdServer, startSshd } from '../../services/sshd.js';
import { Node } from '../live/harness.js';

let sshd: SshdServer;
let proxy: TcpFaultProxy;
let dir: string;
let node: Node | undefined;

beforeAll(async () => {
  sshd = await startSshd();
  proxy = await startTcpFaultProxy(sshd.port);
  dir = mkdtempSync(join(tmpdir(), 'healthz-outage-'));
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await proxy?.stop();
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('/healthz during a storage outage', { timeout: 180_000 }, () => {
  it('answers 200, then 503 while the replica is unreachable, then 200 again; writes go on', async () => {
    const dbPath = join(dir, 'app.db');
    const app = new Database(dbPath);
    app.pragma('journal_mode = WAL');
    app.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = app.prepare('INSERT INTO t (v) VALUES (?)');
    let rows = 0;
    // The app keeps writing the whole time, outage included.
    const writer = setInterval(() => {
      insert.run(`row ${++rows}`);
    }, 100);

    const port = await freePort();
    const config = join(dir, 'litestream.yml');
    writeFileSync(
      config,
      [
        `addr: "127.0.0.1:${port}"`,
        'dbs:',
        `  - path: ${dbPath}`,
        '    monitor-interval: 100ms',
        '    replicas:',
        `      - url: sftp://${sshd.user}@127.0.0.1:${proxy.port}`,
        `        path: ${sshd.root}/healthz`,
        `        key-path: ${sshd.keyPath}`,
        `        host-key: ${sshd.hostKey}`,
        '        sync-interval: 1s',
      ].join('\n'),
    );
    node = new Node('sidecar', dir, dbPath, config, port);
    try {
      node.start();
      await node.waitHealthy(60_000);

      await proxy.down();
      const downAt = rows;
      await waitFor(
        '/healthz 503 during the outage',
        async () => (await node!.healthz()) === 503,
        60_000,
        () => node!.log().slice(-3000),
      );
      expect(node.log()).toMatch(/replica sync failed/);
      expect(rows).toBeGreaterThan(downAt);

      await proxy.up();
      const upAt = rows;
      await node.waitHealthy(60_000);
      expect(node.log()).toMatch(/replica reachable again/);
      expect(rows).toBeGreaterThan(upAt);
    } finally {
      clearInterval(writer);
      app.close();
    }
  });

  it('answers 200 while the db does not exist yet (the app creates it only once the sidecar is healthy)', async () => {
    const dbPath = join(dir, 'later.db');
    const port = await freePort();
    const config = join(dir, 'later.yml');
    writeFileSync(
      config,
      [
        `addr: "127.0.0.1:${port}"`,
        'dbs:',
        `  - path: ${dbPath}`,
        '    monitor-interval: 100ms',
        '    replicas:',
        `      - url: sftp://${sshd.user}@127.0.0.1:${proxy.port}`,
        `        path: ${sshd.root}/later`,
        `        key-path: ${sshd.keyPath}`,
        `        host-key: ${sshd.hostKey}`,
        '        sync-interval: 1s',
      ].join('\n'),
    );
    const later = new Node('later', dir, dbPath, config, port);
    try {
      later.start();
      await later.waitHealthy(60_000);
      expect(later.log()).toMatch(/does not exist yet: waiting/);
      // Then the app creates it: the first sync of it is waited for as usual, and it comes.
      const app = new Database(dbPath);
      app.pragma('journal_mode = WAL');
      app.exec('CREATE TABLE t (v TEXT); INSERT INTO t VALUES (1)');
      app.close();
      await waitFor(
        'snapshot of the new db',
        async () => /snapshot written/.test(later.log()),
        60_000,
        () => later.log().slice(-3000),
      );
      await later.waitHealthy(60_000);
    } finally {
      await later.stop();
    }
  });
});
