/**
 * 3. Shipping throughput and CPU: bulk-load N GiB in large transactions while `ls-mix
 *    replicate` ships to a file replica; MB/s of WAL shipped and replicator CPU s/GiB, against
 *    the raw limit: the `lz4` CLI compressing the same bytes plus a plain file copy.
 * 4. Restore time: that db (snapshot after the load + ~10% more as WAL in many segments) from
 *    the file replica and from S3 on loopback, -parallelism 1 and 8; baseline: copy of the
 *    snapshot object + `lz4 -d` of it.
 * 5. (part) Peak RSS of the replicator during the load + snapshot, and of each restore.
 * With BENCH_LITESTREAM set, the reference also ships the same load (its own db and replica,
 * without the snapshot: v0.3.13 has no on-demand one) and restores the same replica.
 */

import { execFileSync, spawn } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startTcpFaultProxy, type TcpFaultProxy } from '../../test/services/fault-proxy.js';
import { type SshdServer, startSshd } from '../../test/services/sshd.js';
import { log, MiB, QUICK, removeDir, tempDir, writeConfig } from '../lib/env.js';
import { lastOutput, lsMix, ROOT, sleep, timed, waitUntil } from '../lib/proc.js';
import { type Impl, REFERENCE, runtime, stopWarning } from '../lib/reference.js';
import { emptyObjects, isSegment, isSnapshot, listFiles, walBytesShipped } from '../lib/replica.js';
import { type Summary, summarize } from '../lib/stats.js';
import { WARM_MEMORY, warmFreeMemory } from '../lib/warm-memory.js';
import type { S3Target } from './lag.js';

const LOADER = join(ROOT, 'bench/workers/loader.mjs');

export function load(job: object): Promise<{ ms: number; rows: number }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [LOADER, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`loader: ${err}`))));
  });
}

export interface ThroughputResult {
  loadedMiB: number;
  walShippedMiB: number;
  loadSeconds: number;
  /** Load start -> replicate exited after its final sync. */
  shipSeconds: number;
  shipMBps: number;
  replicatorCpuSecPerGiB: number;
  lz4: { wallSecPerGiB: number; cpuSecPerGiB: number };
  copy: { wallSecPerGiB: number; cpuSecPerGiB: number };
  /** replicator CPU s/GiB / (lz4 + copy CPU s/GiB). */
  cpuRatio: number;
  /** (lz4 + copy MB/s) / shipping MB/s: how much slower than the raw limit, wall-clock. */
  wallRatio: number;
  snapshotSeconds: number;
  replicatorPeakMiB: number;
  /** 0-byte objects found in the replica (should be none). */
  emptyObjects: string[];
  /** The reference Litestream shipping the same load (BENCH_LITESTREAM). */
  reference?: {
    shipMBps: number;
    replicatorCpuSecPerGiB: number;
    cpuRatio: number;
    replicatorPeakMiB: number;
  };
}

/**
 * Where a restore reads from: s3-capped is the test RGW behind a per-connection throughput cap;
 * sftp the test sshd on loopback, sftp-latency the same behind a proxy adding latency.
 */
export type RestoreSource = 'file' | 's3' | 's3-capped' | 'sftp' | 'sftp-latency';

/** The sftp-latency rows' delay each way: a storage box in a nearby data centre (10 ms round trip). */
export const SFTP_LATENCY_MS = 5;

/** The cap of the s3-capped rows: one connection to a remote store (S3 gives one 50–100 MB/s). */
export const CAPPED_BYTES_PER_SECOND = 50_000_000;

export interface RestoreRow {
  source: RestoreSource;
  parallelism: number;
  seconds: Summary;
  peakMiB: number;
  /** vs copy + lz4 -d of the snapshot. */
  ratio: number;
  /** vs the same baseline made durable (fdatasync of its output), as a restore must be. */
  durableRatio: number;
  /** The reference Litestream restoring the same replica (BENCH_LITESTREAM). */
  reference?: { seconds: Summary; peakMiB: number; ratio: number; durableRatio: number };
  /** s3-capped: what one GET of the snapshot takes at the cap, at the least. */
  oneGetSeconds?: number;
}

