import { describe, expect, it } from 'vitest';
import { lags } from '../../bench/figures/lag.js';
import { renderTable } from '../../bench/lib/report.js';

describe('lag figure', () => {
  const commits = Float64Array.from([1000, 1010, 1020, 1030]);

  it('times each tx by the first segment holding its id', () => {
    const seen = [
      { at: 1100, max: 101 }, // ids 100, 101
      { at: 1500, max: 103 },
    ];
    expect(lags(commits, 100, seen)).toEqual({ lags: [100, 90, 480, 470], early: 0 });
  });

  it('counts transactions timed stored before their commit (clocks that disagree)', () => {
    // A clock 5 s behind the writer's: every segment seems stored before the commits.
    const seen = [
      { at: 1100 - 5000, max: 101 },
      { at: 1500 - 5000, max: 103 },
    ];
    const r = lags(commits, 100, seen);
    expect(r.early).toBe(4);
    expect(r.lags).toEqual([0, 0, 0, 0]);
    // Within the log's millisecond rounding: not counted.
    expect(lags(commits, 100, [{ at: 995, max: 100 }])).toEqual({ lags: [0], early: 0 });
  });

  it('prints no figure for a row whose clocks disagreed', () => {
    const row = {
      target: 'file' as const,
      syncIntervalMs: 1000,
      rate: 100,
      achievedTxPerSec: 100,
      p50Ms: Number.NaN,
      p99Ms: Number.NaN,
      maxMs: Number.NaN,
      samples: 600,
      seen: { p50Ms: 0, p99Ms: 0 },
      ackedSegments: 7,
      segments: 7,
      storedBeforeCommit: 600,
    };
    const t = renderTable({ lag: [row] });
    const line = t.split('\n').find((l) => l.includes('sync 1000ms, 100 tx/s'))!;
    expect(line).toContain('not measured: 600 tx timed stored before their commit (clocks disagree)');
    expect(line).not.toMatch(/p99 0 ms/);
  });
});
