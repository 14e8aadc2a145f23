/**
 * Azure Blob client against Azurite with faults injected: 503 ServerBusy, connection resets,
 * an outage (connections refused) that ends mid-call, wrong key, missing container, SAS and
 * connection-string auth.
 */
import { randomBytes } from 'node:crypto';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaConfig } from '../../../runtime/config/types.js';
import { createAbsReplicaClient } from '../../../runtime/replica/abs.js';
import { RANGED_MIN_SIZE } from '../../../runtime/replica/object-store.js';
import { ReplicaError } from '../../../runtime/replica/retry.js';
import { type AzuriteServer, startAzurite } from '../../services/azurite.js';
import {
  type HttpFaultProxy,
  startHttpFaultProxy,
  startTcpFaultProxy,
  type TcpFaultProxy,
} from '../../services/fault-proxy.js';
import { body, readAll } from '../replica-contract/contract.js';
import {
  captureLogger,
  dropPooledConnections,
  errorOf,
  PATIENT_RETRY,
  QUICK_RETRY,
  replicaCfg,
} from './helpers.js';

const GEN = '00112233aabbccdd';
let azurite: AzuriteServer;
let http: HttpFaultProxy;
let tcp: TcpFaultProxy;
let n = 0;

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.createContainer('faults');
  http = await startHttpFaultProxy(azurite.port);
  tcp = await startTcpFaultProxy(azurite.port);
});
afterAll(async () => {
  await http?.stop();
  await tcp?.stop();
  await azurite?.stop();
});

function cfg(base: string, extra: Partial<ReplicaConfig> = {}): ReplicaConfig {
  return replicaCfg({
    type: 'abs',
    name: 'my-abs',
    path: `faults-${n++}`,
    bucket: 'faults',
    endpoint: `${base}/${azurite.credentials.accountName}`,
    accountName: azurite.credentials.accountName,
    accountKey: azurite.credentials.accountKey,
    ...extra,
  });
}

