/**
 * SFTP downloads with several READ requests in flight (runtime/replica/sftp/pipelined-read.ts),
 * against a real OpenSSH sshd. Faults are injected over the real session: answers cut short,
 * answers held back so later blocks arrive first, a file shorter than asked, a failing READ.
 * End to end: a restore over SFTP through a connection with latency brings back every row.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelinedRead, type SftpReads } from '../../../runtime/replica/sftp/pipelined-read.js';
import { createSftpReplicaClient } from '../../../runtime/replica/sftp.js';
import { restoreDatabase } from '../../../runtime/restore.js';
import { startTcpFaultProxy, type TcpFaultProxy } from '../../services/fault-proxy.js';
import { type SshdServer, startSshd } from '../../services/sshd.js';
import { readAll } from '../replica-contract/contract.js';
import { blobRows, QUICK_RETRY, replicaCfg, storeBlobSnapshot } from './helpers.js';

let sshd: SshdServer;
let tcp: TcpFaultProxy;
let client: SftpClient;
let sftp: SFTPWrapper;
const data = randomBytes(3 << 20);
let remote: string;

beforeAll(async () => {
  sshd = await startSshd();
  tcp = await startTcpFaultProxy(sshd.port);
  client = new SftpClient();
  sftp = await client.connect({
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.user,
    privateKey: await readFile(sshd.keyPath),
  });
  remote = `${sshd.root}/pipelined.bin`;
  await writeFile(remote, data);
});
afterAll(async () => {
  await client?.end();
  await tcp?.stop();
  await sshd?.stop();
});

const open = (path = remote) =>
  new Promise<Buffer>((resolve, reject) =>
    sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h))),
  );

/** The real session's READ, with what each request asked for recorded and `shape` applied. */
function observed(shape: { maxAnswer?: number; holdEvery?: number; failAt?: number; delayMs?: number } = {}) {
  const asked: Array<{ position: number; length: number }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let n = 0;
  const reads: SftpReads = {
    read(handle, buffer, offset, length, position, cb) {
      asked.push({ position, length });
      if (shape.failAt !== undefined && position >= shape.failAt)
        return void setImmediate(() => cb(new Error('injected: READ failed'), 0));
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const held = shape.holdEvery !== undefined && n++ % shape.holdEvery === 0;
      const len = Math.min(length, shape.maxAnswer ?? length);
      sftp.read(handle, buffer, offset, len, position, (err, bytesRead) => {
        const answer = () => {
          inFlight--;
          cb(err, bytesRead);
        };
        if (held || shape.delayMs) setTimeout(answer, shape.delayMs ?? 15);
        else answer();
      });
    },
  };
  return { reads, asked, maxInFlight: () => maxInFlight };
}

