/**
 * Large snapshots read from real Ceph RGW as one GET that turns into parallel ranged GETs when the
 * connection is what the reader waits for (runtime/replica/ranged-read.ts). A TCP proxy caps each
 * connection's throughput the way a remote store does; the bytes must come back whole and in order
 * through the split, a part cut off mid-way, and never from a server that ignored the range.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaConfig } from '../../../runtime/config/types.js';
import { RANGED_MIN_SIZE } from '../../../runtime/replica/object-store.js';
import { createS3ReplicaClient } from '../../../runtime/replica/s3.js';
import { restoreDatabase } from '../../../runtime/restore.js';
import {
  type HttpFaultProxy,
  startHttpFaultProxy,
  startTcpFaultProxy,
  type TcpFaultProxy,
} from '../../services/fault-proxy.js';
import { type RgwServer, startRgw } from '../../services/rgw.js';
import { body, readAll } from '../replica-contract/contract.js';
import { blobRows, captureLogger, errorOf, QUICK_RETRY, replicaCfg, storeBlobSnapshot } from './helpers.js';

const GEN = '0011223344556677';
/** Per-connection cap of the slow proxy: far below what the reader takes. */
const SLOW = 8_000_000;
/** Just over the size from which snapshots may be read in ranges. */
const SIZE = RANGED_MIN_SIZE + (3 << 20);

let rgw: RgwServer;
let tcp: TcpFaultProxy;
let http: HttpFaultProxy;
let payload: Buffer;
let n = 0;

function cfg(endpoint: string): ReplicaConfig {
  return replicaCfg({
    type: 's3',
    name: 'my-s3',
    path: 'ranged',
    bucket: 'ranged',
    endpoint,
    accessKeyId: rgw.credentials.accessKeyId,
    secretAccessKey: rgw.credentials.secretAccessKey,
  });
}

beforeAll(async () => {
  rgw = await startRgw();
  await rgw.createBucket('ranged');
  tcp = await startTcpFaultProxy(rgw.port);
  http = await startHttpFaultProxy(rgw.port);
  payload = randomBytes(SIZE);
  const c = await createS3ReplicaClient(cfg(rgw.endpoint));
  await c.writeSnapshot(GEN, 1, body(payload));
  await c.close();
}, 120_000);
afterAll(async () => {
  await tcp?.stop();
  await http?.stop();
  await rgw?.stop();
});

const splitLines = (lines: Array<Record<string, unknown>>) =>
  lines.filter((l) => /parallel ranges/.test(String(l.msg)));

type Client = Awaited<ReturnType<typeof createS3ReplicaClient>>;

/**
 * `fn` with a client whose connections go through the TCP proxy capped at SLOW, its log lines
 * and the proxy's connection count before; the cap is lifted and the client closed after.
 */
async function throughSlowProxy(
  fn: (c: Client, lines: Array<Record<string, unknown>>, connectionsBefore: number) => Promise<void>,
): Promise<void> {
  const { logger, lines } = captureLogger();
  const c = await createS3ReplicaClient(cfg(`http://127.0.0.1:${tcp.port}`), { logger, retry: QUICK_RETRY });
  const before = tcp.stats.connections;
  tcp.setRate(SLOW);
  try {
    await fn(c, lines, before);
  } finally {
    tcp.setRate(0);
    await c.close();
  }
}

