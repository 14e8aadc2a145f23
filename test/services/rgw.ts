/**
 * A real S3 server for tests: a one-node Ceph cluster (mon + memstore osd + radosgw/beast) on
 * 127.0.0.1 with auth off between daemons (RGW still checks S3 signatures). Up in ~10 s.
 * Needs Debian `radosgw ceph-mon ceph-osd` (.ci/services/install.sh).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, killPid, ServerExited, spawnServer, tail, waitFor } from './process.js';

const run = promisify(execFile);

export interface RgwServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Create a bucket (idempotent). */
  createBucket(name: string): Promise<void>;
  /** Stop radosgw only (the cluster stays), for outage tests. */
  stopGateway(): Promise<void>;
  /** Start radosgw again on the same port; resolves once it answers. */
  startGateway(): Promise<void>;
  stop(): Promise<void>;
}

const BINARIES = ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/radosgw', '/usr/bin/monmaptool'];

export interface RgwOptions {
  /** RAM the in-memory object store may use (default 1 GiB; the bench's 1 GiB replica needs more). */
  memoryBytes?: number;
}

export async function startRgw(opts: RgwOptions = {}): Promise<RgwServer> {
  const missing = BINARIES.filter((b) => !existsSync(b));
  if (missing.length > 0) {
    throw new Error(
      `cannot start Ceph RGW: missing ${missing.join(', ')} — run .ci/services/install.sh (apt-get install radosgw ceph-mon ceph-osd)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'ls-mix-rgw-'));
  const monPort = await freePort();
  let port = await freePort();
  while (port === monPort) port = await freePort();
  const conf = join(dir, 'ceph.conf');
  const fsid = randomUUID();
  for (const d of ['run', 'log', 'mon/ceph-a', 'osd/ceph-0', 'rgw'])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'keyring'), '');
  await writeFile(conf, cephConf(dir, fsid, monPort, port, opts.memoryBytes ?? 1 << 30));
  const pids: Record<string, number | undefined> = {};
  const credentials = { accessKeyId: 'LSMIXTESTACCESSKEY', secretAccessKey: 'ls-mix-test-secret-key' };
  const ceph = (...args: string[]) =>
    run('ceph', ['-c', conf, '--connect-timeout', '10', ...args], { timeout: 30_000 });

  const stop = async () => {
    // Gateway first, then osd, then mon: each SIGTERM, SIGKILL if it lingers.
    for (const name of ['rgw', 'osd', 'mon']) await killPid(pids[name], 5_000);
    await rm(dir, { recursive: true, force: true });
  };
  const startGateway = async () => {
    const log = join(dir, 'log', 'radosgw.out');
    const child = spawnServer('radosgw', ['-f', '-c', conf, '-n', 'client.rgw'], log);
    pids.rgw = child.pid;
    await waitFor(
      `Ceph radosgw on 127.0.0.1:${port}`,
      async () => {
        if (child.exitCode !== null) throw new ServerExited(`exited with code ${child.exitCode}`);
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) });
        return res.status === 200;
      },
      60_000,
      () => tail(log) + tail(join(dir, 'log', 'client.rgw.log')),
    );
  };

  try {
    await run('monmaptool', [
      '--create',
      '--addv',
      'a',
      `[v2:127.0.0.1:${monPort}]`,
      '--fsid',
      fsid,
      join(dir, 'monmap'),
    ]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')]);
    pids.mon = spawnServer('ceph-mon', ['-f', '-c', conf, '-i', 'a'], join(dir, 'log', 'mon.out')).pid;
    await waitFor(
      'ceph-mon',
      async () => (await ceph('mon', 'stat')).stdout.includes('quorum'),
      30_000,
      () => tail(join(dir, 'log', 'mon.a.log')),
    );
    await ceph('osd', 'create');
    await run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs']);
    pids.osd = spawnServer('ceph-osd', ['-f', '-c', conf, '-i', '0'], join(dir, 'log', 'osd.out')).pid;
    await waitFor(
      'ceph-osd',
      async () => /1 up/.test((await ceph('osd', 'stat')).stdout),
      60_000,
      () => tail(join(dir, 'log', 'osd.0.log')),
    );
    await startGateway();
    await run('radosgw-admin', [
      '-c',
      conf,
      'user',
      'create',
      '--uid',
      'ls-mix',
      '--display-name',
      'ls-mix tests',
      '--access-key',
      credentials.accessKeyId,
      '--secret',
      credentials.secretAccessKey,
    ]);
  } catch (err) {
    await stop();
    throw new Error(`cannot start Ceph RGW: ${(err as Error).message}`);
  }

  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';
  return {
    endpoint,
    port,
    region,
    credentials,
    async createBucket(name) {
      const s3 = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
      try {
        await s3.send(new CreateBucketCommand({ Bucket: name }));
      } catch (err) {
        if ((err as Error).name !== 'BucketAlreadyOwnedByYou') throw err;
      } finally {
        s3.destroy();
      }
    },
    async stopGateway() {
      await killPid(pids.rgw, 5_000);
      pids.rgw = undefined;
    },
    startGateway,
    stop,
  };
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number, memoryBytes: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
# No cephx between the daemons (RGW still checks S3 signatures). Without the "mode = crc"
# lines radosgw loops on auth error -13 for 300 s.
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms cluster mode = crc secure
ms service mode = crc secure
ms client mode = crc secure
ms mon cluster mode = crc secure
ms mon service mode = crc secure
ms mon client mode = crc secure
mon data avail crit = 0
mon data avail warn = 0
mon allow pool size one = true
mon max pg per osd = 1000
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = ${memoryBytes}
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
pid file = ${dir}/run/$name.pid
mon data = ${dir}/mon/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
keyring = ${dir}/keyring
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
rgw dns name = 127.0.0.1
`;
}