describe('abs client under faults (Azurite)', () => {
  it('retries 503 ServerBusy with backoff, then succeeds', async () => {
    const { logger, lines } = captureLogger();
    const c = await createAbsReplicaClient(cfg(http.url), { logger, retry: QUICK_RETRY });
    http.failNext(3, 503);
    await c.writeSnapshot(GEN, 1, body('survives 503s'));
    expect(http.stats.injected).toBe(3);
    expect(lines.filter((l) => String(l.msg).includes('retrying'))).toHaveLength(3);
    expect((await readAll(await c.openSnapshot(GEN, 1))).toString()).toBe('survives 503s');
    await c.close();
  });

  it('resumes a download cut off mid-body from the first missing byte', async () => {
    const { logger, lines } = captureLogger();
    const c = await createAbsReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), {
      logger,
      retry: QUICK_RETRY,
    });
    const payload = randomBytes(3_000_000);
    await c.writeSnapshot(GEN, 5, body(payload));
    tcp.cutResponseAfter(1_000_000);
    const got = await readAll(await c.openSnapshot(GEN, 5));
    expect(got.length).toBe(payload.length);
    expect(got.equals(payload)).toBe(true);
    const resumed = lines.filter((l) => /resuming/.test(String(l.msg)));
    expect(resumed).toHaveLength(1);
    expect(Number(resumed[0].received)).toBeGreaterThan(0);
    await c.close();
  });

  it('writes a WAL segment or a snapshot with one PUT each, never a LIST', async () => {
    const c = await createAbsReplicaClient(cfg(http.url), {});
    const from = http.log.length;
    await c.writeWalSegment({ generation: GEN, index: 3, offset: 0 }, body('one'));
    await c.writeSnapshot(GEN, 3, body('snap'));
    const sent = http.log.slice(from).map((l) => l.split(' ')[0]);
    expect(sent).toEqual(['PUT', 'PUT']);
    await c.close();
  });

  it('survives connection resets mid-request', async () => {
    const c = await createAbsReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), { retry: QUICK_RETRY });
    const payload = Buffer.alloc(300_000, 3);
    await dropPooledConnections(tcp);
    const before = tcp.stats.resets;
    tcp.resetNext(2);
    await c.writeSnapshot(GEN, 1, body(payload));
    expect(tcp.stats.resets - before).toBeGreaterThanOrEqual(2);
    tcp.resetNext(1);
    expect((await c.snapshots(GEN)).map((s) => s.size)).toEqual([payload.length]);
    expect((await readAll(await c.openSnapshot(GEN, 1))).equals(payload)).toBe(true);
    await c.close();
  });

  it('rides out an outage (connections refused) that ends during the call', async () => {
    const { logger, lines } = captureLogger();
    const c = await createAbsReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), {
      logger,
      retry: PATIENT_RETRY,
    });
    await c.writeWalSegment({ generation: GEN, index: 1, offset: 0 }, body('before'));
    await tcp.down();
    const write = c.writeWalSegment({ generation: GEN, index: 1, offset: 6 }, body('during outage'));
    await new Promise((r) => setTimeout(r, 1_500));
    await tcp.up();
    expect((await write).size).toBe(13);
    expect((await c.walSegments(GEN)).map((s) => s.offset)).toEqual([0, 6]);
    expect(lines.some((l) => /ECONNREFUSED/.test(String(l.reason)))).toBe(true);
    await c.close();
  });

  it('reports a wrong account key once, clearly, without the key', async () => {
    const badKey = Buffer.from('not-the-real-key-not-the-real-key').toString('base64');
    const c = await createAbsReplicaClient(cfg(http.url, { accountKey: badKey }), { retry: QUICK_RETRY });
    const before = http.stats.requests;
    const err = await errorOf(c.generations());
    expect(err).toBeInstanceOf(ReplicaError);
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(
      /^replica "my-abs": LIST generations\/: Authori[sz]ationFailure \(HTTP 403\)$/,
    );
    expect(String(err.hint)).toMatch(/account-key/);
    expect(http.stats.requests - before).toBe(1);
    expect(`${err.message} ${err.hint}`).not.toContain(badKey);
  });

  it('reports a missing container clearly', async () => {
    const c = await createAbsReplicaClient(
      cfg(azurite.endpoint.replace(/\/[^/]+$/, ''), { bucket: 'nope' }),
      {},
    );
    const err = await errorOf(c.writeWalSegment({ generation: GEN, index: 1, offset: 0 }, body('x')));
    expect(err.message).toBe(
      'replica "my-abs": PUT generations/00112233aabbccdd/wal/00000001_00000000.wal.lz4: container "nope" does not exist (HTTP 404)',
    );
  });

  it('takes the key from LITESTREAM_AZURE_ACCOUNT_KEY, and accepts a SAS token or a connection string', async () => {
    const base = azurite.endpoint.replace(/\/[^/]+$/, '');
    process.env.LITESTREAM_AZURE_ACCOUNT_KEY = azurite.credentials.accountKey;
    try {
      const envKey = await createAbsReplicaClient(cfg(base, { accountKey: undefined }), {});
      await envKey.writeSnapshot(GEN, 1, body('env key'));
      expect(await envKey.generations()).toEqual([GEN]);
    } finally {
      delete process.env.LITESTREAM_AZURE_ACCOUNT_KEY;
    }
    const sas = generateAccountSASQueryParameters(
      {
        expiresOn: new Date(Date.now() + 3_600_000),
        permissions: AccountSASPermissions.parse('rwdlc'),
        resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
        services: AccountSASServices.parse('b').toString(),
      },
      new StorageSharedKeyCredential(azurite.credentials.accountName, azurite.credentials.accountKey),
    ).toString();
    const viaSas = await createAbsReplicaClient(cfg(base, { accountKey: undefined, sasToken: sas }), {});
    await viaSas.writeSnapshot(GEN, 2, body('sas'));
    expect((await viaSas.snapshots(GEN)).map((s) => s.index)).toEqual([2]);
    await viaSas.writeWalSegment({ generation: GEN, index: 2, offset: 0 }, body('sas wal'));
    await viaSas.deleteGeneration(GEN); // blob batch (or its fallback) under a SAS
    expect(await viaSas.generations()).toEqual([]);

    const connectionString = `DefaultEndpointsProtocol=http;AccountName=${azurite.credentials.accountName};AccountKey=${azurite.credentials.accountKey};BlobEndpoint=${azurite.endpoint};`;
    const viaConn = await createAbsReplicaClient(
      cfg(base, { accountKey: undefined, accountName: undefined, connectionString }),
      {},
    );
    await viaConn.writeSnapshot(GEN, 3, body('conn'));
    expect((await readAll(await viaConn.openSnapshot(GEN, 3))).toString()).toBe('conn');
  });

  it('reads a large snapshot the connection holds back in parallel ranges, every byte in order', async () => {
    const { logger, lines } = captureLogger();
    const c = await createAbsReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), {
      logger,
      retry: QUICK_RETRY,
    });
    const size = RANGED_MIN_SIZE + (3 << 20);
    const payload = randomBytes(size);
    await c.writeSnapshot(GEN, 7, body(payload));
    const before = tcp.stats.connections;
    tcp.setRate(8_000_000);
    try {
      expect((await readAll(await c.openSnapshot(GEN, 7, { size }))).equals(payload)).toBe(true);
      expect(lines.filter((l) => /parallel ranges/.test(String(l.msg)))).toHaveLength(1);
      expect(tcp.stats.connections - before).toBeGreaterThanOrEqual(4);
    } finally {
      tcp.setRate(0);
      await c.close();
    }
  });
});
