/**
 * 1. Write overhead: transactions per second of an app (1 writer, or 8 writer processes; 1 or
 * 100 rows per tx) for a fixed time, without and with `ls-mix replicate` (its own process) to
 * a file replica. Runs alternate without/with so machine noise hits both alike. With
 * BENCH_LITESTREAM set, each repeat also runs the reference replicator against the same
 * "without" baseline.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { log, QUICK, removeDir, tempDir, writeConfig } from '../lib/env.js';
import { ROOT, waitUntil } from '../lib/proc.js';
import { type Impl, REFERENCE, runtime, stopWarning } from '../lib/reference.js';
import { listFiles } from '../lib/replica.js';
import { type Summary, summarize } from '../lib/stats.js';

const WRITER = join(ROOT, 'bench/workers/writer.mjs');

export interface OverheadRow {
  writers: number;
  rowsPerTx: number;
  seconds: number;
  baselineTxPerSec: Summary;
  replicatedTxPerSec: Summary;
  ratio: Summary;
  /** The replicator's CPU (user + system) as a share of one core while the writers ran. */
  replicatorCpuPercent: Summary;
  /**
   * 1-row transactions only: ls-mix replicating an app that runs with `PRAGMA
   * wal_autocheckpoint = 0`, as docs/replicate.md recommends (the runtime owns checkpoints).
   */
  noAppCheckpoint?: { replicatedTxPerSec: Summary; ratio: Summary };
  /** The same figures with the reference Litestream replicating (BENCH_LITESTREAM). */
  reference?: { replicatedTxPerSec: Summary; ratio: Summary; replicatorCpuPercent: Summary };
}

export interface WriterHandle {
  ready: Promise<void>;
  go(): void;
  done: Promise<{ tx: number; rows: number }>;
}

/** Start a writer process; it opens the db, says ready, and writes once go() is called. */
export function startWriter(job: object): WriterHandle {
  const c = spawn(process.execPath, [WRITER, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  c.stdout.on('data', (d) => {
    out += d;
    if (out.startsWith('ready\n')) onReady();
  });
  c.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ tx: number; rows: number }>((resolve, reject) =>
    c.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length))) : reject(new Error(`writer: ${err}`)),
    ),
  );
  return { ready, go: () => c.stdin.end('g'), done };
}

export async function runWriters(jobs: object[]): Promise<Array<{ tx: number; rows: number }>> {
  const ws = jobs.map(startWriter);
  await Promise.all(ws.map((w) => w.ready));
  for (const w of ws) w.go();
  return Promise.all(ws.map((w) => w.done));
}

export async function oneRun(
  writers: number,
  rowsPerTx: number,
  seconds: number,
  replicated: false | Impl,
  dbExtra = '',
  appAutocheckpoint?: number,
): Promise<{ txPerSec: number; replicatorCpuPercent?: number }> {
  const dir = tempDir('overhead');
  try {
    const db = join(dir, 'app.db');
    // Create the db (and its WAL mode) before replicate opens it, as an app would.
    await runWriters([{ db, seconds: 0, rowsPerTx: 1, rate: 0, idBase: 0, writer: 0 }]);
    const rep = replicated
      ? runtime(replicated, [
          'replicate',
          '-config',
          writeConfig(dir, db, [`url: file://${join(dir, 'replica')}`], dbExtra),
        ])
      : undefined;
    try {
      if (rep) await waitUntil('first snapshot', () => listFiles(join(dir, 'replica')).length > 0);
      const cpu0 = rep?.cpu ?? 0;
      const results = await runWriters(
        Array.from({ length: writers }, (_, w) => ({
          db,
          seconds,
          rowsPerTx,
          rate: 0,
          idBase: 0,
          writer: w,
          ...(appAutocheckpoint !== undefined && { autocheckpoint: appAutocheckpoint }),
        })),
      );
      const txPerSec = results.reduce((n, r) => n + r.tx, 0) / seconds;
      return { txPerSec, replicatorCpuPercent: rep && ((rep.cpu - cpu0) / seconds) * 100 };
    } finally {
      const code = await rep?.stop();
      const warning = rep && replicated && stopWarning(replicated, code ?? null, rep);
      if (warning) log(warning);
    }
  } finally {
    removeDir(dir);
  }
}