describe('pipelined SFTP reads', () => {
  it('keeps several requests in flight, no more than the window, and passes every byte on in order', async () => {
    const handle = await open();
    const { reads, maxInFlight } = observed();
    let closed = 0;
    const got = await readAll(
      pipelinedRead(reads, handle, 0, data.length, { block: 32 << 10, window: 8, onClose: () => closed++ }),
    );
    expect(got.equals(data)).toBe(true);
    expect(maxInFlight()).toBeGreaterThan(1);
    expect(maxInFlight()).toBeLessThanOrEqual(8);
    expect(closed).toBe(1);
  });

  it('sizes the window to the round trip: the minimum on a quick link, up to the maximum on a slow one', async () => {
    // Sized for 10 MB/s: an answer within ~6 ms on loopback asks for fewer than 2 blocks of
    // 32 KiB (the minimum, 2, stays); 50 ms per answer asks for 15 (the maximum, 8, caps it).
    const sized = { block: 32 << 10, window: 8, minWindow: 2, rate: 10e6 };
    const quick = observed();
    const fast = await readAll(pipelinedRead(quick.reads, await open(), 0, 1 << 20, sized));
    expect(fast.equals(data.subarray(0, 1 << 20))).toBe(true);
    expect(quick.maxInFlight()).toBe(2);
    const slow = observed({ delayMs: 50 });
    const got = await readAll(pipelinedRead(slow.reads, await open(), 0, 1 << 20, sized));
    expect(got.equals(data.subarray(0, 1 << 20))).toBe(true);
    expect(slow.maxInFlight()).toBe(8);
  });

  it('keeps the order when later blocks are answered first', async () => {
    const handle = await open();
    const { reads } = observed({ holdEvery: 3 });
    const got = await readAll(pipelinedRead(reads, handle, 0, data.length, { block: 64 << 10, window: 6 }));
    expect(got.equals(data)).toBe(true);
  });

  it('asks again for the rest of a block the server answered short', async () => {
    const handle = await open();
    const { reads, asked } = observed({ maxAnswer: 10_000 });
    const start = 12_345;
    const got = await readAll(
      pipelinedRead(reads, handle, start, data.length, { block: 64 << 10, window: 4 }),
    );
    expect(got.equals(data.subarray(start))).toBe(true);
    // 64 KiB blocks answered 10,000 bytes at a time: each block asked for about seven times.
    expect(asked.length).toBeGreaterThan(6 * Math.ceil((data.length - start) / (64 << 10)));
  });

  it('fails, naming how far it got, when the file ends before the size asked for', async () => {
    const handle = await open();
    const { reads } = observed();
    await expect(
      readAll(pipelinedRead(reads, handle, 0, data.length + 1000, { block: 64 << 10, window: 4 })),
    ).rejects.toThrow(`ended after ${data.length} of ${data.length + 1000} bytes`);
  });

  it('passes on a failing READ and closes the handle once', async () => {
    const handle = await open();
    const { reads } = observed({ failAt: 1 << 20 });
    let closed = 0;
    await expect(
      readAll(
        pipelinedRead(reads, handle, 0, data.length, { block: 64 << 10, window: 4, onClose: () => closed++ }),
      ),
    ).rejects.toThrow('injected: READ failed');
    expect(closed).toBe(1);
  });

  it('stops asking while the reader does not read, and closes when destroyed', async () => {
    const handle = await open();
    const { reads, asked } = observed();
    let closed = 0;
    const stream = pipelinedRead(reads, handle, 0, data.length, {
      block: 32 << 10,
      window: 4,
      onClose: () => closed++,
    });
    await new Promise((r) => setTimeout(r, 100));
    // Not read yet (a restore opens WAL segments ahead of the ones it reads): one block asked for.
    expect(asked).toHaveLength(1);
    // Read once, then not again: the window fills (4 in flight or waiting, 1 in the stream's
    // buffer) and no more is asked for.
    await new Promise((r) => stream.once('readable', r));
    expect(stream.read()).not.toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(asked.length).toBeGreaterThan(1);
    expect(asked.length).toBeLessThanOrEqual(1 + 4 + 1);
    const settled = asked.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(asked).toHaveLength(settled);
    stream.destroy();
    expect(closed).toBe(1);
  });

  it('ends at once for an empty range', async () => {
    const handle = await open();
    const { reads, asked } = observed();
    expect((await readAll(pipelinedRead(reads, handle, 100, 100))).length).toBe(0);
    expect(asked).toHaveLength(0);
  });

  it('restores a database over SFTP through a connection with latency, every row back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ls-mix-sftp-pipelined-'));
    const c = await createSftpReplicaClient(
      replicaCfg({
        type: 'sftp',
        name: 'my-sftp',
        path: `${sshd.root}/restore-latency`,
        host: `127.0.0.1:${tcp.port}`,
        user: sshd.user,
        keyPath: sshd.keyPath,
        hostKey: sshd.hostKey,
      }),
      { retry: QUICK_RETRY },
    );
    try {
      const { rows } = await storeBlobSnapshot(c, '0123456789abcdef', join(dir, 'src.db'), 2000, 3000);
      tcp.setLatency(5);
      await restoreDatabase({ replicas: [{ name: 'my-sftp', client: c }], outputPath: join(dir, 'out.db') });
      expect(blobRows(join(dir, 'out.db'))).toEqual(rows);
    } finally {
      tcp.setLatency(0);
      await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
