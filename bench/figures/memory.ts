/**
 * 5. Memory: peak RSS (VmHWM from /proc/PID/status) of `replicate` while it snapshots and
 * replicates a large db, and of `restore -parallelism 8` of it, at two db sizes (flat means the
 * peak does not grow with the db), to a file replica and to S3 (a fresh test RGW per S3 run: it
 * keeps objects in RAM and frees deleted ones only hours later).
 * ls-mix also takes a second snapshot (SIGUSR1) with the new writes in the WAL; the reference
 * Litestream v0.3.13 (BENCH_LITESTREAM) has no on-demand snapshot, so it only replicates them.
 */
import { copyFileSync, rmSync, statSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { log, MiB, QUICK, removeDir, tempDir, writeConfig } from '../lib/env.js';
import { lastOutput, sleep, waitUntil } from '../lib/proc.js';
import { type Impl, impls, runtime, stopWarning } from '../lib/reference.js';
import { isSnapshot, listFiles } from '../lib/replica.js';
import { load, s3ReplicaYaml } from './bulk.js';
import type { S3Target } from './lag.js';

export interface MemoryPeaks {
  replicatePeakMiB: number;
  restorePeakMiB: number;
  restoreSeconds: number;
}

export interface MemoryRow extends MemoryPeaks {
  dbMiB: number;
  /** Where the replica was (rows from before S3 was measured have none: file). */
  target?: 'file' | 's3';
  /** The reference Litestream on the same workload (BENCH_LITESTREAM). */
  reference?: MemoryPeaks;
}

/** Starts a test RGW holding at most this many bytes; undefined when S3 is off. */
export type S3Starter = (
  capacityBytes: number,
) => Promise<(S3Target & { stop(): Promise<void> }) | undefined>;

async function s3Snapshots(s3: S3Target, prefix: string): Promise<number> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: s3.credentials,
    forcePathStyle: true,
  });
  try {
    let n = 0;
    let token: string | undefined;
    do {
      const r = await client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/`, ContinuationToken: token }),
      );
      n += (r.Contents ?? []).filter((o) => isSnapshot(o.Key!) && (o.Size ?? 0) > 0).length;
      token = r.NextContinuationToken;
    } while (token);
    return n;
  } finally {
    client.destroy();
  }
}

/** replicate (snapshot, 32 MiB more, ls-mix: a second snapshot), then restore of that replica. */
async function measure(impl: Impl, dir: string, db: string, s3?: S3Target): Promise<MemoryPeaks> {
  const replica = join(dir, `replica-${impl}`);
  const prefix = `memory-${impl}-${Date.now()}`;
  const yaml = s3
    ? `${s3ReplicaYaml(s3, prefix)}\nsync-interval: 1s`
    : `url: file://${replica}\nsync-interval: 1s`;
  const config = writeConfig(dir, db, [yaml]);
  const snaps = s3
    ? () => s3Snapshots(s3, prefix)
    : async () => listFiles(replica).filter((f) => isSnapshot(f.key) && f.size > 0).length;
  const rep = runtime(impl, ['replicate', '-config', config]);
  try {
    await waitUntil('initial snapshot', async () => (await snaps()) > 0, 900_000);
    await load({ db, bytes: 32 * MiB, txBytes: 1 * MiB, pauseMs: 5 });
    if (impl === 'ls-mix') {
      const before = await snaps();
      rep.child.kill('SIGUSR1');
      await waitUntil('second snapshot', async () => (await snaps()) > before, 900_000);
    }
    await sleep(1500);
  } finally {
    const warning = stopWarning(impl, await rep.stop(), rep);
    if (warning) log(warning);
  }
  const out = join(dir, 'restored.db');
  const t0 = performance.now();
  const r = runtime(impl, ['restore', '-config', config, '-o', out, '-parallelism', '8', db]);
  const code = await r.exited;
  if (code !== 0) throw new Error(`${impl} restore exited ${code}: ${lastOutput(r, 2000)}`);
  const restoreSeconds = (performance.now() - t0) / 1000;
  rmSync(out, { force: true });
  rmSync(replica, { recursive: true, force: true });
  return { replicatePeakMiB: rep.peakMiB, restorePeakMiB: r.peakMiB, restoreSeconds };
}

async function atSize(bytes: number, startS3: S3Starter): Promise<MemoryRow[]> {
  const dir = tempDir('memory');
  try {
    // One freshly loaded db per tool and target: each keeps its own generation and shadow WAL.
    const loaded = join(dir, 'loaded.db');
    await load({ db: loaded, bytes, txBytes: 64 * MiB });
    const rows: MemoryRow[] = [];
    for (const target of ['file', 's3'] as const) {
      const row: MemoryRow = {
        dbMiB: bytes / MiB,
        target,
        replicatePeakMiB: 0,
        restorePeakMiB: 0,
        restoreSeconds: 0,
      };
      let measured = false;
      for (const impl of impls()) {
        const db = join(dir, `${impl}-${target}.db`);
        copyFileSync(loaded, db);
        // Two snapshots of a db that compresses to about half, plus headroom.
        const s3 = target === 's3' ? await startS3(Math.max(1024 * MiB, 2 * statSync(db).size)) : undefined;
        if (target === 's3' && !s3) break;
        try {
          const peaks = await measure(impl, dir, db, s3);
          if (impl === 'ls-mix') Object.assign(row, peaks);
          else row.reference = peaks;
          measured = true;
          log(
            `memory ${row.dbMiB} MiB db, ${target}, ${impl}: replicate peak ${peaks.replicatePeakMiB.toFixed(0)} MiB, restore peak ${peaks.restorePeakMiB.toFixed(0)} MiB`,
          );
        } finally {
          await s3?.stop();
          rmSync(db, { force: true });
          for (const suffix of ['-wal', '-shm']) rmSync(db + suffix, { force: true });
          removeDir(join(dir, `.${impl}-${target}.db-litestream`));
        }
      }
      if (measured) rows.push(row);
    }
    return rows;
  } finally {
    removeDir(dir);
  }
}

export async function benchMemory(startS3: S3Starter): Promise<MemoryRow[]> {
  // BENCH_MEMORY_MIB=256 (a comma list) measures only those db sizes: for quick comparisons.
  const only = process.env.BENCH_MEMORY_MIB?.split(',').map((m) => Number(m) * MiB);
  const sizes = only ?? (QUICK ? [32 * MiB, 192 * MiB] : [256 * MiB, 2048 * MiB]);
  const rows: MemoryRow[] = [];
  for (const s of sizes) rows.push(...(await atSize(s, startS3)));
  return rows;
}

/** Whether the machine has RAM for a test RGW of this capacity next to the bench. */
export function roomForRgw(capacityBytes: number): boolean {
  return freemem() > capacityBytes + 4 * 1024 * MiB;
}
