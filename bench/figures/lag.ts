/**
 * 2. Replication lag: commit -> WAL segment durable on the replica, at 100 and 1000 tx/s and
 * as fast as one writer goes, with sync-interval 1s and 100ms, to a file replica and to S3 on
 * loopback (Ceph RGW). Each tx writes a row whose payload starts with a marker `TX<id>`; an
 * observer polls the replica, decodes each new segment and finds the highest marker in it:
 * every tx up to that id became durable when the segment was stored — when the replica
 * acknowledged its write (the PUT's answer, the rename; replicate's debug log line for that
 * segment), or when the observer first saw it, whichever is earlier. The observer's own time is
 * reported too: it adds up to two polls (on RGW a LIST takes ~50 ms) to the lag.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { lz4FrameDecompress } from '../../runtime/format/lz4.js';
import { ackKey, watchAcks } from '../lib/acks.js';
import { log, QUICK, removeDir, tempDir, writeConfig } from '../lib/env.js';
import { lsMix, sleep, waitUntil } from '../lib/proc.js';
import { isSegment, listFiles } from '../lib/replica.js';
import { percentile } from '../lib/stats.js';
import { runWriters } from './overhead.js';

export interface LagRow {
  target: 'file' | 's3';
  syncIntervalMs: number;
  /** Requested tx/s (0 = as fast as possible). */
  rate: number;
  achievedTxPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  /** The same, timed by when the observer first listed each segment (an upper bound). */
  seen: { p50Ms: number; p99Ms: number };
  /** Segments timed by the replica's acknowledgement (the rest by the observer). */
  ackedSegments: number;
  segments: number;
  /** Transactions timed stored before they committed (clocks disagree): the row has no figures. */
  storedBeforeCommit?: number;
}

export interface S3Target {
  endpoint: string;
  region: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Bytes the server can hold (the test RGW keeps objects in RAM). */
  capacityBytes: number;
}

/** Highest `TX<10 digits>` marker in a decoded segment. */
function maxMarker(buf: Buffer): number {
  const s = buf.toString('latin1');
  let max = -1;
  const re = /TX(\d{10})/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const n = Number(m[1]);
    if (n > max) max = n;
  }
  return max;
}

interface SeenSegment {
  key: string;
  /** When a LIST first showed it. */
  at: number;
  /** Highest tx id in it. */
  max: number;
}

interface Observer {
  /** Every key seen so far. */
  keys: string[];
  /** Every segment, in order seen. */
  seen: SeenSegment[];
  stop(): Promise<void>;
}

function observe(list: () => Promise<string[]>, fetch: (key: string) => Promise<Buffer>): Observer {
  const known = new Set<string>();
  const keysSeen: string[] = [];
  const seen: Observer['seen'] = [];
  const decoding: Promise<void>[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const keys = await list().catch(() => [] as string[]);
      // The wall clock, as the writer and replicate's log use: each process's
      // timeOrigin + now() is fixed at its start and drifts from the others' when the clock is
      // stepped or slewed (a 12-06 run read every lag as 0 ms).
      const at = Date.now();
      for (const k of keys) {
        if (known.has(k)) continue;
        known.add(k);
        keysSeen.push(k);
        if (!isSegment(k)) continue;
        decoding.push(
          fetch(k)
            .then((b) => lz4FrameDecompress(b))
            .then((plain) => {
              seen.push({ key: k, at, max: maxMarker(plain) });
            })
            .catch(() => undefined),
        );
      }
      await sleep(5);
    }
  })();
  return {
    keys: keysSeen,
    seen,
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(decoding);
    },
  };
}

/**
 * A segment cannot be stored before the transaction it holds committed: one timed more than
 * this before the commit means the processes' clocks disagree (the log's times are rounded down
 * to the millisecond, hence a margin).
 */
const CLOCK_MARGIN_MS = 20;

/**
 * Lag of each tx: first segment time holding its id, minus its commit time. `early` counts the
 * transactions whose segment was timed more than CLOCK_MARGIN_MS before their commit.
 */
export function lags(
  commitTimes: Float64Array,
  idBase: number,
  seen: Array<{ at: number; max: number }>,
): { lags: number[]; early: number } {
  const order = [...seen].sort((a, b) => a.at - b.at);
  // Earliest time at which each id was durable: running max over segments in time order.
  const out: number[] = [];
  let early = 0;
  let j = 0;
  let durableUpTo = -1;
  let durableAt = 0;
  for (let k = 0; k < commitTimes.length; k++) {
    const id = idBase + k;
    while (durableUpTo < id && j < order.length) {
      if (order[j].max > durableUpTo) {
        durableUpTo = order[j].max;
        durableAt = order[j].at;
      }
      j++;
    }
    if (durableUpTo < id) break; // never seen (the run ended first)
    const lag = durableAt - commitTimes[k];
    if (lag < -CLOCK_MARGIN_MS) early++;
    out.push(Math.max(0, lag));
  }
  return { lags: out, early };
}