/** The side where ls-mix replicates an app running with `wal_autocheckpoint = 0`. */
const NO_APP_CHECKPOINT = 'ls-mix, app wal_autocheckpoint=0';
type Side = false | Impl | typeof NO_APP_CHECKPOINT;

export async function benchOverhead(): Promise<OverheadRow[]> {
  const seconds = QUICK ? 1.5 : 4;
  const repeats = QUICK ? 1 : 3;
  const rows: OverheadRow[] = [];
  for (const writers of [1, 8]) {
    for (const rowsPerTx of [1, 100]) {
      const base: number[] = [];
      const repl: number[] = [];
      const ratios: number[] = [];
      const cpu: number[] = [];
      const ref = { tx: [] as number[], ratios: [] as number[], cpu: [] as number[] };
      const tuned = { tx: [] as number[], ratios: [] as number[] };
      // The app's autocheckpoint is what a replicated 1-row writer loses most to (docs/bench.md,
      // sixteenth round): measured both ways. 100-row transactions barely try it.
      const sides: Side[] = [false, 'ls-mix'];
      if (rowsPerTx === 1) sides.push(NO_APP_CHECKPOINT);
      if (REFERENCE) sides.push('litestream');
      for (let i = 0; i < repeats; i++) {
        // Alternate the order so drift in machine load does not favour one side.
        const got = new Map<Side, Awaited<ReturnType<typeof oneRun>>>();
        for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
          const run =
            side === NO_APP_CHECKPOINT
              ? oneRun(writers, rowsPerTx, seconds, 'ls-mix', '', 0)
              : oneRun(writers, rowsPerTx, seconds, side);
          got.set(side, await run);
        }
        const without = got.get(false)!.txPerSec;
        const withRep = got.get('ls-mix')!;
        base.push(without);
        repl.push(withRep.txPerSec);
        ratios.push(withRep.txPerSec / without);
        cpu.push(withRep.replicatorCpuPercent ?? 0);
        const withTuned = got.get(NO_APP_CHECKPOINT);
        if (withTuned) {
          tuned.tx.push(withTuned.txPerSec);
          tuned.ratios.push(withTuned.txPerSec / without);
        }
        const withRef = got.get('litestream');
        if (withRef) {
          ref.tx.push(withRef.txPerSec);
          ref.ratios.push(withRef.txPerSec / without);
          ref.cpu.push(withRef.replicatorCpuPercent ?? 0);
        }
      }
      const row: OverheadRow = {
        writers,
        rowsPerTx,
        seconds,
        baselineTxPerSec: summarize(base),
        replicatedTxPerSec: summarize(repl),
        ratio: summarize(ratios),
        replicatorCpuPercent: summarize(cpu),
        ...(tuned.tx.length > 0 && {
          noAppCheckpoint: { replicatedTxPerSec: summarize(tuned.tx), ratio: summarize(tuned.ratios) },
        }),
        ...(REFERENCE && {
          reference: {
            replicatedTxPerSec: summarize(ref.tx),
            ratio: summarize(ref.ratios),
            replicatorCpuPercent: summarize(ref.cpu),
          },
        }),
      };
      log(
        `overhead ${writers}w x ${rowsPerTx} rows/tx: ${row.ratio.median.toFixed(3)}x (replicator ${row.replicatorCpuPercent.median.toFixed(0)}% of a core)${row.noAppCheckpoint ? `; app with wal_autocheckpoint=0 ${row.noAppCheckpoint.ratio.median.toFixed(3)}x` : ''}${row.reference ? `; litestream ${row.reference.ratio.median.toFixed(3)}x (${row.reference.replicatorCpuPercent.median.toFixed(0)}%)` : ''}`,
      );
      rows.push(row);
    }
  }
  return rows;
}
