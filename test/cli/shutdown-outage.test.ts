/**
 * Issue 13, signals: one SIGTERM stops `replicate` while its storage is unreachable — the final
 * sync is bounded (-shutdown-sync-timeout), the exit is non-zero and names the replica left
 * behind. Each storage runs for real on 127.0.0.1 behind a TCP fault proxy that goes down.
 * Built CLI as a subprocess (`npm run build` first).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AzuriteServer, startAzurite } from '../services/azurite.js';
import { startTcpFaultProxy, type TcpFaultProxy } from '../services/fault-proxy.js';
import { type RgwServer, startRgw } from '../services/rgw.js';
import { type SshdServer, startSshd } from '../services/sshd.js';
import { assertBuilt, killAll, Replicator } from './harness.js';

const dirs: string[] = [];
const stops: Array<() => Promise<void>> = [];

beforeAll(() => assertBuilt());

afterAll(async () => {
  await killAll();
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The replica's YAML lines (indented for `replicas:`), pointing at `port` (the proxy). */
type ReplicaYaml = (port: number, path: string) => string;

async function outageCase(name: string, targetPort: number, replicaYaml: ReplicaYaml): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `ls-mix-outage-${name}-`));
  dirs.push(dir);
  const proxy: TcpFaultProxy = await startTcpFaultProxy(targetPort);
  stops.push(() => proxy.stop());
  const db = join(dir, 'app.db');
  const app = new Database(db);
  app.pragma('journal_mode = wal');
  app.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
  app.prepare("INSERT INTO notes (body) VALUES ('before the outage')").run();
  const cfg = join(dir, 'litestream.yml');
  writeFileSync(
    cfg,
    `logging:
  type: json
dbs:
  - path: ${db}
    monitor-interval: 100ms
    replicas:
${replicaYaml(proxy.port, `outage-${name}-${Date.now()}`)}        sync-interval: 200ms
`,
  );
  const rep = new Replicator(['-config', cfg, '-shutdown-sync-timeout', '2s']);
  await rep.waitFor(/snapshot written/, { ms: 60_000 });
  await proxy.down();
  app.prepare("INSERT INTO notes (body) VALUES ('during the outage')").run();
  app.close();
  await rep.waitFor(/replica sync failed/, { ms: 60_000 });

  // One SIGTERM: a bounded final sync, then exit 1 naming the replica (well inside 30 s here;
  // a runtime that waits for storage hangs until compose's SIGKILL).
  const r = await rep.stop(30_000);
  expect(r.code).toBe(1);
  const failed = rep.lines.find((l) => /final sync did not finish within 2s/.test(l.msg));
  expect(failed?.msg).toContain(`replica "${name}" of ${db}`);
  expect(rep.lines.some((l) => /final sync done/.test(l.msg))).toBe(false);
}

describe('SIGTERM during a storage outage', () => {
  it('S3 (Ceph RGW)', async () => {
    const rgw: RgwServer = await startRgw();
    stops.push(() => rgw.stop());
    await rgw.createBucket('outage');
    await outageCase(
      's3',
      rgw.port,
      (port, path) => `      - type: s3
        bucket: outage
        path: ${path}
        endpoint: http://127.0.0.1:${port}
        region: ${rgw.region}
        access-key-id: ${rgw.credentials.accessKeyId}
        secret-access-key: ${rgw.credentials.secretAccessKey}
`,
    );
  }, 240_000);

  it('Azure Blob (Azurite)', async () => {
    const azurite: AzuriteServer = await startAzurite();
    stops.push(() => azurite.stop());
    await azurite.createContainer('outage');
    await outageCase(
      'abs',
      azurite.port,
      (port, path) => `      - type: abs
        bucket: outage
        path: ${path}
        account-name: ${azurite.credentials.accountName}
        account-key: ${azurite.credentials.accountKey}
        endpoint: http://127.0.0.1:${port}/${azurite.credentials.accountName}
`,
    );
  }, 240_000);

  it('SFTP (OpenSSH)', async () => {
    const sshd: SshdServer = await startSshd();
    stops.push(() => sshd.stop());
    await outageCase(
      'sftp',
      sshd.port,
      (port, path) => `      - type: sftp
        host: 127.0.0.1:${port}
        user: ${sshd.user}
        key-path: ${sshd.keyPath}
        host-key: ${sshd.hostKey}
        path: ${sshd.root}/${path}
`,
    );
  }, 240_000);
});