async function runTarget(
  target: 'file' | 's3',
  syncIntervalMs: number,
  seconds: number,
  s3?: S3Target,
): Promise<LagRow[]> {
  const dir = tempDir('lag');
  const db = join(dir, 'app.db');
  const prefix = `lag-${syncIntervalMs}-${Date.now()}`;
  const replicaDir = join(dir, 'replica');
  let s3c: S3Client | undefined;
  let replicaYaml: string;
  let observer: () => Observer;
  if (target === 's3') {
    if (!s3) throw new Error('no S3 server');
    s3c = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      forcePathStyle: true,
    });
    const client = s3c;
    replicaYaml = `type: s3\nbucket: ${s3.bucket}\npath: ${prefix}\nendpoint: ${s3.endpoint}\nregion: ${s3.region}\nforce-path-style: true\naccess-key-id: ${s3.credentials.accessKeyId}\nsecret-access-key: ${s3.credentials.secretAccessKey}\nsync-interval: ${syncIntervalMs}ms`;
    observer = () =>
      observe(
        async () => {
          const keys: string[] = [];
          let token: string | undefined;
          do {
            const r = await client.send(
              new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/`, ContinuationToken: token }),
            );
            for (const o of r.Contents ?? []) keys.push(o.Key!);
            token = r.NextContinuationToken;
          } while (token);
          return keys;
        },
        async (key) => {
          const r = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
          return Buffer.from(await r.Body!.transformToByteArray());
        },
      );
  } else {
    replicaYaml = `url: file://${replicaDir}\nsync-interval: ${syncIntervalMs}ms`;
    observer = () =>
      observe(
        async () => listFiles(replicaDir).map((f) => f.key),
        async (key) => readFileSync(join(replicaDir, key)),
      );
  }
  await runWriters([{ db, seconds: 0, rowsPerTx: 1, rate: 0, idBase: 0, writer: 0 }]);
  const config = writeConfig(dir, db, [replicaYaml]);
  appendFileSync(config, 'logging:\n  type: json\n');
  const rep = lsMix(['replicate', '-config', config], { env: { LS_MIX_LOG_LEVEL: 'debug' } });
  const acks = watchAcks(rep.child.stdout!);
  const rows: LagRow[] = [];
  try {
    const obs = observer();
    await waitUntil('the first snapshot', () => obs.keys.some((k) => k.includes('/snapshots/')), 60_000);
    await sleep(500);
    let idBase = 1_000_000;
    for (const rate of [100, 1000, 0]) {
      const timesOut = join(dir, `times-${rate}`);
      const [res] = await runWriters([{ db, seconds, rowsPerTx: 1, rate, idBase, writer: 1, timesOut }]);
      // Wait until the last tx is durable (bounded: a replicator far behind a flat-out writer
      // is reported with the share that made it), then a few intervals for stragglers.
      const lastId = idBase + res.tx - 1;
      const deadline = Date.now() + (QUICK ? 20_000 : 60_000);
      while (Date.now() < deadline && !obs.seen.some((x) => x.max >= lastId)) await sleep(50);
      await sleep(Math.max(500, syncIntervalMs * 2));
      const buf = readFileSync(timesOut);
      const times = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
      // Stored = acknowledged, or seen if that came first (a LIST can show an object before
      // its PUT's answer arrives).
      const stored = obs.seen.map((x) => {
        const ack = acks.get(ackKey(x.key) ?? '');
        return { at: ack === undefined ? x.at : Math.min(ack, x.at), max: x.max };
      });
      const { lags: l, early } = lags(times, idBase, stored);
      const { lags: lSeen } = lags(times, idBase, obs.seen);
      const inRun = obs.seen.filter((x) => x.max >= idBase);
      const acked = inRun.filter((x) => acks.has(ackKey(x.key) ?? '')).length;
      // Clocks that disagree make every lag 0: no figure rather than a wrong one.
      const valid = early === 0;
      const row: LagRow = {
        target,
        syncIntervalMs,
        rate,
        achievedTxPerSec: res.tx / seconds,
        p50Ms: valid ? percentile(l, 50) : Number.NaN,
        p99Ms: valid ? percentile(l, 99) : Number.NaN,
        maxMs: valid && l.length ? l.reduce((a, b) => (b > a ? b : a)) : Number.NaN,
        samples: l.length,
        seen: { p50Ms: percentile(lSeen, 50), p99Ms: percentile(lSeen, 99) },
        ackedSegments: acked,
        segments: inRun.length,
        ...(valid ? {} : { storedBeforeCommit: early }),
      };
      rows.push(row);
      const label = `lag ${target} sync ${syncIntervalMs}ms @${rate || 'max'} tx/s`;
      log(
        valid
          ? `${label}: p50 ${row.p50Ms.toFixed(0)} ms, p99 ${row.p99Ms.toFixed(0)} ms (${l.length}/${times.length}; seen by the observer: p99 ${row.seen.p99Ms.toFixed(0)} ms; ${acked}/${inRun.length} segments acknowledged)`
          : `WARNING: ${label} not measured: ${early} of ${l.length} transactions were timed stored more than ${CLOCK_MARGIN_MS} ms before they committed (the processes' clocks disagree; was the system clock stepped?)`,
      );
      idBase += 10_000_000;
    }
    await obs.stop();
  } finally {
    const code = await rep.stop();
    s3c?.destroy();
    removeDir(dir);
    if (code !== 0) log(`WARNING: replicate exited ${code}: ${rep.stderr.slice(-1000)}`);
  }
  return rows;
}

export async function benchLag(s3?: S3Target): Promise<LagRow[]> {
  const seconds = QUICK ? 2 : 6;
  const rows: LagRow[] = [];
  for (const target of s3 ? (['file', 's3'] as const) : (['file'] as const)) {
    for (const interval of [1000, 100]) rows.push(...(await runTarget(target, interval, seconds, s3)));
  }
  return rows;
}
