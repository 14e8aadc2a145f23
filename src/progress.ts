/**
 * Byte progress for restore, snapshot and verify: a bar with MB, rate and ETA on a terminal (stderr is a
 * TTY and no --json), nothing otherwise — logs and pipes never get control characters.
 */
import { createRequire } from 'node:module';
import type { RestoreProgress } from '../runtime/restore.js';

const MB = 1024 * 1024;

/** Where a byte-counting job is: restore's and verify's phases, or a snapshot's upload. */
export type Progress = Pick<RestoreProgress, 'bytesDone' | 'bytesTotal'> & { phase: string };

export interface ByteProgress {
  update(label: string, p: Progress): void;
  stop(): void;
}

export function formatMB(bytes: number): string {
  return (bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0);
}

/** "12s", "3m05s", "1h02m" — or "-" while the rate is unknown. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function byteProgress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): ByteProgress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  // Loaded only for a terminal: a restore in a container or pipe does without it (~1 MiB of RSS).
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      format: '{label} {phase} [{bar}] {percentage}% | {done}/{total_mb} MB | {rate} MB/s | ETA {eta_text}',
      stream,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = 0;
  let current = '';
  return {
    update(label, p) {
      const now = performance.now();
      if (label !== current) started = now;
      const secs = (now - started) / 1000;
      const rate = secs > 0 ? p.bytesDone / secs : 0;
      const payload = {
        label,
        phase: p.phase,
        done: formatMB(p.bytesDone),
        total_mb: formatMB(p.bytesTotal),
        rate: (rate / MB).toFixed(1),
        eta_text: rate > 0 ? formatEta((p.bytesTotal - p.bytesDone) / rate) : '-',
      };
      if (!bar.isActive || label !== current) {
        if (bar.isActive) bar.stop();
        current = label;
        bar.start(Math.max(1, p.bytesTotal), p.bytesDone, payload);
        return;
      }
      bar.setTotal(Math.max(1, p.bytesTotal));
      bar.update(p.bytesDone, payload);
    },
    stop() {
      if (bar.isActive) bar.stop();
    },
  };
}
