/** The bench results as one Markdown table (printed, and pasted into docs/bench.md). */

import type { RestoreResult, ThroughputResult } from '../figures/bulk.js';
import type { GeneratorResult } from '../figures/generator.js';
import type { LagRow } from '../figures/lag.js';
import type { MemoryRow } from '../figures/memory.js';
import type { OverheadRow } from '../figures/overhead.js';
import { fmt, fmtSummary } from './stats.js';

type Results = Record<string, unknown> & {
  machine?: { nproc: number; model?: string; loadAvgAtStart: number[]; loadAvgAtEnd?: number[] };
  overhead?: OverheadRow[];
  lag?: LagRow[];
  throughput?: ThroughputResult;
  restore?: RestoreResult;
  memory?: MemoryRow[];
  generator?: GeneratorResult;
};

export function renderTable(r: Results): string {
  const rows: string[][] = [];
  const add = (...cells: string[]) => rows.push(cells);
  for (const o of r.overhead ?? []) {
    add(
      '1 write overhead',
      `${o.writers} writer${o.writers > 1 ? ' processes' : ''}, ${o.rowsPerTx} row/tx, ${o.seconds}s`,
      `${fmtSummary(o.replicatedTxPerSec, 0)} tx/s (replicator ${fmt(o.replicatorCpuPercent?.median ?? Number.NaN, 0)}% of a core)`,
      `${fmtSummary(o.baselineTxPerSec, 0)} tx/s without`,
      `${fmtSummary(o.ratio, 3)}x`,
      '>= 0.95x',
    );
  }
  for (const l of r.lag ?? []) {
    add(
      '2 replication lag',
      `${l.target}, sync ${l.syncIntervalMs}ms, ${l.rate ? `${l.rate} tx/s` : 'max'} (${fmt(l.achievedTxPerSec, 0)} tx/s)`,
      `p50 ${fmt(l.p50Ms, 0)} ms, p99 ${fmt(l.p99Ms, 0)} ms`,
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
      'within 2x',
    );
    add('3 shipping', `snapshot of the loaded db (SIGUSR1)`, `${fmt(t.snapshotSeconds)} s`, '-', '-', '-');
  }
  const rs = r.restore;
  for (const x of rs?.rows ?? []) {
    add(
      '4 restore',
      `${fmt(rs!.dbMiB, 0)} MiB db (+${fmt(rs!.walMiB, 0)} MiB WAL, ${rs!.segments} segments), ${x.source}, parallelism ${x.parallelism}`,
      `${fmtSummary(x.seconds)} s`,
      `copy + lz4 -d ${fmtSummary(rs!.baselineSeconds)} s`,
      `${fmt(x.ratio)}x`,
      'within 2x, < 30 s',
    );
  }
  for (const m of r.memory ?? []) {
    add(
      '5 memory',
      `replicate: snapshot + replicate ${fmt(m.dbMiB, 0)} MiB db`,
      `${fmt(m.replicatePeakMiB, 0)} MiB peak RSS`,
      '-',
      '-',
      '< 150 MB, flat',
    );
    add(
      '5 memory',
      `restore ${fmt(m.dbMiB, 0)} MiB db (-parallelism 8)`,
      `${fmt(m.restorePeakMiB, 0)} MiB peak RSS`,
      '-',
      '-',
      '< 150 MB, flat',
    );
  }
  if (t)
    add(
      '5 memory',
      `replicate during the bulk load + snapshot`,
      `${fmt(t.replicatorPeakMiB, 0)} MiB peak RSS`,
      '-',
      '-',
      '< 150 MB',
    );
  for (const x of rs?.rows ?? []) {
    add(
      '5 memory',
      `restore ${x.source}, parallelism ${x.parallelism}`,
      `${fmt(x.peakMiB, 0)} MiB peak RSS`,
      '-',
      '-',
      '< 150 MB',
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
  const head = ['Figure', 'Case', 'Measured', 'Baseline (same run)', 'Ratio', 'Target'];
  const lines = [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((c) => `| ${c.join(' | ')} |`),
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
