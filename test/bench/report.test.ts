import { describe, expect, it } from 'vitest';
import { renderTable } from '../../bench/lib/report.js';
import { summarize } from '../../bench/lib/stats.js';

const overhead = {
  writers: 1,
  rowsPerTx: 1,
  seconds: 4,
  baselineTxPerSec: summarize([1000]),
  replicatedTxPerSec: summarize([600]),
  ratio: summarize([0.6]),
  replicatorCpuPercent: summarize([50]),
};
const memory = {
  dbMiB: 256,
  target: 's3' as const,
  replicatePeakMiB: 120,
  restorePeakMiB: 90,
  restoreSeconds: 2,
};

const columns = (line: string) =>
  line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
const rowOf = (table: string, text: string) => columns(table.split('\n').find((l) => l.includes(text))!);

describe('bench table', () => {
  it('has no reference column without BENCH_LITESTREAM, and shows the issue-17 targets', () => {
    const t = renderTable({ overhead: [overhead], memory: [memory] });
    expect(columns(t.split('\n')[0])).toEqual([
      'Figure',
      'Case',
      'Measured',
      'Baseline (same run)',
      'Ratio',
      'Target',
    ]);
    expect(rowOf(t, '1 writer, 1 row/tx')).toHaveLength(6);
    expect(rowOf(t, 'replicate: snapshot + replicate 256 MiB db, s3').at(-1)).toBe('<= 96 MiB, flat');
    expect(rowOf(t, 'restore 256 MiB db, s3').at(-1)).toBe('<= 80 MiB, flat');
  });

  it('shows the app-without-autocheckpoint side under its row, against the same baseline, with no target', () => {
    const t = renderTable({
      overhead: [
        { ...overhead, noAppCheckpoint: { replicatedTxPerSec: summarize([950]), ratio: summarize([0.95]) } },
        { ...overhead, rowsPerTx: 100 },
      ],
    });
    const lines = t.split('\n');
    const at = lines.findIndex((l) => l.includes('1 writer, 1 row/tx'));
    expect(columns(lines[at + 1])).toEqual([
      '1 write overhead',
      'same, app with `wal_autocheckpoint = 0` (docs/replicate.md)',
      '950 tx/s',
      '1000 tx/s without (default autocheckpoint)',
      '0.950x',
      '-',
    ]);
    // Only where it was measured (1-row transactions).
    expect(lines.filter((l) => l.includes('wal_autocheckpoint'))).toHaveLength(1);
  });

  it('puts the reference figures in their own column, before the target', () => {
    const t = renderTable({
      reference: { path: '/opt/litestream', version: 'v0.3.13' },
      overhead: [
        {
          ...overhead,
          reference: {
            replicatedTxPerSec: summarize([960]),
            ratio: summarize([0.96]),
            replicatorCpuPercent: summarize([10]),
          },
        },
      ],
      memory: [{ ...memory, reference: { replicatePeakMiB: 52, restorePeakMiB: 33, restoreSeconds: 1 } }],
    });
    expect(columns(t.split('\n')[0])).toEqual([
      'Figure',
      'Case',
      'Measured',
      'Baseline (same run)',
      'Ratio',
      'Litestream v0.3.13 (same run)',
      'Target',
    ]);
    const o = rowOf(t, '1 writer, 1 row/tx');
    expect(o[4]).toBe('0.600x');
    expect(o[5]).toBe('0.960x: 960 tx/s (replicator 10% of a core)');
    expect(o[6]).toBe('>= 0.95x');
    expect(rowOf(t, 'restore 256 MiB db, s3').slice(5)).toEqual(['33 MiB peak RSS', '<= 80 MiB, flat']);
  });

  it('shows restore against copy + lz4 -d and against the same made durable (fdatasync)', () => {
    const restore = {
      dbMiB: 1156,
      snapshotMiB: 530,
      walMiB: 113,
      segments: 98,
      baselineSeconds: summarize([1.2]),
      durableBaselineSeconds: summarize([3]),
      rows: [
        {
          source: 'file' as const,
          parallelism: 8,
          seconds: summarize([2.4]),
          peakMiB: 76,
          ratio: 2,
          durableRatio: 0.8,
          reference: { seconds: summarize([1.5]), peakMiB: 60, ratio: 1.25, durableRatio: 0.5 },
        },
      ],
    };
    const t = renderTable({ reference: { path: '/opt/litestream', version: 'v0.3.13' }, restore });
    const r = rowOf(t, 'file, parallelism 8');
    expect(r[3]).toBe('copy + lz4 -d 1.20 s; + fdatasync 3.00 s');
    expect(r[4]).toBe('2.00x (0.80x of durable)');
    expect(r[5]).toBe('1.50 s (1.25x; 0.50x of durable)');
    // Results saved before the durable baseline existed still render.
    const { durableBaselineSeconds: _gone, ...old } = restore;
    const oldRows = old.rows.map(({ durableRatio: _d, reference: _r, ...row }) => row);
    const o = rowOf(renderTable({ restore: { ...old, rows: oldRows } as never }), 'file, parallelism 8');
    expect(o[3]).toBe('copy + lz4 -d 1.20 s');
    expect(o[4]).toBe('2.00x');
  });
});
