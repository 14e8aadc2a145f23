/**
 * replicate -> restore through each cloud backend on its real server (Ceph RGW, Azurite,
 * OpenSSH), configured from litestream.yml text like docs/storage.md shows: latest and
 * point-in-time restores, and a ~30 s storage outage in the middle of replication with no
 * committed transaction lost once the storage is back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../runtime/config/index.js';
import type { Config } from '../../../runtime/config/types.js';
import { silentLogger } from '../../../runtime/log.js';
import type { ReplicaClient } from '../../../runtime/replica/client.js';
import { openReplicaClient } from '../../../runtime/replica/index.js';
import { Replication } from '../../../runtime/replicate/index.js';
import { restoreDatabase } from '../../../runtime/restore.js';
import { dumpDb, integrityCheck, lastStep, openApp, runWorkload } from '../../helpers/sqlite.js';
import { type AzuriteServer, startAzurite } from '../../services/azurite.js';
import { startTcpFaultProxy, type TcpFaultProxy } from '../../services/fault-proxy.js';
import { type RgwServer, startRgw } from '../../services/rgw.js';
import { type SshdServer, startSshd } from '../../services/sshd.js';
import { captureLogger } from './helpers.js';

/** Outage length; LS_MIX_OUTAGE_MS shortens it for quick local loops. */
const OUTAGE_MS = Number(process.env.LS_MIX_OUTAGE_MS ?? 30_000);

let rgw: RgwServer;
let azurite: AzuriteServer;
let sshd: SshdServer;
let dir: string;
const proxies: Record<string, TcpFaultProxy> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ls-mix-cloud-roundtrip-'));
  // Start all three together; stop whichever started if one fails.
  const started = await Promise.allSettled([startRgw(), startAzurite(), startSshd()]);
  const [r, a, s] = started;
  if (r.status === 'fulfilled') rgw = r.value;
  if (a.status === 'fulfilled') azurite = a.value;
  if (s.status === 'fulfilled') sshd = s.value;
  const failed = started.find((x) => x.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
  await rgw.createBucket('roundtrip');
  await azurite.createContainer('roundtrip');
  proxies.s3 = await startTcpFaultProxy(rgw.port);
  proxies.abs = await startTcpFaultProxy(azurite.port);
  proxies.sftp = await startTcpFaultProxy(sshd.port);
}, 180_000);

