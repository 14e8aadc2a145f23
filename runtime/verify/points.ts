/**
 * `verify --points`: a backup is not only its latest state. Restore the end of every WAL index
 * of the latest generation (or an evenly spread sample of them) into scratch: each restore runs
 * the full chain checks (gaps, frame checksums, recorded index ends — see restore/index-end.ts)
 * and PRAGMA integrity_check, so a missing middle segment fails here even when the latest
 * state restores fine.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { planRestore, type RestoreReplica, summarizeGeneration } from '../restore/plan.js';
import { restoreDatabase } from '../restore/restore.js';

/** 'latest' (default), 'all', or how many points to sample. */
export type VerifyPoints = 'latest' | 'all' | number;

export interface PointsResult {
  generation: string;
  /** WAL indexes restored. */
  checked: number[];
  failed: { index: number; error: string }[];
}

/** Evenly spread `n` of `all` (always the first and the last). */
export function samplePoints(all: number[], n: number): number[] {
  if (n >= all.length) return all;
  if (n <= 1) return [all[all.length - 1]];
  const picked = new Set<number>();
  for (let i = 0; i < n; i++) picked.add(all[Math.round((i * (all.length - 1)) / (n - 1))]);
  return [...picked];
}

export async function verifyPoints(
  r: RestoreReplica,
  points: Exclude<VerifyPoints, 'latest'>,
  opts: { scratch: string; parallelism?: number; logger?: Logger },
): Promise<PointsResult> {
  const { generation } = await planRestore([r], {});
  const g = await summarizeGeneration(r.name, r.client, generation);
  const first = Math.min(...(g?.snapshots ?? []).map((s) => s.index));
  const indexes = [...new Set((g?.segments ?? []).map((s) => s.index))]
    .filter((i) => i >= first)
    .sort((a, b) => a - b);
  const chosen = points === 'all' ? indexes : samplePoints(indexes, points);
  const result: PointsResult = { generation, checked: [], failed: [] };
  for (const index of chosen) {
    const out = join(opts.scratch, `${r.name.replace(/[^\w.-]/g, '_')}-index-${index}.db`);
    try {
      await restoreDatabase({
        replicas: [r],
        outputPath: out,
        generation,
        index,
        parallelism: opts.parallelism,
        integrity: 'full',
      });
    } catch (err) {
      result.failed.push({ index, error: (err as Error).message });
      opts.logger?.error(
        { replica: r.name, index, err: (err as Error).message },
        'verify: point-in-time restore failed',
      );
    } finally {
      await rm(out, { force: true });
    }
    result.checked.push(index);
  }
  return result;
}
