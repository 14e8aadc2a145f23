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
});