export interface RestoreResult {
  dbMiB: number;
  snapshotMiB: number;
  walMiB: number;
  segments: number;
  baselineSeconds: Summary;
  /** copy + lz4 -d + fdatasync of the output: the same bytes, on the disk. */
  durableBaselineSeconds: Summary;
  rows: RestoreRow[];
}

const GiB = 1024 * MiB;
const SETTLE_MS = 1500;

/**
 * Caught up: the replica's WAL bytes stop growing for settleMs after the load. Resolves with
 * when they last grew. Litestream checks the WAL every second and ships a 32 MiB transaction
 * as one segment, well after the load on a busy machine: it gets a longer settle time and must
 * first have minBytes of segments (half of each loaded row is random, so LZ4 cannot shrink the
 * WAL of N loaded bytes below ~N/2; 0.4 N means the load's WAL has arrived).
 */
async function waitCaughtUp(replica: string, settleMs = SETTLE_MS, minBytes = 0): Promise<number> {
  let last = -1;
  let stableSince = performance.now();
  await waitUntil(
    'replica caught up',
    () => {
      const n = listFiles(replica)
        .filter((f) => isSegment(f.key))
        .reduce((s, f) => s + f.size, 0);
      if (n !== last) {
        last = n;
        stableSince = performance.now();
      }
      return n >= minBytes && performance.now() - stableSince > settleMs;
    },
    600_000,
  );
  return stableSince;
}

/** Figure 3 for the reference: the same load into a fresh db while it replicates. */
async function referenceShipping(
  bytes: number,
  rawCpuSecPerGiB: number,
): Promise<NonNullable<ThroughputResult['reference']>> {
  const dir = tempDir('bulk-ref');
  try {
    const db = join(dir, 'app.db');
    const replica = join(dir, 'replica');
    await load({ db, bytes: 0, txBytes: 1 });
    const rep = runtime('litestream', [
      'replicate',
      '-config',
      writeConfig(dir, db, [`url: file://${replica}\nsync-interval: 100ms`]),
    ]);
    try {
      await waitUntil('first snapshot', () => listFiles(replica).some((f) => isSnapshot(f.key)));
      await sleep(300);
      const cpu0 = rep.cpu;
      const t0 = performance.now();
      await load({ db, bytes, txBytes: 32 * MiB });
      const shipSeconds = ((await waitCaughtUp(replica, 5000, 0.4 * bytes)) - t0) / 1000;
      const cpu = rep.cpu - cpu0;
      const walShipped = await walBytesShipped(replica);
      const replicatorCpuSecPerGiB = (cpu * GiB) / walShipped;
      const r = {
        shipMBps: walShipped / MiB / shipSeconds,
        replicatorCpuSecPerGiB,
        cpuRatio: replicatorCpuSecPerGiB / rawCpuSecPerGiB,
        replicatorPeakMiB: rep.peakMiB,
      };
      log(
        `throughput (litestream): ${r.shipMBps.toFixed(0)} MB/s shipped, ${replicatorCpuSecPerGiB.toFixed(2)} CPU s/GiB, peak ${rep.peakMiB.toFixed(0)} MiB`,
      );
      return r;
    } finally {
      const warning = stopWarning('litestream', await rep.stop(), rep);
      if (warning) log(warning);
    }
  } finally {
    removeDir(dir);
  }
}

