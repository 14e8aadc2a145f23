/** The bench results as one Markdown table (printed, and pasted into docs/bench.md). */

import {
  CAPPED_BYTES_PER_SECOND,
  type RestoreResult,
  type RestoreSource,
  SFTP_LATENCY_MS,
  type ThroughputResult,
} from '../figures/bulk.js';
import type { GeneratorResult } from '../figures/generator.js';
import type { LagRow } from '../figures/lag.js';
import type { MemoryRow } from '../figures/memory.js';
import type { OverheadRow } from '../figures/overhead.js';
import { fmt, fmtSummary } from './stats.js';

type Results = Record<string, unknown> & {
  reference?: { path: string; version: string };
  machine?: { nproc: number; model?: string; loadAvgAtStart: number[]; loadAvgAtEnd?: number[] };
  overhead?: OverheadRow[];
  lag?: LagRow[];
  throughput?: ThroughputResult;
  restore?: RestoreResult;
  memory?: MemoryRow[];
  generator?: GeneratorResult;
};

/** MiB peak RSS, or '-' when not measured. */
const peak = (mib: number | undefined) => (mib === undefined ? '-' : `${fmt(mib, 0)} MiB peak RSS`);

export function renderTable(r: Results): string {
  const rows: string[][] = [];
  /** Figure, case, measured, baseline, ratio, target; then the reference's cell (side by side). */
  const add = (...cells: string[]) => rows.push(cells);
  for (const o of r.overhead ?? []) {
    add(
      '1 write overhead',
      `${o.writers} writer${o.writers > 1 ? ' processes' : ''}, ${o.rowsPerTx} row/tx, ${o.seconds}s`,
      `${fmtSummary(o.replicatedTxPerSec, 0)} tx/s (replicator ${fmt(o.replicatorCpuPercent?.median ?? Number.NaN, 0)}% of a core)`,
      `${fmtSummary(o.baselineTxPerSec, 0)} tx/s without`,
      `${fmtSummary(o.ratio, 3)}x`,
      '>= 0.95x',
      o.reference
        ? `${fmtSummary(o.reference.ratio, 3)}x: ${fmtSummary(o.reference.replicatedTxPerSec, 0)} tx/s (replicator ${fmt(o.reference.replicatorCpuPercent.median, 0)}% of a core)`
        : '-',
    );
    if (o.noAppCheckpoint)
      add(
        '1 write overhead',
        `same, app with \`wal_autocheckpoint = 0\` (docs/replicate.md)`,
        `${fmtSummary(o.noAppCheckpoint.replicatedTxPerSec, 0)} tx/s`,
        `${fmtSummary(o.baselineTxPerSec, 0)} tx/s without (default autocheckpoint)`,
        `${fmtSummary(o.noAppCheckpoint.ratio, 3)}x`,
        '-',
        '-',
      );
  }
  for (const l of r.lag ?? []) {
    add(
      '2 replication lag',
      `${l.target}, sync ${l.syncIntervalMs}ms, ${l.rate ? `${l.rate} tx/s` : 'max'} (${fmt(l.achievedTxPerSec, 0)} tx/s)`,
      l.storedBeforeCommit
        ? `not measured: ${l.storedBeforeCommit} tx timed stored before their commit (clocks disagree)`
        : `p50 ${fmt(l.p50Ms, 0)} ms, p99 ${fmt(l.p99Ms, 0)} ms (as a poller saw it: p99 ${fmt(l.seen?.p99Ms ?? Number.NaN, 0)} ms)`,
      `sync-interval ${l.syncIntervalMs} ms`,
      `p99 = ${fmt(l.p99Ms / l.syncIntervalMs, 2)}x interval`,
      l.rate && l.rate <= 1000 ? `p99 <= ${l.syncIntervalMs + 100} ms` : '-',
    );
  }
  const t = r.throughput;
  if (t) {
    add(
      '3 shipping',
      `bulk load ${fmt(t.loadedMiB, 0)} MiB (${fmt(t.walShippedMiB, 0)} MiB WAL)`,
      `${fmt(t.shipMBps, 0)} MB/s, ${fmt(t.replicatorCpuSecPerGiB)} CPU s/GiB`,
      `lz4+copy ${fmt(1024 / (t.lz4.wallSecPerGiB + t.copy.wallSecPerGiB), 0)} MB/s, ${fmt(t.lz4.cpuSecPerGiB + t.copy.cpuSecPerGiB)} CPU s/GiB`,
      `CPU ${fmt(t.cpuRatio)}x, wall ${fmt(t.wallRatio)}x`,
      "CPU <= Litestream's, within 2x",
      t.reference
        ? `${fmt(t.reference.shipMBps, 0)} MB/s, ${fmt(t.reference.replicatorCpuSecPerGiB)} CPU s/GiB (CPU ${fmt(t.reference.cpuRatio)}x)`
        : '-',
    );
    add('3 shipping', `snapshot of the loaded db (SIGUSR1)`, `${fmt(t.snapshotSeconds)} s`, '-', '-', '-');
  }
  const rs = r.restore;
  for (const x of rs?.rows ?? []) {
    if (x.source === 's3-capped') {
      add(
        '4 restore',
        `same, ${sourceName(x.source)}, parallelism ${x.parallelism}`,
        `${fmtSummary(x.seconds)} s`,
        `one GET of the snapshot at the cap: >= ${fmt(x.oneGetSeconds ?? 0)} s`,
        `${fmt(x.seconds.median / (x.oneGetSeconds ?? 1))}x of one GET`,
        '-',
        '-',
      );
      continue;
    }
    add(
      '4 restore',
      `${fmt(rs!.dbMiB, 0)} MiB db (+${fmt(rs!.walMiB, 0)} MiB WAL, ${rs!.segments} segments), ${sourceName(x.source)}, parallelism ${x.parallelism}`,
      `${fmtSummary(x.seconds)} s`,
      `copy + lz4 -d ${fmtSummary(rs!.baselineSeconds)} s${rs!.durableBaselineSeconds ? `; + fdatasync ${fmtSummary(rs!.durableBaselineSeconds)} s` : ''}`,
      `${fmt(x.ratio)}x${x.durableRatio !== undefined ? ` (${fmt(x.durableRatio)}x of durable)` : ''}`,
      x.source === 's3' ? '<= 1.3x' : x.source === 'file' ? '<= 1.0x' : '-',
      x.reference
        ? `${fmtSummary(x.reference.seconds)} s (${fmt(x.reference.ratio)}x${x.reference.durableRatio !== undefined ? `; ${fmt(x.reference.durableRatio)}x of durable` : ''})`
        : '-',
    );
  }
  for (const m of r.memory ?? []) {
    const where = m.target ?? 'file';
    add(
      '5 memory',
      `replicate: snapshot + replicate ${fmt(m.dbMiB, 0)} MiB db, ${where}`,
      peak(m.replicatePeakMiB),
      '-',
      '-',
      '<= 96 MiB, flat',
      peak(m.reference?.replicatePeakMiB),
    );
    add(
      '5 memory',
      `restore ${fmt(m.dbMiB, 0)} MiB db, ${where} (-parallelism 8)`,
      peak(m.restorePeakMiB),
      '-',
      '-',
      '<= 80 MiB, flat',
      peak(m.reference?.restorePeakMiB),
    );
  }
  if (t)
    add(
      '5 memory',
      `replicate during the bulk load + snapshot`,
      peak(t.replicatorPeakMiB),
      '-',
      '-',
      '<= 96 MiB',
      peak(t.reference?.replicatorPeakMiB),
    );
  for (const x of rs?.rows ?? []) {
    add(
      '5 memory',
      `restore ${sourceName(x.source)}, parallelism ${x.parallelism}`,
      peak(x.peakMiB),
      '-',
      '-',
      '<= 80 MiB',
      peak(x.reference?.peakMiB),
    );
  }
  const g = r.generator;
  if (g) {
    add(
      '6 generator',
      '`ls-mix add litestream-aws --dry-run` (express fixture), cold',
      `${fmtSummary(g.addDryRunSeconds)} s`,
      `\`ls-mix --version\` ${fmtSummary(g.versionSeconds)} s, \`node -e 0\` ${fmtSummary(g.nodeSeconds)} s`,
      `${fmt(g.addDryRunSeconds.median / g.versionSeconds.median)}x --version`,
      '< 1 s',
    );
  }
  // The reference column only when the run had one (BENCH_LITESTREAM): it follows Ratio.
  const side = r.reference ? `Litestream ${r.reference.version} (same run)` : undefined;
  const head = ['Figure', 'Case', 'Measured', 'Baseline (same run)', 'Ratio', 'Target'];
  const cells = (c: string[]) => (side ? [...c.slice(0, 5), c[6] ?? '-', c[5]] : c.slice(0, 6));
  const header = side ? [...head.slice(0, 5), side, head[5]] : head;
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((c) => `| ${cells(c).join(' | ')} |`),
  ];
  const m = r.machine;
  if (m) {
    lines.unshift(
      `Machine: ${m.nproc} CPUs (${m.model}), load average ${m.loadAvgAtStart.join(' ')} at start${m.loadAvgAtEnd ? `, ${m.loadAvgAtEnd.join(' ')} at end` : ''}${r.quick ? ' — QUICK run (small sizes)' : ''}. Medians of repeats, (min–max).`,
      '',
    );
  }
  return lines.join('\n');
}

/** A restore row's source as the table names it. */
function sourceName(source: RestoreSource): string {
  if (source === 's3-capped') return `s3 capped at ${CAPPED_BYTES_PER_SECOND / 1e6} MB/s a connection`;
  if (source === 'sftp-latency') return `sftp, ${SFTP_LATENCY_MS} ms latency each way`;
  return source;
}