afterAll(async () => {
  for (const p of Object.values(proxies)) await p.stop();
  await Promise.all([rgw?.stop(), azurite?.stop(), sshd?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Backend = 's3' | 'abs' | 'sftp';
let n = 0;

/** litestream.yml for one db replicated to `backend`, credentials through ${ENV}. */
function configFor(backend: Backend, dbPath: string, opts: { viaProxy?: boolean } = {}): Config {
  const prefix = `rt-${n++}`;
  const port = (direct: number) => (opts.viaProxy ? proxies[backend].port : direct);
  const replica = {
    s3: () => `
      - url: s3://roundtrip/${prefix}
        endpoint: http://127.0.0.1:${port(rgw.port)}
        access-key-id: \${S3_KEY_ID}
        secret-access-key: \${S3_SECRET}`,
    abs: () => `
      - url: abs://${azurite.credentials.accountName}@roundtrip/${prefix}
        endpoint: http://127.0.0.1:${port(azurite.port)}/${azurite.credentials.accountName}
        account-key: \${AZURE_KEY}`,
    sftp: () => `
      - url: sftp://${sshd.user}@127.0.0.1:${port(sshd.port)}
        path: ${sshd.root}/${prefix}
        key-path: ${sshd.keyPath}
        host-key: ${sshd.hostKey}`,
  }[backend]();
  const yaml = `
dbs:
  - path: ${dbPath}
    monitor-interval: 50ms
    min-checkpoint-page-count: 20
    max-checkpoint-page-count: 60
    replicas:${replica}
        sync-interval: 100ms
`;
  return parseConfig(yaml, {
    source: `${backend}.yml`,
    env: {
      S3_KEY_ID: rgw.credentials.accessKeyId,
      S3_SECRET: rgw.credentials.secretAccessKey,
      AZURE_KEY: azurite.credentials.accountKey,
    },
  });
}

async function restoreFrom(config: Config, out: string, target: { timestamp?: Date } = {}) {
  const cfg = config.dbs[0].replicas[0];
  const client: ReplicaClient = await openReplicaClient(cfg, {});
  try {
    return await restoreDatabase({ replicas: [{ name: cfg.name, client }], outputPath: out, ...target });
  } finally {
    await client.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(['s3', 'abs', 'sftp'] as const)('replicate -> restore through %s', (backend) => {
  it('restores the latest state and earlier points in time', async () => {
    const dbPath = join(dir, `${backend}-pit.db`);
    const app = openApp(dbPath, { pageSize: 4096, autocheckpoint: 0 });
    const config = configFor(backend, dbPath);
    const rep = await Replication.start(config, { logger: silentLogger() });
    const points: { at: Date; step: number; dump: string }[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        runWorkload(app, { steps: 25, seed: 40 + round, blobBytes: 30_000 });
        await rep.syncAll();
        // Object times have 1 s resolution on Azure and SFTP: keep points > 1 s apart.
        await sleep(1_100);
        points.push({ at: new Date(), step: lastStep(dbPath), dump: dumpDb(dbPath) });
        await sleep(1_100);
      }
    } finally {
      await rep.close();
      app.close();
    }
    const latest = join(dir, `${backend}-latest.db`);
    const result = await restoreFrom(config, latest);
    expect(result.replica).toBe(backend);
    expect(integrityCheck(latest)).toBe('ok');
    expect(dumpDb(latest)).toBe(dumpDb(dbPath));

    for (const [i, p] of points.slice(0, -1).entries()) {
      const out = join(dir, `${backend}-pit-${i}.db`);
      await restoreFrom(config, out, { timestamp: p.at });
      expect(integrityCheck(out)).toBe('ok');
      expect(lastStep(out)).toBe(p.step);
      expect(dumpDb(out)).toBe(p.dump);
    }
  });
});

describe('storage outage mid-replication', () => {
  it(
    `loses nothing when every backend is unreachable for ${OUTAGE_MS / 1000}s and comes back`,
    async () => {
      const backends: Backend[] = ['s3', 'abs', 'sftp'];
      const { logger, lines } = captureLogger();
      const runs: {
        backend: Backend;
        dbPath: string;
        config: Config;
        app: Database.Database;
        rep: Replication;
      }[] = [];
      for (const backend of backends) {
        const dbPath = join(dir, `${backend}-outage.db`);
        const app = openApp(dbPath, { pageSize: 4096, autocheckpoint: 0 });
        const config = configFor(backend, dbPath, { viaProxy: true });
        runs.push({
          backend,
          dbPath,
          config,
          app,
          rep: await Replication.start(config, { logger }),
        });
      }
      try {
        for (const r of runs) {
          runWorkload(r.app, { steps: 20, seed: 7, blobBytes: 20_000 });
          await r.rep.syncAll();
        }
        for (const p of Object.values(proxies)) await p.down();
        // Keep committing while the storage is gone: the replicas' timers keep failing and retrying.
        const until = Date.now() + OUTAGE_MS;
        let seed = 100;
        while (Date.now() < until) {
          for (const r of runs) runWorkload(r.app, { steps: 3, seed: seed++, blobBytes: 20_000 });
          await sleep(1_000);
        }
        for (const p of Object.values(proxies)) await p.up();
        for (const r of runs) runWorkload(r.app, { steps: 5, seed: seed++, blobBytes: 20_000 });
        // Recovery: a sync in flight may still be backing off; a few rounds settle it.
        for (const r of runs) await syncUntilOk(r.rep);
      } finally {
        for (const r of runs) {
          await r.rep.close();
          r.app.close();
        }
      }
      for (const r of runs) {
        // The outage really hit this replica: its syncs failed (and were retried) meanwhile.
        expect(
          lines.some((l) => l.replica === r.backend && /sync failed|retrying/.test(String(l.msg))),
          r.backend,
        ).toBe(true);
        const out = join(dir, `${r.backend}-after-outage.db`);
        await restoreFrom(r.config, out);
        expect(integrityCheck(out), r.backend).toBe('ok');
        expect(lastStep(out), r.backend).toBe(lastStep(r.dbPath));
        expect(dumpDb(out), r.backend).toBe(dumpDb(r.dbPath));
      }
    },
    OUTAGE_MS + 150_000,
  );
});

async function syncUntilOk(rep: Replication): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 10; i++) {
    try {
      await rep.syncAll();
      return;
    } catch (err) {
      last = err;
      await sleep(1_000);
    }
  }
  throw last;
}