export async function benchBulk(
  s3?: S3Target,
): Promise<{ throughput: ThroughputResult; restore: RestoreResult }> {
  const bytes = QUICK ? 64 * MiB : 1 * GiB;
  const dir = tempDir('bulk');
  try {
    const db = join(dir, 'app.db');
    const replica = join(dir, 'replica');
    await load({ db, bytes: 0, txBytes: 1 });
    const config = writeConfig(dir, db, [`url: file://${replica}\nsync-interval: 100ms`]);
    const rep = lsMix(['replicate', '-config', config]);
    let throughput: ThroughputResult;
    try {
      await waitUntil('first snapshot', () => listFiles(replica).some((f) => isSnapshot(f.key)));
      await sleep(300);
      const cpu0 = rep.cpu;
      const t0 = performance.now();
      const loaded = await load({ db, bytes, txBytes: 32 * MiB });
      log(`bulk: loaded ${bytes / MiB} MiB in ${(loaded.ms / 1000).toFixed(1)} s`);
      await waitCaughtUp(replica);
      const shipSeconds = (performance.now() - t0 - SETTLE_MS) / 1000;
      const cpu = rep.cpu - cpu0;

      // A snapshot of the loaded db (SIGUSR1, as `ls-mix snapshot` sends).
      const snaps = () => listFiles(replica).filter((f) => isSnapshot(f.key)).length;
      const before = snaps();
      const ts = performance.now();
      rep.child.kill('SIGUSR1');
      await waitUntil('snapshot', () => snaps() > before, 600_000);
      const snapshotSeconds = (performance.now() - ts) / 1000;

      // ~10% more as WAL in many small segments, for the restore figure.
      await load({ db, bytes: Math.round(bytes / 10), txBytes: 256 * 1024, pauseMs: 20 });
      await sleep(500);
      const code = await rep.stop();
      if (code !== 0) throw new Error(`replicate exited ${code}: ${lastOutput(rep)}`);

      const empty = emptyObjects(replica);
      if (empty.length > 0) log(`WARNING: empty (0-byte) objects in the replica: ${empty.join(', ')}`);
      const walShipped = await walBytesShipped(replica);
      const dbBytes = statSync(db).size;
      // Raw limit on the same bytes (the db file, already in the page cache like the WAL was).
      const lz4 = await timed('lz4', ['-1', '-q', '-f', db, join(dir, 'raw.lz4')]);
      const cp = await timed('cp', [db, join(dir, 'raw.copy')]);
      rmSync(join(dir, 'raw.lz4'));
      rmSync(join(dir, 'raw.copy'));
      const perGiB = (v: number, n: number) => (v * GiB) / n;
      const lz4Cpu = perGiB(lz4.cpu, dbBytes);
      const cpCpu = perGiB(cp.cpu, dbBytes);
      const shipMBps = walShipped / MiB / shipSeconds;
      const rawMBps = dbBytes / MiB / (lz4.wall + cp.wall);
      const replicatorCpuSecPerGiB = perGiB(cpu, walShipped);
      throughput = {
        loadedMiB: bytes / MiB,
        walShippedMiB: walShipped / MiB,
        loadSeconds: loaded.ms / 1000,
        shipSeconds,
        shipMBps,
        replicatorCpuSecPerGiB,
        lz4: { wallSecPerGiB: perGiB(lz4.wall, dbBytes), cpuSecPerGiB: lz4Cpu },
        copy: { wallSecPerGiB: perGiB(cp.wall, dbBytes), cpuSecPerGiB: cpCpu },
        cpuRatio: replicatorCpuSecPerGiB / (lz4Cpu + cpCpu),
        wallRatio: rawMBps / shipMBps,
        snapshotSeconds,
        replicatorPeakMiB: rep.peakMiB,
        emptyObjects: empty,
      };
      log(
        `throughput: ${shipMBps.toFixed(0)} MB/s shipped, ${replicatorCpuSecPerGiB.toFixed(2)} CPU s/GiB (lz4+cp ${(lz4Cpu + cpCpu).toFixed(2)}), peak ${rep.peakMiB.toFixed(0)} MiB`,
      );
    } finally {
      await rep.stop();
    }
    if (REFERENCE) {
      throughput.reference = await referenceShipping(
        bytes,
        throughput.lz4.cpuSecPerGiB + throughput.copy.cpuSecPerGiB,
      );
    }

    log('restore figure: measuring');
    const restore = await benchRestore(dir, replica, s3);
    return { throughput, restore };
  } finally {
    removeDir(dir);
  }
}

async function uploadToS3(replica: string, s3: S3Target, prefix: string): Promise<void> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: s3.credentials,
    forcePathStyle: true,
  });
  try {
    const files = listFiles(replica);
    for (let i = 0; i < files.length; i += 8) {
      await Promise.all(
        files.slice(i, i + 8).map((f) =>
          new Upload({
            client,
            params: { Bucket: s3.bucket, Key: `${prefix}/${f.key}`, Body: createReadStream(f.path) },
          }).done(),
        ),
      );
    }
  } finally {
    client.destroy();
  }
}