describe('S3 snapshots read in parallel ranges', () => {
  it('splits a read the connection holds back into parallel ranges, every byte in order', async () => {
    await throughSlowProxy(async (c, lines, before) => {
      const got = await readAll(await c.openSnapshot(GEN, 1, { size: SIZE }));
      expect(got.length).toBe(SIZE);
      expect(got.equals(payload)).toBe(true);
      const split = splitLines(lines);
      expect(split).toHaveLength(1);
      // Split at a part boundary past the first bytes, short of the end.
      expect(Number(split[0].at)).toBeGreaterThan(0);
      expect(Number(split[0].at)).toBeLessThan(SIZE);
      expect(Number(split[0].at) % (2 << 20)).toBe(0);
      // The first GET plus the parts in flight, each on its own connection.
      expect(tcp.stats.connections - before).toBeGreaterThanOrEqual(4);
    });
  });

  it('stays one GET when the connection keeps up', async () => {
    const { logger, lines } = captureLogger();
    const c = await createS3ReplicaClient(cfg(http.url), { logger });
    const gets = () => http.log.filter((l) => l.startsWith('GET ') && l.includes('.snapshot.lz4')).length;
    const before = gets();
    try {
      expect((await readAll(await c.openSnapshot(GEN, 1, { size: SIZE }))).equals(payload)).toBe(true);
      expect(gets() - before).toBe(1);
      expect(splitLines(lines)).toHaveLength(0);
    } finally {
      await c.close();
    }
  });

  it('keeps one GET at -parallelism 1, however slow the connection', async () => {
    await throughSlowProxy(async (c, lines, before) => {
      const got = await readAll(await c.openSnapshot(GEN, 1, { size: SIZE, parallelism: 1 }));
      expect(got.equals(payload)).toBe(true);
      expect(splitLines(lines)).toHaveLength(0);
      expect(tcp.stats.connections - before).toBeLessThanOrEqual(1);
    });
  });

  it('resumes a range cut off mid-body from its first missing byte', async () => {
    await throughSlowProxy(async (c, lines) => {
      // Past the split (which comes after ~1 s of the first GET, ~8 MB at this rate).
      tcp.cutResponseAfter(SIZE - (4 << 20));
      try {
        expect((await readAll(await c.openSnapshot(GEN, 1, { size: SIZE }))).equals(payload)).toBe(true);
        expect(splitLines(lines)).toHaveLength(1);
        expect(lines.filter((l) => /resuming/.test(String(l.msg)))).toHaveLength(1);
      } finally {
        tcp.cutResponseAfter(Number.POSITIVE_INFINITY);
      }
    });
  });

  it('refuses an object whose size is not the one listed (replaced since the listing)', async () => {
    const c = await createS3ReplicaClient(cfg(rgw.endpoint), { retry: QUICK_RETRY });
    try {
      const err = await errorOf(readAll(await c.openSnapshot(GEN, 1, { size: SIZE + 1 })));
      expect(err.message).toMatch(/snapshots\/00000001\.snapshot\.lz4 is \d+ bytes, the listing said \d+/);
    } finally {
      await c.close();
    }
  });

  it('refuses an answer that ignored the Range header instead of taking the whole object for a part', async () => {
    const c = await createS3ReplicaClient(cfg(http.url), { retry: QUICK_RETRY });
    http.ignoreRange(true);
    try {
      const err = await errorOf(readAll(await c.openSnapshot(GEN, 1, { size: SIZE })));
      expect(err.message).toMatch(/RangeNotHonoured: asked for bytes=0-\d+, got HTTP 200/);
      expect(String((err as { hint?: string }).hint)).toMatch(/ignores HTTP Range headers/);
    } finally {
      http.ignoreRange(false);
      await c.close();
    }
  });

  it('restores a database whose snapshot comes in parallel ranges over slow connections', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ls-mix-s3-ranged-'));
    const { logger, lines } = captureLogger();
    const c = await createS3ReplicaClient(
      replicaCfg({ ...cfg(`http://127.0.0.1:${tcp.port}`), path: `restore-${n++}` }),
      { logger, retry: QUICK_RETRY },
    );
    try {
      const { rows, snapshotBytes } = await storeBlobSnapshot(
        c,
        GEN,
        join(dir, 'src.db'),
        (SIZE >> 12) + 256,
        4000,
      );
      expect(snapshotBytes).toBeGreaterThanOrEqual(RANGED_MIN_SIZE);
      tcp.setRate(SLOW);
      await restoreDatabase({ replicas: [{ name: 'my-s3', client: c }], outputPath: join(dir, 'out.db') });
      tcp.setRate(0);
      expect(blobRows(join(dir, 'out.db'))).toEqual(rows);
      expect(splitLines(lines)).toHaveLength(1);
      // Parts ahead were kept in a file beside the output, unlinked at once: nothing left there.
      expect((await readdir(dir)).sort()).toEqual(['out.db', 'src.db']);
    } finally {
      tcp.setRate(0);
      await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
