/**
 * Optional side-by-side: BENCH_LITESTREAM=/path/to/litestream runs the same workloads with that
 * binary (a Litestream v0.3.13 build the user provides; the project never ships or builds it)
 * and the table gets an extra column from the same run. Both tools take the same config files
 * and flags (`replicate -config`, `restore -config -o -parallelism`), so one call site serves both.
 */
import { execFileSync } from 'node:child_process';
import { lastOutput, lsMix, type Watched, watch } from './proc.js';

export const REFERENCE = process.env.BENCH_LITESTREAM || undefined;

export type Impl = 'ls-mix' | 'litestream';

/** The replicators a run measures: ls-mix, plus the reference when BENCH_LITESTREAM is set. */
export function impls(): Impl[] {
  return REFERENCE ? ['ls-mix', 'litestream'] : ['ls-mix'];
}

/** Start `ls-mix ARGS` or `litestream ARGS` with /proc sampling. */
export function runtime(impl: Impl, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Watched {
  if (impl === 'ls-mix') return lsMix(args, opts);
  if (!REFERENCE) throw new Error('BENCH_LITESTREAM is not set');
  return watch(REFERENCE, args, opts);
}

/** `litestream version` of the reference, or an error naming the variable to fix. */
export function referenceVersion(): string | undefined {
  if (!REFERENCE) return undefined;
  try {
    return execFileSync(REFERENCE, ['version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (err) {
    throw new Error(
      `BENCH_LITESTREAM=${REFERENCE} does not run (\`${REFERENCE} version\`: ${(err as Error).message.split('\n')[0]}); point it at a litestream v0.3.13 binary or unset it`,
    );
  }
}

/**
 * What to log when a replicator did not exit 0 once stopped. Litestream v0.3.13 often exits 1 at
 * shutdown with its close-time checkpoint failing ("release read lock: context canceled") while
 * writers were busy: after the measurement, so a short note rather than a warning.
 */
export function stopWarning(impl: Impl, code: number | null, w: Watched): string | undefined {
  if (code === 0) return undefined;
  if (impl === 'litestream' && /error closing db.*context canceled/.test(w.stdout))
    return `note: litestream exited ${code} at shutdown (its close-time checkpoint was cancelled; figures unaffected)`;
  return `WARNING: ${impl} replicate exited ${code}: ${lastOutput(w)}`;
}