/** A litestream.yml replica entry for the bench's RGW (both tools read this form). */
export function s3ReplicaYaml(s3: S3Target, prefix: string): string {
  return `type: s3\nbucket: ${s3.bucket}\npath: ${prefix}\nendpoint: ${s3.endpoint}\nregion: ${s3.region}\nforce-path-style: true\naccess-key-id: ${s3.credentials.accessKeyId}\nsecret-access-key: ${s3.credentials.secretAccessKey}`;
}

/** Decoded size, counted as it streams (a 1 GiB snapshot does not fit a spawn buffer). */
function lz4Size(path: string): number {
  return Number(
    execFileSync('sh', ['-c', 'lz4 -d -c "$1" | wc -c', 'sh', path], { encoding: 'utf8' }).trim(),
  );
}

async function benchRestore(dir: string, replica: string, s3?: S3Target): Promise<RestoreResult> {
  const repeats = QUICK ? 1 : 2;
  const files = listFiles(replica);
  const snaps = files.filter((f) => isSnapshot(f.key));
  const latestSnap = snaps.at(-1)!;
  const segs = files.filter((f) => isSegment(f.key) && f.key.split('/')[1] === latestSnap.key.split('/')[1]);
  const snapIndex = Number.parseInt(latestSnap.key.split('/').at(-1)!.slice(0, 8), 16);
  const after = segs.filter((f) => Number.parseInt(f.key.split('/').at(-1)!.slice(0, 8), 16) >= snapIndex);
  log(`restore: ${after.length} segments after snapshot ${latestSnap.key}`);
  // Sizes through the lz4 CLI (an independent decoder, out of process).
  const walMiB = after.reduce((n, f) => n + lz4Size(f.path), 0) / MiB;
  // What a timed run writes at most: the snapshot's copy (baseline), the db and its WAL.
  const warmBytes = latestSnap.size + lz4Size(latestSnap.path) + walMiB * MiB;
  if (WARM_MEMORY)
    log(
      `restore: each timed run follows a ${(warmBytes / MiB).toFixed(0)} MiB scratch write (bench/lib/warm-memory.ts)`,
    );

  const out = join(dir, 'restored.db');
  const baseline: number[] = [];
  const durable: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const tmp = join(dir, 'snap.lz4');
    warmFreeMemory(dir, warmBytes);
    const c = await timed('cp', [latestSnap.path, tmp]);
    const d = await timed('lz4', ['-d', '-q', '-f', tmp, out]);
    baseline.push(c.wall + d.wall);
    // A restore ends with its database on the disk; the baseline above ends in the page cache.
    // GNU sync -d FILE: fdatasync of that file only.
    const f = await timed('sync', ['-d', out]);
    durable.push(c.wall + d.wall + f.wall);
    rmSync(tmp);
    rmSync(out);
  }
  const base = summarize(baseline);
  const durableBase = summarize(durable);
  const rows: RestoreRow[] = [];
  let dbMiB = 0;
  /** restore's arguments per tool: ls-mix takes the URL; v0.3.13 reads S3 endpoints only from a config. */
  type Source = {
    source: RestoreSource;
    args: (impl: Impl) => string[];
    env?: NodeJS.ProcessEnv;
    parallelism?: number[];
    /** No Litestream run for this source (its config has no such keys, or no such server). */
    noReference?: boolean;
  };
  const fileUrl = `file://${replica}`;
  const sources: Source[] = [{ source: 'file', args: () => [fileUrl] }];
  let capped: TcpFaultProxy | undefined;
  const replicaBytes = files.reduce((n, f) => n + f.size, 0);
  // The test RGW stores objects in memory (Ceph memstore): a replica that would fill it stalls
  // the upload, so the S3 restore is skipped when the machine could not give it enough RAM.
  if (s3 && replicaBytes > s3.capacityBytes * 0.6) {
    log(
      `restore: S3 skipped (${(replicaBytes / MiB).toFixed(0)} MiB replica > 60% of the test RGW's ${(s3.capacityBytes / MiB).toFixed(0)} MiB memstore)`,
    );
  } else if (s3) {
    const prefix = `restore-${Date.now()}`;
    await uploadToS3(replica, s3, prefix);
    const url = `s3://${s3.bucket}/${prefix}?endpoint=${s3.endpoint}&region=${s3.region}&force-path-style=true`;
    const refDb = join(dir, 's3-ref.db');
    const refConfig = writeConfig(dir, refDb, [s3ReplicaYaml(s3, prefix)]);
    const env = {
      LITESTREAM_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      LITESTREAM_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
    sources.push({
      source: 's3',
      args: (impl) => (impl === 'ls-mix' ? [url] : ['-config', refConfig, refDb]),
      env,
    });
    // The same objects through a per-connection cap, as a store across a network serves them:
    // one GET of the snapshot is bound by the cap, ranged parts are not.
    capped = await startTcpFaultProxy(Number(new URL(s3.endpoint).port));
    capped.setRate(CAPPED_BYTES_PER_SECOND);
    const cappedUrl = url.replace(`endpoint=${s3.endpoint}`, `endpoint=http://127.0.0.1:${capped.port}`);
    sources.push({ source: 's3-capped', args: () => [cappedUrl], env, parallelism: [8], noReference: true });
  }
  // SFTP: the replica copied into the test sshd's folder, read on loopback and through latency.
  let sshd: SshdServer | undefined;
  let delayed: TcpFaultProxy | undefined;
  if (existsSync('/usr/sbin/sshd') && process.getuid?.() === 0) {
    sshd = await startSshd();
    const remote = join(sshd.root, 'restore-bench');
    cpSync(replica, remote, { recursive: true });
    delayed = await startTcpFaultProxy(sshd.port);
    delayed.setLatency(SFTP_LATENCY_MS);
    for (const [source, port] of [
      ['sftp', sshd.port],
      ['sftp-latency', delayed.port],
    ] as const) {
      const sub = join(dir, source);
      mkdirSync(sub, { recursive: true });
      const db = join(sub, 'app.db');
      const yaml = `type: sftp\nhost: 127.0.0.1:${port}\nuser: ${sshd.user}\nkey-path: ${sshd.keyPath}\nhost-key: "${sshd.hostKey}"\npath: ${remote}`;
      const config = writeConfig(sub, db, [yaml]);
      sources.push({ source, args: () => ['-config', config, db], parallelism: [8], noReference: true });
    }
  } else log('restore: SFTP rows skipped (they need root and /usr/sbin/sshd for the test sshd)');
  const measure = async (impl: Impl, s: Source, parallelism: number) => {
    const secs: number[] = [];
    let peak = 0;
    for (let i = 0; i < (s.source === 'file' ? repeats : 1); i++) {
      warmFreeMemory(dir, warmBytes);
      const t0 = performance.now();
      const w = runtime(impl, ['restore', '-o', out, '-parallelism', String(parallelism), ...s.args(impl)], {
        env: s.env,
      });
      const code = await w.exited;
      if (code !== 0)
        throw new Error(`${impl} restore from ${s.source} exited ${code}: ${lastOutput(w, 2000)}`);
      secs.push((performance.now() - t0) / 1000);
      dbMiB = statSync(out).size / MiB;
      rmSync(out, { force: true });
      peak = Math.max(peak, w.peakMiB);
    }
    const seconds = summarize(secs);
    return {
      seconds,
      peakMiB: peak,
      ratio: seconds.median / base.median,
      durableRatio: seconds.median / durableBase.median,
    };
  };
  try {
    for (const s of sources) {
      for (const parallelism of s.parallelism ?? [1, 8]) {
        const m = await measure('ls-mix', s, parallelism);
        const row: RestoreRow = { source: s.source, parallelism, ...m };
        if (s.source === 's3-capped') row.oneGetSeconds = latestSnap.size / CAPPED_BYTES_PER_SECOND;
        if (REFERENCE && !s.noReference) row.reference = await measure('litestream', s, parallelism);
        rows.push(row);
        log(
          `restore ${s.source} p${parallelism}: ${m.seconds.median.toFixed(1)} s (baseline ${base.median.toFixed(1)} s), peak ${m.peakMiB.toFixed(0)} MiB${row.reference ? `; litestream ${row.reference.seconds.median.toFixed(1)} s, peak ${row.reference.peakMiB.toFixed(0)} MiB` : ''}`,
        );
      }
    }
  } finally {
    await capped?.stop();
    await delayed?.stop();
    await sshd?.stop();
  }
  return {
    dbMiB,
    snapshotMiB: latestSnap.size / MiB,
    walMiB,
    segments: after.length,
    baselineSeconds: base,
    durableBaselineSeconds: durableBase,
    rows,
  };
}
