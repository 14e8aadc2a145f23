/**
 * `npm run bench` (node --import tsx bench/index.ts): the figures of docs/bench.md, each from
 * one run on this machine, as ratios against a baseline measured in the same run. Prints a
 * table and writes bench/results/latest.json. Never pass/fail: targets are shown, not enforced.
 * BENCH_QUICK=1: ~2.5-minute smoke run with small sizes (same code paths, small data). BENCH_ONLY=overhead,lag,...: a subset.
 * BENCH_TMP=DIR: where the GiB-sized temp files go (default: the OS temp folder).
 * BENCH_LITESTREAM=/path/to/litestream: also run the workloads with that binary (a Litestream
 * v0.3.13 build) and print its figures in an extra column.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRgw } from '../test/services/rgw.js';
import { benchBulk } from './figures/bulk.js';
import { benchGenerator } from './figures/generator.js';
import type { S3Target } from './figures/lag.js';
import { benchLag } from './figures/lag.js';
import { benchMemory, roomForRgw, type S3Starter } from './figures/memory.js';
import { benchOverhead } from './figures/overhead.js';
import { cleanupAll, log, MiB, QUICK } from './lib/env.js';
import { packagedCli } from './lib/package.js';
import { CLI, ROOT, useCli } from './lib/proc.js';
import { REFERENCE, referenceVersion } from './lib/reference.js';
import { renderTable } from './lib/report.js';

const only = process.env.BENCH_ONLY?.split(',');
const want = (name: string) => !only || only.includes(name);

function machine() {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  return {
    nproc: cpus().length,
    model,
    memMiB: Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024),
    node: process.version,
    loadAvgAtStart: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

async function main() {
  const started = Date.now();
  let rgwStop: (() => Promise<void>) | undefined;
  process.on('SIGINT', () => {
    cleanupAll();
    void (rgwStop?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
  const tmp = process.env.BENCH_TMP ?? tmpdir();
  const fs = statfsSync(tmp);
  const freeGiB = (fs.bavail * fs.bsize) / 1024 / MiB;
  const needGiB = QUICK ? 1 : REFERENCE ? 11 : 9;
  if (freeGiB < needGiB)
    throw new Error(`need ~${needGiB} GiB free in ${tmp} (BENCH_TMP), have ${freeGiB.toFixed(1)}`);
  log(`${QUICK ? 'quick' : 'full'} run; temp files in ${tmp} (${freeGiB.toFixed(0)} GiB free)`);
  log('building dist/ (the CLI users run)');
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  } catch {
    log('tsc reported type errors; dist/ was emitted anyway');
  }
  useCli(packagedCli());
  log(`CLI under test: ${CLI} (packaged with an oclif manifest)`);

  const reference = referenceVersion();
  if (reference) log(`side by side with ${REFERENCE} (${reference})`);
  const results: Record<string, unknown> = {
    machine: machine(),
    quick: QUICK,
    startedAt: new Date(started).toISOString(),
    ...(reference && { reference: { path: REFERENCE, version: reference } }),
  };
  let s3: S3Target | undefined;
  let rgw: Awaited<ReturnType<typeof startRgw>> | undefined;
  const noS3 = process.env.BENCH_NO_S3 === '1';
  const needS3 = want('lag') || want('restore');
  if (needS3 && !noS3) {
    try {
      // The test RGW keeps objects in RAM: room for the 1 GiB restore replica when RAM allows.
      const capacityBytes = !QUICK && freemem() > 8 * 1024 * MiB ? 4 * 1024 * MiB : 1024 * MiB;
      rgw = await startRgw({ memoryBytes: capacityBytes });
      rgwStop = rgw.stop;
      await rgw.createBucket('bench');
      s3 = {
        endpoint: rgw.endpoint,
        region: rgw.region,
        bucket: 'bench',
        credentials: rgw.credentials,
        capacityBytes,
      };
      log(`Ceph RGW on ${rgw.endpoint}`);
    } catch (err) {
      log(`S3 figures skipped: ${(err as Error).message.split('\n')[0]}`);
      results.s3Skipped = (err as Error).message.split('\n')[0];
    }
  }
  const out = join(ROOT, 'bench/results');
  mkdirSync(out, { recursive: true });
  // Saved after every figure, so a run cut short keeps what it measured.
  const save = () => writeFileSync(join(out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  try {
    if (want('overhead')) results.overhead = await benchOverhead();
    save();
    if (want('lag')) results.lag = await benchLag(s3);
    save();
    if (want('throughput') || want('restore')) {
      const bulk = await benchBulk(s3);
      results.throughput = bulk.throughput;
      results.restore = bulk.restore;
      save();
    }
    if (want('memory')) {
      // The figure-2/4 RGW holds the restore replica in RAM: memory's S3 runs get fresh ones.
      await rgw?.stop();
      rgw = undefined;
      rgwStop = undefined;
      const off = noS3 || results.s3Skipped !== undefined;
      results.memory = await benchMemory(startS3For(off, (stop) => (rgwStop = stop)));
    }
    save();
    if (want('generator')) results.generator = await benchGenerator();
  } finally {
    await rgw?.stop();
    cleanupAll();
  }
  (results.machine as Record<string, unknown>).loadAvgAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  results.totalSeconds = Math.round((Date.now() - started) / 1000);
  save();
  process.stdout.write(`${renderTable(results)}\n`);
  log(`done in ${results.totalSeconds} s; JSON in bench/results/latest.json`);
}

/**
 * A fresh test RGW per memory run (undefined, with a note, when S3 is off or RAM is short);
 * onStart gets its stop, for Ctrl-C.
 */
function startS3For(off: boolean, onStart: (stop: () => Promise<void>) => void): S3Starter {
  return async (capacityBytes) => {
    if (off) return undefined;
    if (!roomForRgw(capacityBytes)) {
      log(`memory: S3 skipped (no RAM for a ${(capacityBytes / 1024 / MiB).toFixed(1)} GiB test RGW)`);
      return undefined;
    }
    let server: Awaited<ReturnType<typeof startRgw>> | undefined;
    try {
      server = await startRgw({ memoryBytes: capacityBytes });
      onStart(server.stop);
      await server.createBucket('bench');
    } catch (err) {
      await server?.stop();
      log(`memory: S3 skipped: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
    return {
      endpoint: server.endpoint,
      region: server.region,
      bucket: 'bench',
      credentials: server.credentials,
      capacityBytes,
      stop: server.stop,
    };
  };
}

main().catch((err) => {
  cleanupAll();
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
