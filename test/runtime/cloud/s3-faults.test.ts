/**
 * S3 client against real Ceph RGW with faults injected: 5xx/throttling, connection resets,
 * latency, the gateway stopped and restarted, wrong credentials, a missing bucket.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaConfig } from '../../../runtime/config/types.js';
import { ReplicaError } from '../../../runtime/replica/retry.js';
import { createS3ReplicaClient } from '../../../runtime/replica/s3.js';
import { S3Error, S3Http } from '../../../runtime/replica/s3-http.js';
import { restoreDatabase } from '../../../runtime/restore.js';
import { overrideClient } from '../../helpers/replica.js';
import {
  type HttpFaultProxy,
  startHttpFaultProxy,
  startTcpFaultProxy,
  startTlsProxy,
  type TcpFaultProxy,
} from '../../services/fault-proxy.js';
import { selfSignedCert } from '../../services/process.js';
import { type RgwServer, startRgw } from '../../services/rgw.js';
import { body, readAll } from '../replica-contract/contract.js';
import {
  blobRows,
  captureLogger,
  dropPooledConnections,
  errorOf,
  PATIENT_RETRY,
  QUICK_RETRY,
  replicaCfg,
  storeBlobSnapshot,
} from './helpers.js';

const GEN = '00112233aabbccdd';
let rgw: RgwServer;
let http: HttpFaultProxy;
let tcp: TcpFaultProxy;
let n = 0;

beforeAll(async () => {
  rgw = await startRgw();
  await rgw.createBucket('faults');
  http = await startHttpFaultProxy(rgw.port);
  tcp = await startTcpFaultProxy(rgw.port);
});
afterAll(async () => {
  await http?.stop();
  await tcp?.stop();
  await rgw?.stop();
});

function cfg(endpoint: string, extra: Partial<ReplicaConfig> = {}): ReplicaConfig {
  return replicaCfg({
    type: 's3',
    name: 'my-s3',
    path: `faults-${n++}`,
    bucket: 'faults',
    endpoint,
    accessKeyId: rgw.credentials.accessKeyId,
    secretAccessKey: rgw.credentials.secretAccessKey,
    ...extra,
  });
}

/** Keys under `prefix` as the AWS SDK lists them: an independent check of what ls-mix stored. */
async function keysUnder(prefix: string): Promise<Array<string | undefined>> {
  const raw = new S3Client({
    endpoint: rgw.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: rgw.credentials,
  });
  try {
    const res = await raw.send(new ListObjectsV2Command({ Bucket: 'faults', Prefix: prefix }));
    return (res.Contents ?? []).map((o) => o.Key).sort();
  } finally {
    raw.destroy();
  }
}

describe('s3 client under faults (Ceph RGW)', () => {
  it('retries 503 and 429 answers with backoff, logging each retry, then succeeds', async () => {
    const { logger, lines } = captureLogger();
    const c = await createS3ReplicaClient(cfg(http.url), { logger, retry: QUICK_RETRY });
    http.failNext(3, 503);
    await c.writeWalSegment({ generation: GEN, index: 1, offset: 0 }, body('survives 503s'));
    http.failNext(2, 429);
    const list = await c.walSegments(GEN);
    expect(list.map((s) => s.size)).toEqual([13]);
    expect(http.stats.injected).toBe(5);
    const retries = lines.filter((l) => String(l.msg).includes('retrying'));
    expect(retries).toHaveLength(5);
    expect(retries[0]).toMatchObject({ level: 40, replica: 'my-s3' });
    await c.close();
  });

  it('writes a WAL segment or a snapshot with one PUT each, never a LIST', async () => {
    const c = await createS3ReplicaClient(cfg(http.url), {});
    const from = http.log.length;
    await c.writeWalSegment({ generation: GEN, index: 3, offset: 0 }, body('one'));
    await c.writeWalSegment({ generation: GEN, index: 3, offset: 3 }, body('two'));
    await c.writeSnapshot(GEN, 3, body('snap'));
    const sent = http.log.slice(from).map((l) => l.split(' ')[0]);
    expect(sent).toEqual(['PUT', 'PUT', 'PUT']);
    await c.close();
  });

  it('gives up after the bounded number of attempts with a transient ReplicaError', async () => {
    const c = await createS3ReplicaClient(cfg(http.url), {
      retry: { retries: 2, minTimeout: 20, maxTimeout: 50 },
    });
    http.failNext(10, 503);
    const before = http.stats.injected;
    const err = await errorOf(c.generations());
    http.failNext(0);
    expect(err).toBeInstanceOf(ReplicaError);
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/^replica "my-s3": LIST generations\/ failed after 3 attempts: 503/);
    expect(http.stats.injected - before).toBe(3);
    await c.close();
  });

  it('resumes a download cut off mid-body from the first missing byte', async () => {
    const { logger, lines } = captureLogger();
    const c = await createS3ReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), {
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

  it('survives connection resets mid-request', async () => {
    const c = await createS3ReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), { retry: QUICK_RETRY });
    const payload = Buffer.alloc(200_000, 7);
    await dropPooledConnections(tcp);
    tcp.resetNext(2);
    const resetsBefore = tcp.stats.resets;
    await c.writeSnapshot(GEN, 1, body(payload));
    expect(tcp.stats.resets - resetsBefore).toBeGreaterThanOrEqual(2);
    tcp.resetNext(1);
    expect((await readAll(await c.openSnapshot(GEN, 1))).equals(payload)).toBe(true);
    await c.close();
  });

  it('works through added latency, and times out (then retries, bounded) when the server stalls', async () => {
    const ok = await createS3ReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), { retry: QUICK_RETRY });
    tcp.setLatency(150);
    try {
      await ok.writeWalSegment({ generation: GEN, index: 1, offset: 0 }, body('slow but fine'));
      expect((await ok.walSegments(GEN)).length).toBe(1);
      const stalled = await createS3ReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), {
        retry: { retries: 1, minTimeout: 10, maxTimeout: 20 },
        timeoutMs: 100,
      });
      const err = await errorOf(stalled.generations());
      expect(err).toBeInstanceOf(ReplicaError);
      expect(err.transient).toBe(true);
      expect(err.message).toMatch(/failed after 2 attempts/);
      await stalled.close();
    } finally {
      tcp.setLatency(0);
    }
    await ok.close();
  });

  it('rides out the gateway being stopped and restarted during a write', async () => {
    const { logger, lines } = captureLogger();
    const c = await createS3ReplicaClient(cfg(rgw.endpoint), { logger, retry: PATIENT_RETRY });
    await c.writeWalSegment({ generation: GEN, index: 1, offset: 0 }, body('before'));
    await rgw.stopGateway();
    const write = c.writeWalSegment({ generation: GEN, index: 1, offset: 6 }, body('during outage'));
    await new Promise((r) => setTimeout(r, 1_000));
    await rgw.startGateway();
    const info = await write;
    expect(info.size).toBe(13);
    expect((await c.walSegments(GEN)).map((s) => s.offset)).toEqual([0, 6]);
    expect(lines.some((l) => /ECONNREFUSED/.test(String(l.reason)))).toBe(true);
    await c.close();
  });

  it('reports wrong credentials once, clearly, without retrying or leaking the secret', async () => {
    const secret = 'wrong-secret-do-not-print';
    const c = await createS3ReplicaClient(cfg(http.url, { secretAccessKey: secret }), { retry: QUICK_RETRY });
    const before = http.stats.requests;
    const err = await errorOf(c.generations());
    expect(err).toBeInstanceOf(ReplicaError);
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/^replica "my-s3": LIST generations\/: SignatureDoesNotMatch \(HTTP 403\)$/);
    expect(String(err.hint)).toMatch(/secret-access-key/);
    expect(http.stats.requests - before).toBe(1);
    expect(`${err.message} ${err.hint}`).not.toContain(secret);
    await c.close();
  });

  it('reports an unknown access key and a missing bucket as clear permanent errors', async () => {
    const unknownKey = await createS3ReplicaClient(cfg(rgw.endpoint, { accessKeyId: 'NOSUCHKEY' }), {});
    expect((await errorOf(unknownKey.generations())).message).toMatch(/InvalidAccessKeyId \(HTTP 403\)/);
    const noBucket = await createS3ReplicaClient(cfg(rgw.endpoint, { bucket: 'no-such-bucket' }), {});
    const err = await errorOf(noBucket.writeSnapshot(GEN, 1, body('x')));
    expect(err.message).toBe(
      'replica "my-s3": PUT generations/00112233aabbccdd/snapshots/00000001.snapshot.lz4: bucket "no-such-bucket" does not exist (HTTP 404)',
    );
    expect(err.hint).toMatch(/create the bucket/);
  });

  it('refuses an untrusted TLS certificate with a clear error, and accepts it with skip-verify', async () => {
    const certDir = await mkdtemp(join(tmpdir(), 'ls-mix-tls-'));
    const tls = await startTlsProxy(rgw.port, selfSignedCert(certDir));
    try {
      const strict = await createS3ReplicaClient(cfg(tls.url), { retry: QUICK_RETRY });
      const err = await errorOf(strict.generations());
      expect(err).toBeInstanceOf(ReplicaError);
      expect(err.transient).toBe(false);
      expect(err.message).toMatch(/TLS certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT/);
      expect(err.hint).toMatch(/skip-verify: true/);
      await strict.close();

      const lax = await createS3ReplicaClient(cfg(tls.url, { skipVerify: true }), {});
      await lax.writeSnapshot(GEN, 9, body('over tls'));
      expect((await readAll(await lax.openSnapshot(GEN, 9))).toString()).toBe('over tls');
      await lax.close();
    } finally {
      await tls.stop();
      await rm(certDir, { recursive: true, force: true });
    }
  });

  it("stores objects at Litestream's keys (Go path.Join of path and layout, leading slash kept)", async () => {
    for (const [path, prefix] of [
      ['layout/a//b/', 'layout/a/b/'],
      ['/layout-abs', '/layout-abs/'],
    ]) {
      const c = await createS3ReplicaClient(cfg(rgw.endpoint, { path }), {});
      await c.writeSnapshot(GEN, 1, body('s'));
      await c.writeWalSegment({ generation: GEN, index: 1, offset: 0x1038 }, body('w'));
      expect(await keysUnder(prefix)).toEqual([
        `${prefix}generations/${GEN}/snapshots/00000001.snapshot.lz4`,
        `${prefix}generations/${GEN}/wal/00000001_00001038.wal.lz4`,
      ]);
      expect(await c.generations()).toEqual([GEN]);
      await c.close();
    }
  });

  it('takes keys from LITESTREAM_ACCESS_KEY_ID / LITESTREAM_SECRET_ACCESS_KEY', async () => {
    process.env.LITESTREAM_ACCESS_KEY_ID = rgw.credentials.accessKeyId;
    process.env.LITESTREAM_SECRET_ACCESS_KEY = rgw.credentials.secretAccessKey;
    try {
      const c = await createS3ReplicaClient(
        cfg(rgw.endpoint, { accessKeyId: undefined, secretAccessKey: undefined }),
        {},
      );
      await c.writeSnapshot(GEN, 2, body('env keys'));
      expect((await c.snapshots(GEN)).map((s) => s.index)).toEqual([2]);
    } finally {
      delete process.env.LITESTREAM_ACCESS_KEY_ID;
      delete process.env.LITESTREAM_SECRET_ACCESS_KEY;
    }
  });
  it('refuses a body altered in transit (its SHA-256 is signed) and retries until the object is intact', async () => {
    const { logger, lines } = captureLogger();
    // 256 KiB in memory: the 9 MiB body spools to a file and goes up in two parts.
    const c = await createS3ReplicaClient(cfg(http.url), {
      logger,
      retry: QUICK_RETRY,
      memoryLimit: 256 * 1024,
    });
    const small = randomBytes(100_000);
    const large = randomBytes(9 * 1024 * 1024 + 17);
    http.corruptNext(1);
    await c.writeSnapshot(GEN, 1, body(small));
    http.corruptNext(1); // the first part: the whole upload is aborted and retried
    await c.writeSnapshot(GEN, 2, Readable.from([large.subarray(0, 5_000_000), large.subarray(5_000_000)]));
    expect(http.stats.corrupted).toBe(2);
    expect((await readAll(await c.openSnapshot(GEN, 1))).equals(small)).toBe(true);
    expect((await readAll(await c.openSnapshot(GEN, 2))).equals(large)).toBe(true);
    const refused = lines.filter((l) => /retrying/.test(String(l.msg))).map((l) => String(l.reason));
    expect(refused).toHaveLength(2);
    for (const reason of refused) expect(reason).toMatch(/XAmzContentSHA256Mismatch|BadDigest/);
    await c.close();
  });

  it('keeps keys with spaces, plus and percent signs and non-ASCII letters exactly', async () => {
    const path = 'odd keys/a+b%20c/ünïcödé~(1)';
    const c = await createS3ReplicaClient(cfg(rgw.endpoint, { path }), {});
    await c.writeSnapshot(GEN, 1, body('odd'));
    await c.writeWalSegment({ generation: GEN, index: 1, offset: 0 }, body('wal'));
    expect(await keysUnder(`${path}/`)).toEqual([
      `${path}/generations/${GEN}/snapshots/00000001.snapshot.lz4`,
      `${path}/generations/${GEN}/wal/00000001_00000000.wal.lz4`,
    ]);
    expect(await c.generations()).toEqual([GEN]);
    expect((await readAll(await c.openSnapshot(GEN, 1))).toString()).toBe('odd');
    await c.deleteGeneration(GEN);
    expect(await c.generations()).toEqual([]);
    await c.close();
  });

  it('takes keys from AWS_* variables, or from the AWS default chain (a profile in a shared credentials file)', async () => {
    const saved = { ...process.env };
    const dir = await mkdtemp(join(tmpdir(), 'ls-mix-aws-'));
    // One replica path for the three clients below.
    const noKeys = { accessKeyId: undefined, secretAccessKey: undefined, path: `faults-chain-${n++}` };
    try {
      process.env.AWS_ACCESS_KEY_ID = rgw.credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = rgw.credentials.secretAccessKey;
      const fromEnv = await createS3ReplicaClient(cfg(rgw.endpoint, noKeys), {});
      await fromEnv.writeSnapshot(GEN, 3, body('aws env keys'));
      expect((await fromEnv.snapshots(GEN)).map((s) => s.index)).toEqual([3]);
      await fromEnv.close();

      // AWS_PROFILE makes the chain skip the AWS_* keys (set wrong here) and read the profile.
      process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret';
      const file = join(dir, 'credentials');
      await writeFile(
        file,
        `[backup]\naws_access_key_id = ${rgw.credentials.accessKeyId}\naws_secret_access_key = ${rgw.credentials.secretAccessKey}\n`,
      );
      process.env.AWS_SHARED_CREDENTIALS_FILE = file;
      process.env.AWS_CONFIG_FILE = join(dir, 'config');
      process.env.AWS_PROFILE = 'backup';
      const fromProfile = await createS3ReplicaClient(cfg(rgw.endpoint, noKeys), { retry: QUICK_RETRY });
      await fromProfile.writeSnapshot(GEN, 4, body('profile keys'));
      expect((await fromProfile.snapshots(GEN)).map((s) => s.index)).toEqual([3, 4]);
      await fromProfile.close();

      process.env.AWS_PROFILE = 'no-such-profile';
      const missing = await createS3ReplicaClient(cfg(rgw.endpoint, noKeys), { retry: QUICK_RETRY });
      const err = await errorOf(missing.generations());
      expect(err).toBeInstanceOf(ReplicaError);
      expect(err.transient).toBe(false);
      expect(err.message).toMatch(/no-such-profile|credentials/i);
      await missing.close();
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('signs with the server time after S3 says the local clock is 30 minutes off', async () => {
    const skewed = new S3Http({
      endpoint: new URL(rgw.endpoint),
      region: rgw.region,
      bucket: 'faults',
      pathStyle: true,
      credentials: async () => rgw.credentials,
      timeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      now: () => Date.now() - 30 * 60_000,
    });
    try {
      const first = await errorOf(skewed.send({ method: 'GET', query: { 'list-type': '2', prefix: 'x/' } }));
      expect(first).toBeInstanceOf(S3Error);
      expect(first.s3Code).toBe('RequestTimeTooSkewed');
      const res = await skewed.send({ method: 'PUT', key: 'skew/after', body: Buffer.from('on time') });
      res.resume();
      const back = await skewed.send({ method: 'GET', key: 'skew/after' });
      expect((await readAll(back)).toString()).toBe('on time');
    } finally {
      skewed.close();
    }
  });
  it('reaches an endpoint given as an IPv6 address ([::1])', async () => {
    // A plain TCP relay on ::1 in front of the gateway (RGW listens on 127.0.0.1).
    const sockets = new Set<Socket>();
    const relay = createServer((inbound) => {
      const outbound = connect(rgw.port, '127.0.0.1');
      sockets.add(inbound).add(outbound);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '::1', resolve));
    const port = (relay.address() as AddressInfo).port;
    try {
      const c = await createS3ReplicaClient(cfg(`http://[::1]:${port}`), { retry: QUICK_RETRY });
      await c.writeSnapshot(GEN, 6, body('over ipv6'));
      expect((await readAll(await c.openSnapshot(GEN, 6))).toString()).toBe('over ipv6');
      await c.close();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  });
});

describe('restore from S3 when a download is cut off (Ceph RGW behind a TCP fault proxy)', () => {
  /** A snapshot-only generation of a ~2 MB db, stored through `client`; returns the db's rows. */
  async function storeSnapshot(c: Awaited<ReturnType<typeof createS3ReplicaClient>>, dir: string) {
    return (await storeBlobSnapshot(c, GEN, join(dir, 'src.db'), 2000, 1000)).rows;
  }

  /** The client, its snapshot response cut after `bytes` (the proxy counts from the GET on). */
  function cutSnapshot(c: Awaited<ReturnType<typeof createS3ReplicaClient>>, bytes: number) {
    return overrideClient(c, {
      openSnapshot: (...args) => {
        tcp.cutResponseAfter(bytes);
        return c.openSnapshot(...args);
      },
    });
  }

  it('fails at once, naming the snapshot, when no retry is left (it waited for good before)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ls-mix-s3-cut-'));
    const c = await createS3ReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), {
      retry: { retries: 0, minTimeout: 10, maxTimeout: 10 },
    });
    try {
      await storeSnapshot(c, dir);
      const restore = restoreDatabase({
        replicas: [{ name: 'my-s3', client: cutSnapshot(c, 500_000) }],
        outputPath: join(dir, 'out.db'),
      });
      const err = await errorOf(
        Promise.race([
          restore,
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('restore still waiting after 20 s')), 20_000),
          ),
        ]),
      );
      expect(err.message).toMatch(/^replica "my-s3": cannot download .*snapshots\/00000000\.snapshot\.lz4: /);
      expect(existsSync(join(dir, 'out.db'))).toBe(false);
    } finally {
      await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('resumes the cut-off snapshot and restores every row', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ls-mix-s3-cut-'));
    const { logger, lines } = captureLogger();
    const c = await createS3ReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), {
      logger,
      retry: QUICK_RETRY,
    });
    try {
      const rows = await storeSnapshot(c, dir);
      await restoreDatabase({
        replicas: [{ name: 'my-s3', client: cutSnapshot(c, 500_000) }],
        outputPath: join(dir, 'out.db'),
      });
      expect(lines.filter((l) => /resuming/.test(String(l.msg)))).toHaveLength(1);
      expect(blobRows(join(dir, 'out.db'))).toEqual(rows);
    } finally {
      await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
